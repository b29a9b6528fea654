//! droverd's configuration: `config/droverd.toml` documents every key; environment
//! variables and command-line flags override the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// MQTT broker.
    pub broker: BrokerConfig,
    /// VDA 5050 naming.
    pub vda5050: VdaConfig,
    /// The floor layout.
    pub floor: FloorConfig,
    /// The robots driven.
    pub robots: RobotsConfig,
    /// Coordinator timing and planning.
    pub coordinator: CoordinatorConfig,
    /// `[allocator]`, optional.
    #[serde(default)]
    pub allocator: AllocatorConfig,
    /// HTTP API and dashboard.
    pub api: ApiConfig,
    /// Durable store.
    pub store: StoreConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[api]`. The hardening keys (read token, origins, limits) are optional, with the
/// defaults below, so configs written before them still load.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Address the HTTP API and dashboard listen on.
    pub listen: String,
    /// The operator token: bearer token for writes (reads too); empty: writes are open,
    /// which only a loopback `listen` allows.
    pub write_token: String,
    /// Bearer token for reads only (dashboard, SSE, `/metrics`); setting it makes reads
    /// need a token.
    #[serde(default)]
    pub read_token: String,
    /// Reads need a token (the read token or the operator's).
    pub read_token_required: bool,
    /// Serve open writes on a non-loopback address anyway (a closed network).
    #[serde(default)]
    pub allow_open_non_loopback: bool,
    /// Origins besides the daemon's own whose pages may write (a TLS proxy's
    /// `https://host`).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Open HTTP connections at most; more are answered 503 and closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Milliseconds a client has to send a whole request head (idle keep-alive included).
    #[serde(default = "default_header_timeout_ms")]
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send a whole request body.
    #[serde(default = "default_body_timeout_ms")]
    pub body_timeout_ms: u64,
    /// Largest request body, bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Speed limit on the ring of cells around a blocked zone, m/s; 0: no ring.
    pub zone_ring_speed: f64,
}

fn default_max_connections() -> usize {
    crate::api::Limits::DEFAULT.max_connections
}

fn default_header_timeout_ms() -> u64 {
    crate::api::Limits::DEFAULT.header_timeout.as_millis() as u64
}

fn default_body_timeout_ms() -> u64 {
    crate::api::Limits::DEFAULT.body_timeout.as_millis() as u64
}

fn default_max_body_bytes() -> usize {
    crate::api::Limits::DEFAULT.max_body_bytes
}

impl ApiConfig {
    fn validate(&self) -> anyhow::Result<()> {
        self.listen
            .parse::<std::net::SocketAddr>()
            .map_err(|e| anyhow::anyhow!("api.listen {:?}: {e}", self.listen))?;
        anyhow::ensure!(
            self.zone_ring_speed.is_finite() && self.zone_ring_speed >= 0.0,
            "api.zone_ring_speed must be 0 (no ring) or a speed in m/s"
        );
        anyhow::ensure!(
            (1..=100_000).contains(&self.max_connections),
            "api.max_connections must be 1 to 100000"
        );
        anyhow::ensure!(
            (100..=600_000).contains(&self.header_timeout_ms),
            "api.header_timeout_ms must be 100 to 600000"
        );
        anyhow::ensure!(
            (100..=600_000).contains(&self.body_timeout_ms),
            "api.body_timeout_ms must be 100 to 600000"
        );
        anyhow::ensure!(
            (1024..=64 << 20).contains(&self.max_body_bytes),
            "api.max_body_bytes must be 1024 to 67108864"
        );
        // Whether this address may serve open writes is decided by `serve`, after the flags
        // and the environment had their say (`--listen`, `DROVERD_WRITE_TOKEN`).
        self.auth().check()
    }

    /// Tokens and origins as the API checks them.
    pub fn auth(&self) -> crate::api::Auth {
        let token = |t: &str| (!t.is_empty()).then(|| t.to_string());
        crate::api::Auth {
            write_token: token(&self.write_token),
            read_token: token(&self.read_token),
            read_token_required: self.read_token_required,
            allowed_origins: self.allowed_origins.clone(),
        }
    }

