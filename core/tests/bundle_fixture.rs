//! The tiny bundle fixtures of the wasm parity test (tests/fixtures/bundle-tiny-{cls,laat}/):
//! a 2-layer random BERT (hidden 64) with a character-level vocabulary, quantized like a
//! real bundle, and `expected.json`, the native result the wasm test must reproduce.
//!
//! `write_bundle_fixtures` (ignored; `scripts/make_bundle_fixtures.sh`) rewrites them; the
//! other tests check that native still gives the stored result, so a change to the model
//! code that moves scores shows up natively before it shows up as a wasm mismatch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use icd_core::bundle::{self, BundleLabel, QuantizeOptions};
use icd_core::{Coder, NoteTokenizer};
use serde_json::{json, Value};

const H: usize = 64;
const M: usize = 128;
const A: usize = 32;
const P: usize = 128;
const TOP_K: usize = 5;
const TOL: f32 = 1e-4;

/// The stored reference of each int8 kernel: the f32 path, the integer GEMM that the browser
/// (and `icd` on x86-64 with AVX2) runs, and the i8 × u7 arithmetic of the browser's
/// relaxed-SIMD worker.
const KERNELS: [(icd_core::Int8Kernel, &str); 3] = [
    (icd_core::Int8Kernel::Dequantized, "expected.json"),
    (icd_core::Int8Kernel::I8Gemm, "expected-i8gemm.json"),
    (icd_core::Int8Kernel::Relaxed, "expected-relaxed.json"),
];

fn load_expected(kind: &str, file: &str) -> Value {
    let p = fixtures_dir(kind).join(file);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}; run scripts/make_bundle_fixtures.sh", p.display()));
    serde_json::from_slice(&bytes).unwrap()
}

/// The notes the parity test runs (also written into expected.json).
const NOTES: &[&str] = &[
    "Patient with asthma exacerbation, wheezing and shortness of breath.",
    "Essential hypertension, BP 152/94. Type 2 diabetes, HbA1c 7.2%. Cough at night.",
    "",
    "Café-au-lait spots; pt’s BP 148/92 — f/u in 2 wks.",
    // Longer than one 64-token window: several chunks.
    "Chronic obstructive pulmonary disease with dyspnea on exertion and productive cough for \
     two weeks. Denies fever. Lungs with scattered wheezes. Started on inhaled bronchodilator \
     and oral steroid. Diabetes controlled on metformin; blood pressure stable on lisinopril.",
];

fn fixtures_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(format!("bundle-tiny-{kind}"))
}

fn labels() -> Vec<BundleLabel> {
    [
        ("J45.909", "Unspecified asthma, uncomplicated", 10),
        ("R05.9", "Cough, unspecified", 18),
        ("R06.02", "Shortness of breath", 18),
        ("J44.9", "Chronic obstructive pulmonary disease, unspecified", 10),
        ("I10", "Essential (primary) hypertension", 9),
        ("E11.9", "Type 2 diabetes mellitus without complications", 4),
    ]
    .into_iter()
    .map(|(code, description, chapter)| BundleLabel { code: code.into(), description: description.into(), chapter })
    .collect()
}

/// Specials, letters, digits, punctuation, `##` letters and a few whole words.
fn vocab() -> String {
    let mut v: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map(String::from).to_vec();
    v.extend(('a'..='z').map(String::from));
    v.extend(('0'..='9').map(String::from));
    v.extend(".,;:!?/%-()'".chars().map(String::from));
    v.extend(('a'..='z').map(|c| format!("##{c}")));
    v.extend(('0'..='9').map(|c| format!("##{c}")));
    for w in [
        "asthma",
        "cough",
        "breath",
        "hypertension",
        "diabetes",
        "chronic",
        "pulmonary",
        "disease",
        "fever",
        "pressure",
        "blood",
        "type",
        "patient",
        "with",
        "and",
        "of",
        "the",
        "on",
        "wheez",
        "##ing",
        "##es",
    ] {
        v.push(w.into());
    }
    v.join("\n") + "\n"
}

