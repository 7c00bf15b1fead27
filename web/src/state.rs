//! The page's shared state, in its own module so the page (`app`) and its panels
//! (`panels`) both use it without using each other: the code table with its search index,
//! and what the user decided about the codes.

use std::collections::HashMap;
use std::sync::Arc;

use icd_core::{CodeTable, SearchIndex};
use icd_web::export::Accepted;
use leptos::prelude::*;

use crate::client::Client;
use crate::dom;

/// Relative, so the site works under a sub-path (GitHub Pages project sites).
const TABLE_URL: &str = "./icd10cm.table";
/// Predictions asked of the model per note.
pub const TOP_K: usize = 10;

pub struct Codes {
    pub table: CodeTable,
    pub index: SearchIndex,
}

pub async fn load_codes() -> Result<Arc<Codes>, String> {
    let bytes = dom::fetch_bytes(TABLE_URL).await?;
    let table = CodeTable::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let index = SearchIndex::build(&table);
    Ok(Arc::new(Codes { table, index }))
}

/// What the user decided: accepted model codes (by code) and codes added by hand.
#[derive(Clone, Copy)]
pub struct Decisions {
    pub accepted: RwSignal<HashMap<String, bool>>,
    pub manual: RwSignal<Vec<Accepted>>,
    pub threshold: RwSignal<f32>,
    pub selected: RwSignal<Option<String>>,
}

impl Decisions {
    /// Accepted model codes (in rank order), then codes added by hand.
    pub fn list(&self, client: &Client) -> Vec<Accepted> {
        let accepted = self.accepted.get();
        let mut out: Vec<Accepted> = client
            .result
            .get()
            .map(|r| {
                r.predictions
                    .iter()
                    .filter(|p| accepted.get(&p.code).copied().unwrap_or(false))
                    .map(|p| Accepted { code: p.code.clone(), description: p.description.clone(), score: Some(p.score) })
                    .collect()
            })
            .unwrap_or_default();
        for m in self.manual.get() {
            if !out.iter().any(|a| a.code == m.code) {
                out.push(m);
            }
        }
        out
    }
}

impl Default for Decisions {
    /// Nothing accepted or added yet; the model's default threshold.
    fn default() -> Self {
        Decisions { accepted: RwSignal::new(HashMap::new()), manual: RwSignal::new(Vec::new()), threshold: RwSignal::new(0.5), selected: RwSignal::new(None) }
    }
}