    /// Connection and request limits.
    pub fn limits(&self) -> crate::api::Limits {
        crate::api::Limits {
            max_connections: self.max_connections,
            header_timeout: std::time::Duration::from_millis(self.header_timeout_ms),
            body_timeout: std::time::Duration::from_millis(self.body_timeout_ms),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

/// `[store]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Folder of the SQLite database.
    pub data_dir: PathBuf,
}

/// `[broker]`. `Debug` shows neither the password nor the URL's.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// `embedded` (rumqttd in-process on `listen`) or `external` (connect to `url`).
    pub mode: BrokerMode,
    /// Address the embedded broker listens on.
    pub listen: String,
    /// External broker, `mqtt[s]://[user[:password]@]host[:port]`.
    pub url: String,
    /// Login for the external broker (overrides the URL's).
    pub username: Option<String>,
    /// Password for the external broker (`DROVERD_BROKER_PASSWORD` overrides it).
    pub password: Option<String>,
    /// MQTT client id of the coordinator (and its user name on the embedded broker).
    pub client_id: String,
    /// Keep-alive in seconds.
    pub keep_alive_s: u64,
    /// `mqtts://`: PEM file of the CA certificate(s) to trust; absent: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// `mqtts://`: PEM client certificate for brokers that ask for one (with `client_key`).
    pub client_cert: Option<PathBuf>,
    /// Its PEM private key.
    pub client_key: Option<PathBuf>,
    /// Embedded broker: a mosquitto password file (`mosquitto_passwd`); only its users, and
    /// droverd with a login of its own, may connect. Absent: anyone may.
    pub password_file: Option<PathBuf>,
    /// Embedded broker: a TLS listener too, on this address (with `tls_cert`, `tls_key`).
    pub tls_listen: Option<String>,
    /// The TLS listener's PEM certificate chain.
    pub tls_cert: Option<PathBuf>,
    /// Its PEM private key.
    pub tls_key: Option<PathBuf>,
}

impl std::fmt::Debug for BrokerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("mode", &self.mode)
            .field("listen", &self.listen)
            .field("url", &drover_gateway::redact_url(&self.url))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("client_id", &self.client_id)
            .field("keep_alive_s", &self.keep_alive_s)
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("password_file", &self.password_file)
            .field("tls_listen", &self.tls_listen)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .finish()
    }
}

impl BrokerConfig {
    fn validate(&self) -> anyhow::Result<()> {
        drover_gateway::BrokerAddr::parse(&self.url)?;
        anyhow::ensure!(
            self.client_cert.is_some() == self.client_key.is_some(),
            "broker.client_cert and broker.client_key go together"
        );
        let tls = [&self.tls_cert, &self.tls_key].map(Option::is_some);
        anyhow::ensure!(
            [self.tls_listen.is_some(), tls[0], tls[1]] == [tls[0]; 3],
            "broker.tls_listen, tls_cert and tls_key go together"
        );
        if let Some(at) = &self.tls_listen {
            at.parse::<std::net::SocketAddr>()
                .map_err(|e| anyhow::anyhow!("broker.tls_listen {at:?}: {e}"))?;
        }
        Ok(())
    }
}

/// Embedded or external broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerMode {
    /// rumqttd inside droverd.
    Embedded,
    /// Another broker (mosquitto, EMQX, ...).
    External,
}

/// `[vda5050]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VdaConfig {
    /// First topic level.
    pub interface: String,
    /// Manufacturer level of the robots' topics.
    pub manufacturer: String,
    /// Map id in orders.
    pub map_id: String,
    /// What these robots call drover's node actions (default: VDA 5050's names).
    #[serde(default)]
    pub actions: ActionsConfig,
    /// Where the floor lies in the robots' map (default: the floor's frame is the map's).
    #[serde(default)]
    pub placement: PlacementConfig,
    /// Robot messages stamped more than this many ms ahead of droverd's clock are refused.
    #[serde(default = "default_max_clock_skew_ms")]
    pub max_clock_skew_ms: u64,
    /// A CONNECTIONBROKEN or OFFLINE (or a message in a version droverd cannot speak) within
    /// this many ms of the robot's last state is held this long and believed only if no state
    /// follows.
    #[serde(default = "default_connection_doubt_ms")]
    pub connection_doubt_ms: u64,
}

fn default_max_clock_skew_ms() -> u64 {
    5000
}

fn default_connection_doubt_ms() -> u64 {
    2000
}

impl VdaConfig {
    /// How far robots' messages are believed.
    pub fn intake(&self) -> drover_core::session::Intake {
        drover_core::session::Intake {
            max_clock_skew_ms: self.max_clock_skew_ms,
            connection_doubt_ms: self.connection_doubt_ms,
        }
    }
}

/// `[vda5050.placement]`: the floor's origin (the outer corner of its bottom-left cell) in
/// the robots' map, and its rotation.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlacementConfig {
    /// Map x of the floor's origin, metres.
    pub x: f64,
    /// Map y of the floor's origin, metres.
    pub y: f64,
    /// Rotation of the floor in the map, degrees counter-clockwise.
    pub rotation_deg: f64,
}

/// `[vda5050.actions]`: node action types and pick/drop parameters as the robots' vendor
/// names them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionsConfig {
    /// Lifting a pod.
    pub pick: String,
    /// Setting a pod down.
    pub drop: String,
    /// Charging.
    pub charge: String,
    /// `loadType` of pick and drop.
    pub load_type: String,
    /// `stationType` of pick and drop.
    pub station_type: String,
}