fn config(kind: &str, vocab_size: usize) -> Vec<u8> {
    let icd = if kind == "cls" {
        json!({"head": "cls", "objective": "softmax", "max_length": 64, "chunk_overlap": 0, "threshold": 0.5})
    } else {
        json!({"head": "label_attention", "objective": "sigmoid", "max_length": 64, "chunk_overlap": 8,
               "label_attention_dim": A, "threshold": 0.5})
    };
    let id2label: serde_json::Map<String, Value> = labels().iter().enumerate().map(|(i, l)| (i.to_string(), json!(l.code))).collect();
    serde_json::to_vec(&json!({
        "vocab_size": vocab_size, "hidden_size": H, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": M, "hidden_act": "gelu", "max_position_embeddings": P,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0, "model_type": "bert",
        "id2label": id2label, "icd": icd
    }))
    .unwrap()
}

/// Deterministic pseudo-random f32 tensors (xorshift), uniform in ±scale.
fn weights(kind: &str, vocab_size: usize) -> Vec<u8> {
    let l = labels().len();
    let mut shapes: Vec<(String, Vec<usize>, f32)> = vec![
        ("bert.embeddings.word_embeddings.weight".into(), vec![vocab_size, H], 1.0),
        ("bert.embeddings.position_embeddings.weight".into(), vec![P, H], 0.5),
        ("bert.embeddings.token_type_embeddings.weight".into(), vec![2, H], 0.5),
    ];
    let mut ln = vec!["bert.embeddings.LayerNorm".to_string()];
    for i in 0..2 {
        let p = format!("bert.encoder.layer.{i}");
        for (name, out, inp) in [
            ("attention.self.query", H, H),
            ("attention.self.key", H, H),
            ("attention.self.value", H, H),
            ("attention.output.dense", H, H),
            ("intermediate.dense", M, H),
            ("output.dense", H, M),
        ] {
            let s = 1.7 / (inp as f32).sqrt();
            shapes.push((format!("{p}.{name}.weight"), vec![out, inp], s));
            shapes.push((format!("{p}.{name}.bias"), vec![out], 0.1));
        }
        ln.push(format!("{p}.attention.output.LayerNorm"));
        ln.push(format!("{p}.output.LayerNorm"));
    }
    if kind == "cls" {
        shapes.push(("classifier.weight".into(), vec![l, H], 0.5));
        shapes.push(("classifier.bias".into(), vec![l], 0.5));
    } else {
        shapes.push(("label_attention.first.weight".into(), vec![A, H], 0.5));
        shapes.push(("label_attention.second.weight".into(), vec![l, A], 0.8));
        shapes.push(("label_attention.output.weight".into(), vec![l, H], 0.5));
        shapes.push(("label_attention.output.bias".into(), vec![l], 0.5));
    }
    let mut state = 0x9e37_79b9_u32 ^ kind.len() as u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32 * 2.0 - 1.0
    };
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (name, shape, scale) in shapes {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|_| next() * scale).collect();
        tensors.insert(name, Tensor::from_vec(data, shape, &Device::Cpu).unwrap());
    }
    for p in ln {
        let w: Vec<f32> = (0..H).map(|_| 1.0 + 0.1 * next()).collect();
        let b: Vec<f32> = (0..H).map(|_| 0.1 * next()).collect();
        tensors.insert(format!("{p}.weight"), Tensor::from_vec(w, H, &Device::Cpu).unwrap());
        tensors.insert(format!("{p}.bias"), Tensor::from_vec(b, H, &Device::Cpu).unwrap());
    }
    let tmp = tempfile::NamedTempFile::new().unwrap();
    candle_core::safetensors::save(&tensors, tmp.path()).unwrap();
    std::fs::read(tmp.path()).unwrap()
}

fn load(kind: &str) -> (Vec<u8>, HashMap<String, Vec<u8>>, Value) {
    let dir = fixtures_dir(kind);
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap_or_else(|e| panic!("{}: {e}; run scripts/make_bundle_fixtures.sh", dir.join(n).display()));
    let manifest = read("manifest.json");
    let files = ["model.gguf", "tokenizer.json"].into_iter().map(|n| (n.to_string(), read(n))).collect();
    let expected = serde_json::from_slice(&read("expected.json")).unwrap();
    (manifest, files, expected)
}

