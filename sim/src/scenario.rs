//! Builds benchmark scenarios from files: LoRR instances, RHCR maps, MovingAI maps.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use drover_grid::load::{self, LorrVersion};
use drover_grid::{Cell, DistTable, Grid, Heading, Motion};
use drover_plan::{AgentState, SplitMix64};

use crate::bound::{self, Bound};
use crate::runner::Scenario;
use crate::tasks::TaskSource;

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// A LoRR instance with its files loaded.
pub struct LorrFiles {
    /// The instance file's name, for reports.
    pub name: String,
    /// The instance.
    pub instance: load::LorrInstance,
    /// The map.
    pub grid: Grid,
    /// Start cells (the first `teamSize`).
    pub starts: Vec<Cell>,
    /// Tasks (one errand each in 2023).
    pub tasks: Vec<Vec<Cell>>,
    /// Steps from the competition's `simulation_time.json`, when it lists this instance.
    pub default_steps: Option<u64>,
}

/// Loads a LoRR instance JSON and the files it names (relative to it).
pub fn load_lorr(path: &Path) -> anyhow::Result<LorrFiles> {
    let name = path.display().to_string();
    let instance = load::parse_lorr_instance(&name, &read(path)?)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let map_path = dir.join(&instance.map_file);
    let grid = load::parse_movingai_map(&map_path.display().to_string(), &read(&map_path)?)?;
    let agent_path = dir.join(&instance.agent_file);
    let starts = load::parse_lorr_agents(
        &agent_path.display().to_string(),
        &read(&agent_path)?,
        &grid,
        instance.team_size,
    )?;
    let task_path = dir.join(&instance.task_file);
    let tasks =
        load::parse_lorr_tasks(&task_path.display().to_string(), &read(&task_path)?, &grid)?;
    let default_steps = simulation_time(path);
    let name = path
        .file_name()
        .map_or(name.clone(), |n| n.to_string_lossy().to_string());
    Ok(LorrFiles {
        name,
        instance,
        grid,
        starts,
        tasks,
        default_steps,
    })
}

/// Looks the instance up in `simulation_time.json` one folder above it (keys are file stems
/// such as `WAREHOUSE` or the `I-10` of `MR23-I-10`).
fn simulation_time(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    let file: PathBuf = path.parent()?.parent()?.join("simulation_time.json");
    let times: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    times
        .iter()
        .find(|(k, _)| stem == k.as_str() || stem.ends_with(&format!("-{k}")))
        .and_then(|(_, v)| v.as_u64())
}

/// Every robot starts facing east, as in LoRR.
fn facing_east(cells: &[Cell]) -> Vec<AgentState> {
    cells
        .iter()
        .map(|c| AgentState {
            cell: *c,
            heading: Heading::East,
        })
        .collect()
}

/// Checks that no two agents start on one cell.
fn check_distinct(starts: &[AgentState]) -> anyhow::Result<()> {
    let mut cells: Vec<Cell> = starts.iter().map(|s| s.cell).collect();
    cells.sort_unstable();
    if let Some(pair) = cells.windows(2).find(|p| p[0] == p[1]) {
        anyhow::bail!("two agents start on cell {}", pair[0].0);
    }
    Ok(())
}

/// Who hands out LoRR 2024's revealed tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduler {
    /// drover's allocator: batched minimum-cost matching of free robots to the pool; the
    /// cost adds the task's own length times the weight (0: distance to the first errand).
    Alloc {
        /// Weight of the task's length in its cost.
        trip_weight: u32,
    },
    /// Each free robot takes the pool task whose first errand is nearest (Manhattan).
    Greedy,
}

/// A LoRR scenario: 2023 round-robin errands with the chain bound, or 2024 revealed tasks
/// (handed out by `scheduler`) with the trip estimate.
pub fn lorr_scenario(
    files: LorrFiles,
    motion: Motion,
    steps: u64,
    scheduler: Scheduler,
) -> anyhow::Result<Scenario> {
    let starts = facing_east(&files.starts);
    check_distinct(&starts)?;
    let began = Instant::now();
    let name = files.name.clone();
    let (source, bound) = match files.instance.version {
        LorrVersion::Y2023 => {
            let errands: Vec<Cell> = files.tasks.iter().map(|t| t[0]).collect();
            if files.tasks.iter().any(|t| t.len() != 1) {
                anyhow::bail!("a 2023 task file has one errand per line");
            }
            let bound = bound::chain_bound(&files.grid, motion, &starts, &errands, steps);
            (
                TaskSource::RoundRobin {
                    tasks: errands,
                    count: vec![0; starts.len()],
                },
                bound,
            )
        }
        LorrVersion::Y2024 => {
            let pool_size =
                ((files.instance.num_tasks_reveal * starts.len() as f64).floor() as u64).max(1);
            let trip = bound::reveal_trip(&files.grid, motion, &files.tasks, 2_000);
            let source = match scheduler {
                Scheduler::Greedy => TaskSource::Reveal {
                    pool: (0..pool_size).collect(),
                    next_reveal: pool_size,
                    current: vec![None; starts.len()],
                    width: files.grid.width(),
                    tasks: files.tasks,
                },
                Scheduler::Alloc { trip_weight } => {
                    TaskSource::Allocated(Box::new(crate::lorr_alloc::RevealAlloc::new(
                        &files.grid,
                        files.tasks,
                        pool_size,
                        &starts,
                        trip_weight,
                    )))
                }
            };
            (source, bound::trip_bound(starts.len(), trip))
        }
    };
    Ok(Scenario {
        name,
        grid: files.grid,
        starts,
        source,
        bound,
        bound_seconds: began.elapsed().as_secs_f64(),
    })
}

