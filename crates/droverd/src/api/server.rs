//! Serving the API: the listen address checked against the tokens, the store opened and
//! recovered, the listener bound, the server task; and the process's metrics recorder
//! `/metrics` renders.

use std::sync::Arc;
use std::time::Duration;

use drover_grid::load::Floor;
use metrics_exporter_prometheus::PrometheusHandle;

use super::{Auth, router};

/// Where the API listens, who may write, and where the store lives.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// Listen address (port 0: any free port; the bound one is returned).
    pub listen: std::net::SocketAddr,
    /// Tokens and origins.
    pub auth: Auth,
    /// Serve open writes (no operator token) on a non-loopback address anyway
    /// (`api.allow_open_non_loopback`, `--insecure-open-api`).
    pub allow_open_non_loopback: bool,
    /// Connection, time and size limits.
    pub limits: Limits,
    /// The store's folder (`drover.db` inside).
    pub data_dir: std::path::PathBuf,
    /// Speed limit on the ring around blocked zones, m/s (`None`: no ring).
    pub zone_ring_speed: Option<f64>,
}

/// How much of the server one client may take (`[api]` in the config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Time to send a whole request head.
    pub header_timeout: Duration,
    /// Time to send a whole request body.
    pub body_timeout: Duration,
    /// Largest request body, bytes (a batch of 10,000 tasks fits the default).
    pub max_body_bytes: usize,
}

impl Limits {
    /// The defaults `config/droverd.toml` documents: 500 trickling connections fit under
    /// the connection limit beside the dashboards, and all are gone within 30 s.
    pub const DEFAULT: Limits = Limits {
        max_connections: 1024,
        header_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_secs(15),
        max_body_bytes: 4 * 1024 * 1024,
    };
}

/// Refuses to serve open writes (no operator token) on an address other machines reach,
/// unless told to for a closed network.
pub fn check_listen(
    listen: std::net::SocketAddr,
    auth: &Auth,
    allow_open_non_loopback: bool,
) -> anyhow::Result<()> {
    if auth.writes_open() && !listen.ip().is_loopback() && !allow_open_non_loopback {
        anyhow::bail!(
            "refusing to listen on {listen} without an operator token: anyone who reaches this \
             address could drive the fleet. Set api.write_token (or DROVERD_WRITE_TOKEN), listen \
             on a loopback address (api.listen, --listen), or on a closed network set \
             api.allow_open_non_loopback = true (or pass --insecure-open-api)"
        );
    }
    Ok(())
}

/// A running API: the loop's half of the operations state, and the bound address.
pub struct Served {
    /// For [`crate::run_coordinator`].
    pub ops: crate::ops::OpsLoop,
    /// The address the API listens on.
    pub addr: std::net::SocketAddr,
    /// The server task (aborted on drop of the demo).
    pub server: tokio::task::JoinHandle<()>,
}

/// Opens the store, recovers (pods go back to the floor before robots and tasks are
/// placed), and starts the HTTP server. Returns once it accepts connections.
pub async fn serve(
    floor: &mut Floor,
    options: &ApiOptions,
    tick_ms: u64,
) -> anyhow::Result<Served> {
    options.auth.check()?;
    check_listen(
        options.listen,
        &options.auth,
        options.allow_open_non_loopback,
    )?;
    if options.auth.writes_open() && !options.listen.ip().is_loopback() {
        tracing::warn!(listen = %options.listen, "the API's writes are open to the network (allow_open_non_loopback)");
    }
    for (key, token) in [
        ("api.write_token", &options.auth.write_token),
        ("api.read_token", &options.auth.read_token),
    ] {
        if token.as_ref().is_some_and(|t| t.len() < 16) {
            tracing::warn!(key, "a token shorter than 16 characters is easy to guess");
        }
    }
    let path = options.data_dir.join("drover.db");
    let store = drover_store::SqliteStore::open(&path)
        .map_err(|e| anyhow::anyhow!("store {}: {e}", path.display()))?;
    let recovered = drover_store::Store::recover(&store)?;
    crate::pods::restore_pods(floor, &recovered);
    tracing::info!(
        db = %path.display(),
        open_tasks = recovered.open.len(),
        pods = recovered.pods.len(),
        "store opened"
    );
    let committer = drover_store::Committer::start(Arc::new(store));
    let (handle, ops) = crate::ops::ops(
        committer,
        floor,
        recovered,
        tick_ms,
        options.zone_ring_speed,
    );
    let app = router(handle, floor, options.auth.clone(), options.limits);
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.listen))?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(super::listener::serve(listener, app, options.limits));
    tracing::info!(%addr, "HTTP API and dashboard listening");
    Ok(Served { ops, addr, server })
}

/// The metrics recorder, installed once per process.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &[
                        0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
                    ],
                )
                .expect("static buckets are valid");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}
