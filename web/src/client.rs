//! The page's side of the model worker: starts it, sends requests, turns its messages into signals.

use icd_core::NotePrediction;
use icd_web::protocol::{FromWorker, ModelSummary, Note, Prediction, ToWorker};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::dom;
use crate::table_client::TableClient;

/// Loads the worker trunk builds from `src/bin/worker.rs` (www/worker_loader.js; not hashed).
const WORKER_URL: &str = "./worker_loader.js";
/// Relative to the worker script, i.e. the site root.
const BUNDLE_URL: &str = "./bundle/";

#[derive(Debug, Clone, PartialEq)]
pub enum ModelStatus {
    Starting,
    /// The site was built without a model bundle (`build.json`): code search and export still work.
    NoBundle,
    Loading {
        loaded: u64,
        total: u64,
    },
    Ready(ModelSummary),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CodeResult {
    /// The request's id: `Client::evidence` belongs to this result when its id is the same.
    pub id: u32,
    /// The text that was coded (evidence offsets point into it).
    pub text: String,
    pub predictions: Vec<Prediction>,
    pub ms: f64,
    /// The evidence comes later, in `Client::evidence` (a `cls` head's sentence occlusion);
    /// codes from the code table have theirs already.
    pub evidence_pending: bool,
    /// Neither the model nor the code table is confident (`icd_core::candidates::fuse`).
    pub low_confidence: bool,
    /// Time of the code table's match and fusion in its worker, as the page waited for it
    /// (messages included); `None` when the table was not loaded.
    pub table_ms: Option<f64>,
}

/// Evidence that followed a result: the same codes with their spans, and its time.
#[derive(Debug, Clone, PartialEq)]
pub struct LateEvidence {
    pub id: u32,
    pub predictions: Vec<Prediction>,
    pub ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BatchState {
    Idle,
    Running { done: usize, total: usize },
    Done(Vec<NotePrediction>),
}

#[derive(Clone, Copy)]
pub struct Client {
    worker: StoredValue<Option<web_sys::Worker>, LocalStorage>,
    next_id: StoredValue<u32>,
    /// The id and text of the latest `Code` request; older answers are dropped.
    pending: StoredValue<Option<(u32, String)>>,
    pub status: RwSignal<ModelStatus>,
    pub result: RwSignal<Option<CodeResult>>,
    /// Kept apart from `result` so its arrival does not re-run what a new result resets
    /// (preselected codes, the selected code).
    pub evidence: RwSignal<Option<LateEvidence>>,
    pub coding: RwSignal<bool>,
    pub code_error: RwSignal<Option<String>>,
    pub batch: RwSignal<BatchState>,
    pub batch_error: RwSignal<Option<String>>,
    /// The code table worker: once it has the table, the model's codes are fused with the
    /// codes the note's diagnostic statements match in it (`icd_core::candidates`).
    table: TableClient,
    /// The running batch's notes (in order) and its `top_k`.
    batch_notes: StoredValue<(Vec<Note>, usize)>,
}

impl Client {
    pub fn new(table: TableClient) -> Self {
        Client {
            worker: StoredValue::new_local(None),
            next_id: StoredValue::new(1),
            pending: StoredValue::new(None),
            status: RwSignal::new(ModelStatus::Starting),
            result: RwSignal::new(None),
            evidence: RwSignal::new(None),
            coding: RwSignal::new(false),
            code_error: RwSignal::new(None),
            batch: RwSignal::new(BatchState::Idle),
            batch_error: RwSignal::new(None),
            table,
            batch_notes: StoredValue::new((Vec::new(), 0)),
        }
    }

    /// Reads `./build.json` (written at build time) and, if the site has a bundle, starts the
    /// worker and loads it.
    pub async fn start(self) {
        let has_bundle = match dom::fetch_bytes("./build.json").await {
            Ok(b) => serde_json::from_slice::<serde_json::Value>(&b).ok().and_then(|v| v["bundle"].as_bool()),
            Err(_) => None,
        };
        match has_bundle {
            Some(false) => {
                self.status.set(ModelStatus::NoBundle);
                dom::register_service_worker();
            }
            // `build.json` missing (e.g. `trunk serve` without the hook): try anyway.
            _ => {
                if let Err(e) = self.spawn() {
                    self.status.set(ModelStatus::Failed(e));
                }
            }
        }
    }

    fn spawn(self) -> Result<(), String> {
        let worker = web_sys::Worker::new(WORKER_URL).map_err(dom::js_err)?;
        let onmessage = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            if let Some(s) = ev.data().as_string() {
                match serde_json::from_str::<FromWorker>(&s) {
                    Ok(msg) => self.on_message(msg),
                    Err(e) => self.status.set(ModelStatus::Failed(format!("bad message from the worker: {e}"))),
                }
            }
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        onmessage.forget();
        let onerror = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
            let msg = ev.message();
            self.status.set(ModelStatus::Failed(if msg.is_empty() {
                "the model worker could not start".into()
            } else {
                format!("the model worker failed: {msg}")
            }));
        });
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        onerror.forget();
        self.status.set(ModelStatus::Loading { loaded: 0, total: 0 });
        // `Load` goes when the worker says `Started`.
        self.worker.set_value(Some(worker));
        Ok(())
    }

