//! The page's side of the model worker: starts it, sends requests, turns its messages into signals.

use icd_core::{HeadKind, NotePrediction};
use icd_web::pool::{BatchRun, OcclusionRun, WindowRun};
use icd_web::protocol::{FromWorker, ModelSummary, Note, Prediction, ToWorker};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::dom;
use crate::table_client::TableClient;

/// Relative to the worker script, i.e. the site root.
const BUNDLE_URL: &str = "./bundle/";
/// A note this long (bytes) likely has more than one 512-token window: with several workers
/// ready, its windows are split across them. A shorter one goes to worker 0 whole.
const LONG_NOTE_BYTES: usize = 2_000;
/// A batch's progress is redrawn at most this often (ms).
const PROGRESS_MS: f64 = 250.0;

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
    /// The note's windows and the workers that ran them, when they were split across the pool
    /// (`ms` is then the page's whole wait for the codes).
    pub windows: Option<(usize, usize)>,
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
    Running {
        done: usize,
        total: usize,
    },
    Done(Vec<NotePrediction>),
    /// Stopped by the coder after `done` of `total` notes; nothing of it is kept.
    Cancelled {
        done: usize,
        total: usize,
    },
}

/// One model worker of the pool. Worker 0 loads first and codes single notes; the others
/// start when it is ready and take part in batches.
struct Slot {
    worker: web_sys::Worker,
    ready: bool,
    failed: bool,
}

/// The pool as the model panel shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolInfo {
    /// Workers the device gets (`icd_web::pool::pool_size`).
    pub size: usize,
    pub ready: usize,
    pub failed: usize,
}

#[derive(Clone, Copy)]
pub struct Client {
    workers: StoredValue<Vec<Slot>, LocalStorage>,
    pub pool: RwSignal<PoolInfo>,
    /// The batch being coded across the pool, and when it started.
    run: StoredValue<Option<BatchRun>>,
    batch_t0: StoredValue<f64>,
    /// When the batch's progress was last shown ([`PROGRESS_MS`]).
    progress_at: StoredValue<f64>,
    /// The last batch's time (sent → every note's codes, fusion included) and the workers
    /// that were ready for it.
    pub batch_time: RwSignal<Option<(f64, usize)>>,
    next_id: StoredValue<u32>,
    /// The id and text of the latest `Code` request; older answers are dropped.
    pending: StoredValue<Option<(u32, String)>>,
    /// The `top_k` of the latest `Code` request (its evidence asks for the same codes).
    top_k: StoredValue<usize>,
    /// A `cls` note's occlusion passes out across the pool, with the note's text and `top_k`,
    /// and when the page asked for its evidence.
    occlusion: StoredValue<Option<(OcclusionRun, String, usize)>>,
    /// A long note's windows out across the pool, with the note's text and `top_k`.
    windows: StoredValue<Option<(WindowRun, String, usize)>>,
    /// When the latest note's windows were sent out, and, once they are all in, the request,
    /// its window count and the workers that ran them.
    windows_t0: StoredValue<f64>,
    split: StoredValue<Option<(u32, usize, usize)>>,
    evidence_t0: StoredValue<f64>,
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
}

impl Client {
    pub fn new(table: TableClient) -> Self {
        Client {
            workers: StoredValue::new_local(Vec::new()),
            pool: RwSignal::new(PoolInfo { size: dom::pool_size(), ready: 0, failed: 0 }),
            run: StoredValue::new(None),
            batch_t0: StoredValue::new(0.0),
            progress_at: StoredValue::new(0.0),
            batch_time: RwSignal::new(None),
            next_id: StoredValue::new(1),
            pending: StoredValue::new(None),
            top_k: StoredValue::new(0),
            occlusion: StoredValue::new(None),
            windows: StoredValue::new(None),
            windows_t0: StoredValue::new(0.0),
            split: StoredValue::new(None),
            evidence_t0: StoredValue::new(0.0),
            status: RwSignal::new(ModelStatus::Starting),
            result: RwSignal::new(None),
            evidence: RwSignal::new(None),
            coding: RwSignal::new(false),
            code_error: RwSignal::new(None),
            batch: RwSignal::new(BatchState::Idle),
            batch_error: RwSignal::new(None),
            table,
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

    /// Starts model worker `w` (0: the first, whose load the page shows).
    fn spawn(self) -> Result<(), String> {
        self.status.set(ModelStatus::Loading { loaded: 0, total: 0 });
        self.spawn_worker()
    }

    fn spawn_worker(self) -> Result<(), String> {
        let w = self.workers.with_value(Vec::len);
        let worker = web_sys::Worker::new(&dom::worker_url()).map_err(dom::js_err)?;
        let onmessage = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            if let Some(s) = ev.data().as_string() {
                match serde_json::from_str::<FromWorker>(&s) {
                    Ok(msg) => self.on_message(w, msg),
                    Err(e) => self.worker_failed(w, format!("bad message from the worker: {e}")),
                }
            }
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        onmessage.forget();
        let onerror = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
            let msg = ev.message();
            self.worker_failed(w, if msg.is_empty() { "the model worker could not start".into() } else { format!("the model worker failed: {msg}") });
        });
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        onerror.forget();
        // `Load` goes when the worker says `Started`.
        self.workers.update_value(|ws| ws.push(Slot { worker, ready: false, failed: false }));
        Ok(())
    }

