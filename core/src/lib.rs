//! `icd-core`: everything the browser and the server share.
//!
//! This crate does no file or network I/O: callers hand it bytes, so the same
//! code runs in a Web Worker (wasm32) and in the native `icd` command.
//!
//! Rooms:
//! - [`table`], [`search`], [`labels`], [`rules`], [`hcc`]: the code table, its search, label spaces,
//!   coding-rule checks and HCC categories, from the
//!   `icd-codes` crate (re-exported: the page's main thread needs only those).
//! - [`dataset`]: the JSONL record every dataset uses.
//! - [`documentation`]: facts a code's title asserts that the note must document (J45.901's exacerbation).
//! - [`schema`]: one definition of every file format (checkpoint config, tensor names, bundle
//!   manifest, evaluation report, prediction).
//! - [`export`]: predictions as JSONL, JSON, CSV and FHIR R4 (CLI, service and app).
//! - [`metrics`]: classification metrics shared by the trainer, `icd eval` and the bundle.
//! - [`evaluate`]: a model's scores on a labelled test set -> an evaluation report.
//! - [`candidates`]: codes from the whole table for the note's diagnostic statements, fused with
//!   the model's; specificity options; the low-confidence flag.
//! - [`sections`]: chart section headers, and which sections hold the diagnostic statements.
//! - [`assertion`]: whether a mentioned condition is present, negated, historical, a relative's, hypothetical or uncertain (ConText).
//! - [`tokenize`]: note tokenization and chunking (shared with the trainer).
//! - [`model`]: the BERT + ICD head forward pass (candle, f32 or Q8_0 weights; the int8 GEMM,
//!   attention and norms from `icd-kernels`).
//! - [`evidence`]: the spans that support a code (label attention or sentence occlusion), each
//!   with its assertion; codes whose only evidence the note denies are ranked down.
//! - [`bundle`]: the int8 model bundle: sha256 verification, GGUF and bundle writing.
//! - [`coder`]: [`Coder`], note in, ranked codes with evidence out (web worker and `icd`).

#![forbid(unsafe_code)]

pub mod assertion;
pub mod bundle;
pub mod candidates;
pub mod coder;
pub mod dataset;
pub mod documentation;
pub mod evaluate;
pub mod evidence;
pub mod export;
mod knowledge;
pub mod metrics;
pub mod model;
pub mod schema;
pub mod sections;
mod sequencing;
pub mod tokenize;

pub use bundle::{verify, BundleError, BundleLabel, Manifest};
pub use coder::{CodedLabel, Coder, EvidenceMethod, EvidenceSpan};
pub use evidence::Span;
pub use export::fhir;
pub use icd_codes::{hcc, labels, rules, search, specificity, table};
pub use icd_codes::{Code, CodeTable, CodeTableError, LabelError, LabelSpace, SearchHit, SearchIndex};
pub use model::{I8Matmul, IcdModel, Int8Kernel, ModelError, Prediction};
pub use schema::checkpoint::{BertConfig, HeadKind, IcdConfig, InputLayout, ModelConfig, Objective};
pub use schema::prediction::{NotePrediction, Source};
pub use schema::report::EvalReport;
pub use sections::{Section, SectionKind};
pub use tokenize::{Chunk, Encoded, NoteTokenizer, TokenizeError};
