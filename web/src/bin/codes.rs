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
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Response};

thread_local! {
    static SERVICE: RefCell<Option<CodeService>> = const { RefCell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(msg: &FromCodes) {
    let _ = scope().post_message(&JsValue::from_str(&msg.to_json()));
}

fn js_err(e: JsValue) -> String {
    e.as_string().or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message()))).unwrap_or_else(|| format!("{e:?}"))
}

fn now() -> f64 {
    js_sys::Date::now()
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let resp = JsFuture::from(scope().fetch_with_str(url)).await.map_err(|e| format!("{url}: {}", js_err(e)))?;
    let resp: Response = resp.dyn_into().map_err(|_| format!("{url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(js_err)?).await.map_err(|e| format!("{url}: {}", js_err(e)))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

async fn load(url: String) {
    let t0 = now();
    let loaded = fetch_bytes(&url).await.and_then(|b| CodeService::from_bytes(&b));
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
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(|ev: MessageEvent| {
        let Some(s) = ev.data().as_string() else { return };
        match serde_json::from_str::<ToCodes>(&s) {
            Ok(msg) => handle(msg),
            Err(e) => post(&FromCodes::Error { id: None, message: format!("bad message to the code table worker: {e}") }),
        }
    });
    scope().set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    post(&FromCodes::Started);
}
