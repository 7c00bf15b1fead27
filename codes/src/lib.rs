//! `icd-codes`: the ICD-10-CM code table and what is built on it alone, everything the
//! page's main thread needs for code search (no model, no tensors, no I/O: callers hand it
//! bytes).
//!
//! Rooms:
//! - [`table`]: the code table (every code, billable flag, hierarchy, notes) and its stored form.
//! - [`search`]: ranked free-text and code-prefix search over that table.
//! - [`labels`]: a model's label space (a TSV of billable codes), validated against the table.
#![forbid(unsafe_code)]

pub mod labels;
pub mod search;
pub mod table;

pub use labels::{LabelError, LabelSpace};
pub use search::{SearchHit, SearchIndex};
pub use table::{Code, CodeTable, CodeTableError};
