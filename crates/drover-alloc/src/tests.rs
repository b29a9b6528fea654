//! Allocator tests: brute force for assignment, invariants under random operation sequences.

use std::collections::BTreeMap;

use drover_grid::Cell;
use drover_grid::load::parse_floor;
use proptest::prelude::*;

use crate::assign::{FORBIDDEN, greedy, optimal, total};
use crate::*;

/// Best (most pairs, then least cost) over all partial matchings, by enumeration.
fn brute(rows: usize, cols: usize, costs: &[u32]) -> (usize, u64) {
    fn go(r: usize, rows: usize, cols: usize, costs: &[u32], used: &mut Vec<bool>) -> (usize, u64) {
        if r == rows {
            return (0, 0);
        }
        // Leave row r unmatched.
        let mut best = go(r + 1, rows, cols, costs, used);
        for c in 0..cols {
            let cost = costs[r * cols + c];
            if used[c] || cost == FORBIDDEN {
                continue;
            }
            used[c] = true;
            let (n, t) = go(r + 1, rows, cols, costs, used);
            used[c] = false;
            let cand = (n + 1, t + cost as u64);
            if cand.0 > best.0 || (cand.0 == best.0 && cand.1 < best.1) {
                best = cand;
            }
        }
        best
    }
    go(0, rows, cols, costs, &mut vec![false; cols])
}

fn matrix() -> impl Strategy<Value = (usize, usize, Vec<u32>)> {
    (1usize..=5, 1usize..=5).prop_flat_map(|(r, c)| {
        let cell = prop_oneof![4 => 0u32..50, 1 => Just(FORBIDDEN)];
        (Just(r), Just(c), proptest::collection::vec(cell, r * c))
    })
}

fn valid(cols: usize, costs: &[u32], a: &[Option<usize>]) -> bool {
    let mut used = vec![false; cols];
    a.iter().enumerate().all(|(r, c)| match c {
        None => true,
        Some(c) => costs[r * cols + c] != FORBIDDEN && !std::mem::replace(&mut used[*c], true),
    })
}

proptest! {
    #[test]
    fn assignment_cost_equals_the_brute_force_optimum((rows, cols, costs) in matrix()) {
        let a = optimal(rows, cols, &costs);
        prop_assert!(valid(cols, &costs, &a));
        let n = a.iter().flatten().count();
        prop_assert_eq!((n, total(cols, &costs, &a)), brute(rows, cols, &costs));
    }

    #[test]
    fn greedy_assignment_is_a_valid_matching((rows, cols, costs) in matrix()) {
        let a = greedy(rows, cols, &costs);
        prop_assert!(valid(cols, &costs, &a));
    }
}

const FLOOR: &str = r#"name = "unit"
cell_size_m = 1.0
map = """
############
#c.pppp....#
#..........#
#.PPsP.PPsP#
#.PsPP.sPPP#
#..........#
#qqf.qqf.qf#
############
"""

[[station]]
name = "pick-1"
kind = "pick"
face = [6, 3]
queue = [[6, 1], [6, 2]]

[[station]]
name = "pick-2"
kind = "pick"
face = [6, 7]
queue = [[6, 5], [6, 6]]
capacity = 2

[[station]]
name = "stow-1"
kind = "stow"
face = [6, 10]
queue = [[6, 9]]

[[charger]]
name = "charger-1"
cell = [1, 1]
"#;

fn floor() -> drover_grid::load::Floor {
    let mut floor = parse_floor("unit.toml", FLOOR).unwrap();
    for (k, pod) in floor.pods.iter_mut().enumerate() {
        pod.contents = BTreeMap::from([
            (format!("sku-{}", k % 4), 3),
            (format!("sku-{}", (k + 1) % 4), 2),
        ]);
    }
    floor
}

