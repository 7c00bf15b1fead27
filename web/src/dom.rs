//! Small browser helpers: downloads, clipboard, reading a local file, service worker.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub use icd_web::js::js_err;

/// Saves `content` as a file through a `blob:` URL: nothing is sent anywhere.
pub fn download(file_name: &str, mime: &str, content: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&content.into());
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(js_err)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js_err)?;
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").map_err(js_err)?.unchecked_into();
    a.set_href(&url);
    a.set_download(file_name);
    a.click();
    // Revoke after the click has been handled.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000);
    Ok(())
}

pub async fn copy_text(text: &str) -> Result<(), String> {
    let clipboard = web_sys::window().ok_or("no window")?.navigator().clipboard();
    JsFuture::from(clipboard.write_text(text)).await.map_err(js_err)?;
    Ok(())
}

pub async fn read_file(file: &web_sys::File) -> Result<String, String> {
    let text = JsFuture::from(file.text()).await.map_err(js_err)?;
    text.as_string().ok_or_else(|| "the file is not text".into())
}

pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(url)).await.map_err(|e| format!("{url}: {}", js_err(e)))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a Response")?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(js_err)?).await.map_err(js_err)?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// Registers `./sw.js` (generated at build time, web/build-site.sh) so the next visit works offline.
pub fn register_service_worker() {
    let Some(window) = web_sys::window() else { return };
    let sw = window.navigator().service_worker();
    // Not available on plain http to a non-localhost host; the app still works without it.
    if sw.is_undefined() {
        return;
    }
    let _ = sw.register("./sw.js");
}

/// A random v4 UUID (for FHIR full URLs), from the browser's CSPRNG.
pub fn uuid() -> String {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).ok();
    let f = crypto.as_ref().and_then(|c| js_sys::Reflect::get(c, &"randomUUID".into()).ok());
    match (crypto, f.and_then(|f| f.dyn_into::<js_sys::Function>().ok())) {
        (Some(c), Some(f)) => f.call0(&c).ok().and_then(|v| v.as_string()).unwrap_or_default(),
        _ => {
            let r = || (js_sys::Math::random() * 65536.0) as u32;
            format!("{:04x}{:04x}-{:04x}-4{:03x}-{:04x}-{:04x}{:04x}{:04x}", r(), r(), r(), r() & 0xfff, (r() & 0x3fff) | 0x8000, r(), r(), r())
        }
    }
}

pub fn now_iso() -> String {
    String::from(js_sys::Date::new_0().to_iso_string())
}

/// The page's query parameter `name`, if given.
fn query(name: &str) -> Option<String> {
    let q = web_sys::window()?.location().search().ok()?;
    let prefix = format!("{name}=");
    q.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix(prefix.as_str()).map(str::to_string))
}

/// The model worker's script: `worker_loader.js` picks the relaxed-SIMD build where the browser
/// has it; the page's `?kernel=simd128` asks for the SIMD128 build (comparisons, tests).
pub fn worker_url() -> String {
    match query("kernel").as_deref() {
        Some("simd128") => "./worker_loader.js?kernel=simd128".into(),
        _ => "./worker_loader.js".into(),
    }
}

/// Model workers for this device (`icd_web::pool::pool_size`): its cores, its memory where the
/// browser tells it (`navigator.deviceMemory`, Chromium), or the page's `?workers=N`.
pub fn pool_size() -> usize {
    let Some(window) = web_sys::window() else { return 1 };
    let nav = window.navigator();
    let cores = Some(nav.hardware_concurrency() as usize).filter(|&c| c > 0);
    let memory = js_sys::Reflect::get(&nav, &"deviceMemory".into()).ok().and_then(|v| v.as_f64());
    let asked = query("workers").and_then(|n| n.parse().ok());
    icd_web::pool::pool_size(cores, memory, asked)
}
