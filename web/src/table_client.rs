//! The page's side of the code table worker (`bin/codes.rs`): starts it, loads the table there,
//! and turns each request into a future of its answer. The page itself never holds the table.

use std::collections::HashMap;

use futures_channel::oneshot;
use icd_core::rules::{Checked, Patient};
use icd_core::NotePrediction;
use icd_web::codes::{FromCodes, Hit, TableSummary, ToCodes};
use icd_web::protocol::{Note, Prediction};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::dom;

/// Loads the worker trunk builds from `src/bin/codes.rs` (www/codes_loader.js; not hashed).
const WORKER_URL: &str = "./codes_loader.js";
/// Relative to the worker script, i.e. the site root.
const TABLE_URL: &str = "./icd10cm.table";

#[derive(Debug, Clone, PartialEq)]
pub enum TableStatus {
    Loading,
    Ready(TableSummary),
    Failed(String),
}

#[derive(Clone, Copy)]
pub struct TableClient {
    worker: StoredValue<Option<web_sys::Worker>, LocalStorage>,
    next_id: StoredValue<u32>,
    waiting: StoredValue<HashMap<u32, oneshot::Sender<FromCodes>>, LocalStorage>,
    pub status: RwSignal<TableStatus>,
}

impl TableClient {
    /// Starts the worker; the table loads there (`status` follows).
    pub fn start() -> Self {
        let client = TableClient {
            worker: StoredValue::new_local(None),
            next_id: StoredValue::new(1),
            waiting: StoredValue::new_local(HashMap::new()),
            status: RwSignal::new(TableStatus::Loading),
        };
        if let Err(e) = client.spawn() {
            client.status.set(TableStatus::Failed(e));
        }
        client
    }

    fn spawn(self) -> Result<(), String> {
        let worker = web_sys::Worker::new(WORKER_URL).map_err(dom::js_err)?;
        let onmessage = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            if let Some(s) = ev.data().as_string() {
                match serde_json::from_str::<FromCodes>(&s) {
                    Ok(msg) => self.on_message(msg),
                    Err(e) => self.status.set(TableStatus::Failed(format!("bad message from the code table worker: {e}"))),
                }
            }
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        onmessage.forget();
        let onerror = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
            let msg = ev.message();
            self.status.set(TableStatus::Failed(if msg.is_empty() {
                "the code table worker could not start".into()
            } else {
                format!("the code table worker failed: {msg}")
            }));
            // Nobody will answer what is waiting: dropping the senders ends those requests.
            self.waiting.update_value(HashMap::clear);
        });
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        onerror.forget();
        self.worker.set_value(Some(worker));
        Ok(())
    }

    fn on_message(self, msg: FromCodes) {
        match msg {
            FromCodes::Started => {
                if let Err(e) = self.post(&ToCodes::Load { url: TABLE_URL.into() }) {
                    self.status.set(TableStatus::Failed(e));
                }
            }
            FromCodes::Ready { summary } => self.status.set(TableStatus::Ready(summary)),
            FromCodes::Error { id: None, message } => self.status.set(TableStatus::Failed(message)),
            answer => {
                let sender = answer.id().and_then(|id| self.waiting.try_update_value(|w| w.remove(&id)).flatten());
                if let Some(sender) = sender {
                    let _ = sender.send(answer);
                }
            }
        }
    }

    fn post(&self, msg: &ToCodes) -> Result<(), String> {
        self.worker.with_value(|w| match w {
            Some(w) => w.post_message(&msg.to_json().into()).map_err(dom::js_err),
            None => Err("the code table worker is not running".into()),
        })
    }

    pub fn ready(&self) -> bool {
        matches!(self.status.get_untracked(), TableStatus::Ready(_))
    }

    /// Sends a request (`make` gets its id) and waits for its answer.
    async fn request(self, make: impl FnOnce(u32) -> ToCodes) -> Result<FromCodes, String> {
        if !self.ready() {
            return Err("the code table is not loaded".into());
        }
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        let (tx, rx) = oneshot::channel();
        self.waiting.update_value(|w| {
            w.insert(id, tx);
        });
        if let Err(e) = self.post(&make(id)) {
            self.waiting.update_value(|w| {
                w.remove(&id);
            });
            return Err(e);
        }
        match rx.await {
            Ok(FromCodes::Error { message, .. }) => Err(message),
            Ok(answer) => Ok(answer),
            Err(_) => Err("the code table worker stopped".into()),
        }
    }

    pub async fn search(self, query: String, limit: usize) -> Result<Vec<Hit>, String> {
        match self.request(|id| ToCodes::Search { id, query, limit }).await? {
            FromCodes::Hits { hits, .. } => Ok(hits),
            other => Err(unexpected(&other)),
        }
    }

    /// The model's codes fused with the table's: the list, whether it is of low confidence,
    /// and the worker's own time.
    pub async fn fuse(self, text: String, predictions: Vec<Prediction>, top_k: usize) -> Result<(Vec<Prediction>, bool, f64), String> {
        match self.request(|id| ToCodes::Fuse { id, text, predictions, top_k }).await? {
            FromCodes::Fused { predictions, low_confidence, ms, .. } => Ok((predictions, low_confidence, ms)),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn fuse_batch(self, notes: Vec<Note>, results: Vec<NotePrediction>, top_k: usize) -> Result<Vec<NotePrediction>, String> {
        match self.request(|id| ToCodes::FuseBatch { id, notes, results, top_k }).await? {
            FromCodes::FusedBatch { results, .. } => Ok(results),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn check(self, codes: Vec<String>, patient: Patient) -> Result<Checked, String> {
        match self.request(|id| ToCodes::Check { id, codes, patient }).await? {
            FromCodes::Checked { checked, .. } => Ok(checked),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(msg: &FromCodes) -> String {
    format!("unexpected answer from the code table worker: {}", msg.to_json().chars().take(80).collect::<String>())
}
