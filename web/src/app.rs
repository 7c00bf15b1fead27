use std::sync::Arc;

use icd_core::{CodeTable, SearchIndex};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Relative, so the site works under a sub-path (GitHub Pages project sites).
const TABLE_URL: &str = "./icd10cm.table";

struct Codes {
    table: CodeTable,
    index: SearchIndex,
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(url)).await.map_err(|e| format!("{url}: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a Response")?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| format!("{e:?}"))?).await.map_err(|e| format!("{e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

async fn load_codes() -> Result<Arc<Codes>, String> {
    let bytes = fetch_bytes(TABLE_URL).await?;
    let table = CodeTable::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let index = SearchIndex::build(&table);
    Ok(Arc::new(Codes { table, index }))
}

#[component]
pub fn App() -> impl IntoView {
    let codes = LocalResource::new(load_codes);
    view! {
        <header class="top">
            <h1>"ICD-10-CM coder"</h1>
            <p class="privacy">"Runs on this device: your note is not sent anywhere."</p>
        </header>
        <main>
            <Suspense fallback=|| view! { <p class="status">"Loading the ICD-10-CM table…"</p> }>
                {move || codes.get().map(|r| match r {
                    Ok(c) => view! { <CodeSearch codes=c /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">"Could not load the code table: " {e}</p> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn CodeSearch(codes: Arc<Codes>) -> impl IntoView {
    let (query, set_query) = signal(String::new());
    let release = codes.table.release.clone();
    let billable = codes.table.billable().count();
    let results = move || {
        let q = query.get();
        codes
            .index
            .search(&codes.table, &q, 25)
            .into_iter()
            .map(|h| {
                let c = &codes.table.codes()[h.index];
                (c.code.clone(), c.description.clone(), c.billable)
            })
            .collect::<Vec<_>>()
    };
    view! {
        <section class="search" aria-labelledby="search-title">
            <h2 id="search-title">"Code search"</h2>
            <label for="code-query">{format!("Search {billable} billable codes ({release}) by words or code")}</label>
            <input id="code-query" type="search" placeholder="e.g. asthma, J45.9"
                on:input=move |ev| set_query.set(event_target_value(&ev)) prop:value=query />
            <ol class="results" id="search-results">
                <For each=results key=|r| r.0.clone() let:r>
                    <li class:nonbillable=!r.2>
                        <code>{r.0.clone()}</code>" "<span>{r.1.clone()}</span>
                    </li>
                </For>
            </ol>
        </section>
    }
}
