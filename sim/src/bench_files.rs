//! Loads every benchmark file in a folder with drover's loaders and summarises each in one
//! line (sizes, agents, tasks): `drover-sim check-bench ../shared/bench` over the public
//! benchmarks, and the loader test over the slice the repository ships in `tests/data/bench`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use drover_grid::{Grid, load};

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
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

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// One line per benchmark file under `dir` (`path: summary`, paths relative to `dir`), and
/// how many files were loaded. A LoRR instance whose files are missing is summarised as its
/// error; any other file that does not load is an error naming it. Scenario files load
/// against the map beside them (`warehouse-20-40-10-2-2.map` for `.scen`, `warehouse.map` for
/// pibt2 instances).
pub fn summarise(dir: &Path) -> anyhow::Result<(String, usize)> {
    let mut all = Vec::new();
    files(dir, &mut all)?;
    all.sort();
    let mut summary = String::new();
    let mut checked = 0;
    for path in &all {
        let file = path.strip_prefix(dir)?.display().to_string();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_string())
            .unwrap_or_default();
        let text = || read(path);
        let line = match ext.as_str() {
            "json" if file.ends_with("simulation_time.json") => continue,
            "json" => match crate::scenario::load_lorr(path) {
                Ok(f) => format!(
                    "{:?}, {} agents, {} tasks of {}..={} errands, map {}",
                    f.instance.version,
                    f.starts.len(),
                    f.tasks.len(),
                    f.tasks.iter().map(Vec::len).min().unwrap_or(0),
                    f.tasks.iter().map(Vec::len).max().unwrap_or(0),
                    describe(&f.grid)
                ),
                // The 2024 test-round task files were not copied (bench/SOURCES.md).
                Err(e) => format!(
                    "error: {}",
                    format!("{e:#}").replace(&dir.display().to_string(), "bench")
                ),
            },
            "map" if file.starts_with("rhcr") => {
                let map = load::parse_kiva_map(&file, &text()?)?;
                format!(
                    "{}, {} endpoints, {} homes",
                    describe(&map.grid),
                    map.endpoints.len(),
                    map.homes.len()
                )
            }
            "map" => describe(&load::parse_movingai_map(&file, &text()?)?),
            "grid" => {
                let map = load::parse_sorting_grid(&file, &text()?)?;
                format!(
                    "{}, {} ejects, {} inducts",
                    describe(&map.grid),
                    map.endpoints.len(),
                    map.homes.len()
                )
            }
            "scen" => {
                let map = path.with_file_name("warehouse-20-40-10-2-2.map");
                let grid = load::parse_movingai_map("m", &read(&map)?)?;
                let agents = load::parse_movingai_scen(&file, &text()?, &grid)?;
                format!("{} agents", agents.len())
            }
            "pd" => {
                let grid = load::parse_movingai_map("m", &read(&path.with_extension(""))?)?;
                let pd = load::parse_pd_overlay(&file, &text()?, &grid)?;
                format!(
                    "{} pickup, {} delivery, {} endpoints",
                    pd.pickup.len(),
                    pd.delivery.len(),
                    pd.endpoints.len()
                )
            }
            "txt" => {
                let map = path.with_file_name("warehouse.map");
                let grid = load::parse_movingai_map("m", &read(&map)?)?;
                let i = load::parse_pibt2_instance(&file, &text()?, Some(&grid))?;
                format!(
                    "{} agents, {} tasks, {} steps",
                    i.agents, i.task_num, i.max_timestep
                )
            }
            // Agents and tasks files are loaded through their instance JSON above.
            "agents" | "tasks" | "md" => continue,
            other => anyhow::bail!("{file}: no loader for .{other} files"),
        };
        checked += 1;
        writeln!(summary, "{file}: {line}")?;
    }
    Ok((summary, checked))
}
