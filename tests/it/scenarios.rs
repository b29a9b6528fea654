//! Seeded, tick-driven simulator scenarios on real benchmark files: they test features
//! (throughput, no deadlock, a replayable output), not planner internals.

use drover_core::CoreConfig;
use drover_grid::{Cell, Grid, Heading, Motion};
use drover_plan::{AgentState, Move, PlanConfig, Turn, WaitReason, verify};
use drover_sim::runner::{Report, RunOptions, run};
use drover_sim::scenario::Scheduler;
use drover_sim::{output, scenario};

fn options(motion: Motion, steps: u64, record: bool) -> RunOptions {
    RunOptions {
        steps,
        core: CoreConfig {
            plan: PlanConfig { motion, seed: 3 },
            table_cache_bytes: 64 << 20,
        },
        record,
        traffic_rules: true,
        open_cost: 1,
        corridor_cost: 0,
        bound_under_rules: false,
        arrival_headings: false,
        repair_restarts: 1,
        repair_hold: 0,
        repair_warm: false,
        lookahead: true,
        // The default: windowed repair on these small fleets.
        repair_window: None,
        repair_iterations: None,
    }
}

fn small_warehouse(agents: usize) -> std::path::PathBuf {
    crate::bench_dir().join(format!(
        "lorr2023/example/warehouse.domain/EI23-warehouse_small_{agents}.json"
    ))
}

/// Reads one action letter of the LoRR output back into a move.
fn parse_action(motion: Motion, letter: &str) -> Move {
    match (motion, letter) {
        (Motion::Rotate, "F") => Move::Forward,
        (Motion::Rotate, "R") => Move::Turn(Turn::Clockwise),
        (Motion::Rotate, "C") => Move::Turn(Turn::CounterClockwise),
        (Motion::Grid4, "U") => Move::Go(Heading::North),
        (Motion::Grid4, "D") => Move::Go(Heading::South),
        (Motion::Grid4, "L") => Move::Go(Heading::West),
        (Motion::Grid4, "R") => Move::Go(Heading::East),
        (_, "W") => Move::Wait(WaitReason::Idle),
        other => panic!("unknown action {other:?}"),
    }
}

/// The start states and per-agent action lists of a LoRR output file.
fn starts_and_paths(
    doc: &serde_json::Value,
    grid: &Grid,
    motion: Motion,
) -> (Vec<AgentState>, Vec<Vec<Move>>) {
    let agents = doc["start"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| AgentState {
            cell: grid
                .cell_at(s[0].as_i64().unwrap(), s[1].as_i64().unwrap())
                .unwrap(),
            heading: Heading::East,
        })
        .collect();
    let paths = doc["actualPaths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .unwrap()
                .split(',')
                .map(|a| parse_action(motion, a))
                .collect()
        })
        .collect();
    (agents, paths)
}

/// Replays a LoRR output file from its start states with the independent checker and
/// recounts finished errands under the round-robin rule; returns that count.
fn replay(doc: &serde_json::Value, grid: &Grid, tasks: &[Vec<Cell>], motion: Motion) -> u64 {
    let (mut agents, paths) = starts_and_paths(doc, grid, motion);
    for start in doc["start"].as_array().unwrap() {
        assert_eq!(start[2], "E", "LoRR robots start facing east");
    }
    let n = agents.len();
    let tasks: Vec<Cell> = tasks.iter().map(|t| t[0]).collect();
    let mut count = vec![0u64; n];
    let mut finished = 0;
    for t in 0..paths[0].len() {
        let moves: Vec<Move> = paths.iter().map(|p| p[t]).collect();
        agents =
            verify(grid, motion, &agents, &moves).unwrap_or_else(|v| panic!("step {t}: {v:?}"));
        for (k, a) in agents.iter().enumerate() {
            if a.cell == tasks[((count[k] * n as u64 + k as u64) % tasks.len() as u64) as usize] {
                count[k] += 1;
                finished += 1;
            }
        }
    }
    finished
}

fn lorr_run(
    agents: usize,
    motion: Motion,
    steps: u64,
) -> (Report, serde_json::Value, Grid, Vec<Vec<Cell>>) {
    lorr_run_with(agents, &options(motion, steps, true))
}

fn lorr_run_with(
    agents: usize,
    options: &RunOptions,
) -> (Report, serde_json::Value, Grid, Vec<Vec<Cell>>) {
    let (motion, steps) = (options.core.plan.motion, options.steps);
    let files = scenario::load_lorr(&small_warehouse(agents)).unwrap();
    let tasks = files.tasks.clone();
    let scenario =
        scenario::lorr_scenario(files, motion, steps, Scheduler::Alloc { trip_weight: 1 }).unwrap();
    // The instance's own floor: the run plans on a copy with traffic rules applied.
    let grid = scenario.grid.clone();
    let report = run(scenario, options, &mut |_, _| {});
    let doc = output::lorr_output(&report, &grid, motion, &|id| {
        tasks[(id % tasks.len() as u64) as usize].clone()
    });
    (report, doc, grid, tasks)
}

