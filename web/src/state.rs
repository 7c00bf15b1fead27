//! The page's shared state, in its own module so the page (`app`) and its panels
//! (`panels`) both use it without using each other: what the user decided about the codes
//! (with the decision record kept on this device). The code table lives in its worker
//! (`table_client`).

use std::collections::HashMap;

use icd_core::rules::{Patient, Setting, Sex};
use icd_web::export::Accepted;
use icd_web::record::{Action, Decision, Poa};
use leptos::prelude::*;

use crate::client::Client;
use crate::{dom, store};

/// Predictions asked of the model per note.
pub const TOP_K: usize = 10;

/// What the user decided: accepted model codes (by code), codes added by hand, the principal
/// diagnosis, present-on-admission indicators, and the record of every decision.
#[derive(Clone, Copy)]
pub struct Decisions {
    pub accepted: RwSignal<HashMap<String, bool>>,
    /// Suggestions the coder unticked (rejected) for the current result, in that order.
    pub rejected: RwSignal<Vec<String>>,
    pub manual: RwSignal<Vec<Accepted>>,
    pub threshold: RwSignal<f32>,
    pub selected: RwSignal<Option<String>>,
    /// The principal (first-listed) diagnosis; `None`: the first accepted code.
    pub principal: RwSignal<Option<String>>,
    pub inpatient: RwSignal<bool>,
    /// What the coder says of the patient, for the age and sex edits (not recorded, not sent).
    pub age: RwSignal<Option<u32>>,
    pub sex: RwSignal<Option<Sex>>,
    pub poa: RwSignal<HashMap<String, Poa>>,
    /// This device's decision record (IndexedDB), oldest first.
    pub log: RwSignal<Vec<Decision>>,
    /// Why the record could not be read or written, if it could not.
    pub log_error: RwSignal<Option<String>>,
}

impl Decisions {
    /// Adds a decision to the record, in memory and in IndexedDB.
    pub fn record(&self, action: Action, code: &str, detail: impl Into<String>) {
        let d = Decision { at: dom::now_iso(), action, code: code.to_string(), detail: detail.into() };
        self.log.update(|l| l.push(d.clone()));
        let err = self.log_error;
        leptos::task::spawn_local(async move {
            if let Err(e) = store::append(&d).await {
                err.set(Some(format!("The decision record could not be saved on this device: {e}")));
            }
        });
    }

    /// Loads the record kept on this device.
    pub fn load_record(&self) {
        let (log, err) = (self.log, self.log_error);
        leptos::task::spawn_local(async move {
            match store::load().await {
                Ok(saved) => log.update(|l| {
                    let now = std::mem::take(l);
                    *l = saved;
                    l.extend(now);
                }),
                Err(e) => err.set(Some(format!("The decision record on this device could not be read: {e}"))),
            }
        });
    }

    /// The accepted codes in reporting order: the principal first, then accepted model codes
    /// (in rank order), then codes added by hand; each with its POA when inpatient.
    pub fn list(&self, client: &Client) -> Vec<Accepted> {
        let mut out = self.unordered(client);
        let principal = self.principal.get();
        if let Some(i) = principal.and_then(|p| out.iter().position(|a| a.code == p)) {
            let p = out.remove(i);
            out.insert(0, p);
        }
        if self.inpatient.get() {
            let poa = self.poa.get();
            for a in &mut out {
                a.poa = poa.get(&a.code).copied();
            }
        }
        out
    }

    fn unordered(&self, client: &Client) -> Vec<Accepted> {
        let accepted = self.accepted.get();
        let mut out = suggested(client, |code| accepted.get(code).copied().unwrap_or(false));
        for m in self.manual.get() {
            if !out.iter().any(|a| a.code == m.code) {
                out.push(m);
            }
        }
        out
    }

    /// The suggestions the coder rejected (unticked) and has not accepted since.
    pub fn rejected_list(&self, client: &Client) -> Vec<Accepted> {
        let (accepted, rejected) = (self.accepted.get(), self.rejected.get());
        suggested(client, |code| rejected.iter().any(|r| r == code) && !accepted.get(code).copied().unwrap_or(false))
    }

    /// The patient as the coding rules see it: the age and sex given, the setting.
    pub fn patient(&self) -> Patient {
        Patient { age: self.age.get(), sex: self.sex.get(), setting: if self.inpatient.get() { Setting::Inpatient } else { Setting::Outpatient } }
    }

    /// Ticks or unticks a suggestion, and records it.
    pub fn toggle(&self, code: &str, on: bool) {
        self.accepted.update(|a| {
            a.insert(code.to_string(), on);
        });
        self.rejected.update(|r| {
            r.retain(|c| c != code);
            if !on {
                r.push(code.to_string());
            }
        });
        self.record(if on { Action::Accepted } else { Action::Rejected }, code, "");
    }
}

/// The current result's suggestions that `keep`, in rank order, with their evidence's words.
fn suggested(client: &Client, keep: impl Fn(&str) -> bool) -> Vec<Accepted> {
    client
        .result
        .get()
        .map(|r| {
            r.predictions
                .iter()
                .filter(|p| keep(&p.code))
                .map(|p| Accepted {
                    code: p.code.clone(),
                    description: p.description.clone(),
                    score: Some(p.score),
                    poa: None,
                    source: Some(p.source),
                    evidence: p.evidence.iter().filter_map(|s| r.text.get(s.start..s.end)).map(str::to_string).collect(),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Default for Decisions {
    /// Nothing accepted or added yet; the model's default threshold.
    fn default() -> Self {
        Decisions {
            accepted: RwSignal::new(HashMap::new()),
            rejected: RwSignal::new(Vec::new()),
            manual: RwSignal::new(Vec::new()),
            threshold: RwSignal::new(0.5),
            selected: RwSignal::new(None),
            principal: RwSignal::new(None),
            inpatient: RwSignal::new(false),
            age: RwSignal::new(None),
            sex: RwSignal::new(None),
            poa: RwSignal::new(HashMap::new()),
            log: RwSignal::new(Vec::new()),
            log_error: RwSignal::new(None),
        }
    }
}
