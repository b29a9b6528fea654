//! `drover-sim`: runs drover's planner on public benchmark instances and prints what it measured.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use drover_core::CoreConfig;
use drover_grid::Motion;
use drover_plan::PlanConfig;
use drover_sim::runner::{Report, RunOptions, Scenario, run};
use drover_sim::shift::{ShiftConfig, run_shift};
use drover_sim::{output, peak_rss_mb, scenario};
use indicatif::{ProgressBar, ProgressStyle};

/// Runs drover's lifelong planner on a benchmark instance and reports throughput against its
/// upper bound, step times and memory.
///
/// With --json the last line of stdout is one JSON object; a progress bar goes to stderr.
#[derive(Parser)]
#[command(name = "drover-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A shift on a sortable-FC floor: orders (Zipf SKU popularity) and stow waves become
    /// tasks, simulated associates with their own pace and breaks work the stations, the
    /// allocator and planner run the robots; prints the operations KPIs.
    Shift(ShiftArgs),
    /// Allocation timings on a floor: Hungarian vs greedy by batch size (the crossover), and
    /// one full allocator tick with N idle robots and N queued tasks.
    AllocBench {
        /// The floor layout.
        #[arg(long, default_value = "config/floors/fc-large.toml")]
        floor: PathBuf,
        /// Batch sizes to time (robots = tasks).
        #[arg(long, value_delimiter = ',', default_values_t = [25, 50, 100, 150, 200, 300, 500, 1000, 2000])]
        sizes: Vec<usize>,
        /// Largest batch solved with the Hungarian method in the sweep.
        #[arg(long, default_value_t = 1000)]
        optimal_limit: usize,
        /// Robots and tasks in the full-tick measurement.
        #[arg(long, default_value_t = 2000)]
        tick: usize,
        /// Times the full tick is repeated (the median is reported).
        #[arg(long, default_value_t = 7)]
        repeat: usize,
        /// Seed for the random cells.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// A League of Robot Runners instance (2023 round-robin errands, or 2024 revealed tasks
    /// with a greedy nearest-task scheduler).
    Lorr {
        /// The instance JSON; the map, agents and tasks files are found relative to it.
        instance: PathBuf,
        /// Steps to simulate [default: the competition's simulation_time.json, else 1000].
        #[arg(long)]
        steps: Option<u64>,
        /// Motion model.
        #[arg(long, value_enum, default_value_t = Model::Rotate)]
        model: Model,
        /// Write the LoRR Start-Kit output JSON here.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Who hands out 2024 revealed tasks: drover's allocator (minimum-cost batches) or
        /// greedy nearest-first.
        #[arg(long, value_enum, default_value_t = SchedulerArg::Alloc)]
        scheduler: SchedulerArg,
        /// With the allocator: weight of a task's own length (first to last errand) in its
        /// cost; higher prefers short tasks, 0 looks only at the distance to the first errand.
        #[arg(long, default_value_t = 1)]
        trip_weight: u32,
        #[command(flatten)]
        common: Common,
    },
    /// An RHCR map: kiva.map (random endpoint to random endpoint) or sorting_map.grid (induct,
    /// random eject, nearest induct; one-way lanes).
    Rhcr {
        /// kiva.map or a .grid sorting map.
        map: PathBuf,
        /// Number of agents.
        #[arg(long)]
        agents: usize,
        /// Steps to simulate.
        #[arg(long, default_value_t = 1000)]
        steps: u64,
        /// Motion model.
        #[arg(long, value_enum, default_value_t = Model::Grid4)]
        model: Model,
        #[command(flatten)]
        common: Common,
    },
    /// A MovingAI map, lifelong: random free goals, one after another.
    Movingai {
        /// The .map file.
        map: PathBuf,
        /// Number of agents.
        #[arg(long)]
        agents: usize,
        /// Steps to simulate.
        #[arg(long, default_value_t = 1000)]
        steps: u64,
        /// Take the starts from this .scen file instead of random free cells.
        #[arg(long)]
        scen: Option<PathBuf>,
        /// Motion model.
        #[arg(long, value_enum, default_value_t = Model::Grid4)]
        model: Model,
        #[command(flatten)]
        common: Common,
    },
    /// Loads every benchmark file in a folder (the public ones beside the checkout by
    /// default) and prints one line per file: a broken or missing file fails with its name.
    CheckBench {
        /// The folder.
        #[arg(default_value = "../shared/bench")]
        dir: PathBuf,
    },
}

