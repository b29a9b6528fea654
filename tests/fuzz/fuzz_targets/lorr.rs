//! League of Robot Runners loaders: the instance JSON, and the agents and tasks files against
//! a map, the example's `warehouse_small.map` or, when the input holds a NUL, the MovingAI map
//! before it (the file is what follows).
#![no_main]

use std::sync::OnceLock;

use drover_grid::Grid;
use drover_grid::load::{
    parse_lorr_agents, parse_lorr_instance, parse_lorr_tasks, parse_movingai_map,
};
use libfuzzer_sys::fuzz_target;

fn warehouse() -> &'static Grid {
    static GRID: OnceLock<Grid> = OnceLock::new();
    GRID.get_or_init(|| {
        let text = include_str!(
            "../../data/bench/lorr2023/example/warehouse.domain/maps/warehouse_small.map"
        );
        parse_movingai_map("warehouse_small.map", text).expect("the example map parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let own;
    let (grid, text) = match text.split_once('\0') {
        Some((map, rest)) => match parse_movingai_map("fuzz.map", map) {
            Ok(g) => {
                own = g;
                (&own, rest)
            }
            Err(_) => return,
        },
        None => (warehouse(), text),
    };
    if let Ok(instance) = parse_lorr_instance("fuzz.json", text) {
        assert!(instance.team_size >= 1);
    }
    for team in [1, 10] {
        if let Ok(starts) = parse_lorr_agents("fuzz.agents", text, grid, team) {
            assert_eq!(starts.len(), team);
            assert!(starts.iter().all(|c| grid.is_free(*c)));
        }
    }
    if let Ok(tasks) = parse_lorr_tasks("fuzz.tasks", text, grid) {
        assert!(tasks.iter().flatten().all(|c| grid.is_free(*c)));
    }
});
