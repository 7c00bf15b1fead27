//! The browser app's plain-Rust parts, shared by the page (`main.rs`), the model worker
//! (`bin/worker.rs`) and the code table worker (`bin/codes.rs`), and unit-tested natively
//! (`cargo test -p icd-web`): the page/worker message protocols and the code table service, the sample notes, batch file parsing, export
//! (clipboard text, CSV, FHIR R4, `icd predict` JSONL/CSV), evidence helpers and the coder's
//! decision record.
#![forbid(unsafe_code)]

pub mod batch;
pub mod codes;
pub mod evidence;
pub mod export;
pub mod js;
pub mod pool;
pub mod protocol;
pub mod record;
pub mod samples;
