//! The droverd binary: `droverd demo` runs a whole simulated floor, `droverd run` the
//! coordinator against real robots.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use drover_gateway::{BrokerAddr, MqttLink, Session, SessionConfig, fleet_subscriptions};
#[cfg(feature = "demo")]
use drover_sim::fleet::Faults;
#[cfg(feature = "demo")]
use drover_sim::unit::UnitConfig;
use droverd::config::{BrokerMode, Config};
#[cfg(feature = "demo")]
use droverd::demo::{DemoOptions, run_demo};
use droverd::{Control, run_coordinator};
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "droverd",
    version,
    about = "drover's fleet coordinator: VDA 5050 robots over MQTT",
    long_about = "drover's fleet coordinator. `droverd demo` starts the embedded MQTT broker, the \
                  coordinator and a simulated floor (virtual VDA 5050 drive units and associates) \
                  and keeps a shift running. `droverd run` drives real robots through the broker \
                  named in the config file."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Embedded broker + coordinator + simulated floor, running until Ctrl-C.
    #[cfg(feature = "demo")]
    Demo {
        /// Config file (broker, coordinator timing, log format).
        #[arg(long, default_value = "config/droverd.toml", env = "DROVERD_CONFIG")]
        config: PathBuf,
        /// Simulated drive units (default: the config's robot count).
        #[arg(long, env = "DROVERD_ROBOTS")]
        robots: Option<usize>,
        /// Floor layout (default: the config's floor).
        #[arg(long)]
        floor: Option<PathBuf>,
        /// Speed-up of the simulated units and associates (1 = real time).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Pick tasks kept queued (the order stream).
        #[arg(long, default_value_t = 20)]
        queued: usize,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        seconds: Option<u64>,
        /// Probability that a unit stops for a while on reaching a node (fault injection).
        #[arg(long, default_value_t = 0.0)]
        delay_prob: f64,
        /// Probability that a message is lost (fault injection).
        #[arg(long, default_value_t = 0.0)]
        drop_prob: f64,
        /// Print a JSON summary as the last line of stdout at the end.
        #[arg(long)]
        json: bool,
        /// HTTP API and dashboard address (default: the config's api.listen).
        #[arg(long, env = "DROVERD_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        /// Folder of the durable store (default: the config's store.data_dir).
        #[arg(long, env = "DROVERD_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Seed of the simulated floor's stock and faults (default: the config's seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Address of the embedded MQTT broker (default: the config's broker.listen).
        #[arg(long, env = "DROVERD_BROKER_LISTEN")]
        broker_listen: Option<String>,
        /// Let clients into the embedded broker without a login, e.g. `mosquitto_sub -t
        /// 'uagv/v2/#'` to watch. Without it the demo makes up a random login for droverd and
        /// each unit, held in memory only.
        #[arg(long)]
        open_broker: bool,
        /// Serve open writes (no api.write_token) on a non-loopback address: for a closed
        /// network only (api.allow_open_non_loopback).
        #[arg(long)]
        insecure_open_api: bool,
    },
    /// Scale benchmark: N simulated units over the configured broker (embedded by default),
    /// for each N in --robots; reports coordinator tick p99 and one-way command latency p99.
    #[cfg(feature = "demo")]
    Scale {
        /// Config file (coordinator timing, broker).
        #[arg(long, default_value = "config/droverd.toml", env = "DROVERD_CONFIG")]
        config: PathBuf,
        /// An external broker instead of the config's (`mqtt://host:port`), e.g. mosquitto.
        #[arg(long)]
        broker_url: Option<String>,
        /// Floor layout.
        #[arg(long, default_value = "config/floors/fc-large.toml")]
        floor: PathBuf,
        /// Fleet sizes to run, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "100,500,1000")]
        robots: Vec<usize>,
        /// Seconds per size, after all units are located.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Print one JSON line per size.
        #[arg(long)]
        json: bool,
    },
    /// Imports what each pod holds into the store (CSV `pod,sku,units` rows, or JSON
    /// `{"pods": [{"pod", "contents": {SKU: units}}]}`); droverd reads it at its next start.
    /// While droverd runs, `PUT /api/pods` does the same at once.
    ImportPods {
        /// The file (`.csv`, else JSON).
        file: PathBuf,
        /// Config file (floor and store).
        #[arg(long, default_value = "config/droverd.toml", env = "DROVERD_CONFIG")]
        config: PathBuf,
        /// Folder of the durable store (default: the config's store.data_dir).
        #[arg(long, env = "DROVERD_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Coordinator only, against the configured broker and real robots.
    Run {
        /// Config file; every key is documented in config/droverd.toml.
        #[arg(long, default_value = "config/droverd.toml", env = "DROVERD_CONFIG")]
        config: PathBuf,
        /// Broker URL, overriding the config (`mqtt[s]://user@host:port`); implies external.
        /// `--help` does not show the variable's value (it may hold a password).
        #[arg(long, env = "DROVERD_BROKER_URL", hide_env_values = true)]
        broker_url: Option<String>,
        /// HTTP API and dashboard address (default: the config's api.listen).
        #[arg(long, env = "DROVERD_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        /// Folder of the durable store (default: the config's store.data_dir).
        #[arg(long, env = "DROVERD_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Serve open writes (no api.write_token) on a non-loopback address: for a closed
        /// network only (api.allow_open_non_loopback).
        #[arg(long)]
        insecure_open_api: bool,
    },
}

