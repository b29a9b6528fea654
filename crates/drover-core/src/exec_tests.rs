//! Property tests of the executor: random plans under random delays never collide, never
//! deadlock, and always finish the plan.

use drover_grid::{Cell, DistanceOracle, Grid, Heading, Motion, load::parse_movingai_map};
use drover_plan::{AgentState, PlanConfig, Planner, Unlimited};
use proptest::prelude::*;

use crate::exec::{Executor, NodeAction};

/// A random grid: open cells with some obstacles, always with a free border ring so the
/// floor is connected enough to move.
fn grid_from(width: usize, height: usize, walls: &[bool]) -> Grid {
    let mut text = format!("type octile\nheight {height}\nwidth {width}\nmap\n");
    for r in 0..height {
        for c in 0..width {
            let border = r == 0 || c == 0 || r + 1 == height || c + 1 == width;
            let wall = !border && walls[(r * width + c) % walls.len()];
            text.push(if wall { '@' } else { '.' });
        }
        text.push('\n');
    }
    parse_movingai_map("random.map", &text).expect("generated map parses")
}

/// Physical simulation: each robot stands on an entry; per tick, unless delayed, it moves to
/// its next entry if that one is released. Returns the number of ticks until every robot
/// reached its last planned entry, checking vertex and swap collisions on every tick.
fn execute(
    exec: &mut Executor,
    delays: &[u8],
    seed: u64,
    max_ticks: usize,
) -> Result<usize, TestCaseError> {
    let n = exec.n_robots();
    let mut rng = seed;
    for t in 0..max_ticks {
        exec.release();
        let before: Vec<Cell> = (0..n as u32).map(|r| exec.position(r)).collect();
        let mut moved = false;
        for r in 0..n as u32 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let delayed = ((rng >> 33) % 100) < u64::from(delays[r as usize % delays.len()]);
            if !delayed && exec.released(r) > exec.first(r) {
                exec.reached(r, exec.first(r) + 1)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                moved = true;
            }
        }
        let after: Vec<Cell> = (0..n as u32).map(|r| exec.position(r)).collect();
        for i in 0..n {
            for j in 0..n {
                if i != j && after[i] == after[j] {
                    return Err(TestCaseError::fail(format!(
                        "tick {t}: robots {i} and {j} on {:?}",
                        after[i]
                    )));
                }
                if i < j && after[i] == before[j] && after[j] == before[i] && before[i] != before[j]
                {
                    return Err(TestCaseError::fail(format!(
                        "tick {t}: robots {i} and {j} swapped"
                    )));
                }
            }
        }
        if (0..n as u32).all(|r| exec.first(r) == exec.last(r)) {
            return Ok(t);
        }
        if !moved && delays.iter().all(|d| *d == 0) {
            return Err(TestCaseError::fail(format!(
                "tick {t}: nobody can move: deadlock"
            )));
        }
    }
    Err(TestCaseError::fail("plan not finished in time: deadlock"))
}

