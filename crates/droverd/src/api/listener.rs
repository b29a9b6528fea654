//! The HTTP/1.1 accept loop: at most `max_connections` open at once (the next ones get a 503
//! and are closed), and every request head, an idle keep-alive's next one included, must
//! arrive whole within `header_timeout` or the connection is closed. `axum::serve` has
//! neither: 300 half-sent requests were all still open after 35 s.
//!
//! Body deadlines and sizes are the guard's (`guard.rs`), since only a handler's request
//! knows whether its body is wanted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Limits;

/// What a client over the limit reads before the connection closes.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
Content-Type: application/json\r\nContent-Length: 67\r\n\r\n\
{\"error\":\"unavailable\",\"message\":\"too many connections; try again\"}";

/// Serves `app` on `listener` until the task running it is aborted; aborting it closes
/// every connection too (they live in its `JoinSet`).
pub(super) async fn serve(listener: TcpListener, app: Router, limits: Limits) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut connections = JoinSet::new();
    let mut last_warning: Option<Instant> = None;
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin, and
                // say so once a minute at most.
                if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    last_warning = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("drover_http_connections_refused_total").increment(1);
            // Best effort, never waiting: a client that reads nothing just sees the close.
            let _ = stream.try_write(BUSY);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // `Router` serves any body type, hyper's `Incoming` included.
        let service = TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        connections.spawn(async move {
            let _permit = permit;
            let open = metrics::gauge!("drover_http_connections");
            open.increment(1.0);
            // Timeouts and resets end connections with an error; there is nobody to tell.
            let _ = connection.await;
            open.decrement(1.0);
        });
    }
}