/// The broker droverd connects to: an external one (`url_override`, i.e. `--broker-url`, or
/// `broker.mode = "external"`), or the embedded one, started here. Also returns the embedded
/// broker's logins when it requires them: with `broker.password_file`, or `require_login`
/// (the demo, whose units get logins made up in memory).
fn broker(
    config: &Config,
    url_override: Option<&str>,
    require_login: bool,
) -> anyhow::Result<(BrokerAddr, Option<drover_gateway::Users>)> {
    if url_override.is_some() || config.broker.mode == BrokerMode::External {
        return Ok((
            droverd::broker::external(&config.broker, url_override)?,
            None,
        ));
    }
    #[cfg(feature = "embedded-broker")]
    {
        let embedded = droverd::broker::start_embedded(&config.broker, 20_000, require_login)?;
        Ok((embedded.addr, embedded.users))
    }
    #[cfg(not(feature = "embedded-broker"))]
    {
        let _ = require_login;
        anyhow::bail!("built without the embedded broker: set broker.mode = \"external\"")
    }
}

fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        let _ = tx.send(true);
    });
    rx
}

/// A shutdown signal that fires after `after`, or earlier when `outer` fires.
#[cfg(feature = "demo")]
fn stop_after(after: Duration, mut outer: watch::Receiver<bool>) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(after) => {}
            _ = outer.changed() => {}
        }
        let _ = tx.send(true);
    });
    rx
}

/// A simulated floor driven by the config's coordinator settings; `speed` scales units and
/// associates (8 s per pod at 1.0), `queued` pick tasks are kept waiting.
#[cfg(feature = "demo")]
fn demo_options(
    config: &Config,
    floor: PathBuf,
    robots: usize,
    broker: BrokerAddr,
    unit_logins: Option<drover_gateway::Users>,
    speed: f64,
    faults: Faults,
    queued: usize,
    api: Option<droverd::api::ApiOptions>,
) -> DemoOptions {
    DemoOptions {
        floor,
        robots,
        broker,
        unit_logins,
        coord: config.coord_config(),
        intake: config.vda5050.intake(),
        tick: Duration::from_millis(config.coordinator.tick_ms),
        unit: UnitConfig::standard().scaled(speed),
        unit_step_ms: 50,
        faults,
        associates_pick_ms: (8000.0 / speed) as u64,
        control: Control {
            submit_picks: 0,
            keep_queued: queued,
            stop_when_done: false,
            progress_every: Duration::from_secs(10),
            run_for: None,
        },
        startup_timeout: Duration::from_secs(30),
        late: Vec::new(),
        interface: config.vda5050.interface.clone(),
        seed: config.coordinator.seed,
        api,
    }
}