/// Options of `drover-sim shift`.
#[derive(clap::Args)]
struct ShiftArgs {
    /// The floor layout (TOML, see config/floors/).
    #[arg(long, default_value = "config/floors/demo.toml")]
    floor: PathBuf,
    /// Robots on the floor [default: 5 per staffed pick or stow station].
    #[arg(long, conflicts_with = "robots_per_station")]
    robots: Option<usize>,
    /// Robots per staffed pick or stow station (alternative to --robots).
    #[arg(long)]
    robots_per_station: Option<f64>,
    /// Shift length in hours (fractions allowed: 0.25 is a quarter hour).
    #[arg(long, default_value_t = 8.0)]
    hours: f64,
    /// Order demand as a share of the pick stations' nominal capacity.
    #[arg(long, default_value_t = 1.0)]
    demand: f64,
    /// Motion model (real drive units turn in place: rotate).
    #[arg(long, value_enum, default_value_t = Model::Rotate)]
    model: Model,
    /// Seed for stock, orders, associates and the planner.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON summary object as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Memory cap for the planner's distance tables, in MB.
    #[arg(long, default_value_t = 2048)]
    table_cache_mb: usize,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct Common {
    /// Seed for starts, goals and the planner's tie-breaking.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON summary object as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Memory cap for cached distance tables, in MB.
    #[arg(long, default_value_t = 6144)]
    table_cache_mb: usize,
    /// Plan without traffic rules (by default 1-wide corridors are driven one-way).
    #[arg(long)]
    no_traffic_rules: bool,
    /// Guidance for big floors: the planner counts each move between two cells of open floor
    /// (any 2x2 block of free cells) as this many steps, so robots travel along the aisles
    /// and cross open areas, where traffic mixes in every direction, only near their goals.
    /// 1 is off. Helps where open bands carry through traffic (LoRR warehouse_large: 2);
    /// on small floors the open areas are the fastest way round, so it is off by default.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=20))]
    open_cost: u8,
    /// Soft traffic rules: a move against a one-way corridor is allowed but counts this many
    /// steps in the planner's distances (0: forbidden, the default). Pays on light traffic
    /// (warehouse_small grid4, 100 robots: 2 gives +4.0%), loses on dense floors (400: -28%).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=50))]
    corridor_cost: u8,
    /// Plan one cell ahead (plain PIBT) instead of three actions (EPIBT).
    #[arg(long)]
    no_lookahead: bool,
    /// Windowed repair (LNS, as in WPPL): after each step, roll the plan out this many steps
    /// (at most 100) and replan small groups of robots by space-time A*, keeping new paths
    /// that bring them to their goals no later; only the first step is executed. Each step
    /// then costs about this many planner steps. Default: 10 up to 2,000 robots, 4 above;
    /// 0 turns it off.
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=100))]
    repair_window: Option<u16>,
    /// Groups of robots the windowed repair replans per step (default: 5 per robot up to
    /// 2,000 robots, 1 per robot above).
    #[arg(long)]
    repair_iterations: Option<u32>,
    /// LoRR 2023 files: also compute the chain bound on the planning graph (1-wide corridors
    /// one-way), the most the traffic rules leave reachable.
    #[arg(long)]
    bound_under_rules: bool,
    /// Windowed repair: rollouts per step, each repaired on its own, the best executed. More
    /// than 1 pays with long windows (warehouse_small rotate 200, window 20: 1 / 4 / 8 gave
    /// 5,240 / 5,297 / 5,301 errands); each costs a whole repair.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    repair_restarts: u32,
    /// Windowed repair: steps a robot that reaches its goal inside the window keeps the goal
    /// cell (under `rotate` it usually turns there first). 1 or 2 help with long windows
    /// (warehouse_small rotate 200, window 25: 0 / 1 / 2 gave 5,275 / 5,302 / 5,297
    /// errands); with the default window at 400 robots 1 cost 2%, so 0 is the default.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=10))]
    repair_hold: u16,
    /// Windowed repair: also continue last step's chosen window (one step on) as a
    /// candidate beside the fresh rollouts, so the search carries over between steps.
    #[arg(long)]
    repair_warm: bool,
    /// Under `rotate`, count the turns a robot's next trip will probably need as part of
    /// reaching a goal (estimated from the goals of step 0), so robots arrive facing the way
    /// they will probably leave where that costs less than the turns it saves.
    #[arg(long)]
    arrival_headings: bool,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchedulerArg {
    /// drover-alloc: batched minimum-cost matching of free robots to the revealed pool.
    Alloc,
    /// Each free robot takes the nearest revealed task (Manhattan).
    Greedy,
}

#[derive(Clone, Copy, ValueEnum)]
enum Model {
    /// Forward, turn left/right, wait (LoRR MAPF_T).
    Rotate,
    /// Move N/E/S/W or wait.
    Grid4,
}

