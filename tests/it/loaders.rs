//! Every file in `../shared/bench/` loads, with the sizes PLANNING.md lists, and files that
//! are missing or broken give errors that name them.

use std::fmt::Write;
use std::path::Path;

use drover_grid::load;
use drover_grid::{CellKind, Grid};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn describe(grid: &Grid) -> String {
    format!(
        "{}x{}, {} free, {} edges ({} one-way)",
        grid.width(),
        grid.height(),
        grid.n_free(),
        grid.n_edges(),
        grid.n_one_way_edges()
    )
}

fn name(path: &Path) -> String {
    path.strip_prefix(crate::bench_dir())
        .unwrap()
        .display()
        .to_string()
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_benchmark_file_loads() {
    let bench = crate::bench_dir();
    let mut all = Vec::new();
    files(&bench, &mut all);
    all.sort();
    let mut summary = String::new();
    let mut checked = 0;
    for path in &all {
        let file = name(path);
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_string())
            .unwrap_or_default();
        let line = match ext.as_str() {
            "json" if file.ends_with("simulation_time.json") => continue,
            "json" => match drover_sim::scenario::load_lorr(path) {
                Ok(f) => format!(
                    "{:?}, {} agents, {} tasks of {}..={} errands, map {}",
                    f.instance.version,
                    f.starts.len(),
                    f.tasks.len(),
                    f.tasks.iter().map(Vec::len).min().unwrap(),
                    f.tasks.iter().map(Vec::len).max().unwrap(),
                    describe(&f.grid)
                ),
                // The 2024 test-round task files were not copied (bench/SOURCES.md).
                Err(e) => format!(
                    "error: {}",
                    format!("{e:#}").replace(&bench.display().to_string(), "bench")
                ),
            },
            "map" if file.starts_with("rhcr") => {
                let map = load::parse_kiva_map(&file, &read(path)).unwrap();
                format!(
                    "{}, {} endpoints, {} homes",
                    describe(&map.grid),
                    map.endpoints.len(),
                    map.homes.len()
                )
            }
            "map" => describe(&load::parse_movingai_map(&file, &read(path)).unwrap()),
            "grid" => {
                let map = load::parse_sorting_grid(&file, &read(path)).unwrap();
                format!(
                    "{}, {} ejects, {} inducts",
                    describe(&map.grid),
                    map.endpoints.len(),
                    map.homes.len()
                )
            }
            "scen" => {
                let grid = load::parse_movingai_map(
                    "m",
                    &read(&bench.join("movingai/warehouse-20-40-10-2-2.map")),
                )
                .unwrap();
                format!(
                    "{} agents",
                    load::parse_movingai_scen(&file, &read(path), &grid)
                        .unwrap()
                        .len()
                )
            }
            "pd" => {
                let grid = load::parse_movingai_map("m", &read(&path.with_extension(""))).unwrap();
                let pd = load::parse_pd_overlay(&file, &read(path), &grid).unwrap();
                format!(
                    "{} pickup, {} delivery, {} endpoints",
                    pd.pickup.len(),
                    pd.delivery.len(),
                    pd.endpoints.len()
                )
            }
            "txt" => {
                let grid = load::parse_movingai_map("m", &read(&bench.join("pibt2/warehouse.map")))
                    .unwrap();
                let i = load::parse_pibt2_instance(&file, &read(path), Some(&grid)).unwrap();
                format!(
                    "{} agents, {} tasks, {} steps",
                    i.agents, i.task_num, i.max_timestep
                )
            }
            // Agents and tasks files are loaded through their instance JSON above.
            "agents" | "tasks" | "md" => continue,
            other => panic!("{file}: no loader for .{other} files"),
        };
        checked += 1;
        writeln!(summary, "{file}: {line}").unwrap();
    }
    assert!(checked >= 30, "only {checked} files checked");
    insta::assert_snapshot!(summary);
}

#[test]
fn sorting_map_is_made_of_one_way_lanes() {
    let path = crate::bench_dir().join("rhcr/sorting_map.grid");
    let map = load::parse_sorting_grid("sorting_map.grid", &read(&path)).unwrap();
    assert_eq!(map.grid.n_edges(), 3792);
    assert_eq!(map.grid.n_one_way_edges(), 3792);
    assert_eq!(map.grid.cells_of(CellKind::Induct).len(), 50);
    assert_eq!(map.grid.cells_of(CellKind::Eject).len(), 1100);
}

#[test]
fn truncated_and_corrupted_benchmark_files_are_rejected_with_positions() {
    let bench = crate::bench_dir();
    let map_text = read(&bench.join("lorr2023/example/warehouse.domain/maps/warehouse_small.map"));
    let truncated: String = map_text.lines().take(20).collect::<Vec<_>>().join("\n");
    let ragged = map_text.replacen("@@@@..@@@....", "@@@@..@@@...", 1);
    let unknown = map_text.replacen("@@@@.E@@@E", "@@@@.E@@@?", 1);
    let grid = load::parse_movingai_map("ws.map", &map_text).unwrap();
    let agents =
        read(&bench.join("lorr2023/example/warehouse.domain/agents/warehouse_small_10.agents"));
    let out_of_range = agents.replacen("\n1032\n", "\n99999\n", 1);
    let kiva = read(&bench.join("rhcr/kiva.map"));
    let kiva_truncated: String = kiva.lines().take(10).collect::<Vec<_>>().join("\n");
    let errors = [
        load::parse_movingai_map("ws.map", &truncated)
            .unwrap_err()
            .to_string(),
        load::parse_movingai_map("ws.map", &ragged)
            .unwrap_err()
            .to_string(),
        load::parse_movingai_map("ws.map", &unknown)
            .unwrap_err()
            .to_string(),
        load::parse_lorr_agents("ws_10.agents", &out_of_range, &grid, 10)
            .unwrap_err()
            .to_string(),
        load::parse_kiva_map("kiva.map", &kiva_truncated)
            .unwrap_err()
            .to_string(),
    ];
    insta::assert_snapshot!(errors.join("\n"));
}
