//! Serving the API: the store opened and recovered, the listener bound, the server task; and
//! the process's metrics recorder `/metrics` renders.

use std::sync::Arc;

use drover_grid::load::Floor;
use metrics_exporter_prometheus::PrometheusHandle;

use super::{Auth, router};

/// Where the API listens, who may write, and where the store lives.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// Listen address (port 0: any free port; the bound one is returned).
    pub listen: std::net::SocketAddr,
    /// Tokens.
    pub auth: Auth,
    /// The store's folder (`drover.db` inside).
    pub data_dir: std::path::PathBuf,
    /// Speed limit on the ring around blocked zones, m/s (`None`: no ring).
    pub zone_ring_speed: Option<f64>,
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
    let app = router(handle, floor, options.auth.clone());
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.listen))?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
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
