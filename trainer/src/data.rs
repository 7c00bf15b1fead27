//! Datasets for training: JSONL records -> chunked token ids + label ids.

use std::path::Path;

use anyhow::{bail, Context, Result};
use icd_core::dataset::parse_jsonl_numbered;
use icd_core::tokenize::NoteTokenizer;
use icd_core::LabelSpace;

use crate::model::IcdSettings;
use rand::seq::SliceRandom;
use rand::SeedableRng;

pub struct Example {
    pub id: String,
    /// Each `[CLS] … [SEP]`.
    pub chunks: Vec<Vec<u32>>,
    /// Label ids, primary first.
    pub labels: Vec<usize>,
}

impl Example {
    pub fn tokens(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }
}

/// Reads and tokenizes a split. A code missing from the label space is an error with its line.
/// Notes are cut as the checkpoint's `settings` say, by the same core function as inference.
pub fn load_split(path: &Path, labels: &LabelSpace, tok: &NoteTokenizer, settings: &IcdSettings) -> Result<Vec<Example>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let records = parse_jsonl_numbered(&text, &name)?;
    if records.is_empty() {
        bail!("{name}: the dataset is empty");
    }
    let mut out = Vec::with_capacity(records.len());
    for (line, r) in records {
        let mut ids = Vec::with_capacity(r.codes.len());
        for c in &r.codes {
            let id = labels.id_of(c).map_err(|_| anyhow::anyhow!("{name}: line {line}: code {c} is not in the label file"))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let enc = tok.encode(&r.text).with_context(|| format!("{name}: line {line}: tokenizing"))?;
        let chunks = tok.input_chunks(&r.text, &enc, settings.max_length, settings.chunk_overlap, settings.input)?.into_iter().map(|c| c.ids).collect();
        out.push(Example { id: r.id, chunks, labels: ids });
    }
    Ok(out)
}

/// Length-bucketed batches: shuffle, sort within windows of 50 batches by length, shuffle batch order.
/// Padding then costs little while every epoch still sees a new order.
pub fn bucketed_batches(examples: &[Example], batch_size: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut idx: Vec<usize> = (0..examples.len()).collect();
    idx.shuffle(&mut rng);
    let window = batch_size * 50;
    let mut batches = Vec::new();
    for w in idx.chunks_mut(window) {
        w.sort_by_key(|&i| examples[i].tokens());
        batches.extend(w.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}

/// Fixed-order batches sorted by length (evaluation: order does not matter, padding does).
pub fn eval_batches(examples: &[Example], batch_size: usize) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..examples.len()).collect();
    idx.sort_by_key(|&i| examples[i].tokens());
    idx.chunks(batch_size).map(<[usize]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(n: usize) -> Example {
        Example { id: n.to_string(), chunks: vec![vec![0; n + 2]], labels: vec![0] }
    }

    #[test]
    fn batches_cover_every_example_once_and_are_seeded() {
        let exs: Vec<Example> = (0..103).map(ex).collect();
        let b = bucketed_batches(&exs, 16, 7);
        let mut all: Vec<usize> = b.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        assert_eq!(b, bucketed_batches(&exs, 16, 7));
        assert_ne!(b, bucketed_batches(&exs, 16, 8));
        // Within a batch, lengths are close (sorted windows).
        for batch in &b {
            let lens: Vec<usize> = batch.iter().map(|&i| exs[i].tokens()).collect();
            assert!(lens.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
