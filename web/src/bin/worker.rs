//! The model worker: a dedicated Web Worker (trunk `data-type="worker"`, loaded by
//! `worker_loader.js`) that fetches the bundle from the site, verifies and loads it, and codes
//! notes, so the page never freezes. Messages: `icd_web::protocol`.
//!
//! Its only network use is `fetch` of `{base_url}manifest.json` and the files the manifest lists,
//! from the same origin. Notes arrive by `postMessage` and never leave the worker except as
//! results posted back to the page.
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use icd_core::bundle::Manifest;
use icd_core::NotePrediction;
use icd_web::js::{worker_fetch, worker_listen, worker_post, worker_scope};
use icd_web::protocol::{FromWorker, ModelSummary, Note, ToWorker};
use wasm_bindgen_futures::{spawn_local, JsFuture};

/// Everything that touches the model API of `icd_core` (the `Coder`). The rest of the worker
/// (fetching, progress, messages, batches) does not depend on it.
mod model {
    use std::collections::HashMap;

    use icd_core::coder::{check_note, NoteError, MAX_NOTE_BYTES};
    use icd_core::{CodedLabel, Coder, EvidenceMethod};
    use icd_web::protocol::Prediction;

    pub struct Model(Coder);

    /// Verifies every file's size and sha256 against the manifest, then loads tokenizer and
    /// int8 weights. A mismatch is an error naming the file.
    pub fn load(manifest: &[u8], files: &HashMap<String, Vec<u8>>) -> Result<Model, String> {
        Coder::from_bundle(manifest, files).map(Model).map_err(|e| e.to_string())
    }

    /// Evidence that costs a forward pass per sentence (a `cls` head): the page asks for it
    /// after the codes, and splits its passes across the pool.
    pub fn slow_evidence(model: &Model) -> bool {
        model.0.evidence_method() == EvidenceMethod::Occlusion
    }

    /// Core's codes for `text` (what a batch exports), after the length check.
    pub fn coded(model: &Model, text: &str, top_k: usize, evidence: bool) -> Result<Vec<CodedLabel>, String> {
        check(text)?;
        model.0.code_with(text, top_k, evidence).map_err(|e| e.to_string())
    }

    fn check(text: &str) -> Result<(), String> {
        match check_note(text, MAX_NOTE_BYTES) {
            Err(NoteError::TooLong { bytes, limit }) => {
                Err(format!("The note is {bytes} bytes; the limit is {limit} (about 150,000 words). Code it in parts."))
            }
            _ => Ok(()),
        }
    }

    /// [`code`] without evidence, and the note's scores, kept for its evidence; from every
    /// window's state when the pool ran them (`states`), else running the encoder here.
    pub fn code_scored(model: &Model, text: &str, top_k: usize, states: Option<Vec<Vec<f32>>>) -> Result<(Vec<Prediction>, Vec<f32>), String> {
        check(text)?;
        let (coded, scores) = match states {
            Some(states) => model.0.code_from_states(text, top_k, states),
            None => model.0.code_and_scores(text, top_k, false),
        }
        .map_err(|e| e.to_string())?;
        Ok((coded.into_iter().map(Prediction::from_coded).collect(), scores))
    }

    /// A share of a long note's windows: their `[CLS]` states.
    pub fn window_states(model: &Model, text: &str, part: usize, parts: usize) -> Result<Vec<Vec<f32>>, String> {
        check(text)?;
        model.0.window_states(text, part, parts).map_err(|e| e.to_string())
    }

    /// The model's top `top_k` codes for `text`, for the page, with evidence (label attention, or sentence
    /// occlusion for a `cls` head) when `evidence` is set. Span weights are scaled so the
    /// strongest span of each code is 1.
    pub fn code(model: &Model, text: &str, top_k: usize, evidence: bool) -> Result<Vec<Prediction>, String> {
        Ok(coded(model, text, top_k, evidence)?.into_iter().map(Prediction::from_coded).collect())
    }

    /// A share of the occlusion passes: the scores of `text` without each of `spans`.
    pub fn occluded(model: &Model, text: &str, spans: &[(usize, usize)]) -> Result<Vec<Vec<f32>>, String> {
        model.0.occluded_scores(text, spans).map_err(|e| e.to_string())
    }

    /// [`code`] with evidence from the passes' scores (every share, in span order); `base`,
    /// the note's scores from [`code_scored`], spares scoring the note again.
    pub fn code_occluded(model: &Model, text: &str, top_k: usize, rows: Vec<Vec<f32>>, base: Option<Vec<f32>>) -> Result<Vec<Prediction>, String> {
        let coded = model.0.code_with_occluded(text, top_k, rows, base).map_err(|e| e.to_string())?;
        Ok(coded.into_iter().map(Prediction::from_coded).collect())
    }
}

thread_local! {
    static MODEL: RefCell<Option<model::Model>> = const { RefCell::new(None) };
    /// The id of the latest note this worker codes or occludes for: evidence for an older
    /// note is not computed.
    static LATEST: Cell<u32> = const { Cell::new(0) };
    /// The scores of the last note coded whose evidence comes later, by its request id.
    static SCORES: RefCell<Option<(u32, Vec<f32>)>> = const { RefCell::new(None) };
}

/// Lets queued messages run first (a zero-delay timer is a new task).
async fn yield_to_messages() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = worker_scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = JsFuture::from(promise).await;
}

fn post(msg: &FromWorker) {
    worker_post(msg.to_json());
}

