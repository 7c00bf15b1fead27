//! candle forward pass vs the PyTorch reference (`scripts/reference_model.py`).
//!
//! Needs the test checkpoints: run `scripts/test-fixtures.sh --checkpoints-only` (rebuilds
//! them bit-identically from models/all-MiniLM-L6-v2) or `scripts/test-fixtures.sh` (also
//! rewrites the fixtures in tests/fixtures/).

use candle_core::Device;
use icd_core::evidence::attention as evidence;
use icd_core::{Chunk, IcdModel, NoteTokenizer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const LOGIT_TOL: f32 = 1e-4;

mod common;
use common::{read, root};

struct Checkpoint {
    tokenizer: NoteTokenizer,
    model: IcdModel,
    sha256: String,
}

fn checkpoint(kind: &str) -> Checkpoint {
    let dir = root().join("artifacts/test-checkpoints").join(kind);
    let weights = read(&dir.join("model.safetensors"));
    let sha256 = Sha256::digest(&weights).iter().map(|b| format!("{b:02x}")).collect();
    let model = IcdModel::load(&read(&dir.join("config.json")), &weights, &Device::Cpu).unwrap();
    let tokenizer = NoteTokenizer::from_tokenizer_json(&read(&dir.join("tokenizer.json"))).unwrap();
    Checkpoint { tokenizer, model, sha256 }
}

fn chunk_note(ck: &Checkpoint, text: &str) -> Vec<Chunk> {
    let icd = &ck.model.config().icd;
    let enc = ck.tokenizer.encode(text).unwrap();
    ck.tokenizer.chunks(&enc, icd.max_length, icd.chunk_overlap).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Step 2 of scripts/test-fixtures.sh: the chunk ids the reference model gets.
#[test]
#[ignore = "writes artifacts/test-checkpoints/*/chunks.json; run by scripts/test-fixtures.sh"]
fn write_chunks() {
    let notes: Value = serde_json::from_slice(&read(&root().join("tests/fixtures/parity-notes.json"))).unwrap();
    for kind in ["cls", "laat"] {
        let ck = checkpoint(kind);
        let out: Vec<Value> = notes["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let text = t.as_str().unwrap();
                let chunks: Vec<Value> = chunk_note(&ck, text).iter().map(|c| json!({"ids": c.ids, "token_start": c.token_start})).collect();
                json!({"text": text, "chunks": chunks})
            })
            .collect();
        let path = root().join("artifacts/test-checkpoints").join(kind).join("chunks.json");
        std::fs::write(&path, serde_json::to_vec(&json!({ "notes": out })).unwrap()).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

fn parity(kind: &str) {
    let fixture: Value = serde_json::from_slice(&read(&root().join(format!("tests/fixtures/parity-{kind}.json")))).unwrap();
    let ck = checkpoint(kind);
    assert_eq!(
        fixture["checkpoint"]["model_safetensors_sha256"].as_str().unwrap(),
        ck.sha256,
        "artifacts/test-checkpoints/{kind} is not the checkpoint the fixture was made from; \
         run scripts/test-fixtures.sh --checkpoints-only (or the full script to remake the fixture)"
    );
    let labels: Vec<String> = serde_json::from_value(fixture["checkpoint"]["labels"].clone()).unwrap();
    assert_eq!(ck.model.labels(), labels.as_slice());

    let (mut worst_logit, mut worst_att, mut max_chunks, mut max_tokens) = (0f32, 0f32, 0, 0);
    for note in fixture["notes"].as_array().unwrap() {
        let text = note["text"].as_str().unwrap();
        let chunks = chunk_note(&ck, text);
        // The tokenizer must still produce what the reference was run on.
        let want: Vec<Chunk> = note["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Chunk {
                ids: c["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect(),
                token_start: c["token_start"].as_u64().unwrap() as usize,
                gathered: None,
            })
            .collect();
        assert_eq!(chunks, want, "chunks differ from the fixture for note {text:.40?}");
        max_chunks = max_chunks.max(chunks.len());
        max_tokens = max_tokens.max(chunks.last().unwrap().token_start + chunks.last().unwrap().n_tokens());

        let pred = ck.model.forward(&chunks).unwrap();
        let d = max_abs_diff(&pred.logits, &floats(&note["logits"]));
        assert!(d <= LOGIT_TOL, "{kind}: logits differ by {d} (> {LOGIT_TOL}) on note {text:.40?}: {:?} vs {}", pred.logits, note["logits"]);
        assert!(max_abs_diff(&pred.scores, &floats(&note["scores"])) <= 1e-5);
        worst_logit = worst_logit.max(d);
        if let Some(att) = note.get("attention") {
            let a = pred.attention.as_ref().expect("label_attention head returns attention");
            for (l, row) in att.as_array().unwrap().iter().enumerate() {
                worst_att = worst_att.max(max_abs_diff(a.label(l), &floats(row)));
            }
            assert!(worst_att <= 1e-5, "{kind}: attention differs by {worst_att}");
        }
    }
    // The fixture must exercise multi-chunk notes, else the chunk/pad path goes untested.
    assert!(max_tokens > 512 && max_chunks > 1, "fixture lacks a long note ({max_tokens} tokens, {max_chunks} chunks)");
    eprintln!("{kind}: max |logit diff| = {worst_logit:.3e}, max |attention diff| = {worst_att:.3e}, longest note {max_tokens} tokens in {max_chunks} chunks");
}

#[test]
fn parity_cls() {
    parity("cls");
}

#[test]
fn parity_laat() {
    parity("laat");
}

#[test]
fn laat_evidence_points_at_words() {
    let ck = checkpoint("laat");
    let text = "Patient presents with chronic cough and shortness of breath. History of asthma.";
    let (enc, chunks, pred) = ck.model.predict(&ck.tokenizer, text).unwrap();
    let att = pred.attention.as_ref().unwrap();
    assert_eq!(att.n_tokens, enc.len() + 2);
    for label in 0..ck.model.labels().len() {
        let all = evidence(&enc, &chunks, &pred, label, usize::MAX);
        // Whole words: "shortness", "breath", ".", ... (no "##" pieces, no specials).
        let words: Vec<&str> = all.iter().map(|s| &text[s.start..s.end]).collect();
        assert!(words.iter().all(|w| text.split(|c: char| c.is_whitespace() || c == '.').any(|t| t == *w) || *w == "."), "{words:?}");
        assert_eq!(all.len(), 14, "{words:?}");
        // Everything but [CLS] and [SEP] is accounted for, once.
        let row = att.label(label);
        let total: f32 = all.iter().map(|s| s.weight).sum();
        assert!((total - (1.0 - row[0] - row[row.len() - 1])).abs() < 1e-5);
        assert!(all.windows(2).all(|w| w[0].weight >= w[1].weight));
        assert_eq!(evidence(&enc, &chunks, &pred, label, 3), all[..3].to_vec());
    }
}

#[test]
fn overlapping_chunks_sum_evidence() {
    let ck = checkpoint("laat");
    let notes: Value = serde_json::from_slice(&read(&root().join("tests/fixtures/parity-notes.json"))).unwrap();
    let long = notes["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).max_by_key(|n| n.len()).unwrap();
    let (enc, chunks, pred) = ck.model.predict(&ck.tokenizer, long).unwrap();
    assert!(chunks.len() > 2 && ck.model.config().icd.chunk_overlap > 0);
    let att = pred.attention.as_ref().unwrap();
    let row = att.label(0);
    let mut specials = 0.0;
    let mut t = 0;
    for c in &chunks {
        specials += row[t] + row[t + c.ids.len() - 1];
        t += c.ids.len();
    }
    let total: f32 = evidence(&enc, &chunks, &pred, 0, usize::MAX).iter().map(|s| s.weight).sum();
    assert!((total - (1.0 - specials)).abs() < 1e-4, "{total} vs {}", 1.0 - specials);
    assert!(evidence(&enc, &chunks, &pred, 99, 5).is_empty());
}

#[test]
fn cls_head_has_no_evidence_and_softmax_scores() {
    let ck = checkpoint("cls");
    let (enc, chunks, pred) = ck.model.predict(&ck.tokenizer, "History of asthma.").unwrap();
    assert!(pred.attention.is_none());
    assert!(evidence(&enc, &chunks, &pred, 0, 5).is_empty());
    assert!((pred.scores.iter().sum::<f32>() - 1.0).abs() < 1e-5);
}