    /// Worker `w` cannot work: the first one's failure is the model's; another's notes go
    /// to the rest of the pool.
    fn worker_failed(self, w: usize, message: String) {
        let was_ready = self
            .workers
            .try_update_value(|ws| {
                ws.get_mut(w).map(|s| {
                    s.failed = true;
                    std::mem::replace(&mut s.ready, false)
                })
            })
            .flatten()
            .unwrap_or(false);
        self.pool.update(|p| {
            p.failed += 1;
            p.ready -= usize::from(was_ready);
        });
        if w == 0 {
            self.status.set(ModelStatus::Failed(message));
        } else {
            web_sys::console::warn_1(&format!("model worker {w}: {message}").into());
        }
        let running = self.run.try_update_value(|r| r.as_mut().map(|r| r.requeue(w))).flatten().is_some();
        if running {
            self.feed_all();
        }
        // A share of a note's windows was out on it: worker 0 codes the whole note instead.
        if w != 0 && self.windows.with_value(|r| r.as_ref().is_some_and(|(r, _, _)| r.workers.contains(&w))) {
            self.code_whole();
        }
        // A share of a note's occlusion passes was out on it: worker 0 runs them all instead.
        let share_lost = self.occlusion.with_value(|o| o.as_ref().is_some_and(|(r, _, _)| r.shares.iter().any(|(x, _)| *x == w)));
        if share_lost && w != 0 {
            if let Some((run, text, top_k)) = self.occlusion.try_update_value(Option::take).flatten() {
                self.ask_evidence(run.id, text, top_k, None);
            }
        }
    }

    /// Asks for the evidence of `Code { id }` (a `cls` head's sentence occlusion, one forward
    /// pass per sentence): its passes are split across the ready workers, whose scores come
    /// back as `Occluded` and go to worker 0, which coded the note; with one worker ready,
    /// worker 0 runs them all.
    fn request_evidence(self, id: u32, text: String, top_k: usize) {
        let ready: Vec<usize> = self.workers.with_value(|ws| ws.iter().enumerate().filter(|(_, s)| s.ready).map(|(w, _)| w).collect());
        if ready.len() < 2 || ready[0] != 0 {
            return self.ask_evidence(id, text, top_k, None);
        }
        let spans = icd_core::evidence::occlusion_spans(&text, icd_core::evidence::MAX_OCCLUSION_SPANS);
        let run = OcclusionRun::new(id, &spans, &ready);
        let sends: Vec<(usize, ToWorker)> =
            run.shares.iter().enumerate().map(|(part, (w, spans))| (*w, ToWorker::Occlude { id, part, text: text.clone(), spans: spans.clone() })).collect();
        self.occlusion.set_value(Some((run, text.clone(), top_k)));
        for (w, msg) in sends {
            if self.send_to(w, &msg).is_err() {
                self.occlusion.set_value(None);
                return self.ask_evidence(id, text, top_k, None);
            }
        }
    }

    /// Sends `Evidence` to worker 0: with every share's scores, or `None` to run the passes there.
    fn ask_evidence(self, id: u32, text: String, top_k: usize, occluded: Option<Vec<Vec<f32>>>) {
        if let Err(e) = self.send(&ToWorker::Evidence { id, text, top_k, occluded }) {
            self.code_error.set(Some(format!("The evidence could not be computed: {e}")));
        }
    }

    fn send_to(&self, w: usize, msg: &ToWorker) -> Result<(), String> {
        self.workers.with_value(|ws| match ws.get(w) {
            Some(s) if !s.failed => s.worker.post_message(&msg.to_json().into()).map_err(dom::js_err),
            _ => Err("the model is not loaded".into()),
        })
    }

