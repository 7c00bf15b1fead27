//! The side panels: code search (add a code by hand), accepted codes and export, batch coding,
//! and the model panel.

use icd_core::rules::{Checked, RuleKind, Severity, Sex};
use icd_web::codes::TableSummary;
use icd_web::export::{self, Accepted};
use icd_web::record::{self, Action, Poa};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::client::{BatchState, Client, ModelStatus};
use crate::dom;
use crate::state::{Decisions, TOP_K};
use crate::table_client::TableClient;

#[component]
pub fn CodeSearch(summary: TableSummary) -> impl IntoView {
    let d = expect_context::<Decisions>();
    let table = expect_context::<TableClient>();
    let (query, set_query) = signal(String::new());
    let (release, billable) = (summary.release, summary.billable);
    // Searched in the code table worker; the latest query's hits are shown.
    let hits = LocalResource::new(move || {
        let q = query.get();
        async move {
            if q.trim().is_empty() {
                return Ok(Vec::new());
            }
            table.search(q, 25).await
        }
    });
    let results = move || hits.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|h| (h.code, h.description, h.billable)).collect::<Vec<_>>();
    let search_error = move || hits.get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">"Search failed: " {e}</p> });
    view! {
        <section class="card search" aria-labelledby="search-title">
            <h2 id="search-title">"Code search"</h2>
            <label for="code-query">{format!("Search {billable} billable codes ({release}) by words or code")}</label>
            <input id="code-query" type="search" placeholder="e.g. asthma, J45.9" autocomplete="off"
                on:input=move |ev| set_query.set(event_target_value(&ev)) prop:value=query />
            {search_error}
            <ol class="results" id="search-results">
                <For each=results key=|r| r.0.clone() let:r>
                    {
                        let (code, desc, billable) = r;
                        let add = {
                            let (code, desc) = (code.clone(), desc.clone());
                            move |_| {
                                if !d.manual.get_untracked().iter().any(|a| a.code == code) {
                                    d.manual.update(|m| m.push(Accepted { code: code.clone(), description: desc.clone(), score: None, poa: None, source: None, evidence: Vec::new() }));
                                    d.record(Action::Added, &code, desc.clone());
                                }
                            }
                        };
                        let label = format!("Add {code}");
                        view! {
                            <li class:nonbillable=!billable>
                                <code>{code.clone()}</code>" "<span>{desc}</span>
                                {billable.then(|| view! { <button class="add" on:click=add aria-label=label>"Add"</button> })}
                            </li>
                        }
                    }
                </For>
            </ol>
        </section>
    }
}

