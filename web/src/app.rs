//! The page: note editor, suggested codes with evidence, accepted codes and export, code search,
//! batch coding, and the model panel.

use icd_core::assertion::Assertion;
use icd_core::specificity::Specificity;
use icd_core::Source;
use icd_web::evidence;
use icd_web::export::Accepted;
use icd_web::protocol::Prediction;
use icd_web::record::Action;
use icd_web::samples::SAMPLES;
use leptos::prelude::*;

use crate::client::{Client, LateEvidence, ModelStatus};
use crate::panels::{BatchPanel, CodeSearch, ExportPanel, ModelPanel};
use crate::state::{Decisions, TOP_K};
use crate::table_client::{TableClient, TableStatus};

#[component]
pub fn App() -> impl IntoView {
    // The code table loads in its own worker; the model's codes are fused with its codes there.
    let table = TableClient::start();
    provide_context(table);
    let client = Client::new(table);
    provide_context(client);
    leptos::task::spawn_local(client.start());
    let decisions = Decisions::default();
    provide_context(decisions);
    decisions.load_record();

    // Preselect the top code (the first-listed diagnosis candidate, even when the model is
    // unsure: its score is shown beside it) and, for a multi-label model, every code above
    // the threshold, except codes asserting a fact the note does not document.
    Effect::new(move |_| {
        let threshold = decisions.threshold.get();
        let multi = matches!(client.status.get_untracked(), ModelStatus::Ready(ref m) if m.multi_label());
        if let Some(r) = client.result.get() {
            let pre = r
                .predictions
                .iter()
                .enumerate()
                .map(|(i, p)| (p.code.clone(), p.undocumented.is_empty() && (i == 0 || (multi && p.score >= threshold))))
                .collect();
            decisions.accepted.set(pre);
            decisions.rejected.set(Vec::new());
        }
    });
    // A new result selects its top code (shows its evidence).
    Effect::new(move |_| {
        decisions.selected.set(client.result.get().and_then(|r| r.predictions.first().map(|p| p.code.clone())));
    });
    // The model's tuned threshold is the slider's start.
    Effect::new(move |_| {
        if let ModelStatus::Ready(m) = client.status.get() {
            decisions.threshold.set(m.threshold);
        }
    });

    let codes_view = move || match table.status.get() {
        TableStatus::Loading => view! { <p class="status">"Loading the ICD-10-CM table…"</p> }.into_any(),
        TableStatus::Ready(summary) => view! { <CodeSearch summary=summary /> }.into_any(),
        TableStatus::Failed(e) => view! { <p class="error" role="alert">"Could not load the code table: " {e}</p> }.into_any(),
    };
    view! {
        <main>
            <div class="columns">
                <div class="col">
                    <NoteEditor />
                    <Suggestions />
                </div>
                <div class="col">
                    <ExportPanel />
                    {codes_view}
                </div>
            </div>
            <BatchPanel />
            <ModelPanel />
        </main>
    }
}

