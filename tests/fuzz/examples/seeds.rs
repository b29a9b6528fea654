//! Writes the seed corpus, `tests/fuzz/seeds/<target>/`: robot traffic played by simulated
//! drive units (drover-sim) against the session rig, in VDA 5050 2.0.0 and 2.1.0, with the
//! session's orders delivered back to them; hostile variants (spoofed headers, foreign
//! versions, strangers, made-up topics); API bodies as the README shows them; and small
//! benchmark and floor files (the repository's, shortened where they are large).
//!
//! `cargo run --manifest-path tests/fuzz/Cargo.toml --example seeds`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use drover_core::session::Publish;
use drover_fuzz::{
    ENDPOINTS, EPOCH, MANUFACTURER, Rig, Step, control_record, demo_floor, demo_frame, join,
    message_record, raw_record, state_json, steps,
};
use drover_grid::Heading;
use drover_grid::load::{parse_floor, parse_movingai_map};
use drover_sim::unit::{DriveUnit, UnitConfig};
use drover_vda5050::{
    ConnectionState, InstantActions, Order, Timestamp, Topic, Version, Visualization,
};

/// Traffic between simulated units and the rig, recorded as records.
struct Play {
    rig: Rig,
    units: Vec<DriveUnit>,
    records: Vec<Vec<u8>>,
    /// Echo the fleet's messages back on the robots' order and instantActions topics.
    echo: bool,
    visualization_ids: u32,
    /// Orders and instant actions delivered to the units.
    delivered: usize,
}

impl Play {
    /// Units `r1`, `r2`, … on the first park cells, speaking `versions`.
    fn new(versions: &[Version]) -> Play {
        let floor = demo_floor();
        let units = versions
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let config = UnitConfig {
                    version: *v,
                    ..UnitConfig::standard()
                };
                let serial = format!("r{}", k + 1);
                DriveUnit::new(
                    MANUFACTURER,
                    &serial,
                    demo_frame(),
                    floor.park[k],
                    Heading::East,
                    config,
                )
            })
            .collect();
        Play {
            rig: Rig::new(),
            units,
            records: Vec::new(),
            echo: false,
            visualization_ids: 0,
            delivered: 0,
        }
    }

    fn ms(&self) -> u64 {
        (self.rig.now_ms - EPOCH).max(0) as u64
    }

    /// Records `record` and plays it; the session's answers go to the units.
    fn send(&mut self, record: Vec<u8>) {
        let step = steps(&record).next().expect("one record");
        let publish = self.rig.apply(step);
        self.records.push(record);
        for p in publish {
            self.deliver(&p);
        }
    }

    fn deliver(&mut self, p: &Publish) {
        let ms = self.ms();
        let Some(k) = self.units.iter().position(|u| u.serial() == p.path.serial) else {
            return;
        };
        match p.path.topic {
            Topic::Order => {
                let order: Order = serde_json::from_slice(&p.payload).expect("an order");
                self.units[k].on_order(order, ms);
            }
            Topic::InstantActions => {
                let actions: InstantActions =
                    serde_json::from_slice(&p.payload).expect("instant actions");
                self.units[k].on_instant(actions, ms);
            }
            _ => return,
        }
        self.delivered += 1;
        if self.echo {
            self.records
                .push(message_record(p.path.topic, k, false, &p.payload));
        }
    }

    fn state(&mut self, k: usize) {
        let ms = self.ms();
        let s = self.units[k].state(ms, EPOCH);
        self.send(message_record(Topic::State, k, false, &to_json(&s)));
    }

    fn connection(&mut self, k: usize, state: ConnectionState) {
        let ms = self.ms();
        let c = self.units[k].connection(state, ms, EPOCH);
        self.send(message_record(Topic::Connection, k, false, &to_json(&c)));
    }

    fn factsheet(&mut self, k: usize) {
        let ms = self.ms();
        let f = self.units[k].factsheet(ms, EPOCH);
        self.send(message_record(Topic::Factsheet, k, false, &to_json(&f)));
    }

    fn visualization(&mut self, k: usize) {
        let ms = self.ms();
        let s = self.units[k].state(ms, EPOCH);
        let v = Visualization {
            header_id: Some(self.visualization_ids),
            timestamp: Some(s.timestamp),
            version: Some(s.version),
            manufacturer: Some(s.manufacturer),
            serial_number: Some(s.serial_number),
            agv_position: s.agv_position,
            velocity: None,
        };
        self.visualization_ids += 1;
        self.send(message_record(Topic::Visualization, k, false, &to_json(&v)));
    }

    /// Discovery for units `located`: connection, factsheet and first state each.
    fn discover(&mut self, located: &[usize]) {
        for &k in located {
            self.connection(k, ConnectionState::Online);
            self.factsheet(k);
            self.state(k);
        }
    }

    fn start(&mut self) {
        self.send(control_record(&Step::Start));
    }

    /// `n` rounds of: every unit advances and reports, then the coordinator ticks.
    fn run(&mut self, n: usize, reporting: &[usize]) {
        for _ in 0..n {
            let ms = self.ms();
            for u in &mut self.units {
                u.advance(ms);
            }
            for &k in reporting {
                self.state(k);
            }
            self.send(control_record(&Step::Tick));
        }
    }

    fn input(&self) -> Vec<u8> {
        assert!(
            self.rig.started() == (self.delivered > 0),
            "the session answers once started"
        );
        join(&self.records)
    }
}

