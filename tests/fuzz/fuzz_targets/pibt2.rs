//! pibt2 loaders: the `.pd` overlay and the `key=value` instance against a map, the sample's
//! `warehouse.map` or, when the input holds a NUL, the MovingAI map before it; the instance is
//! also read without a map.
#![no_main]

use std::sync::OnceLock;

use drover_grid::Grid;
use drover_grid::load::{parse_movingai_map, parse_pd_overlay, parse_pibt2_instance};
use libfuzzer_sys::fuzz_target;

fn warehouse() -> &'static Grid {
    static GRID: OnceLock<Grid> = OnceLock::new();
    GRID.get_or_init(|| {
        let text = include_str!("../../data/bench/pibt2/warehouse.map");
        parse_movingai_map("warehouse.map", text).expect("the sample map parses")
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
    if let Ok(pd) = parse_pd_overlay("fuzz.pd", text, grid) {
        let cells = pd.pickup.iter().chain(&pd.delivery).chain(&pd.endpoints);
        assert!(cells.copied().all(|c| grid.contains(c)));
    }
    if let Ok(instance) = parse_pibt2_instance("fuzz.txt", text, Some(grid)) {
        assert!(instance.starts.iter().all(|c| grid.is_free(*c)));
    }
    let _ = parse_pibt2_instance("fuzz.txt", text, None);
});