impl Model {
    fn motion(self) -> Motion {
        match self {
            Model::Rotate => Motion::Rotate,
            Model::Grid4 => Motion::Grid4,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The planner recurses along chains of pushed agents; give it a deep stack for 10k fleets.
    let worker = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || real_main(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(Ok(()))) => ExitCode::SUCCESS,
        Ok(Ok(Err(err))) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
        _ => {
            eprintln!("error: the simulator crashed");
            ExitCode::from(2)
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Shift(args) => shift(args)?,
        Command::AllocBench {
            floor,
            sizes,
            optimal_limit,
            tick,
            repeat,
            seed,
            json,
        } => {
            let text = std::fs::read_to_string(&floor)
                .with_context(|| format!("reading {}", floor.display()))?;
            let floor = drover_grid::load::parse_floor(&floor.display().to_string(), &text)?;
            let rows = drover_sim::alloc_bench::assign_sweep(&floor, &sizes, optimal_limit, seed);
            let full = drover_sim::alloc_bench::full_tick(&floor, tick, seed, repeat)?;
            if json {
                println!("{}", serde_json::json!({ "sweep": rows, "tick": full }));
            } else {
                println!(
                    "{:>6} {:>10} {:>12} {:>10} {:>14}",
                    "n", "matrix ms", "hungarian ms", "greedy ms", "greedy excess"
                );
                for r in &rows {
                    let opt = r.optimal_ms.map_or("-".into(), |v| format!("{v:.2}"));
                    let ex = r
                        .greedy_excess_pct
                        .map_or("-".into(), |v| format!("{v:.1}%"));
                    println!(
                        "{:>6} {:>10.2} {:>12} {:>10.2} {:>14}",
                        r.n, r.matrix_ms, opt, r.greedy_ms, ex
                    );
                }
                println!(
                    "full tick: {} idle robots, {} tasks, {} assigned in {:.2} ms median (min {:.2}, max {:.2}; {})",
                    full.robots,
                    full.tasks,
                    full.assigned,
                    full.tick_ms,
                    full.tick_ms_min,
                    full.tick_ms_max,
                    full.method
                );
            }
        }
        Command::Lorr {
            instance,
            steps,
            model,
            output,
            scheduler,
            trip_weight,
            common,
        } => {
            let files = scenario::load_lorr(&instance)?;
            let scheduler = match scheduler {
                SchedulerArg::Alloc => scenario::Scheduler::Alloc { trip_weight },
                SchedulerArg::Greedy => scenario::Scheduler::Greedy,
            };
            let steps = steps.or(files.default_steps).unwrap_or(1000);
            // Only the output file needs the tasks and floor after the run.
            let kept = output
                .as_ref()
                .map(|_| (files.tasks.clone(), files.grid.clone()));
            let scenario = scenario::lorr_scenario(files, model.motion(), steps, scheduler)?;
            let report = execute(scenario, model.motion(), steps, &common, output.is_some())?;
            if let (Some(path), Some((tasks, grid))) = (output, kept) {
                let doc = output::lorr_output(&report, &grid, model.motion(), &|id| {
                    tasks[(id % tasks.len() as u64) as usize].clone()
                });
                std::fs::write(&path, serde_json::to_string(&doc)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            summarize(&report, model.motion(), &common);
        }
        Command::Rhcr {
            map,
            agents,
            steps,
            model,
            common,
        } => {
            let scenario = scenario::rhcr_scenario(&map, model.motion(), agents, common.seed)?;
            let report = execute(scenario, model.motion(), steps, &common, false)?;
            summarize(&report, model.motion(), &common);
        }
        Command::Movingai {
            map,
            agents,
            steps,
            scen,
            model,
            common,
        } => {
            let scenario = scenario::movingai_scenario(
                &map,
                scen.as_deref(),
                model.motion(),
                agents,
                common.seed,
            )?;
            let report = execute(scenario, model.motion(), steps, &common, false)?;
            summarize(&report, model.motion(), &common);
        }
        Command::CheckBench { dir } => {
            let (summary, n) = drover_sim::bench_files::summarise(&dir)?;
            print!("{summary}");
            println!("{n} benchmark files loaded from {}", dir.display());
        }
    }
    Ok(())
}

fn shift(args: ShiftArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.floor)
        .with_context(|| format!("reading {}", args.floor.display()))?;
    let floor = drover_grid::load::parse_floor(&args.floor.display().to_string(), &text)?;
    anyhow::ensure!(
        args.hours > 0.0 && args.hours <= 24.0,
        "--hours must be in (0, 24]"
    );
    let worked = floor
        .stations
        .iter()
        .filter(|s| s.kind != drover_grid::load::StationKind::Pack)
        .count();
    let robots = match (args.robots, args.robots_per_station) {
        (Some(n), _) => n,
        (None, Some(k)) => (k * worked as f64).round() as usize,
        (None, None) => 5 * worked,
    };
    anyhow::ensure!(robots > 0, "no robots to run");
    let config = ShiftConfig {
        robots,
        hours: args.hours,
        seed: args.seed,
        motion: args.model.motion(),
        table_cache_bytes: args.table_cache_mb << 20,
        demand: args.demand,
    };
    let total = (args.hours * 3600.0).round() as u64;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} s simulated  eta {eta}",
        )
        .expect("valid template"),
    );
    let report = run_shift(floor, &config, &|t, _| bar.set_position(t))?;
    bar.finish_and_clear();
    let rss = peak_rss_mb().unwrap_or(f64::NAN);
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["peak_rss_mb"] = serde_json::json!(round(rss, 1));
        return emit(&format!("{value}\n"));
    }
    emit(&format!("{}peak RSS {rss:.0} MB\n", report.table()))
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly instead of crashing.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn execute(
    scenario: Scenario,
    motion: Motion,
    steps: u64,
    common: &Common,
    record: bool,
) -> anyhow::Result<Report> {
    if scenario.starts.is_empty() {
        anyhow::bail!("no agents to run");
    }
    let options = RunOptions {
        steps,
        core: CoreConfig {
            plan: PlanConfig {
                motion,
                seed: common.seed,
            },
            table_cache_bytes: common.table_cache_mb << 20,
        },
        record,
        traffic_rules: !common.no_traffic_rules,
        open_cost: common.open_cost,
        corridor_cost: common.corridor_cost,
        lookahead: !common.no_lookahead,
        repair_window: common.repair_window.map(usize::from),
        repair_iterations: common.repair_iterations,
        bound_under_rules: common.bound_under_rules,
        arrival_headings: common.arrival_headings,
        repair_restarts: common.repair_restarts,
        repair_hold: usize::from(common.repair_hold),
        repair_warm: common.repair_warm,
    };
    let bar = if common.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(steps)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} steps  {msg}  eta {eta}",
        )
        .expect("valid template"),
    );
    let unit = scenario.source.unit().name();
    let report = run(scenario, &options, &mut |t, finished| {
        if t % 10 == 0 || t == steps {
            bar.set_position(t);
            bar.set_message(format!(
                "{finished} {unit} ({:.2}/step)",
                finished as f64 / t as f64
            ));
        }
    });
    bar.finish_and_clear();
    Ok(report)
}