fn config() -> AllocConfig {
    AllocConfig {
        optimal_max: 3,
        battery: Some(BatteryConfig {
            critical: 0.1,
            go_charge: 0.3,
            may_work: 0.6,
            full: 0.95,
            per_cell: 0.01,
            per_lift: 0.02,
        }),
        lift_ticks: 1,
        drop_ticks: 1,
        pile_on_max: 3,
        pod_capacity: 12,
        prior_service_ticks: 5.0,
        prior_lead_ticks: 10.0,
        smoothing: 0.3,
        demand_half_life: 100.0,
        slotting: true,
        park_idle: true,
        transport_window: 4,
        max_batch: 4096,
        trip_weight: 0,
    }
}

#[derive(Clone, Debug)]
enum Op {
    Pick {
        sku: usize,
        units: u32,
    },
    Stow {
        sku: usize,
    },
    Transport {
        to: usize,
    },
    Fail(u32),
    Restore(u32),
    Staff(u16),
    Unstaff(u16),
    Release(u16),
    Cancel(u64),
    Tick(u8),
    /// Close cells (a blocked zone): a pseudo-random fifth of them from this seed, none for 0.
    Avoid(u64),
    /// A robot reports carrying a pod (after a restart).
    Adopt(u32, u32),
    /// A robot's goal became unreachable; it reaches a pseudo-random half of the cells from
    /// this seed (none for 0).
    Unreachable(u32, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..5, 1u32..4).prop_map(|(sku, units)| Op::Pick { sku, units }),
        1 => (0usize..5).prop_map(|sku| Op::Stow { sku }),
        1 => (0usize..10).prop_map(|to| Op::Transport { to }),
        1 => (0u32..4).prop_map(Op::Fail),
        1 => (0u32..4).prop_map(Op::Restore),
        2 => (0u16..3).prop_map(Op::Staff),
        1 => (0u16..3).prop_map(Op::Unstaff),
        3 => (0u16..3).prop_map(Op::Release),
        1 => (0u64..30).prop_map(Op::Cancel),
        6 => (1u8..6).prop_map(Op::Tick),
        1 => (0u64..4).prop_map(Op::Avoid),
        1 => (0u32..4, 0u32..8).prop_map(|(r, p)| Op::Adopt(r, p)),
        1 => (0u32..4, 0u64..4).prop_map(|(r, seed)| Op::Unreachable(r, seed)),
    ]
}

/// A robot world without a planner: each tick a robot steps one cell along a shortest path
/// to its goal (robots may overlap: only the allocator is under test), spending charge per
/// cell and regaining it on its charger.
struct World {
    alloc: Allocator,
    costs: TargetTables,
    views: Vec<RobotView>,
    now: u64,
    done: BTreeMap<TaskId, usize>,
    client: Vec<TaskId>,
}

impl World {
    fn new() -> World {
        let floor = floor();
        let starts =
            [(2, 2), (2, 5), (5, 3), (5, 8)].map(|(r, c)| floor.grid.cell_at(r, c).unwrap());
        World {
            alloc: Allocator::new(&floor, &starts, config()),
            costs: TargetTables::new(&floor.grid),
            views: starts
                .iter()
                .map(|&cell| RobotView { cell, battery: 0.5 })
                .collect(),
            now: 0,
            done: BTreeMap::new(),
            client: Vec::new(),
        }
    }

    fn step(&mut self) {
        self.now += 1;
        let goals = self.alloc.goals().to_vec();
        let grid = self.costs.grid().clone();
        for (r, v) in self.views.iter_mut().enumerate() {
            if !self.alloc.in_service(r as u32) {
                continue;
            }
            if let Some(goal) = goals[r]
                && goal != v.cell
            {
                let here = self.costs.cost(v.cell, goal);
                let next = drover_grid::Heading::ALL
                    .iter()
                    .filter_map(|h| grid.neighbor(v.cell, *h))
                    .find(|&n| self.costs.cost(n, goal) < here);
                if let Some(n) = next {
                    v.cell = n;
                    v.battery = (v.battery - 0.01).max(0.0);
                }
            }
            if grid.kind(v.cell) == drover_grid::CellKind::Charger {
                v.battery = (v.battery + 0.05).min(1.0);
            }
        }
        let report = self.alloc.tick(self.now, &self.views, &mut self.costs);
        self.record(&report.events);
        for e in &report.events {
            if let Event::Assigned { task, robot } = e
                && !self.alloc.task(*task).unwrap().kind.is_internal()
            {
                let b = &config().battery.unwrap();
                assert!(
                    self.alloc.in_service(*robot),
                    "assigned to a robot out of service"
                );
                assert!(
                    self.views[*robot as usize].battery >= b.go_charge,
                    "assigned to a robot too low to work"
                );
            }
        }
    }