    fn send(&self, msg: &ToWorker) -> Result<(), String> {
        self.send_to(0, msg)
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
        self.occlusion.set_value(None);
        self.windows.set_value(None);
        self.split.set_value(None);
        let ready: Vec<usize> = self.workers.with_value(|ws| ws.iter().enumerate().filter(|(_, s)| s.ready).map(|(w, _)| w).collect());
        let split = self.status.with_untracked(|s| matches!(s, ModelStatus::Ready(m) if m.head == HeadKind::Cls));
        let sent = if split && text.len() >= LONG_NOTE_BYTES && ready.len() >= 2 && ready[0] == 0 {
            self.send_windows(id, &text, top_k, &ready)
        } else {
            self.send(&ToWorker::Code { id, text: text.clone(), top_k, states: None })
        };
        match sent {
            Ok(()) => {
                self.pending.set_value(Some((id, text)));
                self.top_k.set_value(top_k);
                self.coding.set(true);
            }
            Err(e) => self.code_error.set(Some(e)),
        }
    }

    /// A long `cls` note: each ready worker runs a share of its windows (`Windows`); their
    /// states go to worker 0 with the note's `Code` (`FromWorker::WindowStates`).
    fn send_windows(&self, id: u32, text: &str, top_k: usize, ready: &[usize]) -> Result<(), String> {
        self.windows_t0.set_value(js_sys::Date::now());
        self.windows.set_value(Some((WindowRun::new(id, ready), text.to_string(), top_k)));
        for (part, &w) in ready.iter().enumerate() {
            if self.send_to(w, &ToWorker::Windows { id, part, parts: ready.len(), text: text.to_string() }).is_err() {
                self.windows.set_value(None);
                return self.send(&ToWorker::Code { id, text: text.to_string(), top_k, states: None });
            }
        }
        Ok(())
    }

    /// A share of the note's windows was lost: worker 0 codes the whole note.
    fn code_whole(&self) {
        if let Some((run, text, top_k)) = self.windows.try_update_value(Option::take).flatten() {
            if let Err(e) = self.send(&ToWorker::Code { id: run.id, text, top_k, states: None }) {
                self.coding.set(false);
                self.code_error.set(Some(e));
            }
        }
    }

    /// Codes `notes` across the pool, one note at a time to whichever worker has room; the
    /// results come back in input order.
    pub fn batch(&self, notes: Vec<Note>, top_k: usize) {
        let id = self.take_id();
        self.batch_error.set(None);
        let total = notes.len();
        self.run.set_value(Some(BatchRun::new(id, notes, top_k)));
        self.batch_t0.set_value(js_sys::Date::now());
        self.batch_time.set(None);
        self.batch.set(BatchState::Running { done: 0, total });
        self.feed_all();
    }

    /// Stops the batch: nothing more is sent, what is out is let finish and dropped.
    pub fn cancel_batch(&self) {
        if let Some(run) = self.run.try_update_value(Option::take).flatten() {
            let (done, total) = run.progress();
            self.batch.set(BatchState::Cancelled { done, total });
        }
    }

    fn feed_all(self) {
        for w in 0..self.workers.with_value(Vec::len) {
            self.feed(w);
        }
    }

    /// Sends worker `w` notes of the batch until it has `icd_web::pool::DEPTH` out.
    fn feed(self, w: usize) {
        if !self.workers.with_value(|ws| ws.get(w).is_some_and(|s| s.ready)) {
            return;
        }
        loop {
            let req = self.take_id();
            let Some((note, top_k)) = self.run.try_update_value(|r| r.as_mut().and_then(|r| r.next_for(w, req).map(|n| (n, r.top_k)))).flatten() else {
                return;
            };
            if let Err(e) = self.send_to(w, &ToWorker::Batch { id: req, notes: vec![note], top_k }) {
                return self.worker_failed(w, e);
            }
        }
    }