fn summarize(report: &Report, motion: Motion, common: &Common) {
    let (mean, p95, max) = report.step_ms_stats();
    let model = match motion {
        Motion::Rotate => "rotate",
        Motion::Grid4 => "grid4",
    };
    let rss = peak_rss_mb().unwrap_or(f64::NAN);
    let summary = serde_json::json!({
        "instance": report.name,
        "agents": report.agents,
        "model": model,
        "steps": report.steps,
        "unit": report.unit.name(),
        "finished": report.finished,
        "throughput": round(report.throughput(), 4),
        "bound": round(report.bound.per_step, 4),
        "bound_kind": report.bound.kind.name(),
        "mean_trip": report.bound.mean_trip.map(|t| round(t, 3)),
        "pct_of_bound": round(report.pct_of_bound(), 2),
        "ms_per_step_mean": round(mean, 3),
        "ms_per_step_p95": round(p95, 3),
        "ms_per_step_max": round(max, 3),
        "bound_seconds": round(report.bound_seconds, 2),
        "bound_under_rules": report.rules_bound.map(|b| round(b, 4)),
        "tables_computed": report.tables_computed,
        "peak_rss_mb": round(rss, 1),
        "seed": common.seed,
        "open_cost": common.open_cost,
        "corridor_cost": common.corridor_cost,
        "repair_window": report.repair_window,
    });
    // A readable summary always; the JSON line last when asked.
    let repair = match report.repair_window {
        0 => "no repair".to_string(),
        w => format!("repair window {w}"),
    };
    println!(
        "{} — {} agents, {model}, {} steps, {repair}",
        report.name, report.agents, report.steps
    );
    println!("  finished     {} {}", report.finished, report.unit.name());
    println!(
        "  throughput   {:.3}/step = {:.1}% of the {} bound ({:.3}/step)",
        report.throughput(),
        report.pct_of_bound(),
        report.bound.kind.name(),
        report.bound.per_step
    );
    if let Some(b) = report.rules_bound {
        println!(
            "  rules bound  {b:.3}/step on the planning graph ({:.1}% of the bound); this run reaches {:.1}% of it",
            100.0 * b / report.bound.per_step,
            100.0 * report.throughput() / b
        );
    }
    println!("  step time    mean {mean:.3} ms, p95 {p95:.3} ms, max {max:.3} ms");
    println!("  peak memory  {rss:.0} MB");
    if common.json {
        println!("{summary}");
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