fn to_json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).expect("messages serialise")
}

/// The intake seeds, by name (the `inbox` and `session` targets share them).
fn intake() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();

    // Two robots, 2.0.0 and 2.1.0, located and driven to their transports; orders echoed.
    let mut play = Play::new(&[Version::V2_0, Version::V2_1]);
    play.discover(&[0, 1]);
    play.start();
    play.echo = true;
    play.run(2, &[0, 1]);
    play.echo = false;
    play.run(10, &[0, 1]);
    play.visualization(0);
    play.visualization(1);
    out.push(("drive-2.0-and-2.1", play.input()));

    // r2 misses discovery and reports later; a stranger and another manufacturer report too.
    let mut play = Play::new(&[Version::V2_1, Version::V2_1, Version::V2_0]);
    play.discover(&[0]);
    play.start();
    play.run(2, &[0, 1, 2]);
    let ms = play.ms();
    let s = play.units[1].state(ms, EPOCH);
    play.send(message_record(Topic::State, 3, false, &to_json(&s)));
    play.send(message_record(Topic::State, 1, true, &to_json(&s)));
    play.send(raw_record("uagv/v2/acme/r2/state", &to_json(&s)));
    play.send(raw_record("uagv/v1/acme/r2/state", &to_json(&s)));
    play.send(raw_record("uagv/v2/acme/+/state", &to_json(&s)));
    play.send(raw_record("uagv/v2/acme/r2/state/extra", &to_json(&s)));
    play.send(raw_record("", b""));
    out.push(("late-and-strangers", play.input()));

    // Connections: broken, offline, online again, with states around them.
    let mut play = Play::new(&[Version::V2_1, Version::V2_1]);
    play.discover(&[0, 1]);
    play.start();
    play.run(3, &[0, 1]);
    play.connection(1, ConnectionState::Connectionbroken);
    play.run(2, &[0]);
    play.connection(1, ConnectionState::Offline);
    play.connection(1, ConnectionState::Online);
    play.factsheet(1);
    play.run(3, &[0, 1]);
    out.push(("connection-flaps", play.input()));

    // A spoofed state (headerId 4294967295, a timestamp in 2099), then the real robot; the
    // clock jumps both ways.
    let mut play = Play::new(&[Version::V2_1, Version::V2_0]);
    play.discover(&[0, 1]);
    play.start();
    play.run(2, &[0, 1]);
    let ms = play.ms();
    let mut spoof = play.units[0].state(ms, EPOCH);
    spoof.header_id = u32::MAX;
    spoof.timestamp = Timestamp::parse("2099-01-01T00:00:00.00Z").expect("a timestamp");
    play.send(message_record(Topic::State, 0, false, &to_json(&spoof)));
    let mut spoof = play.units[1].connection(ConnectionState::Connectionbroken, ms, EPOCH);
    spoof.header_id = u32::MAX;
    play.send(message_record(
        Topic::Connection,
        1,
        false,
        &to_json(&spoof),
    ));
    play.run(2, &[0, 1]);
    play.send(control_record(&Step::Clock(3_600_000)));
    play.run(1, &[0, 1]);
    play.send(control_record(&Step::Clock(-7_200_000)));
    play.run(1, &[0, 1]);
    out.push(("spoof", play.input()));

    // Versions drover does not speak, and a robot that changes version.
    let mut play = Play::new(&[Version::V2_1, Version::V2_1]);
    play.discover(&[0, 1]);
    play.start();
    play.run(1, &[0, 1]);
    let floor = demo_floor();
    for (k, version) in [(0, "3.0.0"), (1, "1.1.0"), (0, "2.0.5"), (1, "2.1")] {
        let s = state_json(
            &format!("r{}", k + 1),
            version,
            floor.park[k],
            100,
            play.rig.now_ms,
        );
        play.send(message_record(Topic::State, k, false, &s));
    }
    let mut s: serde_json::Value = serde_json::from_slice(&state_json(
        "r1",
        "2.1.0",
        floor.park[0],
        200,
        play.rig.now_ms,
    ))
    .expect("JSON");
    s["version"] = serde_json::json!(2);
    play.send(message_record(Topic::State, 0, false, &to_json(&s)));
    play.run(2, &[0, 1]);
    out.push(("versions", play.input()));

    // Discovery only: a robot off the map, one uninitialised, one on a wall; never started.
    let mut play = Play::new(&[Version::V2_0, Version::V2_1]);
    play.discover(&[0]);
    let mut s: serde_json::Value =
        serde_json::from_slice(&state_json("r2", "2.1.0", floor.park[1], 1, EPOCH)).expect("JSON");
    s["agvPosition"]["x"] = serde_json::json!(-40.0);
    play.send(message_record(Topic::State, 1, false, &to_json(&s)));
    s["agvPosition"]["x"] = serde_json::json!(1.5);
    s["agvPosition"]["positionInitialized"] = serde_json::json!(false);
    s["headerId"] = serde_json::json!(2);
    play.send(message_record(Topic::State, 1, false, &to_json(&s)));
    s["agvPosition"]["mapId"] = serde_json::json!("elsewhere");
    s["headerId"] = serde_json::json!(3);
    play.send(message_record(Topic::State, 1, false, &to_json(&s)));
    s.as_object_mut().expect("an object").remove("agvPosition");
    s["lastNodeId"] = serde_json::json!("0");
    s["headerId"] = serde_json::json!(4);
    play.send(message_record(Topic::State, 1, false, &to_json(&s)));
    out.push(("discovery-only", play.input()));

    out
}

