//! The JavaScript glue the page and both workers share: error text, and for the workers
//! (`bin/worker.rs`, `bin/codes.rs`) their global scope, messages and same-origin fetch.
//! It compiles natively (for `cargo test`) but only runs in the browser.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, ReadableStreamDefaultReader, Response};

/// A thrown JavaScript value as text: a string, an `Error`'s message, or its debug form.
pub fn js_err(e: JsValue) -> String {
    e.as_string().or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message()))).unwrap_or_else(|| format!("{e:?}"))
}

/// The worker's own global scope.
pub fn worker_scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Posts a JSON message to the page.
pub fn worker_post(json: String) {
    let _ = worker_scope().post_message(&JsValue::from_str(&json));
}

/// Calls `handle` with every string message from the page (the protocols send JSON strings).
pub fn worker_listen(mut handle: impl FnMut(String) + 'static) {
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        if let Some(s) = ev.data().as_string() {
            handle(s);
        }
    });
    worker_scope().set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
}

/// Fetches `url` (same origin, relative to the worker), calling `on_chunk` with the bytes of
/// each piece as it arrives (for a progress bar).
pub async fn worker_fetch(url: &str, mut on_chunk: impl FnMut(u64)) -> Result<Vec<u8>, String> {
    let resp = JsFuture::from(worker_scope().fetch_with_str(url)).await.map_err(|e| format!("{url}: {}", js_err(e)))?;
    let resp: Response = resp.dyn_into().map_err(|_| format!("{url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let Some(body) = resp.body() else { return Ok(Vec::new()) };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut out = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| format!("{url}: {}", js_err(e)))?;
        if Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into()).map_err(js_err)?.unchecked_into();
        let start = out.len();
        out.resize(start + value.length() as usize, 0);
        value.copy_to(&mut out[start..]);
        on_chunk(value.length() as u64);
    }
    Ok(out)
}