proptest! {
    #[test]
    fn delayed_execution_never_collides(
        width in 4usize..9,
        height in 4usize..9,
        walls in proptest::collection::vec(prop::bool::weighted(0.2), 1..64),
        n in 2usize..10,
        steps in 1usize..40,
        max_lag in 1usize..4,
        base_ahead in 1u32..4,
        delays in proptest::collection::vec(0u8..60, 1..10),
        seed in any::<u64>(),
        rewind_at in proptest::option::of(0usize..40),
    ) {
        let grid = grid_from(width, height, &walls);
        let free = grid.free_cells().to_vec();
        prop_assume!(free.len() > n);
        // Spread starts and goals deterministically from the seed.
        let pick = |k: u64| free[(seed.wrapping_mul(2654435761).wrapping_add(k * 40503) % free.len() as u64) as usize];
        let mut starts: Vec<AgentState> = Vec::new();
        let mut k = 0;
        while starts.len() < n {
            let c = pick(k);
            k += 1;
            if !starts.iter().any(|s| s.cell == c) {
                starts.push(AgentState { cell: c, heading: Heading::East });
            }
            prop_assume!(k < 10_000);
        }
        let mut goals: Vec<Option<Cell>> = (0..n).map(|i| Some(pick(1000 + i as u64))).collect();
        let mut planner = Planner::new(&grid, n, &PlanConfig { motion: Motion::Grid4, seed });
        let mut oracle = DistanceOracle::new(&grid, Motion::Grid4, 1 << 22);
        let mut exec = Executor::new(grid.n_cells(), &starts, base_ahead);
        let mut planned = starts.clone();
        let mut rng = seed ^ 0x9E37;
        for step in 0..steps {
            if rewind_at == Some(step) {
                planned = exec.rewind();
            }
            let held: Vec<bool> = (0..n as u32).map(|r| exec.lag(r) >= max_lag).collect();
            let plan = planner.step_for_execution(&grid, &mut oracle, &planned, &goals, &held, &Unlimited);
            drover_plan::verify(&grid, Motion::Grid4, &planned, &plan.moves).map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
            planned = plan.next;
            exec.push_step(&planned);
            for (r, g) in goals.iter_mut().enumerate() {
                if *g == Some(planned[r].cell) {
                    exec.add_action(r as u32, NodeAction::Charge);
                    *g = Some(pick(2000 + step as u64 * 31 + r as u64));
                }
            }
            // Robots drive a little between planning steps, with delays.
            exec.release();
            for r in 0..n as u32 {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                if (rng >> 60) < 8 && exec.released(r) > exec.first(r) {
                    exec.reached(r, exec.first(r) + 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
        }
        execute(&mut exec, &delays, seed, 20_000)?;
        // With everyone done, the plan drained: no robot has pending entries.
        for r in 0..n as u32 {
            prop_assert_eq!(exec.lag(r), 0);
        }
        let _ = execute(&mut exec, &[0], seed, 1)?;
    }
}

#[test]
fn a_late_robot_only_delays_its_followers() {
    // Corridor a b c d: robot 0 at a goes to d; robot 1 at b must get out of its way first.
    let grid = parse_movingai_map("c.map", "type octile\nheight 1\nwidth 4\nmap\n....\n").unwrap();
    let s = |c| AgentState {
        cell: Cell(c),
        heading: Heading::East,
    };
    let mut exec = Executor::new(grid.n_cells(), &[s(0), s(1)], 2);
    exec.push_step(&[s(1), s(2)]);
    exec.push_step(&[s(2), s(3)]);
    // Robot 0 may not enter cell 1 before robot 1 left it.
    exec.release();
    assert_eq!(exec.released(0), 0);
    assert_eq!(exec.released(1), 2);
    exec.reached(1, 1).unwrap();
    exec.release();
    assert_eq!(
        exec.released(0),
        1,
        "cell 1 is free once robot 1 reports cell 2"
    );
    assert_eq!(exec.released(0), 1);
    assert!(
        exec.reached(0, 2).is_err(),
        "cell 2 was not released to robot 0"
    );
    exec.reached(1, 2).unwrap();
    exec.reached(0, 1).unwrap();
    exec.release();
    assert_eq!(exec.released(0), 2);
}

/// A robot that stopped (a confirmed `cancelOrder`) gives back the cells it was released
/// into beyond its position, so the robot planned through them next is released.
#[test]
fn truncate_gives_released_cells_to_the_next_robot() {
    let at = |c: u32| AgentState {
        cell: Cell(c),
        heading: Heading::East,
    };
    // A 1 x 6 corridor: robot 0 at 2 is planned east to 4; robot 1 at 5 is planned west
    // through 4 and 3 after it.
    let mut exec = Executor::new(6, &[at(2), at(5)], 2);
    exec.push_step(&[at(3), at(5)]);
    exec.push_step(&[at(4), at(5)]);
    exec.push_step(&[at(4), at(4)]);
    exec.push_step(&[at(4), at(3)]);
    exec.release();
    assert_eq!(exec.released(0), 2, "robot 0 holds 3 and 4");
    assert_eq!(exec.released(1), 0, "robot 1 waits for 4");
    exec.truncate(0);
    assert_eq!((exec.released(0), exec.last(0)), (0, 0));
    assert_eq!(exec.planned()[0].cell, Cell(2));
    exec.release();
    assert_eq!(exec.released(1), 2, "robot 1 now holds 4 and 3");
}