impl Default for ActionsConfig {
    /// VDA 5050's predefined names.
    fn default() -> ActionsConfig {
        let n = drover_core::orders::ActionNames::standard();
        ActionsConfig {
            pick: n.pick,
            drop: n.drop,
            charge: n.charge,
            load_type: n.load_type,
            station_type: n.station_type,
        }
    }
}

/// `[allocator]`: how work is matched to robots, and battery thresholds (fractions of a
/// full charge, compared with each robot's reported `batteryCharge`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllocatorConfig {
    /// Below this a robot drops its work for a charger.
    pub battery_critical: f64,
    /// At or below this an idle robot goes charging.
    pub battery_go_charge: f64,
    /// A charging robot may take work again from this charge on.
    pub battery_may_work: f64,
    /// A charging robot stops here.
    pub battery_full: f64,
    /// Assignment batches up to this many rows are solved exactly (Hungarian), above greedily.
    pub optimal_max: usize,
    /// Order lines piled on one pod visit at most.
    pub pile_on_max: usize,
    /// Units a pod holds at most (stow).
    pub pod_capacity: u32,
    /// Returning pods go to slots by demand (fast movers near the stations).
    pub slotting: bool,
    /// Idle robots leave the lanes for park cells.
    pub park_idle: bool,
}

impl Default for AllocatorConfig {
    /// A fulfilment centre's settings ([`drover_alloc::AllocConfig::fulfilment_centre`]),
    /// with exact assignment up to 64 rows.
    fn default() -> AllocatorConfig {
        let c = drover_alloc::AllocConfig::fulfilment_centre();
        let b = c.battery.expect("a fulfilment centre models batteries");
        AllocatorConfig {
            battery_critical: b.critical,
            battery_go_charge: b.go_charge,
            battery_may_work: b.may_work,
            battery_full: b.full,
            optimal_max: 64,
            pile_on_max: c.pile_on_max,
            pod_capacity: c.pod_capacity,
            slotting: c.slotting,
            park_idle: c.park_idle,
        }
    }
}

impl AllocatorConfig {
    /// The allocator's settings. Lifts and set-downs are the robot's own `pick`/`drop`
    /// actions, which hold it in place, so they take no extra ticks here.
    pub fn alloc_config(&self) -> drover_alloc::AllocConfig {
        let mut c = drover_alloc::AllocConfig::fulfilment_centre();
        if let Some(b) = c.battery.as_mut() {
            b.critical = self.battery_critical;
            b.go_charge = self.battery_go_charge;
            b.may_work = self.battery_may_work;
            b.full = self.battery_full;
        }
        c.optimal_max = self.optimal_max;
        c.lift_ticks = 0;
        c.drop_ticks = 0;
        c.pile_on_max = self.pile_on_max;
        c.pod_capacity = self.pod_capacity;
        c.slotting = self.slotting;
        c.park_idle = self.park_idle;
        c
    }

    fn validate(&self) -> anyhow::Result<()> {
        let b = [
            self.battery_critical,
            self.battery_go_charge,
            self.battery_may_work,
            self.battery_full,
        ];
        anyhow::ensure!(
            b.iter().all(|x| (0.0..=1.0).contains(x)) && b.windows(2).all(|w| w[0] <= w[1]),
            "allocator: battery thresholds must lie in 0..=1 with critical <= go_charge <= may_work <= full"
        );
        anyhow::ensure!(
            (1..=10_000).contains(&self.optimal_max),
            "allocator.optimal_max must be 1 to 10000"
        );
        anyhow::ensure!(
            self.pile_on_max >= 1 && self.pod_capacity >= 1,
            "allocator.pile_on_max and pod_capacity must be at least 1"
        );
        Ok(())
    }
}

/// `[floor]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorConfig {
    /// Floor layout file (relative paths are relative to the config file's folder's parent).
    pub path: PathBuf,
}

/// `[robots]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotsConfig {
    /// Serial numbers; empty means `du-0001` .. `du-{count}`.
    pub serials: Vec<String>,
    /// Number of robots when `serials` is empty.
    pub count: usize,
    /// Seconds to wait at startup for every robot's first state.
    pub startup_timeout_s: u64,
}

/// `[coordinator]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// Milliseconds per tick.
    pub tick_ms: u64,
    /// Cells released past a robot's reported position.
    pub base_ahead: u32,
    /// Planned cells a robot may lag before the planner holds it.
    pub max_lag: usize,
    /// Milliseconds before an unechoed order is resent.
    pub resend_ms: u64,
    /// Orders sent per second at most (0: no cap).
    pub max_orders_per_s: u64,
    /// Milliseconds without a state before a robot counts as silent.
    pub silent_ms: u64,
    /// Planner seed.
    pub seed: u64,
    /// Memory cap for the planner's distance tables, MB.
    pub table_cache_mb: usize,
    /// Times a task is tried again after a robot's pick for it failed (default 2).
    #[serde(default = "default_action_retries")]
    pub action_retries: u32,
}

