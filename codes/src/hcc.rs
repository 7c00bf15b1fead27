//! CMS-HCC risk-adjustment categories: which hierarchical condition category (HCC) a
//! billable code falls in, for each model version shipped in the code table (V28, V24).
//!
//! Built into the table by `icd-data build-table` from `data/hcc/` (see its README for the
//! CMS source files); this module only holds and looks up what was built.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One CMS-HCC model's mapping.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HccModel {
    /// `V28`, `V24`.
    pub version: String,
    /// Where the mapping comes from (CMS file and year), shown in docs and exports.
    pub source: String,
    /// HCC number -> CMS label.
    pub labels: BTreeMap<u16, String>,
    /// Dotted code -> its HCCs (a few codes map to two).
    pub by_code: BTreeMap<String, Vec<u16>>,
}

/// A code's category in one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HccFlag {
    pub version: String,
    pub hcc: u16,
    pub label: String,
}

impl HccModel {
    /// The code's HCCs in this model (empty when it carries none). `code` is dotted (`E11.9`).
    pub fn flags(&self, code: &str) -> Vec<HccFlag> {
        self.by_code
            .get(code)
            .map(|hccs| {
                hccs.iter().map(|&hcc| HccFlag { version: self.version.clone(), hcc, label: self.labels.get(&hcc).cloned().unwrap_or_default() }).collect()
            })
            .unwrap_or_default()
    }
}
