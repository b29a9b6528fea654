//! The LoRR Start-Kit output JSON, so a third party can replay a run.

use drover_grid::{Grid, Heading, Motion};
use drover_plan::{Move, Turn};
use serde_json::{Value, json};

use crate::runner::Report;
use crate::tasks::Unit;

/// The action letter: `F R C W` under `Rotate` (MAPF_T), `U D L R W` under `Grid4` (MAPF).
pub fn action_letter(mv: Move) -> char {
    match mv {
        Move::Forward => 'F',
        Move::Turn(Turn::Clockwise) => 'R',
        Move::Turn(Turn::CounterClockwise) => 'C',
        Move::Wait(_) => 'W',
        Move::Go(Heading::North) => 'U',
        Move::Go(Heading::South) => 'D',
        Move::Go(Heading::West) => 'L',
        Move::Go(Heading::East) => 'R',
    }
}

fn heading_letter(h: Heading) -> &'static str {
    match h {
        Heading::East => "E",
        Heading::South => "S",
        Heading::West => "W",
        Heading::North => "N",
    }
}

/// Builds the output document. `tasks` gives the errand cells of a task id (for the `tasks`
/// list). `sumOfCost` counts actions other than wait.
pub fn lorr_output(
    report: &Report,
    grid: &Grid,
    motion: Motion,
    tasks: &dyn Fn(u64) -> Vec<drover_grid::Cell>,
) -> Value {
    let n = report.agents;
    let mut paths: Vec<String> = vec![String::with_capacity(report.moves.len() * 2); n];
    let mut sum_of_cost: u64 = 0;
    for step in &report.moves {
        for (agent, mv) in step.iter().enumerate() {
            if !paths[agent].is_empty() {
                paths[agent].push(',');
            }
            paths[agent].push(action_letter(*mv));
            if !matches!(mv, Move::Wait(_)) {
                sum_of_cost += 1;
            }
        }
    }
    let start: Vec<Value> = report
        .starts
        .iter()
        .map(|s| {
            let (r, c) = grid.row_col(s.cell);
            json!([r, c, heading_letter(s.heading)])
        })
        .collect();
    let mut task_ids: Vec<u64> = report.events.iter().map(|e| e.task).collect();
    task_ids.sort_unstable();
    task_ids.dedup();
    let year_2024 = report.unit == Unit::Task;
    let task_list: Vec<Value> = task_ids
        .iter()
        .map(|id| {
            let cells = tasks(*id);
            let coords: Vec<u32> = cells
                .iter()
                .flat_map(|c| {
                    let (r, col) = grid.row_col(*c);
                    [r, col]
                })
                .collect();
            if year_2024 {
                json!([id, 0, coords])
            } else {
                json!([id, coords[0], coords[1]])
            }
        })
        .collect();
    let events: Value = if year_2024 {
        Value::Array(
            report
                .events
                .iter()
                .map(|e| json!([e.t, e.agent, e.task, e.errands_done.unwrap_or(0)]))
                .collect(),
        )
    } else {
        let mut per_agent: Vec<Vec<Value>> = vec![Vec::new(); n];
        for e in &report.events {
            let what = if e.errands_done.is_some() {
                "finished"
            } else {
                "assigned"
            };
            per_agent[e.agent as usize].push(json!([e.task, e.t, what]));
        }
        json!(per_agent)
    };
    let planner_times: Vec<f64> = report.step_ms.iter().map(|ms| ms / 1e3).collect();
    let mut doc = json!({
        "actionModel": if motion == Motion::Rotate { "MAPF_T" } else { "MAPF" },
        "AllValid": "Yes",
        "teamSize": n,
        "start": start,
        "numTaskFinished": report.finished,
        "sumOfCost": sum_of_cost,
        "makespan": report.steps,
        "actualPaths": paths,
        "plannerPaths": paths,
        "plannerTimes": planner_times,
        "errors": [],
        "events": events,
        "tasks": task_list,
    });
    if year_2024 {
        doc["version"] = json!("2024 LoRR");
    }
    doc
}
