//! RHCR loaders: the Kiva `.map` and the sorting centre's `.grid`, both fed every input.
#![no_main]

use drover_grid::load::{parse_kiva_map, parse_sorting_grid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for map in [
        parse_kiva_map("fuzz.map", text),
        parse_sorting_grid("fuzz.grid", text),
    ]
    .into_iter()
    .flatten()
    {
        let _ = map.grid.render();
    }
});