    fn record(&mut self, events: &[Event]) {
        for e in events {
            if let Event::Done { task } = e {
                *self.done.entry(*task).or_default() += 1;
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        let sku = |a: &Allocator, k: usize| a.sku(&format!("sku-{k}"));
        match *op {
            Op::Pick { sku: k, units } => {
                let Some(s) = sku(&self.alloc, k) else {
                    let err = self.alloc.submit(
                        TaskKind::Pick {
                            pod: PodSel::Sku(SkuId(99)),
                            station: None,
                            units,
                        },
                        0,
                        None,
                    );
                    assert!(err.is_err());
                    return;
                };
                let kind = TaskKind::Pick {
                    pod: PodSel::Sku(s),
                    station: None,
                    units,
                };
                self.client.push(self.alloc.submit(kind, 0, None).unwrap());
            }
            Op::Stow { sku: k } => {
                if let Some(s) = sku(&self.alloc, k) {
                    let kind = TaskKind::Stow {
                        pod: PodSel::Sku(s),
                        station: None,
                        units: 2,
                    };
                    self.client.push(self.alloc.submit(kind, 1, None).unwrap());
                }
            }
            Op::Transport { to } => {
                let cell = Cell(13 + to as u32);
                let errands = vec![
                    Errand {
                        cell,
                        action: ErrandAction::Lift,
                    },
                    Errand {
                        cell: Cell(61),
                        action: ErrandAction::Drop,
                    },
                ];
                self.client.push(
                    self.alloc
                        .submit(TaskKind::Transport { errands }, 0, Some(500))
                        .unwrap(),
                );
            }
            Op::Fail(r) => {
                let ev = self.alloc.set_in_service(r, false);
                self.record(&ev);
            }
            Op::Restore(r) => {
                let ev = self.alloc.set_in_service(r, true);
                self.record(&ev);
            }
            Op::Staff(s) => self.alloc.staff(StationId(s), "ann"),
            Op::Unstaff(s) => {
                let ev = self.alloc.unstaff(StationId(s));
                self.record(&ev);
            }
            Op::Release(s) => {
                if let Ok(ev) = self.alloc.release(StationId(s), self.now) {
                    self.record(&ev);
                }
            }
            Op::Avoid(seed) => {
                let closed = |c: Cell| {
                    seed != 0
                        && (u64::from(c.0) ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61 == 0
                };
                let ev = self.alloc.avoid(&closed);
                self.record(&ev);
            }
            Op::Unreachable(r, seed) => {
                let reachable = |c: Cell| {
                    seed != 0
                        && (u64::from(c.0) ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 63 == 0
                };
                let ev = self.alloc.goal_unreachable(r, &reachable);
                self.record(&ev);
            }
            Op::Adopt(r, p) => {
                if (p as usize) < self.alloc.n_pods() {
                    let _ = self.alloc.adopt(r, PodId(p));
                }
            }
            Op::Cancel(k) => {
                if let Some(&t) = self.client.get(k as usize) {
                    let _ = self.alloc.cancel(t);
                }
            }
            Op::Tick(n) => {
                for _ in 0..n {
                    self.step();
                }
            }
        }
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let a = &self.alloc;
        // Every client task is accounted for exactly once, and done at most once.
        let mut holder: BTreeMap<TaskId, u32> = BTreeMap::new();
        for r in 0..a.n_robots() as u32 {
            for t in a.robot_tasks(r) {
                prop_assert!(holder.insert(t, r).is_none(), "task {t:?} held twice");
            }
        }
        let mut queued = 0;
        for &t in &self.client {
            let task = a.task(t).unwrap();
            match &task.state {
                TaskState::Queued => {
                    queued += 1;
                    prop_assert!(!holder.contains_key(&t));
                }
                TaskState::Assigned { robot } | TaskState::InProgress { robot, .. } => {
                    prop_assert_eq!(holder.get(&t), Some(robot), "{:?} not held by its robot", t);
                }
                s => {
                    let ok = s.is_final() && !holder.contains_key(&t);
                    prop_assert!(ok, "{:?} in state {:?}", t, s);
                }
            }
            prop_assert!(
                self.done.get(&t).copied().unwrap_or(0) <= 1,
                "{t:?} done twice"
            );
            if self.done.contains_key(&t) {
                let finished = matches!(task.state, TaskState::Done { .. });
                prop_assert!(finished, "done event but state {:?}", task.state);
            }
        }
        prop_assert_eq!(queued, a.queued(), "queue and task states disagree");
        for (t, r) in &holder {
            prop_assert!(self.client.contains(t));
            prop_assert!(a.task(*t).unwrap().state.robot() == Some(*r));
        }
        // Every pod is in exactly one place.
        let mut slots = std::collections::BTreeSet::new();
        for p in 0..a.n_pods() as u32 {
            let pod = PodId(p);
            match a.pod_loc(pod) {
                PodLoc::Slot(c) => {
                    prop_assert_eq!(a.pod_in_slot(c), Some(pod));
                    prop_assert!(slots.insert(c), "two pods in slot {:?}", c);
                }
                PodLoc::Robot(r) => prop_assert_eq!(a.carrying(r), Some(pod)),
                PodLoc::Stranded(_) => {
                    prop_assert!((0..a.n_robots() as u32).any(|r| a.carrying(r) == Some(pod)));
                }
            }
        }
        for r in 0..a.n_robots() as u32 {
            // Loaded (kept out from under stored pods): with a pod, or mid-transport.
            if a.carrying(r).is_some() {
                prop_assert!(a.loaded(r), "robot {r} carries a pod but is not loaded");
            } else if a.loaded(r) {
                prop_assert_eq!(a.activity(r), crate::Activity::Transport);
            }
            if let Some(p) = a.carrying(r) {
                prop_assert!(
                    matches!(a.pod_loc(p), PodLoc::Robot(x) if x == r)
                        || matches!(a.pod_loc(p), PodLoc::Stranded(_))
                );
            }
        }
        // Stations never take more than their capacity; chargers one robot each.
        for s in 0..a.n_stations() as u16 {
            let (load, cap) = a.station_load(StationId(s));
            prop_assert!(load <= cap, "station {s} has {load} > {cap}");
        }
        let mut chargers = std::collections::BTreeSet::new();
        for r in 0..a.n_robots() as u32 {
            if let Some(c) = a.charger_of(r) {
                prop_assert!(chargers.insert(c), "two robots on charger {c}");
            }
        }
        Ok(())
    }
}

proptest! {
    #[test]
    fn allocator_invariants_hold_under_any_operation_sequence(
        ops in proptest::collection::vec(op(), 1..80)
    ) {
        let mut w = World::new();
        w.apply(&Op::Staff(0));
        for op in &ops {
            w.apply(op);
            w.check()?;
        }
        // Failures never lose a task: bring everyone back and let the floor drain.
        for r in 0..4 {
            w.apply(&Op::Restore(r));
        }
        for s in 0..3 {
            w.apply(&Op::Staff(s));
        }
        for _ in 0..400 {
            w.step();
            for s in 0..3 {
                w.apply(&Op::Release(s));
            }
        }
        w.check()?;
        // Transports and stows need no stock: once robots and stations are back, all finish.
        for &t in &w.client {
            let task = w.alloc.task(t).unwrap();
            if matches!(task.kind, TaskKind::Transport { .. } | TaskKind::Stow { .. }) {
                let finished = task.state.is_final();
                prop_assert!(finished, "{:?} left in {:?}", t, task.state);
            }
        }
    }
}

#[test]
fn a_staffed_station_gets_pods_and_an_unstaffed_one_none() {
    let mut w = World::new();
    w.views.iter_mut().for_each(|v| v.battery = 1.0);
    w.apply(&Op::Staff(0));
    for k in 0..4 {
        w.apply(&Op::Pick { sku: k, units: 1 });
    }
    let mut presented = Vec::new();
    for _ in 0..200 {
        w.step();
        for s in 0..3 {
            if let Some(p) = w.alloc.presented(StationId(s)) {
                presented.push(s);
                assert!(p.units >= 1);
                w.alloc.release(StationId(s), w.now).unwrap();
            }
        }
    }
    assert!(!presented.is_empty());
    assert!(presented.iter().all(|&s| s == 0), "{presented:?}");
    for &t in &w.client {
        assert!(matches!(
            w.alloc.task(t).unwrap().state,
            TaskState::Done { .. }
        ));
    }
}

#[test]
fn impossible_tasks_are_refused_with_a_reason() {
    let mut w = World::new();
    let a = &mut w.alloc;
    let pick = |station, units| TaskKind::Pick {
        pod: PodSel::Pod(PodId(0)),
        station,
        units,
    };
    assert_eq!(a.submit(pick(None, 0), 0, None), Err(AllocError::NoUnits));
    assert_eq!(
        a.submit(pick(Some(StationId(9)), 1), 0, None),
        Err(AllocError::UnknownStation(StationId(9)))
    );
    assert!(matches!(
        a.submit(pick(Some(StationId(2)), 1), 0, None),
        Err(AllocError::WrongStationKind { .. })
    ));
    let far = TaskKind::Pick {
        pod: PodSel::Pod(PodId(999)),
        station: None,
        units: 1,
    };
    assert_eq!(
        a.submit(far, 0, None),
        Err(AllocError::UnknownPod(PodId(999)))
    );
    let wall = TaskKind::Transport {
        errands: vec![Errand {
            cell: Cell(0),
            action: ErrandAction::Visit,
        }],
    };
    assert!(matches!(
        a.submit(wall, 0, None),
        Err(AllocError::BadErrand { index: 0, .. })
    ));
    assert_eq!(
        a.submit(TaskKind::Park { cell: Cell(14) }, 0, None),
        Err(AllocError::SubmitInternal)
    );
    assert!(a.tasks().is_empty(), "nothing stored for refused tasks");
}

/// droverd answers refused operator commands with these texts.
#[test]
fn refused_requests_say_why_in_the_words_operators_see() {
    let mut w = World::new();
    let a = &mut w.alloc;
    let kind = TaskKind::Pick {
        pod: PodSel::Pod(PodId(0)),
        station: None,
        units: 1,
    };
    let task = a.submit(kind, 0, None).unwrap();
    a.cancel(task).unwrap();
    assert_eq!(
        a.cancel(task).unwrap_err().to_string(),
        format!("task {} is already Cancelled", task.0)
    );
    assert_eq!(a.cancel(TaskId(99)).unwrap_err().to_string(), "no task 99");
    let name = a.station_name(StationId(0)).to_string();
    assert_eq!(
        a.release(StationId(0), 0).unwrap_err(),
        AllocError::NothingPresented {
            station: StationId(0),
            name: name.clone()
        }
    );
    assert_eq!(
        a.release(StationId(0), 0).unwrap_err().to_string(),
        format!("station {name} has no pod at its face")
    );
    assert_eq!(a.request_charge(9).unwrap_err().to_string(), "no robot 9");
}

#[test]
fn a_transport_robot_is_loaded_from_its_lift_to_its_drop() {
    let mut w = World::new();
    let errands = vec![
        Errand {
            cell: Cell(13),
            action: ErrandAction::Lift,
        },
        Errand {
            cell: Cell(61),
            action: ErrandAction::Drop,
        },
    ];
    let task = w
        .alloc
        .submit(TaskKind::Transport { errands }, 0, None)
        .unwrap();
    // Per tick: which robot holds the task and whether it is loaded.
    let mut trace = Vec::new();
    for _ in 0..200 {
        w.step();
        let state = w.alloc.task(task).unwrap().state.clone();
        if let Some(r) = state.robot() {
            trace.push((w.views[r as usize].cell, w.alloc.loaded(r)));
        }
        if state.is_final() {
            break;
        }
    }
    assert!(w.alloc.task(task).unwrap().state.is_final(), "{trace:?}");
    let first_loaded = trace.iter().position(|t| t.1).expect("loaded at some tick");
    assert_eq!(
        trace[first_loaded].0,
        Cell(13),
        "loaded from the lift cell on"
    );
    assert!(
        !trace[..first_loaded].iter().any(|t| t.1),
        "empty before the lift"
    );
    assert!(
        (0..w.alloc.n_robots() as u32).all(|r| !w.alloc.loaded(r)),
        "nobody loaded after the drop"
    );
}

#[test]
fn a_pod_in_demand_returns_to_the_free_slot_nearest_the_station_it_leaves() {
    let mut w = World::new();
    w.views.iter_mut().for_each(|v| v.battery = 1.0);
    w.apply(&Op::Staff(1));
    // pod-0001 stands at [3, 2], far from pick-2's face at [6, 7]; the free slots are
    // [3, 4], [3, 9], [4, 3] and [4, 7] (Manhattan 6, 5, 4 and 2 from the face).
    let pod = PodId(0);
    let task = w
        .alloc
        .submit(
            TaskKind::Pick {
                pod: PodSel::Pod(pod),
                station: Some(StationId(1)),
                units: 1,
            },
            0,
            None,
        )
        .unwrap();
    let (mut robot, mut slot) = (None, None);
    for _ in 0..200 {
        w.step();
        if w.alloc.presented(StationId(1)).is_some() {
            w.alloc.release(StationId(1), w.now).unwrap();
        }
        robot = w.alloc.task(task).unwrap().state.robot().or(robot);
        slot = robot.and_then(|r| w.alloc.return_slot(r));
        if slot.is_some() {
            break;
        }
    }
    let grid = w.costs.grid().clone();
    assert_eq!(
        slot.map(|s| grid.row_col(s)),
        Some((4, 7)),
        "the only pod in demand may take the best slot: the one nearest the face"
    );
}

#[test]
fn a_station_has_work_only_with_tasks_for_it_and_counts_units_once_released() {
    let mut w = World::new();
    w.views.iter_mut().for_each(|v| v.battery = 1.0);
    w.apply(&Op::Staff(0));
    let pick = StationId(0);
    assert!(
        !w.alloc.has_work(pick),
        "a staffed station without tasks only waits"
    );
    w.apply(&Op::Pick { sku: 1, units: 2 });
    w.apply(&Op::Pick { sku: 2, units: 3 });
    assert!(w.alloc.has_work(pick), "queued picks are its work");
    let mut presented_units = 0;
    for _ in 0..300 {
        w.step();
        if let Some(p) = w.alloc.presented(pick) {
            // Presented is not picked: nothing counts until the associate releases.
            assert_eq!(w.alloc.units_done(pick), presented_units);
            presented_units += u64::from(p.units);
            w.alloc.release(pick, w.now).unwrap();
            assert_eq!(w.alloc.units_done(pick), presented_units);
        }
    }
    assert_eq!(presented_units, 5);
    assert!(!w.alloc.has_work(pick), "all done: no work left");
}