    /// A note of the batch is back from a model worker: the worker gets the next one, and the
    /// note goes to the code table worker to be fused while the model codes the rest.
    fn batch_answer(self, req: u32, results: Vec<NotePrediction>) {
        let Some(outcome) = self
            .run
            .try_update_value(|r| r.as_mut().filter(|r| r.owns(req)).map(|r| r.complete(req, results).map(|(w, i)| (w, i, r.id, r.progress()))))
            .flatten()
        else {
            return; // a cancelled batch's note
        };
        let (w, i, run_id, (done, total)) = match outcome {
            Ok(o) => o,
            Err(e) => return self.fail_batch(e),
        };
        // A redraw per note cost the page and its compositor about 2 ms a note (BENCHMARKS.md),
        // taken from the model workers' cores; a few a second tell the user as much.
        let now = js_sys::Date::now();
        if done == total || now - self.progress_at.get_value() >= PROGRESS_MS {
            self.progress_at.set_value(now);
            self.batch.set(BatchState::Running { done, total });
        }
        self.feed(w);
        let coded = self.run.with_value(|r| r.as_ref().and_then(|r| r.coded(i).map(|c| (c, r.top_k))));
        match coded {
            Some(((note, result), top_k)) if self.table.ready() && result.error.is_none() => {
                let table = self.table;
                leptos::task::spawn_local(async move {
                    let fused = match table.fuse_batch(vec![note], vec![result], top_k).await {
                        Ok(mut f) => f.pop(),
                        Err(e) => {
                            self.batch_error.set(Some(format!("The code table's codes could not be added: {e}")));
                            None
                        }
                    };
                    self.settle(run_id, i, fused);
                });
            }
            _ => self.settle(run_id, i, None),
        }
    }

    /// The batch cannot go on: it is dropped and the reason shown.
    fn fail_batch(self, message: String) {
        self.run.set_value(None);
        self.batch_error.set(Some(message));
        self.batch.set(BatchState::Idle);
    }

    /// Note `i` of batch `run_id` has its final codes; the batch is done when every note has.
    fn settle(self, run_id: u32, i: usize, fused: Option<NotePrediction>) {
        let all = self.run.try_update_value(|r| r.as_mut().filter(|r| r.id == run_id).map(|r| r.settle(i, fused))).flatten();
        if all != Some(true) {
            return;
        }
        if let Some((_, results)) = self.run.try_update_value(Option::take).flatten().and_then(BatchRun::into_results) {
            self.batch_time.set(Some((js_sys::Date::now() - self.batch_t0.get_value(), self.pool.get_untracked().ready)));
            self.batch.set(BatchState::Done(results));
        }
    }

