//! One definition of every file format the crates exchange. The trainer, `icd-quantize`, `icd`,
//! `icd serve` and the browser all read and write these types, never their own copies.
//!
//! | file | type | written by | read by |
//! | --- | --- | --- | --- |
//! | checkpoint `config.json` | [`checkpoint::BertConfig`], [`checkpoint::IcdConfig`], [`checkpoint::ModelConfig`] | trainer | trainer (resume), quantize, model loader |
//! | tensor names of `model.safetensors` / `model.gguf` | [`weights::canonical_name`] | trainer, quantize | trainer (base model), model loader |
//! | bundle `manifest.json` | [`manifest::Manifest`] | quantize | `icd`, `icd serve`, web worker, web page |
//! | evaluation report (`metrics.json`, `icd eval`, manifest `metrics`) | [`report::EvalReport`] | trainer, quantize, `icd eval` | people, tests |
//! | prediction (JSON / JSONL) | [`prediction::CodedLabel`], [`prediction::NotePrediction`] | `icd predict`, `icd serve`, worker | page, tests |
//!
//! CSV and FHIR are views of a prediction, in [`crate::export`].

pub mod checkpoint;
pub mod manifest;
pub mod prediction;
pub mod report;
pub mod weights;