async fn load(base_url: &str) -> Result<ModelSummary, String> {
    let t0 = js_sys::Date::now();
    let manifest_url = format!("{base_url}manifest.json");
    let manifest_bytes = worker_fetch(&manifest_url, |_| {}).await?;
    let manifest = Manifest::from_json(&manifest_bytes).map_err(|e| format!("{manifest_url}: {e}"))?;
    let files = &manifest.files;
    let total: u64 = files.values().map(|f| f.bytes).sum();
    let mut loaded = 0u64;
    let mut last_posted = 0u64;
    post(&FromWorker::Progress { loaded, total });
    let mut contents = HashMap::new();
    for name in files.keys() {
        if name.contains('/') || name.starts_with('.') {
            return Err(format!("{manifest_url}: bad file name {name:?}"));
        }
        let bytes = worker_fetch(&format!("{base_url}{name}"), |n| {
            loaded += n;
            // About 100 progress messages per load at most.
            if loaded - last_posted >= total / 100 || loaded == total {
                last_posted = loaded;
                post(&FromWorker::Progress { loaded, total });
            }
        })
        .await?;
        contents.insert(name.clone(), bytes);
    }
    let model = model::load(&manifest_bytes, &contents)?;
    let summary = ModelSummary::from_manifest(&manifest, total + manifest_bytes.len() as u64, js_sys::Date::now() - t0);
    MODEL.with(|m| *m.borrow_mut() = Some(model));
    Ok(summary)
}

fn with_model<T>(f: impl FnOnce(&model::Model) -> Result<T, String>) -> Result<T, String> {
    MODEL.with(|m| match m.borrow().as_ref() {
        Some(l) => f(l),
        None => Err("the model is not loaded".into()),
    })
}

fn handle(msg: ToWorker) {
    match msg {
        ToWorker::Load { base_url } => spawn_local(async move {
            match load(&base_url).await {
                Ok(model) => post(&FromWorker::Ready { model }),
                Err(message) => post(&FromWorker::Error { id: None, message }),
            }
        }),
        ToWorker::Code { id, text, top_k, states } => {
            LATEST.with(|l| l.set(id));
            let t0 = js_sys::Date::now();
            let later = with_model(|m| Ok(model::slow_evidence(m))).unwrap_or(false);
            let coded = with_model(|m| match (later, states) {
                (true, states) => model::code_scored(m, &text, top_k, states).map(|(p, scores)| {
                    SCORES.with(|s| *s.borrow_mut() = Some((id, scores)));
                    p
                }),
                (false, _) => model::code(m, &text, top_k, true),
            });
            match coded {
                Ok(predictions) => post(&FromWorker::Result { id, predictions, ms: js_sys::Date::now() - t0, evidence_pending: later }),
                Err(message) => post(&FromWorker::Error { id: Some(id), message }),
            }
        }
        ToWorker::Windows { id, part, parts, text } => {
            LATEST.with(|l| l.set(id));
            spawn_local(async move {
                // Messages queued meanwhile are handled first: a newer note makes this stale.
                yield_to_messages().await;
                if LATEST.with(|l| l.get()) != id {
                    return;
                }
                match with_model(|m| model::window_states(m, &text, part, parts)) {
                    Ok(states) => post(&FromWorker::WindowStates { id, part, states }),
                    Err(message) => post(&FromWorker::Error { id: Some(id), message }),
                }
            });
        }
        ToWorker::Occlude { id, part, text, spans } => {
            LATEST.with(|l| l.set(id));
            spawn_local(async move {
                // Messages queued meanwhile are handled first: a newer note makes this stale.
                yield_to_messages().await;
                if LATEST.with(|l| l.get()) != id {
                    return;
                }
                match with_model(|m| model::occluded(m, &text, &spans)) {
                    Ok(scores) => post(&FromWorker::Occluded { id, part, scores }),
                    Err(message) => post(&FromWorker::Error { id: Some(id), message }),
                }
            });
        }
        ToWorker::Evidence { id, text, top_k, occluded } => spawn_local(async move {
            yield_to_messages().await;
            if LATEST.with(|l| l.get()) > id {
                return;
            }
            let t0 = js_sys::Date::now();
            let coded = with_model(|m| match occluded {
                Some(rows) => {
                    let base = SCORES.with(|s| s.borrow_mut().take()).filter(|(i, _)| *i == id).map(|(_, scores)| scores);
                    model::code_occluded(m, &text, top_k, rows, base)
                }
                None => model::code(m, &text, top_k, true),
            });
            match coded {
                Ok(predictions) => post(&FromWorker::Evidence { id, predictions, ms: js_sys::Date::now() - t0 }),
                Err(message) => post(&FromWorker::Error { id: Some(id), message }),
            }
        }),
        ToWorker::Batch { id, notes, top_k } => {
            let results = notes
                .into_iter()
                .map(|Note { id: note_id, text }| {
                    let note_id = serde_json::Value::String(note_id);
                    match with_model(|m| model::coded(m, &text, top_k, false)) {
                        Ok(predictions) => {
                            let low_confidence = icd_core::candidates::is_low_confidence(&predictions);
                            NotePrediction { id: note_id, predictions, low_confidence, error: None }
                        }
                        Err(e) => NotePrediction { id: note_id, predictions: Vec::new(), low_confidence: false, error: Some(e) },
                    }
                })
                .collect();
            post(&FromWorker::BatchDone { id, results });
        }
    }
}

pub fn main() {
    console_error_panic_hook::set_once();
    worker_listen(|s| match serde_json::from_str::<ToWorker>(&s) {
        Ok(msg) => handle(msg),
        Err(e) => post(&FromWorker::Error { id: None, message: format!("bad message to the worker: {e}") }),
    });
    post(&FromWorker::Started);
}
