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

#[test]
fn droverd_toml_parses_and_documents_every_key() {
    let path = crate::workspace_dir().join("config/droverd.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config = droverd::config::Config::parse(&text).unwrap();
    assert_eq!(config.serials().len(), config.robots.count);
    assert_eq!(config.coord_config().resend_ticks, 10);
    // Every key line is preceded by a comment line (documented).
    let mut prev_comment = false;
    for line in text.lines() {
        let t = line.trim();
        if t.contains('=') && !t.starts_with('#') {
            assert!(prev_comment, "undocumented key: {t}");
        }
        prev_comment =
            t.starts_with('#') || (prev_comment && t.contains('=') && !t.starts_with('['));
    }
    // Unknown keys are errors, with the key named.
    let bad = text.replace("tick_ms = 100", "tick_ms = 100\ntik_ms = 5");
    let err = droverd::config::Config::parse(&bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tik_ms"), "{err}");
    let bad = text.replace("tick_ms = 100", "tick_ms = 0");
    assert!(droverd::config::Config::parse(&bad).is_err());
}

#[test]
fn the_broker_config_never_shows_a_password() {
    let path = crate::workspace_dir().join("config/droverd.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace("mode = \"embedded\"", "mode = \"external\"")
        .replace(
            "url = \"mqtt://127.0.0.1:1883\"",
            "url = \"mqtts://robot:url-secret@broker.example:8883\"\npassword = \"key-secret\"\n\
         username = \"droverd\"\nca_file = \"/nonexistent/ca.crt\"",
        );
    let config = droverd::config::Config::parse(&text).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("robot:***@broker.example:8883"), "{debug}");
    // An unreadable CA file: the error names the file, not the password.
    let e = droverd::broker::external(&config.broker, None).unwrap_err();
    let e = format!("{e:#} {e:?}");
    assert!(
        e.contains("/nonexistent/ca.crt") && !e.contains("secret"),
        "{e}"
    );
    // A malformed URL: the error quotes it without its password.
    let bad = text.replace("broker.example:8883", "broker.example:port");
    let e = droverd::config::Config::parse(&bad).unwrap_err();
    let e = format!("{e:#} {e:?}");
    assert!(
        e.contains("robot:***@broker.example:port") && !e.contains("secret"),
        "{e}"
    );
}
