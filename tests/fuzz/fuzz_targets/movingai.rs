//! MovingAI loaders: the `.map` grid, and the `.scen` agents against a map, the benchmark's
//! `warehouse-20-40-10-2-2.map` or, when the input holds a NUL, the map before it.
#![no_main]

use std::sync::OnceLock;

use drover_grid::Grid;
use drover_grid::load::{parse_movingai_map, parse_movingai_scen};
use libfuzzer_sys::fuzz_target;

fn warehouse() -> &'static Grid {
    static GRID: OnceLock<Grid> = OnceLock::new();
    GRID.get_or_init(|| {
        let text = include_str!("../../data/bench/movingai/warehouse-20-40-10-2-2.map");
        parse_movingai_map("warehouse-20-40-10-2-2.map", text).expect("the benchmark map parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let own;
    let (grid, scen) = match text.split_once('\0') {
        Some((map, scen)) => match parse_movingai_map("fuzz.map", map) {
            Ok(g) => {
                own = g;
                (&own, scen)
            }
            Err(_) => return,
        },
        None => {
            if let Ok(g) = parse_movingai_map("fuzz.map", text) {
                let _ = g.render();
            }
            (warehouse(), text)
        }
    };
    if let Ok(agents) = parse_movingai_scen("fuzz.scen", scen, grid) {
        for a in agents {
            assert!(grid.is_free(a.start) && grid.is_free(a.goal));
        }
    }
});
