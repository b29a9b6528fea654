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

fn floor(name: &str) -> drover_grid::load::Floor {
    let path = crate::workspace_dir().join(format!("config/floors/{name}.toml"));
    parse_floor(name, &std::fs::read_to_string(path).unwrap()).unwrap()
}

fn count(floor: &drover_grid::load::Floor, kind: StationKind) -> usize {
    floor.stations.iter().filter(|s| s.kind == kind).count()
}

#[test]
fn the_demo_floor_has_the_stations_pods_and_chargers_it_promises() {
    let floor = floor("demo");
    assert_eq!((floor.grid.width(), floor.grid.height()), (40, 22));
    assert_eq!(count(&floor, StationKind::Pick), 4);
    assert_eq!(count(&floor, StationKind::Stow), 1);
    assert_eq!(count(&floor, StationKind::Pack), 1);
    assert_eq!(floor.chargers.len(), 2);
    assert_eq!(floor.pods.len(), 151);
    assert!(
        floor.storage.len() > floor.pods.len(),
        "free slots for re-slotting"
    );
    assert!(floor.park.len() >= 10);
    assert!(floor.grid.n_one_way_edges() > 0, "the highways are one-way");
}

#[test]
fn fc_large_is_a_kiva_sized_floor() {
    let floor = floor("fc-large");
    assert_eq!((floor.grid.width(), floor.grid.height()), (200, 100));
    assert_eq!(floor.stations.len(), 24);
    assert_eq!(floor.chargers.len(), 40);
    assert!(
        (3_800..=4_200).contains(&floor.pods.len()),
        "{}",
        floor.pods.len()
    );
    assert!(floor.park.len() >= 120);
}
