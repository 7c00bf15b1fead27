//! The decision record's store: one IndexedDB object store on this device (origin-scoped,
//! never sent anywhere). Entries are kept as JSON strings of `icd_web::record::Decision`.

use icd_web::record::Decision;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbObjectStoreParameters, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

use crate::dom::js_err;

const DB: &str = "icd10-coder";
const STORE: &str = "decisions";

/// Resolves with the request's result on `success`, fails on `error`.
async fn done(req: &IdbRequest) -> Result<JsValue, String> {
    let promise = js_sys::Promise::new(&mut |resolve: js_sys::Function, reject: js_sys::Function| {
        let r = req.clone();
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap_or(JsValue::NULL));
        });
        let r = req.clone();
        let fail = Closure::once_into_js(move |_: web_sys::Event| {
            let why = r.error().ok().flatten().map(|e| e.message()).unwrap_or_else(|| "IndexedDB request failed".into());
            let _ = reject.call1(&JsValue::NULL, &why.into());
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(fail.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(js_err)
}

async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window().ok_or("no window")?.indexed_db().map_err(js_err)?.ok_or("this browser has no IndexedDB")?;
    let req: IdbOpenDbRequest = factory.open_with_u32(DB, 1).map_err(js_err)?;
    let upgrade = Closure::once_into_js(move |e: web_sys::Event| {
        let db = e.target().and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok()).and_then(|r| r.result().ok()).and_then(|r| r.dyn_into::<IdbDatabase>().ok());
        if let Some(db) = db {
            let params = IdbObjectStoreParameters::new();
            params.set_auto_increment(true);
            let _ = db.create_object_store_with_optional_parameters(STORE, &params);
        }
    });
    req.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    done(&req).await?.dyn_into::<IdbDatabase>().map_err(|_| "IndexedDB: not a database".to_string())
}

/// Appends one decision.
pub async fn append(d: &Decision) -> Result<(), String> {
    let db = open().await?;
    let tx = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).map_err(js_err)?;
    let store = tx.object_store(STORE).map_err(js_err)?;
    let json = serde_json::to_string(d).map_err(|e| e.to_string())?;
    done(&store.add(&json.into()).map_err(js_err)?).await?;
    Ok(())
}

/// Every decision on this device, oldest first; an entry that does not parse is an error.
pub async fn load() -> Result<Vec<Decision>, String> {
    let db = open().await?;
    let tx = db.transaction_with_str(STORE).map_err(js_err)?;
    let store = tx.object_store(STORE).map_err(js_err)?;
    let all: js_sys::Array = done(&store.get_all().map_err(js_err)?).await?.dyn_into().map_err(|_| "IndexedDB: getAll is not an array")?;
    all.iter()
        .enumerate()
        .map(|(i, v)| {
            let s = v.as_string().ok_or_else(|| format!("decision record entry {}: not a string", i + 1))?;
            serde_json::from_str(&s).map_err(|e| format!("decision record entry {}: {e}", i + 1))
        })
        .collect()
}