fn default_action_retries() -> u32 {
    2
}

/// `[log]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `pretty` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `droverd=debug,info`.
    pub level: String,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        anyhow::ensure!(
            config.coordinator.tick_ms > 0,
            "coordinator.tick_ms must be positive"
        );
        anyhow::ensure!(
            config.coordinator.base_ahead > 0,
            "coordinator.base_ahead must be at least 1"
        );
        anyhow::ensure!(
            config.coordinator.max_lag > 0,
            "coordinator.max_lag must be at least 1"
        );
        anyhow::ensure!(
            config.robots.count > 0 || !config.robots.serials.is_empty(),
            "robots: give serials or a count"
        );
        anyhow::ensure!(
            ["pretty", "json"].contains(&config.log.format.as_str()),
            "log.format must be \"pretty\" or \"json\", not {:?}",
            config.log.format
        );
        config.broker.validate()?;
        config.allocator.validate()?;
        anyhow::ensure!(
            config.vda5050.max_clock_skew_ms <= 86_400_000
                && config.vda5050.connection_doubt_ms <= 600_000,
            "vda5050.max_clock_skew_ms must be at most 86400000 (a day) and connection_doubt_ms at most 600000"
        );
        let p = &config.vda5050.placement;
        anyhow::ensure!(
            [p.x, p.y, p.rotation_deg].iter().all(|v| v.is_finite()),
            "vda5050.placement: x, y and rotation_deg must be finite numbers"
        );
        config.api.validate()?;
        Ok(config)
    }

    /// The API options this file describes; `listen` and `data_dir` override the file.
    pub fn api_options(
        &self,
        listen: Option<std::net::SocketAddr>,
        data_dir: Option<PathBuf>,
    ) -> crate::api::ApiOptions {
        crate::api::ApiOptions {
            listen: listen.unwrap_or_else(|| {
                self.api
                    .listen
                    .parse()
                    .expect("validated when the config was parsed")
            }),
            auth: self.api.auth(),
            allow_open_non_loopback: self.api.allow_open_non_loopback,
            limits: self.api.limits(),
            data_dir: data_dir.unwrap_or_else(|| self.store.data_dir.clone()),
            zone_ring_speed: (self.api.zone_ring_speed > 0.0).then_some(self.api.zone_ring_speed),
        }
    }

    /// The robots' serial numbers.
    pub fn serials(&self) -> Vec<String> {
        if self.robots.serials.is_empty() {
            (0..self.robots.count)
                .map(|k| format!("du-{:04}", k + 1))
                .collect()
        } else {
            self.robots.serials.clone()
        }
    }

    /// The coordinator settings this file describes.
    pub fn coord_config(&self) -> drover_core::coord::CoordConfig {
        let c = &self.coordinator;
        let mut base = drover_core::coord::CoordConfig {
            alloc: self.allocator.alloc_config(),
            seed: c.seed,
            table_cache_bytes: c.table_cache_mb << 20,
            base_ahead: c.base_ahead,
            max_lag: c.max_lag,
            resend_ticks: c.resend_ms.div_ceil(c.tick_ms).max(1),
            silent_ticks: c.silent_ms.div_ceil(c.tick_ms).max(1),
            max_orders_per_tick: match c.max_orders_per_s {
                0 => 0,
                per_s => (per_s * c.tick_ms / 1000).max(1) as usize,
            },
            map_id: String::new(),
            placement: drover_core::orders::Placement {
                x: self.vda5050.placement.x,
                y: self.vda5050.placement.y,
                rotation: self.vda5050.placement.rotation_deg.to_radians(),
            },
            manufacturer: String::new(),
            actions: drover_core::orders::ActionNames::standard(),
            action_retries: c.action_retries,
            // Set when coordinating starts (droverd's start time).
            instance: String::new(),
        };
        base.map_id = self.vda5050.map_id.clone();
        base.manufacturer = self.vda5050.manufacturer.clone();
        let a = &self.vda5050.actions;
        base.actions = drover_core::orders::ActionNames {
            pick: a.pick.clone(),
            drop: a.drop.clone(),
            charge: a.charge.clone(),
            load_type: a.load_type.clone(),
            station_type: a.station_type.clone(),
        };
        base
    }
}

/// Reads and validates a floor file (errors name the file, line and column).
pub fn load_floor(path: &std::path::Path) -> anyhow::Result<drover_grid::load::Floor> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read floor {}: {e}", path.display()))?;
    Ok(drover_grid::load::parse_floor(
        &path.display().to_string(),
        &text,
    )?)
}
