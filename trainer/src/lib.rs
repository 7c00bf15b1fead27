//! `icd-trainer`: fine-tunes a BERT-family encoder for ICD-10-CM coding with tch.
//!
//! - [`bert`]: the encoder, Hugging Face parameter names.
//! - [`model`]: encoder + `cls` or label-attention head, batching of chunked notes, losses.
//! - [`base`]: loading a base model folder (safetensors or pytorch_model.bin; tokenizer.json or vocab.txt).
//! - [`data`]: JSONL splits -> chunked ids + label ids; length-bucketed batches.
//! - [`config`]: what a run is told (plain structs; `icd-train` parses its flags into them).
//! - [`state`]: what a run carries: the model being trained and its evaluation, the
//!   frozen-layer cache, the resume state.
//! - [`train`]: the loop as prepare / epoch / finish, early stopping, in-epoch checkpoints.
//! - [`checkpoint`]: Hugging Face compatible output folders.
//! - [`optim`]: AdamW with saved moments and a fused CPU update.
//! - [`dropout`]: counter-based dropout masks on CPU.
//! - [`amp`]: bfloat16 autocast on CUDA.

// tch hands out raw tensor memory (the fused CPU AdamW, dropout masks) and the autocast shim
// is C: that unsafe stays here, each block with its safety argument.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod amp;
pub mod base;
pub mod bench;
pub mod bert;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod dropout;
pub mod model;
pub mod optim;
pub mod state;
pub mod train;
