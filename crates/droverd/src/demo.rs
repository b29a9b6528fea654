//! `droverd demo`: a broker (embedded or external), the coordinator, and a simulated floor of
//! VDA 5050 drive units and associates, all in one process. Tests use the same entry point.

use std::time::Duration;

use drover_alloc::TaskId;
use drover_core::coord::Coordinator;
use drover_gateway::{BrokerAddr, MqttLink, Session, SessionConfig, fleet_subscriptions};
use drover_grid::load::Floor;
use drover_sim::fleet::{
    Associates, Faults, World, robot_specs, stocked, submit_picks, task_outcomes, units_at,
};
use drover_sim::mqtt::{UnitFleet, UnitFleetConfig, UnitPasswords};
use drover_sim::unit::UnitConfig;
use tokio::sync::watch;

use crate::coordinator::{Control, Sidecar, Summary, run_coordinator};

/// Everything a demo run needs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// The floor file.
    pub floor: std::path::PathBuf,
    /// Simulated units.
    pub robots: usize,
    /// The broker the coordinator and units connect to (already running).
    pub broker: BrokerAddr,
    /// The embedded broker's logins, when it requires them: each unit gets a random password,
    /// added here, and logs in with its serial number as user name.
    pub unit_logins: Option<drover_gateway::Users>,
    /// Coordinator settings.
    pub coord: drover_core::coord::CoordConfig,
    /// How far the units' messages are believed.
    pub intake: drover_core::session::Intake,
    /// Coordinator tick.
    pub tick: Duration,
    /// Unit behaviour (speed, action times).
    pub unit: UnitConfig,
    /// Unit step and state interval, ms.
    pub unit_step_ms: u64,
    /// Faults injected into the units.
    pub faults: Faults,
    /// Loop control (tasks through the API, stop condition).
    pub control: Control,
    /// Simulated associates release presented pods after this many ms.
    pub associates_pick_ms: u64,
    /// How long the coordinator waits for every unit's first state before it drives the
    /// ones it has located.
    pub startup_timeout: Duration,
    /// Units that connect only after a delay: (unit index, delay).
    pub late: Vec<(usize, Duration)>,
    /// VDA interface name.
    pub interface: String,
    /// Seed for stocking the floor.
    pub seed: u64,
    /// HTTP API, dashboard and durable store (`None`: tasks live in memory only).
    pub api: Option<crate::api::ApiOptions>,
}

/// What a demo run measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DemoReport {
    /// The coordinator's summary.
    pub coordinator: Summary,
    /// Physical collisions seen by the simulator.
    pub collisions: usize,
    /// Collisions with a unit that stood on the floor but had not connected yet (a late
    /// unit before it first reports), counted apart from `collisions`.
    pub unheard_collisions: usize,
    /// Messages the fault injection dropped.
    pub dropped: u64,
    /// One-way command latency p50, ms.
    pub command_ms_p50: u64,
    /// p99.
    pub command_ms_p99: u64,
    /// One-way command latency p99 after the first 10 s (startup sends every robot its
    /// first order at once), ms.
    pub command_ms_p99_steady: u64,
    /// Command latency p99 in consecutive 5 s windows from the first command, ms: where the
    /// startup burst ends.
    pub command_ms_p99_by_5s: Vec<u64>,
    /// Commands the units received.
    pub commands: u64,
    /// States the units published.
    pub states: u64,
    /// Unit reconnects.
    pub unit_reconnects: u64,
    /// Coordinator session reconnects.
    pub coordinator_reconnects: u64,
}

/// Loads a floor file and stocks pods without contents (seeded), as a simulated shift does.
pub fn load_floor(path: &std::path::Path, seed: u64) -> anyhow::Result<Floor> {
    Ok(stocked(crate::config::load_floor(path)?, seed))
}

