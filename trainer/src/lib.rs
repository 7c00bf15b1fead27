//! `icd-trainer`: fine-tunes a BERT-family encoder for ICD-10-CM coding with tch.
//!
//! - [`bert`]: the encoder, Hugging Face parameter names.
//! - [`model`]: encoder + `cls` or label-attention head, batching of chunked notes, losses.
//! - [`base`]: loading a base model folder (safetensors or pytorch_model.bin; tokenizer.json or vocab.txt).
//! - [`data`]: JSONL splits -> chunked ids + label ids; length-bucketed batches.
//! - [`train`]: the loop, evaluation, early stopping, frozen-layer caching (CPU profile).
//! - [`checkpoint`]: Hugging Face compatible output folders.
//! - [`optim`]: AdamW with saved moments and a fused CPU update.
//! - [`dropout`]: counter-based dropout masks on CPU.
//! - [`amp`]: bfloat16 autocast on CUDA.

pub mod amp;
pub mod base;
pub mod bench;
pub mod bert;
pub mod checkpoint;
pub mod data;
pub mod dropout;
pub mod model;
pub mod optim;
pub mod train;
