//! The code table worker's messages and what it does with them: the ICD-10-CM table and its
//! search index live in their own Web Worker (`bin/codes.rs`), so decoding the table and
//! building the index (about a second on the main thread) never freeze the page.
//!
//! ```text
//! page → codes worker                          codes worker → page
//!                                              Started
//! Load { url }                             →   Ready { summary } or Error { id: None }
//! Search { id, query, limit }              →   Hits { id, hits }
//! Fuse { id, text, predictions, top_k }    →   Fused { id, predictions, low_confidence, ms }
//! FuseBatch { id, notes, results, top_k }  →   FusedBatch { id, results, ms }
//! Check { id, codes, patient }             →   Checked { id, checked }
//! ```
//! Every answer carries its request's id; a request that fails gets `Error { id: Some(id) }`.
//! The worker fetches only the table, from the site itself; notes arrive by `postMessage` and
//! leave it only as answers to the page.

use icd_core::rules::{self, Checked, Patient};
use icd_core::{candidates, CodeTable, NotePrediction, SearchIndex};
use serde::{Deserialize, Serialize};

use crate::protocol::{Note, Prediction};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToCodes {
    /// Fetch the table at `url` (relative to the worker), decode it and build its index.
    Load {
        url: String,
    },
    Search {
        id: u32,
        query: String,
        limit: usize,
    },
    /// The model's codes for `text`, to fuse with the codes its statements match in the table.
    Fuse {
        id: u32,
        text: String,
        predictions: Vec<Prediction>,
        top_k: usize,
    },
    /// A batch's model results (in `notes` order), to fuse each with the table's codes.
    FuseBatch {
        id: u32,
        notes: Vec<Note>,
        results: Vec<NotePrediction>,
        top_k: usize,
    },
    /// The coding rules on a list of codes (first = first-listed).
    Check {
        id: u32,
        codes: Vec<String>,
        patient: Patient,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum FromCodes {
    /// The worker is listening (its wasm starts asynchronously): `Load` goes after this.
    Started,
    Ready {
        summary: TableSummary,
    },
    /// `id` is the request that failed; `None` for the load itself.
    Error {
        id: Option<u32>,
        message: String,
    },
    Hits {
        id: u32,
        hits: Vec<Hit>,
    },
    /// `ms`: the worker's own time for the match and fusion.
    Fused {
        id: u32,
        predictions: Vec<Prediction>,
        low_confidence: bool,
        ms: f64,
    },
    FusedBatch {
        id: u32,
        results: Vec<NotePrediction>,
        ms: f64,
    },
    Checked {
        id: u32,
        checked: Checked,
    },
}

impl FromCodes {
    /// The request this answers; `None` for `Started`, `Ready` and a failed load.
    pub fn id(&self) -> Option<u32> {
        match self {
            FromCodes::Started | FromCodes::Ready { .. } => None,
            FromCodes::Error { id, .. } => *id,
            FromCodes::Hits { id, .. } | FromCodes::Fused { id, .. } | FromCodes::FusedBatch { id, .. } | FromCodes::Checked { id, .. } => Some(*id),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("serializing a message cannot fail")
    }
}

impl ToCodes {
    /// The request's id; `None` for `Load`.
    pub fn id(&self) -> Option<u32> {
        match self {
            ToCodes::Load { .. } => None,
            ToCodes::Search { id, .. } | ToCodes::Fuse { id, .. } | ToCodes::FuseBatch { id, .. } | ToCodes::Check { id, .. } => Some(*id),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("serializing a message cannot fail")
    }
}

/// What the page shows of the table without holding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSummary {
    pub release: String,
    pub billable: usize,
    /// Chapter number and title.
    pub chapters: Vec<(u8, String)>,
    /// Milliseconds from `Load` to `Ready` (fetch, decode, index).
    pub load_ms: f64,
}

impl TableSummary {
    /// "Chapter 10: Diseases of the respiratory system (J00-J99)".
    pub fn chapter_title(&self, n: u8) -> String {
        match self.chapters.iter().find(|(k, _)| *k == n) {
            Some((_, t)) => format!("Chapter {n}: {t}"),
            None => format!("Chapter {n}"),
        }
    }
}

/// One code search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub code: String,
    pub description: String,
    pub billable: bool,
}

/// The table and its index, and the answer to each request (the worker's state; plain Rust,
/// tested natively on the real table).
pub struct CodeService {
    table: CodeTable,
    index: SearchIndex,
}

impl CodeService {
    /// Decodes the table (`icd10cm.table`) and builds its search index.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let table = CodeTable::from_bytes(bytes).map_err(|e| format!("icd10cm.table: {e}"))?;
        let index = SearchIndex::build(&table);
        Ok(CodeService { table, index })
    }

    pub fn summary(&self, load_ms: f64) -> TableSummary {
        TableSummary {
            release: self.table.release.clone(),
            billable: self.table.billable().count(),
            chapters: self.table.chapters.iter().map(|c| (c.number, c.title.clone())).collect(),
            load_ms,
        }
    }

    /// The answer to a request; `now` is a clock in milliseconds (for `ms`).
    pub fn answer(&self, msg: ToCodes, now: impl Fn() -> f64) -> FromCodes {
        match msg {
            ToCodes::Load { .. } => FromCodes::Error { id: None, message: "the code table is already loaded".into() },
            ToCodes::Search { id, query, limit } => {
                let hits = self
                    .index
                    .search(&self.table, &query, limit)
                    .into_iter()
                    .map(|h| {
                        let c = &self.table.codes()[h.index];
                        Hit { code: c.code.clone(), description: c.description.clone(), billable: c.billable }
                    })
                    .collect();
                FromCodes::Hits { id, hits }
            }
            ToCodes::Fuse { id, text, predictions, top_k } => {
                let t0 = now();
                let (mut predictions, low_confidence) = Prediction::fuse(&self.table, &self.index, &text, predictions, top_k);
                for p in &mut predictions {
                    p.hcc = self.table.get(&p.code).map(|c| self.table.hcc(c)).unwrap_or_default();
                }
                FromCodes::Fused { id, predictions, low_confidence, ms: now() - t0 }
            }
            ToCodes::FuseBatch { id, notes, mut results, top_k } => {
                if notes.len() != results.len() {
                    return FromCodes::Error { id: Some(id), message: format!("{} notes but {} results", notes.len(), results.len()) };
                }
                let t0 = now();
                for (r, n) in results.iter_mut().zip(&notes) {
                    if r.error.is_none() {
                        let model = std::mem::take(&mut r.predictions);
                        let fused = candidates::fuse_note(&self.table, &self.index, &n.text, model, top_k);
                        r.predictions = fused.codes;
                        r.low_confidence = fused.low_confidence;
                    }
                }
                FromCodes::FusedBatch { id, results, ms: now() - t0 }
            }
            ToCodes::Check { id, codes, patient } => {
                let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
                FromCodes::Checked { id, checked: rules::check(&self.table, &refs, &patient) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_tagged_json() {
        let m = ToCodes::Check {
            id: 4,
            codes: vec!["O80".into()],
            patient: Patient { age: Some(70), sex: Some(rules::Sex::Male), setting: rules::Setting::Inpatient },
        };
        let j = m.to_json();
        assert!(j.contains(r#""type":"Check""#), "{j}");
        assert_eq!(serde_json::from_str::<ToCodes>(&j).unwrap(), m);
        let r = FromCodes::Hits { id: 9, hits: vec![Hit { code: "J45.909".into(), description: "Unspecified asthma, uncomplicated".into(), billable: true }] };
        assert_eq!(serde_json::from_str::<FromCodes>(&r.to_json()).unwrap(), r);
        assert_eq!(r.id(), Some(9));
        assert_eq!(FromCodes::Error { id: None, message: "x".into() }.id(), None);
    }

    #[test]
    fn chapter_titles_fall_back_to_the_number() {
        let s = TableSummary { release: "2026".into(), billable: 1, chapters: vec![(10, "Diseases of the respiratory system (J00-J99)".into())], load_ms: 0.0 };
        assert_eq!(s.chapter_title(10), "Chapter 10: Diseases of the respiratory system (J00-J99)");
        assert_eq!(s.chapter_title(3), "Chapter 3");
    }
}