#[test]
fn lorr_rotate_run_replays_independently_to_the_same_errand_count() {
    let (report, doc, grid, tasks) = lorr_run(100, Motion::Rotate, 300);
    assert_eq!(doc["actionModel"], "MAPF_T");
    assert_eq!(doc["numTaskFinished"], report.finished);
    assert_eq!(replay(&doc, &grid, &tasks, Motion::Rotate), report.finished);
    // A feature check, not a benchmark: well above a jammed fleet, below the bound.
    assert!(
        report.pct_of_bound() > 25.0 && report.pct_of_bound() <= 100.0,
        "{}%",
        report.pct_of_bound()
    );
}

#[test]
fn the_tuned_rotate_settings_replay_independently() {
    // README's warehouse_small rotate settings, shortened: no corridor rules in the way
    // (cost 1), a long window, restarts, a held goal cell, last step's window continued and
    // arrival headings weighed. Every step must still be legal on the real floor.
    let mut tuned = options(Motion::Rotate, 150, true);
    tuned.corridor_cost = 1;
    tuned.repair_window = Some(20);
    tuned.repair_restarts = 2;
    tuned.repair_hold = 1;
    tuned.repair_warm = true;
    tuned.arrival_headings = true;
    let (report, doc, grid, tasks) = lorr_run_with(100, &tuned);
    assert_eq!(replay(&doc, &grid, &tasks, Motion::Rotate), report.finished);
    assert!(
        report.pct_of_bound() > 50.0 && report.pct_of_bound() <= 100.0,
        "{}%",
        report.pct_of_bound()
    );
}

#[test]
fn windowed_repair_finishes_more_errands_than_the_step_it_repairs() {
    let finished = |window: usize| {
        let files = scenario::load_lorr(&small_warehouse(200)).unwrap();
        let scenario = scenario::lorr_scenario(
            files,
            Motion::Rotate,
            300,
            Scheduler::Alloc { trip_weight: 1 },
        )
        .unwrap();
        let mut options = options(Motion::Rotate, 300, false);
        options.repair_window = Some(window);
        run(scenario, &options, &mut |_, _| {}).finished
    };
    let (plain, repaired) = (finished(0), finished(10));
    assert!(repaired > plain, "repaired {repaired}, plain {plain}");
}

#[test]
fn lorr_grid4_run_replays_independently_to_the_same_errand_count() {
    let (report, doc, grid, tasks) = lorr_run(100, Motion::Grid4, 300);
    assert_eq!(doc["actionModel"], "MAPF");
    assert_eq!(replay(&doc, &grid, &tasks, Motion::Grid4), report.finished);
    assert!(
        report.pct_of_bound() > 50.0 && report.pct_of_bound() <= 100.0,
        "{}%",
        report.pct_of_bound()
    );
}

#[test]
fn the_chain_bound_matches_the_published_figures() {
    // PLANNING.md section 5: 3,260 / 6,619 errands in 1,000 steps (4-connected), 3,070 / 6,236 (MAPF_T).
    for (agents, grid4, rotate) in [(100, 3260.0, 3070.0), (200, 6619.0, 6236.0)] {
        for (motion, expected) in [(Motion::Grid4, grid4), (Motion::Rotate, rotate)] {
            let s = scenario::lorr_scenario(
                scenario::load_lorr(&small_warehouse(agents)).unwrap(),
                motion,
                1000,
                Scheduler::Alloc { trip_weight: 1 },
            )
            .unwrap();
            assert_eq!(
                (s.bound.per_step * 1000.0).round(),
                expected,
                "{agents} agents, {motion:?}"
            );
        }
    }
}

#[test]
fn rhcr_sorting_keeps_flowing_on_one_way_lanes() {
    let path = crate::bench_dir().join("rhcr/sorting_map.grid");
    let s = scenario::rhcr_scenario(&path, Motion::Grid4, 200, 5).unwrap();
    // PLANNING.md: 2n / 58.74 goals per step.
    assert!(
        (s.bound.per_step - 400.0 / 58.74).abs() < 0.01,
        "{}",
        s.bound.per_step
    );
    let report = run(s, &options(Motion::Grid4, 300, false), &mut |_, _| {});
    assert!(report.pct_of_bound() > 60.0, "{}%", report.pct_of_bound());
}

