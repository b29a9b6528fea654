//! Every layout in `config/` parses, so none rots.

use drover_grid::load::{StationKind, parse_floor};

#[test]
fn every_floor_layout_in_config_parses() {
    let dir = crate::workspace_dir().join("config/floors");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("config/floors exists") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let floor =
                parse_floor(&path.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                !floor.stations.is_empty(),
                "{} has no stations",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 1);
}

#[test]
fn the_demo_floor_has_pick_stations_chargers_and_storage() {
    let path = crate::workspace_dir().join("config/floors/demo.toml");
    let floor = parse_floor("demo.toml", &std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!((floor.grid.width(), floor.grid.height()), (30, 20));
    assert_eq!(
        floor
            .stations
            .iter()
            .filter(|s| s.kind == StationKind::Pick)
            .count(),
        3
    );
    assert_eq!(floor.chargers.len(), 2);
    assert_eq!(floor.storage.len(), 96);
    assert!(floor.grid.n_one_way_edges() > 0, "the highways are one-way");
}
