//! drover's floor layout loader (`parse_floor`, TOML plus a character map). A floor it accepts
//! has every named cell on the grid.
#![no_main]

use drover_grid::load::parse_floor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(floor) = parse_floor("fuzz.toml", text) else {
        return;
    };
    let grid = &floor.grid;
    let _ = grid.render();
    for station in &floor.stations {
        assert!(grid.contains(station.face));
        assert!(station.queue.iter().all(|c| grid.contains(*c)));
        assert!(station.exit.is_none_or(|c| grid.contains(c)));
    }
    let named = floor.chargers.iter().map(|(_, c)| *c);
    let pods = floor.pods.iter().map(|p| p.cell);
    let cells = floor
        .storage
        .iter()
        .chain(&floor.park)
        .chain(&floor.restricted)
        .copied();
    assert!(named.chain(pods).chain(cells).all(|c| grid.contains(c)));
});
