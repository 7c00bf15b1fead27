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
//! - [`fhir`]: suggested codes as FHIR R4 `Condition` resources (CLI and service).
//! - [`metrics`]: classification metrics shared by the trainer, `icd eval` and the bundle.
//! - [`sections`]: chart section headers, and which sections hold the diagnostic statements.
//! - [`tokenize`]: note tokenization and chunking (shared with the trainer).
//! - [`model`]: the BERT + ICD head forward pass (candle, f32 or Q8_0 weights), and evidence spans.
//! - [`bundle`]: the int8 model bundle: manifest, sha256 verification, GGUF writing.
//! - [`coder`]: [`Coder`], note in, ranked codes with evidence out (web worker and `icd`).

pub mod bundle;
pub mod coder;
pub mod codes;
pub mod dataset;
pub mod documentation;
pub mod fhir;
pub mod labels;
pub mod metrics;
pub mod model;
pub mod search;
pub mod sections;
pub mod tokenize;

pub use bundle::{verify, BundleError, BundleLabel, Manifest};
pub use coder::{CodedLabel, Coder, EvidenceMethod, EvidenceSpan};
pub use codes::{Code, CodeTable, CodeTableError};
pub use labels::{LabelError, LabelSpace};
pub use model::{evidence, I8Matmul, IcdModel, Int8Kernel, ModelConfig, ModelError, Prediction, Span};
pub use search::{SearchHit, SearchIndex};
pub use sections::{Section, SectionKind};
pub use tokenize::{Chunk, Encoded, InputLayout, NoteTokenizer, TokenizeError};