#[test]
fn rhcr_kiva_and_movingai_lifelong_runs_finish_goals_without_deadlock() {
    let kiva = scenario::rhcr_scenario(
        &crate::bench_dir().join("rhcr/kiva.map"),
        Motion::Grid4,
        60,
        1,
    )
    .unwrap();
    assert!((kiva.bound.mean_trip.unwrap() - 22.85).abs() < 0.01);
    let report = run(kiva, &options(Motion::Grid4, 300, false), &mut |_, _| {});
    assert!(report.pct_of_bound() > 30.0, "{}%", report.pct_of_bound());
    let map = crate::bench_dir().join("movingai/random-32-32-20.map");
    for motion in [Motion::Grid4, Motion::Rotate] {
        let s = scenario::movingai_scenario(&map, None, motion, 60, 2).unwrap();
        let report = run(s, &options(motion, 300, false), &mut |_, _| {});
        // Goals keep being reached in the second half too: no deadlock.
        assert!(report.finished > 60, "{motion:?}: {}", report.finished);
    }
}

#[test]
fn a_movingai_scenario_takes_its_starts_from_the_scen_file() {
    let dir = crate::bench_dir().join("movingai");
    let s = scenario::movingai_scenario(
        &dir.join("warehouse-20-40-10-2-2.map"),
        Some(&dir.join("warehouse-20-40-10-2-2-60agents-1.scen")),
        Motion::Grid4,
        50,
        0,
    )
    .unwrap();
    // First row of the scen: start x=176, y=121 on a 340-wide map.
    assert_eq!(s.starts[0].cell, Cell(121 * 340 + 176));
}

/// Positions of every agent at every time (index 0 = the starts), replayed from a LoRR
/// output with the independent checker.
fn positions(doc: &serde_json::Value, grid: &Grid, motion: Motion) -> Vec<Vec<Cell>> {
    let (mut agents, paths) = starts_and_paths(doc, grid, motion);
    let mut out = vec![agents.iter().map(|a| a.cell).collect::<Vec<_>>()];
    for t in 0..paths[0].len() {
        let moves: Vec<Move> = paths.iter().map(|p| p[t]).collect();
        agents =
            verify(grid, motion, &agents, &moves).unwrap_or_else(|v| panic!("step {t}: {v:?}"));
        out.push(agents.iter().map(|a| a.cell).collect());
    }
    out
}

#[test]
fn lorr_2024_revealed_tasks_are_finished_in_order_under_both_schedulers() {
    // The main-round instances are 10,000 agents; run a short slice (its first 200 starts
    // and 400 tasks, shipped in tests/data) to check the semantics.
    let path = crate::bench_dir().join("lorr2024/main-round/warehouse.domain/WAREHOUSE-slice.json");
    let mut counts = Vec::new();
    for scheduler in [Scheduler::Alloc { trip_weight: 1 }, Scheduler::Greedy] {
        let mut files = scenario::load_lorr(&path).unwrap();
        files.starts.truncate(200);
        files.tasks.truncate(400);
        let tasks = files.tasks.clone();
        let s = scenario::lorr_scenario(files, Motion::Rotate, 200, scheduler).unwrap();
        let grid = s.grid.clone();
        let report = run(s, &options(Motion::Rotate, 200, true), &mut |_, _| {});
        assert_eq!(report.unit, drover_sim::tasks::Unit::Task);
        let doc = output::lorr_output(&report, &grid, Motion::Rotate, &|id| {
            tasks[(id % tasks.len() as u64) as usize].clone()
        });
        let at = positions(&doc, &grid, Motion::Rotate);
        // Every errand event happens with its agent on the errand cell, errands in order, and
        // a task counts once, when its last errand is reached.
        let mut progress: std::collections::BTreeMap<u64, u32> = Default::default();
        let mut finished = 0;
        for e in &report.events {
            let errands = &tasks[(e.task % tasks.len() as u64) as usize];
            match e.errands_done {
                None => assert!(
                    progress.insert(e.task, 0).is_none(),
                    "task {} assigned twice",
                    e.task
                ),
                Some(k) => {
                    assert_eq!(
                        progress.insert(e.task, k),
                        Some(k - 1),
                        "task {} out of order",
                        e.task
                    );
                    assert_eq!(at[e.t as usize][e.agent as usize], errands[k as usize - 1]);
                    if k as usize == errands.len() {
                        finished += 1;
                    }
                }
            }
        }
        assert_eq!(finished, report.finished, "{scheduler:?}");
        assert!(report.finished > 50, "{scheduler:?}: {}", report.finished);
        counts.push(report.finished);
    }
    eprintln!("alloc {} / greedy {}", counts[0], counts[1]);
}