/// Picks `n` distinct cells from `cells`, seeded.
fn sample_cells(cells: &[Cell], n: usize, rng: &mut SplitMix64) -> anyhow::Result<Vec<Cell>> {
    if n > cells.len() {
        anyhow::bail!("{n} agents do not fit on {} start cells", cells.len());
    }
    let mut pool = cells.to_vec();
    for i in 0..n {
        let j = i + rng.below(pool.len() - i);
        pool.swap(i, j);
    }
    pool.truncate(n);
    Ok(pool)
}

/// An RHCR scenario from `kiva.map` or a `.grid` sorting map (chosen by extension).
pub fn rhcr_scenario(
    path: &Path,
    motion: Motion,
    agents: usize,
    seed: u64,
) -> anyhow::Result<Scenario> {
    let name = path.display().to_string();
    let text = read(path)?;
    let mut rng = crate::sim_rng(seed);
    let began = Instant::now();
    let sorting = path.extension().is_some_and(|e| e == "grid");
    let (grid, starts, source, bound): (Grid, Vec<AgentState>, TaskSource, Bound) = if sorting {
        let map = load::parse_sorting_grid(&name, &text)?;
        // Robots start on random travel cells (RHCR's sorting generator does the same).
        let travel = map.grid.cells_of(drover_grid::CellKind::Travel);
        let starts = facing_east(&sample_cells(&travel, agents, &mut rng)?);
        let inducts: Vec<DistTable> = map
            .homes
            .iter()
            .map(|i| DistTable::compute(&map.grid, *i, motion))
            .collect();
        let cycle = bound::sorting_cycle(&map.grid, motion, &inducts, &map.endpoints);
        let source = TaskSource::Sorting {
            ejects: map.endpoints,
            inducts,
            to_induct: vec![true; agents],
            rng,
        };
        (
            map.grid,
            starts,
            source,
            bound::trip_bound(agents, cycle / 2.0),
        )
    } else {
        let map = load::parse_kiva_map(&name, &text)?;
        if agents > map.homes.len() {
            anyhow::bail!(
                "kiva has {} robot homes; {agents} agents do not fit",
                map.homes.len()
            );
        }
        let starts = facing_east(&sample_cells(&map.homes, agents, &mut rng)?);
        let trip = bound::mean_pair_distance(&map.grid, motion, &map.endpoints, &map.endpoints);
        let source = TaskSource::Kiva {
            endpoints: map.endpoints,
            rng,
        };
        (map.grid, starts, source, bound::trip_bound(agents, trip))
    };
    Ok(Scenario {
        name,
        grid,
        starts,
        source,
        bound,
        bound_seconds: began.elapsed().as_secs_f64(),
    })
}

/// A MovingAI lifelong scenario: random starts (or the first `agents` starts of a `.scen`),
/// then random free goals.
pub fn movingai_scenario(
    path: &Path,
    scen: Option<&Path>,
    motion: Motion,
    agents: usize,
    seed: u64,
) -> anyhow::Result<Scenario> {
    let name = path.display().to_string();
    let grid = load::parse_movingai_map(&name, &read(path)?)?;
    let mut rng = crate::sim_rng(seed);
    let began = Instant::now();
    let free = grid.free_cells().to_vec();
    let starts = match scen {
        Some(scen) => {
            let entries =
                load::parse_movingai_scen(&scen.display().to_string(), &read(scen)?, &grid)?;
            if entries.len() < agents {
                anyhow::bail!(
                    "{} lists {} agents, {agents} asked",
                    scen.display(),
                    entries.len()
                );
            }
            entries.iter().take(agents).map(|e| e.start).collect()
        }
        None => sample_cells(&free, agents, &mut rng)?,
    };
    let starts = facing_east(&starts);
    check_distinct(&starts)?;
    // The mean trip between random free cells, estimated from 64 random goals (every source).
    let mut goal_rng = crate::sim_rng(seed ^ 0xB0B);
    let sample = sample_cells(&free, 64.min(free.len()), &mut goal_rng)?;
    let trip = bound::mean_pair_distance(&grid, motion, &free, &sample);
    let source = TaskSource::RandomFree { cells: free, rng };
    Ok(Scenario {
        name,
        grid,
        starts,
        source,
        bound: bound::trip_bound(agents, trip),
        bound_seconds: began.elapsed().as_secs_f64(),
    })
}