/// Runs a demo until the control's stop condition or `shutdown`.
pub async fn run_demo(
    options: DemoOptions,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<DemoReport> {
    let mut floor = load_floor(&options.floor, options.seed)?;
    let mut served = match &options.api {
        Some(api) => {
            Some(crate::api::serve(&mut floor, api, options.tick.as_millis() as u64).await?)
        }
        None => None,
    };
    let specs = robot_specs(&floor, options.robots)?;
    let frame =
        drover_core::orders::MapFrame::new(&options.coord.map_id, &floor.grid, floor.cell_size_m)
            .placed(options.coord.placement);
    // The coordinator's session first, so it sees every unit's first state.
    let mut session_config = SessionConfig::new("droverd");
    session_config.subscriptions = fleet_subscriptions(&options.interface);
    session_config.queue = 64 * 1024;
    let (session, mut rx) = Session::start(&options.broker, session_config);
    let stats = session.stats().clone();
    session
        .connected(&mut rx, Duration::from_secs(10))
        .await
        .map_err(|why| anyhow::anyhow!("could not connect to the MQTT broker: {why}"))?;

    let units = units_at(&specs, &options.coord.manufacturer, &frame, &options.unit);
    let starts: Vec<_> = specs.iter().map(|s| s.start.cell).collect();
    let world = World::new(floor.grid.n_cells(), &starts);
    let fleet = UnitFleet::start(
        units,
        world,
        &UnitFleetConfig {
            host: options.broker.host.clone(),
            port: options.broker.port,
            passwords: unit_passwords(&specs, options.unit_logins.as_ref()),
            interface: options.interface.clone(),
            step_ms: options.unit_step_ms,
            state_every_ms: 1000,
            keep_alive: Duration::from_secs(15),
            network_timeout: Duration::from_secs(10),
            late: options.late.clone(),
            faults: options.faults.clone(),
        },
    );
    let unit_stats = fleet.stats.clone();
    let world = fleet.world.clone();

    let mut link = MqttLink {
        session,
        interface: options.interface.clone(),
    };
    let serials = specs.iter().map(|s| s.serial.clone()).collect();
    let mut sidecar = SimFloor {
        pick_ms: options.associates_pick_ms,
        associates: None,
        // Without an API the demo submits its own picks, in memory.
        own: served
            .is_none()
            .then_some((options.control.submit_picks, options.control.keep_queued)),
        tasks: Vec::new(),
    };
    let summary = run_coordinator(
        floor,
        serials,
        options.coord.clone(),
        options.intake,
        options.tick,
        options.startup_timeout,
        &mut link,
        Some(stats.clone()),
        &mut rx,
        options.control.clone(),
        shutdown,
        served.as_mut().map(|s| &mut s.ops),
        Some(&mut sidecar),
    )
    .await;
    if let Some(s) = served {
        s.server.abort();
    }
    fleet.stop().await;
    link.session.disconnect().await;
    let summary = summary?;
    let samples = unit_stats
        .latencies_ms
        .lock()
        .expect("latency lock")
        .clone();
    let quantile = |mut v: Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        crate::stats::percentile(&v, p) as u64
    };
    let all: Vec<f64> = samples.iter().map(|s| s.1 as f64).collect();
    let warm = samples.first().map_or(0, |s| s.0) + 10_000;
    let steady: Vec<f64> = samples
        .iter()
        .filter(|s| s.0 >= warm)
        .map(|s| s.1 as f64)
        .collect();
    let first = samples.iter().map(|s| s.0).min().unwrap_or(0);
    let mut windows: Vec<Vec<f64>> = Vec::new();
    for s in &samples {
        let w = ((s.0.saturating_sub(first)) / 5_000) as usize;
        if windows.len() <= w {
            windows.resize(w + 1, Vec::new());
        }
        windows[w].push(s.1 as f64);
    }
    use std::sync::atomic::Ordering::Relaxed;
    let (collisions, unheard_collisions) = {
        let world = world.lock().expect("world lock");
        (world.collisions.len(), world.unheard_collisions.len())
    };
    Ok(DemoReport {
        coordinator: summary,
        collisions,
        unheard_collisions,
        dropped: unit_stats.dropped.load(Relaxed),
        command_ms_p50: quantile(all.clone(), 0.5),
        command_ms_p99: quantile(all, 0.99),
        command_ms_p99_steady: quantile(steady, 0.99),
        command_ms_p99_by_5s: windows.into_iter().map(|w| quantile(w, 0.99)).collect(),
        commands: unit_stats.commands.load(Relaxed),
        states: unit_stats.states.load(Relaxed),
        unit_reconnects: unit_stats.reconnects.load(Relaxed),
        coordinator_reconnects: stats.reconnects.load(Relaxed),
    })
}

/// A random password for each unit, added to `logins` (none without logins).
fn unit_passwords(
    specs: &[drover_core::coord::RobotSpec],
    logins: Option<&drover_gateway::Users>,
) -> UnitPasswords {
    let Some(logins) = logins else {
        return UnitPasswords::default();
    };
    UnitPasswords(
        specs
            .iter()
            .map(|s| {
                let password = drover_gateway::random_password();
                logins.add(&s.serial, &password);
                (s.serial.clone(), password.expose().to_string())
            })
            .collect(),
    )
}

/// The simulated side of the floor the coordinator drives: associates who release presented
/// pods after a pick time, and (without an API) the demo's own pick tasks.
struct SimFloor {
    pick_ms: u64,
    associates: Option<Associates>,
    /// Picks to submit at the start and to keep queued, when no API submits them.
    own: Option<(usize, usize)>,
    tasks: Vec<TaskId>,
}

impl Sidecar for SimFloor {
    fn start(&mut self, coord: &mut Coordinator) {
        self.associates = Some(Associates::staff_all(coord, self.pick_ms));
        if let Some((first, _)) = self.own {
            self.tasks = submit_picks(coord, first);
        }
    }

    fn before_tick(&mut self, coord: &mut Coordinator, now_ms: u64) {
        if let Some(a) = self.associates.as_mut() {
            a.step(coord, now_ms);
        }
        if let Some((_, keep)) = self.own
            && coord.alloc().queued() < keep
        {
            let more = keep - coord.alloc().queued();
            self.tasks.extend(submit_picks(coord, more));
        }
    }

    fn outcomes(&self, coord: &Coordinator) -> (usize, usize, usize) {
        task_outcomes(coord, &self.tasks)
    }
}