    fn on_message(self, w: usize, msg: FromWorker) {
        match msg {
            FromWorker::Started => {
                if let Err(e) = self.send_to(w, &ToWorker::Load { base_url: BUNDLE_URL.into() }) {
                    self.worker_failed(w, e);
                }
            }
            FromWorker::Progress { loaded, total } if w == 0 => self.status.set(ModelStatus::Loading { loaded, total }),
            FromWorker::Progress { .. } => {}
            FromWorker::Ready { model } => {
                self.workers.update_value(|ws| ws[w].ready = true);
                self.pool.update(|p| p.ready += 1);
                if w == 0 {
                    self.status.set(ModelStatus::Ready(model));
                    // After the bundle is in the HTTP cache, so precaching it does not fetch it
                    // twice, and the rest of the pool reads it from there.
                    dom::register_service_worker();
                    for _ in 1..self.pool.get_untracked().size {
                        if let Err(e) = self.spawn_worker() {
                            web_sys::console::warn_1(&format!("a model worker could not start: {e}").into());
                            self.pool.update(|p| p.failed += 1);
                        }
                    }
                }
                self.feed(w);
            }
            FromWorker::Error { id: None, message } if w != 0 => self.worker_failed(w, message),
            FromWorker::Error { id: None, message } => {
                if matches!(self.status.get_untracked(), ModelStatus::Ready(_)) {
                    self.code_error.set(Some(message));
                } else {
                    self.status.set(ModelStatus::Failed(message));
                }
            }
            FromWorker::Error { id: Some(id), message } if self.run.with_value(|r| r.as_ref().is_some_and(|r| r.owns(id))) => self.fail_batch(message),
            FromWorker::Error { id: Some(id), message } if self.windows.with_value(|r| r.as_ref().is_some_and(|(r, _, _)| r.id == id)) => {
                web_sys::console::warn_1(&format!("model worker {w}, windows of request {id}: {message}").into());
                self.code_whole();
            }
            FromWorker::Error { id: Some(id), message } => {
                if self.pending.get_value().is_some_and(|(p, _)| p == id) {
                    self.coding.set(false);
                    self.code_error.set(Some(message));
                } else if self.result.with_untracked(|r| r.as_ref().is_some_and(|r| r.id == id)) {
                    self.code_error.set(Some(format!("The evidence could not be computed: {message}")));
                } else {
                    // A request nobody waits for any more (an older note, a cancelled batch).
                    web_sys::console::warn_1(&format!("model worker {w}, request {id}: {message}").into());
                }
            }
            FromWorker::Result { id, predictions, ms, evidence_pending } => {
                let Some((p, text)) = self.pending.get_value() else { return };
                if p != id {
                    return;
                }
                // Split across the pool: the whole wait, the shares on other workers included.
                let windows = self.split.get_value().filter(|(s, _, _)| *s == id).map(|(_, n, w)| (n, w));
                let ms = if windows.is_some() { js_sys::Date::now() - self.windows_t0.get_value() } else { ms };
                self.evidence.set(None);
                if evidence_pending {
                    // Its passes start once the codes are painted (`finish`); the wait counts.
                    self.evidence_t0.set_value(js_sys::Date::now());
                }
                if !self.table.ready() {
                    self.finish(CodeResult { id, text, predictions, ms, evidence_pending, low_confidence: false, table_ms: None, windows });
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
                        self.finish(CodeResult { id, text, predictions, ms, evidence_pending, low_confidence, table_ms, windows });
                    }
                });
            }
            FromWorker::WindowStates { id, part, states } => {
                let done = self.windows.try_update_value(|r| r.as_mut().filter(|(r, _, _)| r.id == id).map(|(r, _, _)| r.complete(part, states))).flatten();
                match done {
                    // Every share is in: worker 0 codes the note from them.
                    Some(Ok(Some(states))) => {
                        if let Some((run, text, top_k)) = self.windows.try_update_value(Option::take).flatten() {
                            self.split.set_value(Some((id, states.len(), run.workers.len())));
                            if let Err(e) = self.send(&ToWorker::Code { id, text, top_k, states: Some(states) }) {
                                self.coding.set(false);
                                self.code_error.set(Some(e));
                            }
                        }
                    }
                    Some(Ok(None)) | None => {} // more to come, or an older note's
                    Some(Err(e)) => {
                        web_sys::console::warn_1(&format!("request {id}: {e}").into());
                        self.code_whole();
                    }
                }
            }
            FromWorker::Occluded { id, part, scores } => {
                let done = self.occlusion.try_update_value(|o| o.as_mut().filter(|(r, _, _)| r.id == id).map(|(r, _, _)| r.complete(part, scores))).flatten();
                match done {
                    // Every share is in: worker 0 assembles the evidence.
                    Some(Ok(Some(rows))) => {
                        if let Some((_, text, top_k)) = self.occlusion.try_update_value(Option::take).flatten() {
                            self.ask_evidence(id, text, top_k, Some(rows));
                        }
                    }
                    Some(Ok(None)) | None => {} // more to come, or an older note's
                    Some(Err(e)) => {
                        self.occlusion.set_value(None);
                        self.code_error.set(Some(format!("The evidence could not be computed: {e}")));
                    }
                }
            }
            FromWorker::Evidence { id, predictions, .. } => {
                // It may arrive while the codes are still being fused: it is kept for them.
                let current = self.result.with_untracked(|r| r.as_ref().is_some_and(|r| r.id == id));
                if current || self.pending.get_value().is_some_and(|(p, _)| p == id) {
                    // The whole wait, the shares on other workers included.
                    let ms = js_sys::Date::now() - self.evidence_t0.get_value();
                    self.evidence.set(Some(LateEvidence { id, predictions, ms }));
                }
            }
            FromWorker::BatchDone { id, results } => self.batch_answer(id, results),
        }
    }

    /// Shows a note's codes: the latest request is answered.
    fn finish(&self, result: CodeResult) {
        self.pending.set_value(None);
        self.coding.set(false);
        let evidence = result.evidence_pending.then(|| (result.id, result.text.clone()));
        self.result.set(Some(result));
        // The passes keep every core busy for seconds. Started at once, they starved the
        // main thread's style and layout of the codes (20 ms of CPU took 120-240 ms on two
        // cores), so they start after the frame that shows the codes.
        if let Some((id, text)) = evidence {
            let this = *self;
            // A hidden tab paints nothing and runs no animation frames: no wait there.
            if web_sys::window().and_then(|w| w.document()).is_none_or(|d| d.hidden()) {
                return self.request_evidence(id, text, self.top_k.get_value());
            }
            leptos::prelude::request_animation_frame(move || {
                leptos::prelude::set_timeout(
                    move || {
                        if this.result.with_untracked(|r| r.as_ref().is_some_and(|r| r.id == id)) {
                            this.request_evidence(id, text, this.top_k.get_value());
                        }
                    },
                    std::time::Duration::ZERO,
                )
            });
        }
    }
}