fn api_bodies() -> Vec<(String, Vec<u8>)> {
    let bodies: [(usize, &str, &str); 14] = [
        (
            0,
            "pick-pod",
            r#"{"kind": "pick", "station": "pick-1", "pod": "pod-0001", "units": 2}"#,
        ),
        (
            0,
            "pick-sku",
            r#"{"kind": "pick", "sku": "SKU-1", "priority": 5, "deadline_ms": 1790000600000}"#,
        ),
        (
            0,
            "stow-key",
            r#"{"kind": "stow", "pod": "pod-0002", "station": "stow-1", "key": "k-1"}"#,
        ),
        (
            0,
            "transport",
            r#"{"kind": "transport", "errands": [{"cell": 779, "action": "visit"}, {"cell": 780, "action": "dwell", "ticks": 4}, {"cell": 781, "action": "lift"}, {"cell": 782, "action": "drop"}]}"#,
        ),
        (
            0,
            "bad-station-kind",
            r#"{"kind": "pick", "station": "stow-1", "pod": "pod-0001"}"#,
        ),
        (
            1,
            "batch",
            r#"{"tasks": [{"kind": "pick", "pod": "pod-0003"}, {"kind": "transport", "errands": [{"cell": 790, "action": "visit"}]}, {"kind": "stow", "sku": "nope"}, 7]}"#,
        ),
        (2, "staff", r#"{"associate": "ana"}"#),
        (2, "staff-empty", r#"{"associate": ""}"#),
        (
            3,
            "zone-rect",
            r#"{"name": "z1", "mode": "blocked", "rect": {"col": 4, "row": 5, "width": 3, "height": 2}, "access": true}"#,
        ),
        (
            3,
            "zone-slow",
            r#"{"name": "z2", "mode": "slow", "max_speed": 0.5, "cells": [779, 780, 781]}"#,
        ),
        (
            3,
            "zone-edge",
            r#"{"name": "z3", "mode": "blocked", "rect": {"col": 38, "row": 20, "width": 2, "height": 2}}"#,
        ),
        (
            4,
            "pods",
            r#"{"pods": [{"pod": "pod-0001", "contents": {"SKU-1": 12, "SKU-9": 1}}, {"pod": "pod-0002", "contents": {}}]}"#,
        ),
        (
            4,
            "pods-twice",
            r#"{"pods": [{"pod": "pod-0001", "contents": {"SKU-1": 12}}, {"pod": "pod-0001", "contents": {}}]}"#,
        ),
        (0, "not-json", "kind=pick"),
    ];
    bodies
        .iter()
        .map(|(endpoint, name, body)| {
            assert!(*endpoint < ENDPOINTS.len());
            let mut input = vec![*endpoint as u8];
            input.extend_from_slice(body.as_bytes());
            (format!("{}-{name}", endpoint), input)
        })
        .collect()
}

/// The first `lines` lines of `text`.
fn head(text: &str, lines: usize) -> String {
    text.lines().take(lines).map(|l| format!("{l}\n")).collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::create_dir_all(dir).expect("the seed folder");
    std::fs::write(dir.join(name), data).expect("a seed file");
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo = root.join("../..");
    let seeds = root.join("seeds");
    let read = |p: &str| std::fs::read_to_string(repo.join(p)).expect(p);

    for (name, input) in intake() {
        write(&seeds.join("inbox"), name, &input);
        write(&seeds.join("session"), name, &input);
    }
    for (name, input) in api_bodies() {
        write(&seeds.join("api_bodies"), &name, &input);
    }
    let pods = seeds.join("pods_import");
    write(
        &pods,
        "readme.json",
        br#"{"pods": [{"pod": "pod-0001", "contents": {"SKU-1": 12}}]}"#,
    );
    write(
        &pods,
        "rows.csv",
        b"pod,sku,units\npod-0001,SKU-1,12\n# a comment\n\npod-0002,SKU-2,3\npod-0001,SKU-3,1\n",
    );

    // Floors: the demo, and a tiny one with every kind of cell and section.
    let floors = seeds.join("floor_toml");
    write(
        &floors,
        "demo.toml",
        read("config/floors/demo.toml").as_bytes(),
    );
    let tiny = r#"name = "tiny"
cell_size_m = 1.0
map = """
#########
#cp.....#
#.>>>>>.#
#.PsPxP.#
#.^...v.#
#.......#
##qqf.###
#########
"""

[[station]]
name = "pick-1"
kind = "pick"
face = [6, 4]
queue = [[6, 2], [6, 3]]
capacity = 2
exit = [6, 5]

[[charger]]
name = "charger-1"
cell = [1, 1]

[[pod]]
id = "pod-a"
cell = [3, 2]
contents = { "SKU-1" = 3, "SKU-2" = 1 }
"#;
    parse_floor("tiny.toml", tiny).expect("the tiny floor parses");
    write(&floors, "tiny.toml", tiny.as_bytes());

    // LoRR: instances, agents, tasks (shortened, count adjusted), and a map with its agents.
    let lorr = seeds.join("lorr");
    let bench = "tests/data/bench";
    let domain = format!("{bench}/lorr2023/example/warehouse.domain");
    for f in [
        "EI23-warehouse_small_10.json",
        "EI23-warehouse_small_100.json",
    ] {
        write(&lorr, f, read(&format!("{domain}/{f}")).as_bytes());
    }
    write(
        &lorr,
        "WAREHOUSE-slice.json",
        read(&format!(
            "{bench}/lorr2024/main-round/warehouse.domain/WAREHOUSE-slice.json"
        ))
        .as_bytes(),
    );
    for f in ["warehouse_small_10.agents", "warehouse_small_100.agents"] {
        write(&lorr, f, read(&format!("{domain}/agents/{f}")).as_bytes());
    }
    let tasks = read(&format!("{domain}/tasks/warehouse_small.tasks"));
    let tasks: String = std::iter::once("60\n".to_string())
        .chain(head(&tasks, 61).lines().skip(1).map(|l| format!("{l}\n")))
        .collect();
    write(&lorr, "warehouse_small-60.tasks", tasks.as_bytes());
    let map = "type octile\nheight 3\nwidth 4\nmap\n..@.\n.@..\n....\n";
    write(
        &lorr,
        "tiny-map-agents",
        format!("{map}\0# agents\n2\n0\n11\n").as_bytes(),
    );
    write(
        &lorr,
        "tiny-map-tasks-2024",
        format!("{map}\0# version for LoRR 2024\n2\n0,11,3\n4\n").as_bytes(),
    );

    // MovingAI: a map, the scenario's first agents, and a small map with its own scenario.
    let movingai = seeds.join("movingai");
    let small = read(&format!("{bench}/movingai/random-32-32-20.map"));
    write(&movingai, "random-32-32-20.map", small.as_bytes());
    let scen = read(&format!(
        "{bench}/movingai/warehouse-20-40-10-2-2-60agents-1.scen"
    ));
    write(
        &movingai,
        "warehouse-20-agents.scen",
        head(&scen, 21).as_bytes(),
    );
    let grid = parse_movingai_map("random-32-32-20.map", &small).expect("the map parses");
    let free: Vec<(u32, u32)> = (0..grid.n_cells() as u32)
        .filter(|c| grid.is_free(drover_grid::Cell(*c)))
        .map(|c| (c % grid.width(), c / grid.width()))
        .collect();
    let mut own = String::from("version 1\n");
    for k in 0..8 {
        let (s, g) = (free[k * 7], free[free.len() - 1 - k * 5]);
        writeln!(
            own,
            "0\trandom-32-32-20.map\t32\t32\t{}\t{}\t{}\t{}\t10",
            s.0, s.1, g.0, g.1
        )
        .expect("a string");
    }
    write(
        &movingai,
        "random-map-and-scen",
        format!("{small}\0{own}").as_bytes(),
    );

    // RHCR: the Kiva map and a small sorting grid (the real one is 108 kB).
    let rhcr = seeds.join("rhcr");
    write(
        &rhcr,
        "kiva.map",
        read(&format!("{bench}/rhcr/kiva.map")).as_bytes(),
    );
    let sorting = read(&format!("{bench}/rhcr/sorting_map.grid"));
    let mut grid = head(&sorting, 3).replace("77,37", "4,3");
    let kinds = [
        "Obstacle", "Travel", "Travel", "Eject", "Induct", "Travel", "Travel", "Travel",
        "Obstacle", "Travel", "Travel", "Travel",
    ];
    for (id, kind) in kinds.iter().enumerate() {
        let (x, y) = (id / 3, id % 3);
        writeln!(grid, "{id},{kind},None,{x},{y},1,inf,1,1,1").expect("a string");
    }
    write(&rhcr, "small-sorting.grid", grid.as_bytes());

    // pibt2: the overlay, the instance, and the map with its overlay.
    let pibt2 = seeds.join("pibt2");
    let pd = read(&format!("{bench}/pibt2/warehouse.map.pd"));
    write(&pibt2, "warehouse.map.pd", pd.as_bytes());
    write(
        &pibt2,
        "mapd-sample-instance.txt",
        read(&format!("{bench}/pibt2/mapd-sample-instance.txt")).as_bytes(),
    );
    let map = read(&format!("{bench}/pibt2/warehouse.map"));
    write(&pibt2, "map-and-pd", format!("{map}\0{pd}").as_bytes());
    let instance = "map_file=warehouse.map\nagents=2\nseed=0\nmax_timestep=500\nmax_comp_time=1000\ntask_frequency=0.5\ntask_num=10\n0,0\n1,0\n";
    write(&pibt2, "instance-with-starts", instance.as_bytes());

    println!("seeds written under {}", seeds.display());
}
