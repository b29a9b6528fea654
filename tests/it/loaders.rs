//! Every benchmark file the repository ships (`tests/data/bench`, a slice of the public
//! benchmarks) loads, with the sizes PLANNING.md lists, and files that are missing or broken
//! give errors that name them. `drover-sim check-bench` does the same over all of them.

use std::path::Path;

use drover_grid::CellKind;
use drover_grid::load;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_benchmark_file_loads() {
    let (summary, checked) = drover_sim::bench_files::summarise(&crate::bench_dir()).unwrap();
    assert!(checked >= 12, "only {checked} files checked");
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