/// The result the wasm test compares against: top-5 codes and scores, evidence offsets.
fn result(coder: &Coder) -> Value {
    let notes: Vec<Value> = NOTES
        .iter()
        .map(|n| {
            let out = coder.code(n, TOP_K).unwrap();
            json!({"text": n, "top": out.iter().map(|c| json!({
                "code": c.code, "score": c.score,
                "evidence": c.evidence.iter().map(|e| [e.start, e.end]).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()})
        })
        .collect();
    json!({"top_k": TOP_K, "notes": notes})
}

#[test]
#[ignore = "rewrites tests/fixtures/bundle-tiny-*; run scripts/make_bundle_fixtures.sh"]
fn write_bundle_fixtures() {
    let tokenizer = NoteTokenizer::from_vocab_txt(&vocab(), true).unwrap();
    let tok_json = tokenizer.to_tokenizer_json().unwrap();
    let vocab_size = tokenizer.vocab_size();
    for kind in ["cls", "laat"] {
        let b = bundle::build(
            &format!("tiny-{kind}"),
            &config(kind, vocab_size),
            &weights(kind, vocab_size),
            tok_json.as_bytes(),
            Some(labels()),
            QuantizeOptions::default(),
        )
        .unwrap();
        let dir = fixtures_dir(kind);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("manifest.json"), b.manifest_json()).unwrap();
        for (name, bytes) in &b.files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        // One reference per kernel; the wasm parity test checks both.
        for (kernel, file) in KERNELS {
            let coder = Coder::from_bundle_with(&b.manifest_json(), &b.files, kernel).unwrap();
            let expected = serde_json::to_string_pretty(&result(&coder)).unwrap() + "\n";
            std::fs::write(dir.join(file), expected).unwrap();
        }
        println!("wrote {}", dir.display());
    }
}

/// `got` and `expected` (both [`result`] JSON) agree: same codes in the same order, scores
/// within [`TOL`], same evidence spans.
pub fn compare(got: &Value, expected: &Value) {
    let (g, e) = (got["notes"].as_array().unwrap(), expected["notes"].as_array().unwrap());
    assert_eq!(g.len(), e.len());
    for (gn, en) in g.iter().zip(e) {
        let (gt, et) = (gn["top"].as_array().unwrap(), en["top"].as_array().unwrap());
        assert_eq!(gt.len(), et.len(), "{}", en["text"]);
        for (gc, ec) in gt.iter().zip(et) {
            assert_eq!(gc["code"], ec["code"], "note {}", en["text"]);
            let (gs, es) = (gc["score"].as_f64().unwrap(), ec["score"].as_f64().unwrap());
            assert!((gs - es).abs() < TOL as f64, "{}: {gs} vs {es} on {}", ec["code"], en["text"]);
            assert_eq!(gc["evidence"], ec["evidence"], "{} on {}", ec["code"], en["text"]);
        }
    }
}

#[test]
fn native_matches_the_stored_fixture() {
    for kind in ["cls", "laat"] {
        let (manifest, files, _) = load(kind);
        for (kernel, file) in KERNELS {
            let coder = Coder::from_bundle_with(&manifest, &files, kernel).unwrap();
            compare(&result(&coder), &load_expected(kind, file));
        }
        let coder = Coder::from_bundle(&manifest, &files).unwrap();
        // The fixture is a real test of the int8 path: Q8_0 weights and more than one chunk.
        assert_eq!(coder.manifest().unwrap().weights.linear, "q8_0");
        let enc = coder.tokenizer().encode(NOTES[4]).unwrap();
        assert!(enc.len() > 62, "long note has {} tokens", enc.len());
        let total: usize = files.values().map(Vec::len).sum::<usize>() + manifest.len();
        assert!(total < 600_000, "{kind} fixture is {total} bytes");
    }
}
