//! The code table worker: a dedicated Web Worker (trunk `data-type="worker"`, loaded by
//! `codes_loader.js`) that fetches the ICD-10-CM table, decodes it, builds its search index and
//! answers the page's searches, fusions and rule checks (`icd_web::codes`), so none of that
//! runs on the page's main thread.
//!
//! Its only network use is `fetch` of the table from the same origin. Notes arrive by
//! `postMessage` and leave only as answers to the page.
#![forbid(unsafe_code)]

use std::cell::RefCell;

use icd_web::codes::{CodeService, FromCodes, ToCodes};
use icd_web::js::{worker_fetch, worker_listen, worker_post};
use wasm_bindgen_futures::spawn_local;

thread_local! {
    static SERVICE: RefCell<Option<CodeService>> = const { RefCell::new(None) };
}

fn post(msg: &FromCodes) {
    worker_post(msg.to_json());
}

fn now() -> f64 {
    js_sys::Date::now()
}

async fn load(url: String) {
    let t0 = now();
    let loaded = worker_fetch(&url, |_| {}).await.and_then(|b| CodeService::from_bytes(&b));
    match loaded {
        Ok(service) => {
            let summary = service.summary(now() - t0);
            SERVICE.with(|s| *s.borrow_mut() = Some(service));
            post(&FromCodes::Ready { summary });
        }
        Err(message) => post(&FromCodes::Error { id: None, message }),
    }
}

fn handle(msg: ToCodes) {
    if let ToCodes::Load { url } = msg {
        return spawn_local(load(url));
    }
    let id = msg.id();
    let answer = SERVICE.with(|s| match s.borrow().as_ref() {
        Some(service) => service.answer(msg, now),
        None => FromCodes::Error { id, message: "the code table is not loaded yet".into() },
    });
    post(&answer);
}

fn main() {
    console_error_panic_hook::set_once();
    worker_listen(|s| match serde_json::from_str::<ToCodes>(&s) {
        Ok(msg) => handle(msg),
        Err(e) => post(&FromCodes::Error { id: None, message: format!("bad message to the code table worker: {e}") }),
    });
    post(&FromCodes::Started);
}
