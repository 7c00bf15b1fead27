//! `icd-core`: everything the browser and the server share.
//!
//! This crate does no file or network I/O: callers hand it bytes, so the same
//! code runs in a Web Worker (wasm32) and in the native `icd` command.
//!
//! Rooms:
//! - [`codes`]: the ICD-10-CM code table (every code, billable flag, hierarchy, notes).
//! - [`search`]: ranked free-text and code-prefix search over that table.
//! - [`labels`]: a model's label space (a TSV of billable codes), validated against the table.
//! - [`dataset`]: the JSONL record every dataset uses.
//! - [`documentation`]: facts a code's title asserts that the note must document (J45.901's exacerbation).
//! - [`schema`]: one definition of every file format (checkpoint config, tensor names, bundle
//!   manifest, evaluation report, prediction).
//! - [`export`]: predictions as JSONL, JSON, CSV and FHIR R4 (CLI, service and app).
//! - [`metrics`]: classification metrics shared by the trainer, `icd eval` and the bundle.
//! - [`evaluate`]: a model's scores on a labelled test set -> an evaluation report.
//! - [`sections`]: chart section headers, and which sections hold the diagnostic statements.
//! - [`tokenize`]: note tokenization and chunking (shared with the trainer).
//! - [`model`]: the BERT + ICD head forward pass (candle, f32 or Q8_0 weights), and evidence spans.
//! - [`bundle`]: the int8 model bundle: sha256 verification, GGUF and bundle writing.
//! - [`coder`]: [`Coder`], note in, ranked codes with evidence out (web worker and `icd`).

pub mod bundle;
pub mod coder;
pub mod codes;
pub mod dataset;
pub mod documentation;
pub mod evaluate;
pub mod export;
pub mod labels;
pub mod metrics;
pub mod model;
pub mod schema;
pub mod search;
pub mod sections;
pub mod tokenize;

pub use bundle::{verify, BundleError, BundleLabel, Manifest};
pub use coder::{CodedLabel, Coder, EvidenceMethod, EvidenceSpan};
pub use codes::{Code, CodeTable, CodeTableError};
pub use export::fhir;
pub use labels::{LabelError, LabelSpace};
pub use model::{evidence, I8Matmul, IcdModel, Int8Kernel, ModelError, Prediction, Span};
pub use schema::checkpoint::{BertConfig, HeadKind, IcdConfig, InputLayout, ModelConfig, Objective};
pub use schema::prediction::NotePrediction;
pub use schema::report::EvalReport;
pub use search::{SearchHit, SearchIndex};
pub use sections::{Section, SectionKind};
pub use tokenize::{Chunk, Encoded, NoteTokenizer, TokenizeError};