#[component]
pub fn ExportPanel() -> impl IntoView {
    let client = expect_context::<Client>();
    let d = expect_context::<Decisions>();
    let table = expect_context::<TableClient>();
    let list = move || d.list(&client);
    let (message, set_message) = signal(None::<Result<String, String>>);
    // The coding rules on the accepted codes, in their order (first = first-listed), live:
    // checked in the code table worker whenever the list, the patient or the table changes.
    let check = LocalResource::new(move || {
        let accepted: Vec<String> = list().into_iter().map(|a| a.code).collect();
        let (patient, loaded) = (d.patient(), matches!(table.status.get(), crate::table_client::TableStatus::Ready(_)));
        async move {
            if accepted.is_empty() || !loaded {
                return Ok(None);
            }
            table.check(accepted, patient).await.map(Some)
        }
    });
    let checked = move || check.get().and_then(Result::ok).flatten();
    let check_error =
        move || check.get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">"The coding rules could not be checked: " {e}</p> });
    let has_errors = move || checked().is_some_and(|c| c.has_errors());
    // An error blocks the export until the coder overrides it on purpose.
    let overridden = RwSignal::new(false);
    let blocked = move || list().is_empty() || (has_errors() && !overridden.get());
    // An override is for the errors it was given on: once they are gone, it is gone too.
    Effect::new(move |_| {
        if !has_errors() {
            overridden.set(false);
        }
    });
    // What goes out is recorded: how, and the codes in reporting order.
    let exported = move |how: &str| {
        let codes: Vec<String> = list().into_iter().map(|a| a.code).collect();
        d.record(Action::Exported, codes.first().map(String::as_str).unwrap_or(""), format!("{how}: {}", codes.join(" ")));
    };
    let copy = move |_| {
        exported("clipboard");
        let text = export::clipboard_text(&list());
        leptos::task::spawn_local(async move {
            set_message.set(Some(dom::copy_text(&text).await.map(|_| "Copied to the clipboard.".to_string())));
        });
    };
    let csv = move |_| {
        exported("csv");
        set_message.set(dom::download("icd10cm-codes.csv", "text/csv", &export::csv(&list())).err().map(Err));
    };
    let with_refuted = RwSignal::new(false);
    let fhir = move |_| {
        let rejected = if with_refuted.get_untracked() { d.rejected_list(&client) } else { Vec::new() };
        exported(&if rejected.is_empty() {
            "fhir".to_string()
        } else {
            format!("fhir (refuted: {})", rejected.iter().map(|a| a.code.as_str()).collect::<Vec<_>>().join(" "))
        });
        let bundle = export::fhir_bundle(&list(), &rejected, dom::uuid, &dom::now_iso());
        let text = serde_json::to_string_pretty(&bundle).unwrap();
        set_message.set(dom::download("icd10cm-conditions.fhir.json", "application/fhir+json", &text).err().map(Err));
    };
    let remove = move |code: String| {
        d.record(Action::Removed, &code, "");
        d.manual.update(|m| m.retain(|a| a.code != code));
        d.accepted.update(|a| {
            a.insert(code, false);
        });
    };
    let empty = move || list().is_empty();
    view! {
        <section class="card" aria-labelledby="accepted-title">
            <h2 id="accepted-title">"Accepted codes"</h2>
            <Show when=move || !empty() fallback=|| view! { <p class="hint">"Accept suggested codes or add codes from the search."</p> }>
                <label class="setting">
                    <input type="checkbox" id="inpatient" prop:checked=move || d.inpatient.get()
                        on:change=move |ev| d.inpatient.set(event_target_checked(&ev)) />
                    " Inpatient encounter (present-on-admission indicators)"
                </label>
                <div class="patient">
                    <label for="patient-age">"Age (years)"</label>
                    <input id="patient-age" type="number" min="0" max="130" inputmode="numeric"
                        on:input=move |ev| d.age.set(event_target_value(&ev).trim().parse().ok()) />
                    <label for="patient-sex">"Sex"</label>
                    <select id="patient-sex" on:change=move |ev| d.sex.set(match event_target_value(&ev).as_str() {
                        "female" => Some(Sex::Female),
                        "male" => Some(Sex::Male),
                        _ => None,
                    })>
                        <option value="">"not given"</option>
                        <option value="female">"female"</option>
                        <option value="male">"male"</option>
                    </select>
                    <span class="hint">" for the age and sex edits"</span>
                </div>
                <ul class="accepted" id="accepted">
                    {move || list().into_iter().enumerate().map(|(i, a)| {
                        let code = a.code.clone();
                        let label = format!("Remove {}", a.code);
                        let principal = {
                            let code = a.code.clone();
                            move |_| {
                                d.principal.set(Some(code.clone()));
                                d.record(Action::Principal, &code, "");
                            }
                        };
                        let poa = d.inpatient.get().then(|| {
                            let code = a.code.clone();
                            let id = format!("poa-{}", a.code.replace('.', "_"));
                            let current = a.poa.map(|p| p.code().to_string()).unwrap_or_default();
                            let set = move |ev: leptos::ev::Event| {
                                let v = event_target_value(&ev);
                                if let Some(p) = Poa::from_code(&v) {
                                    d.poa.update(|m| {
                                        m.insert(code.clone(), p);
                                    });
                                    d.record(Action::Poa, &code, p.code());
                                }
                            };
                            view! {
                                <label for=id.clone() class="poa">"POA"</label>
                                <select id=id on:change=set prop:value=current>
                                    <option value="">"–"</option>
                                    {Poa::ALL.into_iter().map(|p| view! { <option value=p.code()>{format!("{} ({})", p.code(), p.meaning())}</option> }).collect_view()}
                                </select>
                            }
                        });
                        view! {
                            <li data-code=a.code.clone() class:principal=i == 0>
                                <code>{a.code.clone()}</code>" "<span>{a.description.clone()}</span>
                                {if i == 0 {
                                    view! { <span class="badge" id="principal">"principal"</span> }.into_any()
                                } else {
                                    view! { <button class="make-principal" aria-label=format!("Make {} principal", a.code) on:click=principal>"Make principal"</button> }.into_any()
                                }}
                                {poa}
                                <button class="remove" aria-label=label on:click=move |_| remove(code.clone())>"×"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
            {check_error}
            <RuleMessages checked=Signal::derive(checked) />
            <Show when=has_errors>
                <label class="override">
                    <input type="checkbox" id="override-errors" prop:checked=move || overridden.get()
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            overridden.set(on);
                            if on {
                                let c = checked();
                                let errors: Vec<String> = c.iter().flat_map(|c| c.messages.iter()).filter(|m| m.severity == Severity::Error).map(|m| format!("{}: {}", kind_name(m.kind), m.codes.join(", "))).collect();
                                let first = c.as_ref().and_then(|c| c.codes.first()).map(|k| k.code.clone()).unwrap_or_default();
                                d.record(Action::Override, &first, errors.join("; "));
                            }
                        } />
                    " Export despite the errors above"
                </label>
            </Show>
            <div class="row">
                <button id="copy-codes" on:click=copy disabled=blocked>"Copy"</button>
                <button id="download-csv" on:click=csv disabled=blocked>"Download CSV"</button>
                <button id="download-fhir" on:click=fhir disabled=blocked>"Download FHIR"</button>
                <label class="inline">
                    <input type="checkbox" id="export-refuted" prop:checked=move || with_refuted.get()
                        on:change=move |ev| with_refuted.set(event_target_checked(&ev)) />
                    " FHIR: include rejected suggestions (refuted)"
                </label>
            </div>
            <DecisionRecord />
            {move || message.get().map(|m| match m {
                Ok(m) => view! { <p class="hint" role="status">{m}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
        </section>
    }
}

fn kind_name(kind: RuleKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// This device's record of the coder's decisions, newest first, and its CSV download.
#[component]
fn DecisionRecord() -> impl IntoView {
    let d = expect_context::<Decisions>();
    let download = move |_| {
        let _ = dom::download("icd10cm-decisions.csv", "text/csv", &record::csv(&d.log.get_untracked()));
    };
    view! {
        <details class="record">
            <summary>{move || format!("Decision record ({} on this device)", d.log.get().len())}</summary>
            {move || d.log_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <ol class="record-list" id="decision-record" reversed>
                {move || d.log.get().into_iter().rev().take(50).map(|e| view! {
                    <li data-action=e.action.name()><time>{e.at.clone()}</time>" "{format!("{} {} {}", e.action.name(), e.code, e.detail)}</li>
                }).collect_view()}
            </ol>
            <button id="download-record" on:click=download disabled=move || d.log.get().is_empty()>"Download record (CSV)"</button>
        </details>
    }
}

/// The rule messages on the accepted codes (`icd_core::rules`), errors first.
#[component]
fn RuleMessages(checked: Signal<Option<Checked>>) -> impl IntoView {
    move || {
        let c = checked.get()?;
        let hcc: Vec<String> = c
            .codes
            .iter()
            .filter_map(|k| {
                let flags: Vec<String> = k.hcc.iter().filter_map(|(v, h)| h.as_ref().map(|h| format!("{} {h}", v.to_uppercase()))).collect();
                (!flags.is_empty()).then(|| format!("{}: HCC {}", k.code, flags.join(", ")))
            })
            .collect();
        let items = c
            .messages
            .into_iter()
            .map(|m| {
                let severity = match m.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                };
                let kind = kind_name(m.kind);
                view! { <li class=format!("rule {severity}") data-kind=kind.clone()><strong>{format!("{severity} ({kind}): ")}</strong>{m.text}</li> }
            })
            .collect_view();
        Some(view! {
            <h3>"Coding rules"</h3>
            <ul class="rules" id="rule-messages" aria-live="polite">{items}</ul>
            <p class="hint" id="hcc-summary">{if hcc.is_empty() { "No CMS-HCC category among these codes.".to_string() } else { hcc.join("; ") }}</p>
        })
    }
}

#[component]
pub fn BatchPanel() -> impl IntoView {
    let client = expect_context::<Client>();
    let notes = RwSignal::new(None::<(String, Vec<icd_web::protocol::Note>)>);
    let (error, set_error) = signal(None::<String>);
    let on_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        set_error.set(None);
        notes.set(None);
        client.batch.set(BatchState::Idle);
        leptos::task::spawn_local(async move {
            let name = file.name();
            match dom::read_file(&file).await.and_then(|text| icd_web::batch::parse(&name, &text)) {
                Ok(n) => notes.set(Some((name, n))),
                Err(e) => set_error.set(Some(format!("{name}: {e}"))),
            }
        });
    };
    let run = move |_| {
        if let Some((_, n)) = notes.get_untracked() {
            client.batch(n, TOP_K);
        }
    };
    let base = move || notes.get().map(|(n, _)| n.rsplit_once('.').map_or(n.clone(), |(b, _)| b.to_string())).unwrap_or_default();
    let download = move |csv: bool| {
        if let BatchState::Done(r) = client.batch.get_untracked() {
            let res = if csv {
                dom::download(&format!("{}.predictions.csv", base()), "text/csv", &export::predict_csv(&r))
            } else {
                dom::download(&format!("{}.predictions.jsonl", base()), "application/x-ndjson", &export::predict_jsonl(&r))
            };
            if let Err(e) = res {
                set_error.set(Some(e));
            }
        }
    };
    let running = move || matches!(client.batch.get(), BatchState::Running { .. });
    view! {
        <section class="card" aria-labelledby="batch-title">
            <h2 id="batch-title">"Batch"</h2>
            <label for="batch-file">"Open a file of notes (txt, CSV with a text column, JSONL). It is read here, never uploaded."</label>
            <input id="batch-file" type="file" accept=".txt,.csv,.jsonl,.ndjson,text/plain,text/csv" on:change=on_file />
            {move || notes.get().map(|(name, n)| view! { <p class="hint" id="batch-count">{format!("{name}: {} notes", n.len())}</p> })}
            <div class="row">
                <button id="batch-run" class="primary" on:click=run
                    disabled=move || notes.get().is_none() || !client.ready() || running()>"Code all"</button>
                <Show when=running>
                    <button id="batch-cancel" on:click=move |_| client.cancel_batch()>"Cancel"</button>
                </Show>
            </div>
            {move || match client.batch.get() {
                BatchState::Idle => None,
                BatchState::Running { done, total } => Some(view! {
                    <label for="batch-progress">{format!("Coded {done} of {total}")}</label>
                    <progress id="batch-progress" max=total.to_string() value=done.to_string()></progress>
                }.into_any()),
                BatchState::Cancelled { done, total } => Some(view! {
                    <p class="hint" role="status" id="batch-cancelled">{format!("Cancelled after {done} of {total} notes; nothing of the batch was kept.")}</p>
                }.into_any()),
                BatchState::Done(r) => Some(view! {
                    <p class="hint" role="status" id="batch-done">{
                        let n = r.len();
                        match client.batch_time.get() {
                            Some((ms, workers)) => format!(
                                "Coded {n} notes in {:.1} s ({:.1} notes/s, {workers} worker{}).",
                                ms / 1000.0,
                                n as f64 * 1000.0 / ms.max(1.0),
                                if workers == 1 { "" } else { "s" }
                            ),
                            None => format!("Coded {n} notes."),
                        }
                    }</p>
                    <div class="row">
                        <button id="batch-jsonl" on:click=move |_| download(false)>"Download JSONL"</button>
                        <button id="batch-csv" on:click=move |_| download(true)>"Download CSV"</button>
                    </div>
                }.into_any()),
            }}
            {move || error.get().or(client.batch_error.get()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Numeric metrics of the manifest, flattened (`int8.micro_f1` …), for the model panel.
fn metric_rows(metrics: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>, depth: usize) {
        match v {
            serde_json::Value::Number(n) => {
                let f = n.as_f64().unwrap_or(0.0);
                out.push((prefix.to_string(), if f.fract() == 0.0 { format!("{f}") } else { format!("{f:.4}") }));
            }
            serde_json::Value::Object(m) if depth < 2 => {
                for (k, v) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, v, out, depth + 1);
                }
            }
            _ => {}
        }
    }
    walk("", metrics, &mut out, 0);
    out
}

#[component]
pub fn ModelPanel() -> impl IntoView {
    let client = expect_context::<Client>();
    view! {
        <section class="card model" aria-labelledby="model-title" id="model-panel">
            <h2 id="model-title">"Model"</h2>
            <p class="privacy-strong">"Runs on this device: your note is not sent anywhere. The model and the code table are \
                downloaded from this site once, then kept for offline use."</p>
            {move || match client.status.get() {
                ModelStatus::Starting => view! { <p class="status">"Starting…"</p> }.into_any(),
                ModelStatus::NoBundle => view! {
                    <p class="status" id="model-status">"This build has no model bundle; note coding is unavailable."</p>
                }.into_any(),
                ModelStatus::Loading { loaded, total } => view! {
                    <label for="model-progress">{format!("Loading the model: {} of {}", mb(loaded), mb(total))}</label>
                    <progress id="model-progress" max=total.max(1).to_string() value=loaded.to_string()></progress>
                }.into_any(),
                ModelStatus::Failed(e) => view! {
                    <p class="error" role="alert" id="model-error">"The model could not be loaded: " {e}</p>
                }.into_any(),
                ModelStatus::Ready(m) => {
                    let rows = metric_rows(&m.metrics).into_iter().map(|(k, v)| view! { <tr><th scope="row">{k}</th><td>{v}</td></tr> }).collect_view();
                    view! {
                        <dl class="facts" id="model-ready">
                            <dt>"Name"</dt><dd id="model-name">{m.name.clone()}</dd>
                            <dt>"Base model"</dt><dd>{m.base_model.clone()}</dd>
                            <dt>"Head"</dt><dd>{format!("{} ({})", m.head, m.objective)}</dd>
                            <dt>"Labels"</dt><dd id="model-labels">{m.labels}</dd>
                            <dt>"Size"</dt><dd>{mb(m.bytes)}</dd>
                            <dt>"Ready in"</dt><dd>{format!("{:.0} ms", m.load_ms)}</dd>
                            <dt>"Int8 kernel"</dt><dd id="model-kernel">{m.kernel.clone()}</dd>
                            <dt>"Workers"</dt><dd id="model-workers">{move || {
                                let p = client.pool.get();
                                let failed = if p.failed > 0 { format!(", {} failed", p.failed) } else { String::new() };
                                format!("{} of {} ready{failed} (batches use all; single notes the first)", p.ready, p.size)
                            }}</dd>
                        </dl>
                        <details>
                            <summary>"Test metrics"</summary>
                            <table class="metrics"><tbody>{rows}</tbody></table>
                        </details>
                    }.into_any()
                }
            }}
        </section>
    }
}
