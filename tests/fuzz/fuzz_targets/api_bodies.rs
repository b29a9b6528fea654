//! The API's JSON bodies through the real router (`droverd::api::router`, called with
//! `tower::ServiceExt::oneshot`): a task, a batch, staffing, a zone and a pods import, each
//! parsed and checked by its handler against the demo floor. The first input byte picks the
//! endpoint (`drover_fuzz::ENDPOINTS`), the rest is the body.
//!
//! Requests carry the operator token. The store is a fresh SQLite file (under /dev/shm where
//! there is one); no coordinator loop runs, so commands that pass the checks are answered 503.
//! Anything else must be a 2xx or 4xx with a JSON body. `DROVER_FUZZ_SHOW=1` prints each answer.
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use drover_fuzz::{ENDPOINTS, demo_floor};
use drover_store::{Committer, SqliteStore, Store};
use droverd::api::{Auth, Limits, router};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// The operator token the requests carry.
const TOKEN: &str = "fuzz-operator-token";

struct Api {
    runtime: tokio::runtime::Runtime,
    router: Router,
}

/// A fresh store for this process, in memory-backed /dev/shm where there is one.
fn store_path() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("drover-fuzz-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("drover.db")
}

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let mut floor = demo_floor().clone();
        // Some stock, so tasks by SKU can pass.
        for (k, pod) in floor.pods.iter_mut().take(8).enumerate() {
            pod.contents.insert(format!("SKU-{k}"), 10);
        }
        let store = SqliteStore::open(&store_path()).expect("a fresh store opens");
        let recovered = store.recover().expect("an empty store recovers");
        let committer = Committer::start(Arc::new(store));
        let (handle, ops_loop) = droverd::ops::ops(committer, &floor, recovered, 250, None);
        // No loop: a command that passed its checks is answered "not running" (503).
        drop(ops_loop);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let auth = Auth {
            write_token: Some(TOKEN.into()),
            ..Auth::default()
        };
        let router = router(handle, &floor, auth, Limits::DEFAULT);
        Api { runtime, router }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let (method, path) = ENDPOINTS[usize::from(sel) % ENDPOINTS.len()];
    let api = api();
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("a valid request");
    let (status, bytes) = api.runtime.block_on(async {
        let response = api
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await;
        (status, bytes.expect("the body reads"))
    });
    if std::env::var_os("DROVER_FUZZ_SHOW").is_some() {
        eprintln!(
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    assert!(
        status.is_success()
            || status.is_client_error()
            || status == StatusCode::SERVICE_UNAVAILABLE,
        "{method} {path}: {status} {:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(
        serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
        "{method} {path}: {status} with a body that is not JSON: {:?}",
        String::from_utf8_lossy(&bytes)
    );
});