    fn send(&self, msg: &ToWorker) -> Result<(), String> {
        self.worker.with_value(|w| match w {
            Some(w) => w.post_message(&msg.to_json().into()).map_err(dom::js_err),
            None => Err("the model is not loaded".into()),
        })
    }

    fn take_id(&self) -> u32 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        id
    }

    pub fn ready(&self) -> bool {
        matches!(self.status.get(), ModelStatus::Ready(_))
    }

    pub fn code(&self, text: String, top_k: usize) {
        let id = self.take_id();
        self.code_error.set(None);
        match self.send(&ToWorker::Code { id, text: text.clone(), top_k }) {
            Ok(()) => {
                self.pending.set_value(Some((id, text)));
                self.coding.set(true);
            }
            Err(e) => self.code_error.set(Some(e)),
        }
    }

    pub fn batch(&self, notes: Vec<Note>, top_k: usize) {
        let id = self.take_id();
        self.batch_error.set(None);
        let total = notes.len();
        // Kept to fuse each note's model codes with the code table's when the batch is done.
        self.batch_notes.set_value((notes.clone(), top_k));
        match self.send(&ToWorker::Batch { id, notes, top_k }) {
            Ok(()) => self.batch.set(BatchState::Running { done: 0, total }),
            Err(e) => self.batch_error.set(Some(e)),
        }
    }

    fn on_message(self, msg: FromWorker) {
        match msg {
            FromWorker::Started => {
                if let Err(e) = self.send(&ToWorker::Load { base_url: BUNDLE_URL.into() }) {
                    self.status.set(ModelStatus::Failed(e));
                }
            }
            FromWorker::Progress { loaded, total } => self.status.set(ModelStatus::Loading { loaded, total }),
            FromWorker::Ready { model } => {
                self.status.set(ModelStatus::Ready(model));
                // After the bundle is in the HTTP cache, so precaching it does not fetch it twice.
                dom::register_service_worker();
            }
            FromWorker::Error { id: None, message } => {
                if matches!(self.status.get_untracked(), ModelStatus::Ready(_)) {
                    self.code_error.set(Some(message));
                } else {
                    self.status.set(ModelStatus::Failed(message));
                }
            }
            FromWorker::Error { id: Some(id), message } => {
                if self.pending.get_value().is_some_and(|(p, _)| p == id) {
                    self.coding.set(false);
                    self.code_error.set(Some(message));
                } else if self.result.with_untracked(|r| r.as_ref().is_some_and(|r| r.id == id)) {
                    self.code_error.set(Some(format!("The evidence could not be computed: {message}")));
                } else {
                    self.batch_error.set(Some(message));
                    self.batch.set(BatchState::Idle);
                }
            }
            FromWorker::Result { id, predictions, ms, evidence_pending } => {
                let Some((p, text)) = self.pending.get_value() else { return };
                if p != id {
                    return;
                }
                self.evidence.set(None);
                if !self.table.ready() {
                    self.finish(CodeResult { id, text, predictions, ms, evidence_pending, low_confidence: false, table_ms: None });
                    return;
                }
                // `pending` stays set until the fused codes arrive, so a newer note still wins.
                let table = self.table;
                leptos::task::spawn_local(async move {
                    let t0 = js_sys::Date::now();
                    let (predictions, low_confidence, table_ms) = match table.fuse(text.clone(), predictions.clone(), crate::state::TOP_K).await {
                        Ok((fused, low, _)) => (fused, low, Some(js_sys::Date::now() - t0)),
                        Err(e) => {
                            self.code_error.set(Some(format!("The code table's codes could not be added: {e}")));
                            (predictions, false, None)
                        }
                    };
                    if self.pending.get_value().is_some_and(|(p, _)| p == id) {
                        self.finish(CodeResult { id, text, predictions, ms, evidence_pending, low_confidence, table_ms });
                    }
                });
            }
            FromWorker::Evidence { id, predictions, ms } => {
                // It may arrive while the codes are still being fused: it is kept for them.
                let current = self.result.with_untracked(|r| r.as_ref().is_some_and(|r| r.id == id));
                if current || self.pending.get_value().is_some_and(|(p, _)| p == id) {
                    self.evidence.set(Some(LateEvidence { id, predictions, ms }));
                }
            }
            FromWorker::BatchProgress { done, total, .. } => self.batch.set(BatchState::Running { done, total }),
            FromWorker::BatchDone { results, .. } => {
                let (notes, top_k) = self.batch_notes.get_value();
                self.batch_notes.set_value((Vec::new(), 0));
                if !self.table.ready() {
                    self.batch.set(BatchState::Done(results));
                    return;
                }
                let table = self.table;
                leptos::task::spawn_local(async move {
                    match table.fuse_batch(notes, results.clone(), top_k).await {
                        Ok(fused) => self.batch.set(BatchState::Done(fused)),
                        Err(e) => {
                            self.batch_error.set(Some(format!("The code table's codes could not be added: {e}")));
                            self.batch.set(BatchState::Done(results));
                        }
                    }
                });
            }
        }
    }

    /// Shows a note's codes: the latest request is answered.
    fn finish(&self, result: CodeResult) {
        self.pending.set_value(None);
        self.coding.set(false);
        self.result.set(Some(result));
    }
}