/// The config's API options with flag and environment overrides (`DROVERD_WRITE_TOKEN`,
/// `DROVERD_READ_TOKEN`).
fn api_options(
    config: &Config,
    listen: Option<std::net::SocketAddr>,
    data_dir: Option<PathBuf>,
    insecure_open_api: bool,
) -> droverd::api::ApiOptions {
    let mut options = config.api_options(listen, data_dir);
    let env = |name: &str| std::env::var(name).ok().filter(|t| !t.is_empty());
    if let Some(token) = env("DROVERD_WRITE_TOKEN") {
        options.auth.write_token = Some(token);
    }
    if let Some(token) = env("DROVERD_READ_TOKEN") {
        options.auth.read_token = Some(token);
    }
    options.allow_open_non_loopback |= insecure_open_api;
    options
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        #[cfg(feature = "demo")]
        Command::Demo {
            config,
            robots,
            floor,
            speed,
            queued,
            seconds,
            delay_prob,
            drop_prob,
            json,
            listen,
            data_dir,
            seed,
            broker_listen,
            open_broker,
            insecure_open_api,
        } => {
            let mut config = Config::load(&config)?;
            if let Some(listen) = broker_listen {
                config.broker.listen = listen;
            }
            if let Some(seed) = seed {
                config.coordinator.seed = seed;
            }
            droverd::logs::init(&config.log);
            anyhow::ensure!(speed > 0.0, "--speed must be positive");
            let api = api_options(&config, listen, data_dir, insecure_open_api);
            // Before the broker and the floor start, so a refusal is all that happens.
            droverd::api::check_listen(api.listen, &api.auth, api.allow_open_non_loopback)?;
            // Held until droverd exits: one droverd per data dir.
            let _data_dir = droverd::datadir::lock(&api.data_dir)?;
            let (addr, logins) = broker(&config, None, !open_broker)?;
            let mut shutdown = shutdown_signal();
            if let Some(s) = seconds {
                shutdown = stop_after(Duration::from_secs(s), shutdown);
            }
            let floor = floor.unwrap_or_else(|| config.floor.path.clone());
            let robots = robots.unwrap_or(config.robots.count);
            let watch = if logins.is_some() {
                "logins made up for droverd and each unit; --open-broker lets mosquitto_sub watch"
            } else {
                "subscribe to uagv/v2/# to watch"
            };
            eprintln!(
                "droverd demo: {robots} simulated units on {} via {addr} ({watch}); Ctrl-C stops",
                floor.display(),
            );
            let faults = Faults {
                delay_prob,
                delay_ms: (500, 3000),
                drop_prob,
                seed: config.coordinator.seed,
            };
            eprintln!(
                "droverd demo: dashboard at http://{}/ , API docs at http://{}/swagger-ui/",
                api.listen, api.listen
            );
            let options = demo_options(
                &config,
                floor,
                robots,
                addr,
                logins,
                speed,
                faults,
                queued,
                Some(api),
            );
            let report = run_demo(options, shutdown).await?;
            tracing::info!(
                done = report.coordinator.done,
                collisions = report.collisions,
                tick_ms_p99 = report.coordinator.tick_ms_p99,
                command_ms_p99 = report.command_ms_p99,
                "demo stopped"
            );
            if json {
                println!("{}", serde_json::to_string(&report)?);
            }
        }
        #[cfg(feature = "demo")]
        Command::Scale {
            config,
            broker_url,
            floor,
            robots,
            seconds,
            json,
        } => {
            let mut config = Config::load(&config)?;
            droverd::logs::init(&config.log);
            let fresh = broker_url.is_none() && config.broker.mode == BrokerMode::Embedded;
            let (mut addr, mut logins) = broker(&config, broker_url.as_deref(), false)?;
            if !json {
                println!(
                    "| units | tick p50 ms | tick p99 ms | tick max ms | command p50 ms | command p99 ms (whole run) | command p99 ms (after 10 s) | states/s | orders/s | unit reconnects | silent events | collisions |"
                );
                println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            }
            for (k, n) in robots.into_iter().enumerate() {
                if fresh && k > 0 {
                    // Each size gets a broker of its own: rumqttd keeps what earlier clients
                    // left behind (filters, retained states), which would slow the next size.
                    let port = drover_gateway::free_port()?;
                    config.broker.listen = format!("127.0.0.1:{port}");
                    (addr, logins) = broker(&config, None, false)?;
                }
                let mut options = demo_options(
                    &config,
                    floor.clone(),
                    n,
                    addr.clone(),
                    logins.clone(),
                    1.0,
                    Faults::none(),
                    n / 2,
                    None,
                );
                options.control.run_for = Some(Duration::from_secs(seconds));
                // Thousands of units connecting at once keep a 2-core broker busy for a while.
                options.startup_timeout = Duration::from_secs(120);
                let r = run_demo(options, shutdown_signal()).await?;
                let secs = r.coordinator.ticks as f64 * config.coordinator.tick_ms as f64 / 1000.0;
                if json {
                    println!("{}", serde_json::json!({"units": n, "report": r}));
                } else {
                    println!(
                        "| {n} | {:.2} | {:.2} | {:.0} | {} | {} | {} | {:.0} | {:.0} | {} | {} | {} |",
                        r.coordinator.tick_ms_p50,
                        r.coordinator.tick_ms_p99,
                        r.coordinator.tick_ms_max,
                        r.command_ms_p50,
                        r.command_ms_p99,
                        r.command_ms_p99_steady,
                        r.states as f64 / secs.max(1e-9),
                        r.coordinator.messages_out as f64 / secs.max(1e-9),
                        r.unit_reconnects,
                        r.coordinator.silent_events,
                        r.collisions
                    );
                }
            }
        }
        Command::ImportPods {
            file,
            config,
            data_dir,
        } => {
            let config = Config::load(&config)?;
            let mut floor = droverd::config::load_floor(&config.floor.path)?;
            let dir = data_dir.unwrap_or_else(|| config.store.data_dir.clone());
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            let _data_dir = droverd::datadir::lock(&dir).map_err(|e| {
                anyhow::anyhow!("{e}; while droverd runs, PUT /api/pods imports pod contents")
            })?;
            let n = droverd::pods::import_file(&file, &mut floor, &dir)?;
            println!("imported the contents of {n} pods into {}", dir.display());
        }
        Command::Run {
            config,
            broker_url,
            listen,
            data_dir,
            insecure_open_api,
        } => {
            let path = config;
            let config = Config::load(&path)?;
            droverd::logs::init(&config.log);
            let api = api_options(&config, listen, data_dir, insecure_open_api);
            // Before the broker starts, so a refusal is all that happens.
            droverd::api::check_listen(api.listen, &api.auth, api.allow_open_non_loopback)?;
            // Held until droverd exits: one droverd per data dir.
            let _data_dir = droverd::datadir::lock(&api.data_dir)?;
            let (addr, _) = broker(&config, broker_url.as_deref(), false)?;
            // Pods hold what the floor file lists and the store recorded (`droverd
            // import-pods`); nothing is invented.
            let mut floor = droverd::config::load_floor(&config.floor.path)?;
            let mut served =
                droverd::api::serve(&mut floor, &api, config.coordinator.tick_ms).await?;
            let mut session_config = SessionConfig::new(&config.broker.client_id);
            session_config.keep_alive = Duration::from_secs(config.broker.keep_alive_s);
            session_config.subscriptions = fleet_subscriptions(&config.vda5050.interface);
            let (session, mut rx) = Session::start(&addr, session_config);
            let link_stats = session.stats().clone();
            let mut link = MqttLink {
                session,
                interface: config.vda5050.interface.clone(),
            };
            tracing::info!(broker = %addr, config = %path.display(), "droverd running");
            let summary = run_coordinator(
                floor,
                config.serials(),
                config.coord_config(),
                config.vda5050.intake(),
                Duration::from_millis(config.coordinator.tick_ms),
                Duration::from_secs(config.robots.startup_timeout_s),
                &mut link,
                Some(link_stats),
                &mut rx,
                Control {
                    submit_picks: 0,
                    keep_queued: 0,
                    stop_when_done: false,
                    progress_every: Duration::from_secs(30),
                    run_for: None,
                },
                shutdown_signal(),
                Some(&mut served.ops),
                None,
            )
            .await?;
            served.server.abort();
            link.session.disconnect().await;
            tracing::info!(ticks = summary.ticks, "droverd stopped");
        }
    }
    Ok(())
}