#[component]
fn NoteEditor() -> impl IntoView {
    let client = expect_context::<Client>();
    let note = RwSignal::new(SAMPLES[0].1.to_string());
    let code = move || {
        let text = note.get_untracked();
        if !text.trim().is_empty() && client.ready() {
            client.code(text, TOP_K);
        }
    };
    let on_sample = move |ev: leptos::ev::Event| {
        if let Ok(i) = event_target_value(&ev).parse::<usize>() {
            if let Some((_, text)) = SAMPLES.get(i) {
                note.set(text.to_string());
            }
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            code();
        }
    };
    let status_line = move || match client.status.get() {
        ModelStatus::Ready(_) if client.coding.get() => "Coding…".to_string(),
        ModelStatus::Ready(_) => "Ctrl+Enter codes the note.".to_string(),
        ModelStatus::NoBundle => "No model in this build: code search and export work; coding needs the model bundle.".into(),
        ModelStatus::Failed(_) => "The model could not be loaded (see the model panel).".into(),
        _ => "Loading the model…".into(),
    };
    view! {
        <section class="card" aria-labelledby="note-title">
            <h2 id="note-title">"Clinical note"</h2>
            <label for="sample">"Sample notes"</label>
            <select id="sample" on:change=on_sample>
                {SAMPLES.iter().enumerate().map(|(i, (name, _))| view! { <option value=i.to_string()>{*name}</option> }).collect_view()}
            </select>
            <label for="note">"Note text"</label>
            <textarea id="note" rows="8" spellcheck="false" on:keydown=on_key
                on:input=move |ev| note.set(event_target_value(&ev)) prop:value=move || note.get()></textarea>
            <div class="row">
                <button id="code-note" class="primary" on:click=move |_| code()
                    disabled=move || !client.ready() || client.coding.get()>"Code note"</button>
                <span class="hint" id="coding-status" aria-live="polite">{status_line}</span>
            </div>
            {move || client.code_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

/// "HCC V28 38" chips, titled with CMS's label, for a code that carries an HCC (the code
/// table worker adds them when it fuses the codes).
fn hcc_chips(p: &Prediction) -> Vec<AnyView> {
    p.hcc.iter().map(|f| view! { <span class="hcc" title=f.label.clone()>{format!("HCC {} {}", f.version, f.hcc)}</span> }.into_any()).collect()
}

fn chapter_title(table: &TableClient, n: u8) -> String {
    match table.status.get() {
        TableStatus::Ready(s) => s.chapter_title(n),
        _ => format!("Chapter {n}"),
    }
}

#[component]
fn Suggestions() -> impl IntoView {
    let client = expect_context::<Client>();
    let table = expect_context::<TableClient>();
    let d = expect_context::<Decisions>();
    let multi = move || matches!(client.status.get(), ModelStatus::Ready(ref m) if m.multi_label());
    // Codes below the relevance floor wait behind "Show more".
    let show_all = RwSignal::new(false);
    let rows = move || {
        let Some(r) = client.result.get() else {
            return view! { <p class="hint">"Code a note to see suggestions."</p> }.into_any();
        };
        if r.predictions.is_empty() {
            return view! { <p class="hint">"No codes."</p> }.into_any();
        }
        let (id, ms, pending, low, table_ms, windows) = (r.id, r.ms, r.evidence_pending, r.low_confidence, r.table_ms, r.windows);
        let note_id = id;
        let minor_count = r.predictions.iter().enumerate().filter(|(i, p)| is_minor(*i, p)).count();
        let items = r
            .predictions
            .into_iter()
            .enumerate()
            .map(|(rank, p)| {
                let minor = is_minor(rank, &p);
                let code = p.code.clone();
                let (c1, c2, c3) = (code.clone(), code.clone(), code.clone());
                let checked = move || d.accepted.get().get(&c1).copied().unwrap_or(false);
                let toggle = move |ev: leptos::ev::Event| d.toggle(&c2, event_target_checked(&ev));
                let c4 = c3.clone();
                let c5 = c3.clone();
                let selected = move || d.selected.get().as_deref() == Some(c3.as_str());
                let pressed = move || (d.selected.get().as_deref() == Some(c4.as_str())).to_string();
                let id = format!("accept-{}", p.code.replace('.', "_"));
                let pct = format!("{:.0}%", p.score * 100.0);
                let chapter = chapter_title(&table, p.chapter);
                let carried = p.score_from.clone().map(|from| {
                    view! {
                        <span class="undocumented" title="This code stands in for the more specific one, whose asserted fact the note does not document">
                            {format!("score of {from}")}
                        </span>
                    }
                });
                let undocumented = (!p.undocumented.is_empty()).then(|| {
                    let facts = p.undocumented.join(", ");
                    view! {
                        <span class="undocumented" title="The code's title asserts this; the note does not document it, so the code without it ranks first">
                            {format!("not documented: {facts}")}
                        </span>
                    }
                });
                let select = {
                    let code = code.clone();
                    move |_| d.selected.set(Some(code.clone()))
                };
                let hcc = hcc_chips(&p);
                let source = match p.source {
                    Source::Model => None,
                    Source::Table => Some(view! {
                        <span class="source" title="Matched from a diagnostic statement of the note against the whole ICD-10-CM table (not one of the model's labels); the percentage is the match">
                            "code table"
                        </span>
                    }),
                    Source::Both => Some(view! {
                        <span class="source" title="The model's code, confirmed by a diagnostic statement of the note">"model + code table"</span>
                    }),
                };
                let specific = p.specificity.clone().map(|s| specific_select(d, &p.code, s));
                // A `cls` model's demotion comes with its late evidence.
                let demoted = {
                    let code = code.clone();
                    let first = p.demoted;
                    move || {
                        let late = client
                            .evidence
                            .get()
                            .filter(|e| e.id == note_id)
                            .and_then(|e| e.predictions.into_iter().find(|q| q.code == code).and_then(|q| q.demoted));
                        first.or(late).map(|a| {
                            view! {
                                <span class="undocumented demoted" title="Every piece of evidence for this code is denied or about a relative">
                                    {format!("{} in the note", a.name())}
                                </span>
                            }
                        })
                    }
                };
                view! {
                    <li class="prediction" class:selected=selected data-code=p.code.clone()
                        hidden=move || minor && !show_all.get() on:keydown=move |ev| on_key(d, &c5, ev)>
                        <input type="checkbox" id=id.clone() prop:checked=checked on:change=toggle />
                        <label for=id class="accept">"Accept"</label>
                        <button class="pick" on:click=select aria-pressed=pressed
                            title="Show the evidence for this code">
                            <code>{p.code.clone()}</code>
                            <span class="desc">{p.description.clone()}</span>
                            <span class="chapter">{chapter}</span>
                            {undocumented}
                            {carried}
                            {demoted}
                            {hcc}
                            {source}
                        </button>
                        <span class="confidence">
                            <meter min="0" max="1" value=p.score.to_string() aria-label=format!("{} {pct}", if p.source == Source::Table { "match" } else { "confidence" })></meter>
                            <span class="pct">{pct}</span>
                        </span>
                        {specific}
                    </li>
                }
            })
            .collect_view();
        let low = low.then(|| {
            view! {
                <p class="low-confidence" id="low-confidence" role="status">
                    "Low confidence: neither the model nor the code table is sure of any code below. "
                    "The diagnosis may be outside what this tool knows: check the note and search the code table."
                </p>
            }
        });
        let more = (minor_count > 0).then(|| {
            view! {
                <button id="more-codes" class="link" aria-expanded=move || show_all.get().to_string()
                    on:click=move |_| show_all.update(|v| *v = !*v)>
                    {move || if show_all.get() {
                        format!("Hide the {minor_count} codes below {:.0} %", RELEVANCE_FLOOR * 100.0)
                    } else {
                        format!("Show {minor_count} more codes (below {:.0} %)", RELEVANCE_FLOOR * 100.0)
                    }}
                </button>
            }
        });
        view! {
            {low}
            <ol class="predictions" id="predictions">{items}</ol>
            <p class="hint">{move || timing(id, ms, windows, table_ms, pending, client.evidence.get().as_ref())}</p>
            {more}
            <p class="hint keys">"Keys on a code: ↑ / ↓ move, A accepts, X rejects, Enter shows its evidence."</p>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="results-title">
            <h2 id="results-title">"Suggested codes"</h2>
            <Show when=multi>
                <label for="threshold">{move || format!("Threshold: {:.2} (codes above it are preselected)", d.threshold.get())}</label>
                <input id="threshold" type="range" min="0" max="1" step="0.01" prop:value=move || d.threshold.get().to_string()
                    on:input=move |ev| if let Ok(v) = event_target_value(&ev).parse() { d.threshold.set(v) } />
            </Show>
            {rows}
            <Evidence />
        </section>
    }
}

/// A model score under which a suggestion is noise unless it is among the first three.
const RELEVANCE_FLOOR: f32 = 0.05;

/// Shown only on request: past the first three, a model code under [`RELEVANCE_FLOOR`] (code
/// table matches passed their own floor).
fn is_minor(rank: usize, p: &Prediction) -> bool {
    rank >= 3 && p.source != Source::Table && p.score < RELEVANCE_FLOOR
}

/// Keyboard on a suggestion: arrows move between the visible codes, A accepts, X rejects.
fn on_key(d: Decisions, code: &str, ev: leptos::ev::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    let Some(li) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
    // Only on the code's own button: the checkbox and the select keep their keys.
    if ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_none_or(|t| t.tag_name() != "BUTTON") {
        return;
    }
    let step = |mut el: Option<web_sys::Element>, down: bool| {
        while let Some(e) = el {
            if !e.has_attribute("hidden") {
                return Some(e);
            }
            el = if down { e.next_element_sibling() } else { e.previous_element_sibling() };
        }
        None
    };
    match ev.key().as_str() {
        "a" | "A" => d.toggle(code, true),
        "x" | "X" => d.toggle(code, false),
        k @ ("ArrowDown" | "ArrowUp") => {
            let down = k == "ArrowDown";
            let next = step(if down { li.next_element_sibling() } else { li.previous_element_sibling() }, down);
            if let Some(b) = next.and_then(|n| n.query_selector("button.pick").ok().flatten()).and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok()) {
                ev.prevent_default();
                let _ = b.focus();
            }
        }
        _ => {}
    }
}

/// A select of the more specific codes (7th character, laterality, type): picking one adds it
/// to the accepted codes in place of the suggestion, and records it.
fn specific_select(d: Decisions, code: &str, s: Specificity) -> AnyView {
    let id = format!("spec-{}", code.replace('.', "_"));
    let facts = s.facts.join(", ");
    let from = code.to_string();
    let options = s.options.clone();
    let pick = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        let Some(o) = options.iter().find(|o| o.code == chosen) else { return };
        d.accepted.update(|a| {
            a.insert(from.clone(), false);
        });
        d.manual.update(|m| {
            if !m.iter().any(|x| x.code == o.code) {
                m.push(Accepted { code: o.code.clone(), description: o.description.clone(), score: None, poa: None, source: None, evidence: Vec::new() });
            }
        });
        d.record(Action::Added, &o.code, format!("more specific than {from}: {}", o.description));
    };
    view! {
        <span class="specific">
            <label for=id.clone()>{format!("More specific ({facts}):")}</label>
            <select id=id on:change=pick>
                <option value="">"choose…"</option>
                {s.options.iter().map(|o| view! { <option value=o.code.clone()>{format!("{} {}", o.code, o.description)}</option> }).collect_view()}
            </select>
        </span>
    }
    .into_any()
}

/// "120 ms on this device; code table 4 ms", "(3 windows on 2 workers)" when the note's
/// windows were split across the pool, and the evidence's own time once it has come.
fn timing(id: u32, ms: f64, windows: Option<(usize, usize)>, table_ms: Option<f64>, evidence_pending: bool, late: Option<&LateEvidence>) -> String {
    let mut s = format!("{ms:.0} ms on this device");
    if let Some((n, w)) = windows {
        s.push_str(&format!(" ({n} windows on {w} workers)"));
    }
    if let Some(t) = table_ms {
        s.push_str(&format!("; code table {t:.0} ms"));
    }
    if let Some(e) = late.filter(|e| evidence_pending && e.id == id) {
        s.push_str(&format!("; evidence {:.0} ms", e.ms));
    }
    s
}

#[component]
fn Evidence() -> impl IntoView {
    let client = expect_context::<Client>();
    let d = expect_context::<Decisions>();
    let body = move || {
        let r = client.result.get()?;
        let code = d.selected.get()?;
        let p = r.predictions.iter().find(|p| p.code == code)?;
        // A `cls` model's evidence follows the codes (client::LateEvidence); a code table
        // match has its statement already.
        let spans = if r.evidence_pending && p.source != Source::Table {
            match client.evidence.get().filter(|e| e.id == r.id) {
                Some(e) => {
                    let mut spans = e.predictions.into_iter().find(|q| q.code == code).map(|q| q.evidence).unwrap_or_default();
                    spans.extend(p.evidence.iter().filter(|s| !spans.iter().any(|x| x.start == s.start && x.end == s.end)).cloned().collect::<Vec<_>>());
                    spans
                }
                None => {
                    return Some(
                        view! {
                            <h3>"Evidence for " <code>{code}</code></h3>
                            <p class="hint" id="evidence-pending">
                                "Finding the evidence: the model re-reads the note without each sentence…"
                            </p>
                        }
                        .into_any(),
                    )
                }
            }
        } else {
            p.evidence.clone()
        };
        let pieces = evidence::segments(&r.text, &spans)
            .into_iter()
            .map(|(text, w)| match w {
                // Four strengths, as classes (the CSP allows no inline styles).
                Some((w, Assertion::Present)) => {
                    let class = format!("ev ev{}", ((w * 4.0).ceil() as u8).clamp(1, 4));
                    view! { <mark class=class>{text}</mark> }.into_any()
                }
                // Negated, a relative's, historical, ...: said in words, not by colour alone.
                Some((w, a)) => {
                    let class = format!("ev ev{} asserted", ((w * 4.0).ceil() as u8).clamp(1, 4));
                    view! {
                        <mark class=class data-assertion=a.name() title=format!("The note says this is {}", a.name())>{text}</mark>
                        <small class="assertion">{format!(" [{}]", a.name())}</small>
                    }
                    .into_any()
                }
                None => view! { <span>{text}</span> }.into_any(),
            })
            .collect_view();
        let none = spans.is_empty().then(|| view! { <p class="hint">"The model gave no evidence for this code."</p> });
        Some(
            view! {
                <h3>"Evidence for " <code>{code}</code></h3>
                <p class="evidence" id="evidence">{pieces}</p>
                {none}
            }
            .into_any(),
        )
    };
    view! { <div class="evidence-box" aria-live="polite">{body}</div> }
}
