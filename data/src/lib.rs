//! `icd-data`: builds the project's data.
//!
//! - [`tabular`]: the CMS tabular XML -> the compact code table `icd-core` loads.
//! - [`knowledge`]: the hand-written clinical knowledge table, embedded and validated.
//! - [`generate`]: synthetic clinical notes (`icd-data generate`).
//! - [`import`]: a user's own notes, CSV or JSONL, validated and split (`icd-data import`).
//! - [`baseline`]: a bag-of-words naive Bayes baseline that measures how easy a set is.
//! - [`card`]: the dataset card (`DATASET.md`).
//!
//! All datasets are [`icd_core::dataset::Record`] JSONL.
#![forbid(unsafe_code)]

pub mod baseline;
pub mod card;
pub mod generate;
pub mod hcc;
pub mod import;
pub mod knowledge;
pub mod tabular;
