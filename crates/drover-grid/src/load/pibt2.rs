//! pibt2's MAPD files: the `.pd` pickup/delivery overlay and the `key=value` instance.

use super::{LoadError, LoadErrorKind, numbered_lines, parse_num, row_symbols, written_location};
use crate::{Cell, Grid};

/// Task cells from a `.pd` overlay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PdOverlay {
    /// Cells where a pickup may happen (`p`, `s`, `a`).
    pub pickup: Vec<Cell>,
    /// Cells where a delivery may happen (`d`, `s`, `a`).
    pub delivery: Vec<Cell>,
    /// Non-task endpoints, for starts and parking (`e`, `a`).
    pub endpoints: Vec<Cell>,
}

/// A pibt2 MAPD instance file.
#[derive(Clone, Debug, PartialEq)]
pub struct Pibt2Instance {
    /// The `.map` file (the overlay is `map_file + ".pd"`).
    pub map_file: String,
    /// Number of agents.
    pub agents: usize,
    /// Random seed.
    pub seed: u64,
    /// Step limit.
    pub max_timestep: u64,
    /// Computation limit in ms.
    pub max_comp_time: u64,
    /// Tasks released per step.
    pub task_frequency: f64,
    /// Number of tasks.
    pub task_num: usize,
    /// Custom start cells, if given.
    pub starts: Vec<Cell>,
}

/// Parses a `.pd` overlay of the same size as `grid` (headerless rows).
pub fn parse_pd_overlay(file: &str, text: &str, grid: &Grid) -> Result<PdOverlay, LoadError> {
    let mut overlay = PdOverlay::default();
    let mut rows = 0u32;
    let mut last = 0;
    for (n, line) in numbered_lines(text) {
        if rows == grid.height() {
            break;
        }
        last = n;
        let symbols = row_symbols(file, n, line, grid.width() as usize)?;
        for (col, symbol) in symbols.into_iter().enumerate() {
            let cell = Cell(rows * grid.width() + col as u32);
            let (p, d, e) = match symbol {
                '.' | '@' | 'T' => (false, false, false),
                'p' => (true, false, false),
                'd' => (false, true, false),
                's' => (true, true, false),
                'e' => (false, false, true),
                'a' => (true, true, true),
                other => {
                    return Err(LoadError::new(
                        file,
                        n,
                        col + 1,
                        LoadErrorKind::UnknownSymbol { symbol: other },
                    ));
                }
            };
            if (p || d || e) && grid.is_blocked(cell) {
                return Err(LoadError::new(
                    file,
                    n,
                    col + 1,
                    LoadErrorKind::OnObstacle {
                        location: cell.0,
                        row: rows,
                        col: col as u32,
                    },
                ));
            }
            if p {
                overlay.pickup.push(cell);
            }
            if d {
                overlay.delivery.push(cell);
            }
            if e {
                overlay.endpoints.push(cell);
            }
        }
        rows += 1;
    }
    if rows < grid.height() {
        return Err(LoadError::new(
            file,
            last + 1,
            1,
            LoadErrorKind::TooFew {
                what: "overlay rows".into(),
                found: rows as usize,
                expected: grid.height() as usize,
            },
        ));
    }
    Ok(overlay)
}

/// Parses a pibt2 instance: `key=value` lines (`#` comments), then optional `x,y` starts,
/// checked against `grid` when one is given.
pub fn parse_pibt2_instance(
    file: &str,
    text: &str,
    grid: Option<&Grid>,
) -> Result<Pibt2Instance, LoadError> {
    let mut instance = Pibt2Instance {
        map_file: String::new(),
        agents: 0,
        seed: 0,
        max_timestep: 1000,
        max_comp_time: 1000,
        task_frequency: 1.0,
        task_num: 0,
        starts: Vec::new(),
    };
    for (n, line) in numbered_lines(text) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let column = key.len() + 2;
            match key.trim() {
                "map_file" => instance.map_file = value.trim().to_string(),
                "agents" => instance.agents = parse_num(file, n, column, value, "an agent count")?,
                "seed" => instance.seed = parse_num(file, n, column, value, "a seed")?,
                "max_timestep" => {
                    instance.max_timestep = parse_num(file, n, column, value, "a step count")?
                }
                "max_comp_time" => {
                    instance.max_comp_time = parse_num(file, n, column, value, "milliseconds")?
                }
                "task_frequency" => {
                    instance.task_frequency = parse_num(file, n, column, value, "a frequency")?
                }
                "task_num" => {
                    instance.task_num = parse_num(file, n, column, value, "a task count")?
                }
                // Flags pibt2 reads that do not change the instance itself.
                "specify_pickup_deliv_locs" | "max_makespan" | "solver" => {}
                other => {
                    return Err(LoadError::new(
                        file,
                        n,
                        1,
                        LoadErrorKind::Invalid(format!("unknown key {other:?}")),
                    ));
                }
            }
        } else if let Some((xs, ys)) = line.split_once(',') {
            let x: i64 = parse_num(file, n, 1, xs, "a start x")?;
            let y: i64 = parse_num(file, n, xs.len() + 2, ys, "a start y")?;
            if let Some(grid) = grid {
                if x < 0 || y < 0 || x >= grid.width() as i64 || y >= grid.height() as i64 {
                    return Err(LoadError::new(
                        file,
                        n,
                        1,
                        LoadErrorKind::OutOfRange {
                            location: written_location(y, grid.width().into(), x),
                            width: grid.width(),
                            height: grid.height(),
                        },
                    ));
                }
                let location = y * grid.width() as i64 + x;
                instance
                    .starts
                    .push(super::check_location(grid, file, n, 1, location)?);
            }
        } else {
            return Err(LoadError::new(
                file,
                n,
                1,
                LoadErrorKind::Invalid(format!("expected `key=value` or `x,y`, found {line:?}")),
            ));
        }
    }
    if instance.map_file.is_empty() {
        return Err(LoadError::new(
            file,
            1,
            1,
            LoadErrorKind::Invalid("missing `map_file=`".into()),
        ));
    }
    Ok(instance)
}
