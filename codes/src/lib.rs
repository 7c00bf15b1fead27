//! `icd-codes`: the ICD-10-CM code table and what is built on it alone, everything the
//! page's main thread needs for code search (no model, no tensors, no I/O: callers hand it
//! bytes).
//!
//! Rooms:
//! - [`table`]: the code table (every code, billable flag, hierarchy, notes) and its stored form.
//! - [`search`]: ranked free-text and code-prefix search over that table.
//! - [`specificity`]: the more specific billable codes under a code whose title leaves facts open
//!   (7th character, laterality, type), with those facts named.
//! - [`hcc`]: CMS-HCC risk-adjustment categories (V28, V24) of each billable code.
//! - [`rules`]: the coder's checks on a list of codes (Excludes1/2, code first, use additional,
//!   code also, validity, 7th character, age and sex, sequencing).
//! - [`labels`]: a model's label space (a TSV of billable codes), validated against the table.
#![forbid(unsafe_code)]

pub mod hcc;
pub mod labels;
pub mod rules;
pub mod search;
pub mod specificity;
pub mod table;

pub use hcc::{HccFlag, HccModel};
pub use labels::{LabelError, LabelSpace};
pub use rules::{check, Checked, Patient, RuleKind, RuleMessage, Setting, Severity, Sex};
pub use search::{SearchHit, SearchIndex, WordMatch};
pub use specificity::{SpecificOption, Specificity};
pub use table::{Code, CodeTable, CodeTableError, Notes};
