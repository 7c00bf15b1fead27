#![forbid(unsafe_code)]
//! `icd serve`: the coding service a hospital runs on its own network, next to its EHR.
//!
//! The same [`Coder`] as `icd predict` and the browser, behind HTTP (axum on tokio):
//! - `POST /v1/code` `{"text", "top_k", "evidence"}` → `{"predictions", "model"}`;
//! - `POST /v1/batch`: JSONL `{"id", "text"}` lines in, JSONL out in input order, streamed;
//!   a bad line gets `{"id", "error", "line"}` in its place and never stops the batch;
//! - `POST /fhir/r4/DocumentReference/$code`: FHIR R4 documents in, provisional Conditions out;
//! - `GET /healthz`, `GET /v1/model`, `GET /metrics` (Prometheus text), `GET /openapi.json`
//!   (`serve/openapi.json`, the contract).
//!
//! Limits answer with an error that names them: the body size (413), the note size (413), a
//! bounded queue (503 with `Retry-After`), a request timeout (504); invalid JSON or UTF-8 is a
//! 400 naming the line, column or byte. An optional bearer token guards everything but
//! `/healthz`. Note text is never logged: only routes, statuses, sizes and times.
//!
//! This crate does no file I/O: the `icd` binary reads the bundle and the token file.

mod api;
mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use icd_core::{CodeTable, Coder, SearchIndex};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use api::{router, OPENAPI};
pub use metrics::Metrics;

/// How the service runs; `Default` is what `icd serve` starts with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Requests with a larger body get 413.
    pub max_body_bytes: usize,
    /// Notes with more bytes of text are refused (413 for `/v1/code`, a line error in a batch).
    pub max_note_bytes: usize,
    /// Notes coded at once (each on a blocking thread of its own).
    pub workers: usize,
    /// Requests that may wait for a worker; one more gets 503 with `Retry-After`.
    pub queue: usize,
    /// A `/v1/code` request that takes longer gets 504; a batch line, a line error.
    pub timeout: Duration,
    /// When set, every route but `/healthz` needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Codes per note when the request does not say.
    pub default_top_k: usize,
}

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            max_body_bytes: 16 << 20,
            max_note_bytes: icd_core::coder::MAX_NOTE_BYTES,
            workers: cores,
            queue: 64,
            timeout: Duration::from_secs(60),
            token: None,
            default_top_k: 10,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub(crate) coder: Arc<Coder>,
    pub(crate) config: Config,
    /// Permits for requests in flight (workers + queue): none left means 503.
    pub(crate) admission: Arc<Semaphore>,
    /// Permits for notes being coded.
    pub(crate) workers: Arc<Semaphore>,
    pub(crate) metrics: Metrics,
    /// `{"name", "sha256"}` of the bundle, in every answer.
    pub(crate) model: serde_json::Value,
    /// The code table and its index: suggestions are fused with the codes the note's
    /// diagnostic statements match in it, and carry their HCCs, rule messages and
    /// specificity options (`icd_core::candidates`), as `icd predict` does.
    pub(crate) table: Option<Arc<(CodeTable, SearchIndex)>>,
}

impl AppState {
    /// Codes with the model's labels alone.
    pub fn new(coder: Coder, config: Config) -> Arc<Self> {
        Self::with_table(coder, config, None)
    }

    /// With a code table: the model's codes fused with the table's, as `icd predict` gives them.
    pub fn with_table(coder: Coder, config: Config, table: Option<CodeTable>) -> Arc<Self> {
        let model = match coder.manifest() {
            Some(m) => serde_json::json!({"name": m.name, "sha256": m.files.get(&m.weights.file).map(|f| f.sha256.clone())}),
            None => serde_json::json!({"name": null, "sha256": null}),
        };
        Arc::new(Self {
            coder: Arc::new(coder),
            admission: Arc::new(Semaphore::new(config.workers.max(1) + config.queue)),
            workers: Arc::new(Semaphore::new(config.workers.max(1))),
            config,
            metrics: Metrics::default(),
            model,
            table: table.map(|t| {
                let index = SearchIndex::build(&t);
                Arc::new((t, index))
            }),
        })
    }
}

/// Serves until the process ends. `listener` is bound by the caller (port 0 for tests).
pub async fn serve(listener: TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, workers = state.config.workers, queue = state.config.queue, auth = state.config.token.is_some(), "icd serve listening");
    axum::serve(listener, router(state)).await
}
