//! The int8 bundle on the real test checkpoints (MiniLM encoder + seeded random heads):
//! int8 vs f32 agreement, round trip through files, tampering refused, manifest fields,
//! Coder output. Needs `scripts/test-fixtures.sh --checkpoints-only`.

use std::collections::HashMap;
use std::sync::OnceLock;

use candle_core::quantized::{gguf_file, GgmlDType};
use icd_core::bundle::{self, BuiltBundle, BundleError, QuantizeOptions, MODEL_FILE, TOKENIZER_FILE};
use icd_core::{Coder, EvidenceMethod};

mod common;
use common::{read, root};

struct Fixture {
    bundle: BuiltBundle,
    f32: Coder,
    int8: Coder,
    /// The i8 × u7 arithmetic of the browser's relaxed-SIMD worker (natively, plain loops).
    relaxed: Coder,
}

fn fixture(kind: &'static str) -> &'static Fixture {
    static CLS: OnceLock<Fixture> = OnceLock::new();
    static LAAT: OnceLock<Fixture> = OnceLock::new();
    let cell = if kind == "cls" { &CLS } else { &LAAT };
    cell.get_or_init(|| {
        let dir = root().join("artifacts/test-checkpoints").join(kind);
        let (config, weights, tok) = (read(&dir.join("config.json")), read(&dir.join("model.safetensors")), read(&dir.join("tokenizer.json")));
        let bundle = bundle::build(kind, &config, &weights, &tok, None, QuantizeOptions::default()).unwrap();
        let int8 = Coder::from_bundle(&bundle.manifest_json(), &bundle.files).unwrap();
        let relaxed = Coder::from_bundle_with(&bundle.manifest_json(), &bundle.files, icd_core::Int8Kernel::Relaxed).unwrap();
        let f32 = Coder::from_checkpoint(&config, &weights, &tok).unwrap();
        Fixture { bundle, f32, int8, relaxed }
    })
}

/// Varied clinical sentences: short and long, abbreviations, numbers, negation, lists.
const NOTES: &[&str] = &[
    "Patient with asthma exacerbation, wheezing and shortness of breath; albuterol given.",
    "Cough for three weeks, nonproductive, no fever.",
    "Chronic obstructive pulmonary disease, stable on tiotropium.",
    "Essential hypertension, BP 152/94 today. Continue lisinopril 20 mg daily.",
    "Type 2 diabetes mellitus without complications, HbA1c 6.9%.",
    "SOB on exertion x 2 days. Denies chest pain. O2 sat 93% on room air.",
    "58 yo M with HTN and T2DM presents for follow-up. Meds reviewed.",
    "Acute bronchitis suspected; lungs with scattered rhonchi.",
    "Well-controlled asthma, uses rescue inhaler twice a month.",
    "Diabetic patient reports polyuria and polydipsia, glucose 287.",
    "Hypertensive urgency ruled out; repeat BP 138/86.",
    "Former smoker, 40 pack-years, with emphysema on CT and chronic dyspnea.",
    "Persistent dry cough after viral URI, likely post-infectious.",
    "Dyspnea worse lying flat, bilateral leg edema, JVD noted.",
    "No acute distress. Lungs clear. Heart regular rate and rhythm.",
    "Metformin 1000 mg BID, glipizide added for rising sugars.",
    "Child with nocturnal cough and wheeze, family history of atopy.",
    "COPD exacerbation treated with prednisone and azithromycin.",
    "Blood pressure elevated on three visits; start amlodipine 5 mg.",
    "Shortness of breath resolved after nebulizer treatment.",
    "Annual exam. Diet-controlled diabetes. Normotensive. No respiratory complaints.",
    "Chest x-ray negative for pneumonia; cough attributed to ACE inhibitor.",
    "Patient is a 72-year-old woman with long-standing hypertension, type 2 diabetes, and \
     COPD on home oxygen, admitted for increased dyspnea and productive cough; she was \
     started on nebulized bronchodilators and steroids, and her glucose was managed with insulin.",
    "Asthma.",
    "Hypertension.",
    "Type 2 diabetes.",
    "Chronic cough.",
    "Emphysema and chronic bronchitis, on long-term inhaled steroids.",
    "",
    "Ø unusual characters — naïve café, 37.5 °C, µg/kg.",
];

fn top1(scores: &[f32]) -> usize {
    icd_core::metrics::top_k(scores, 1)[0]
}

/// Logit gap below which two codes are a tie: the int8 weights' rounding (0.55 % relative per
/// weight) moves the test checkpoints' logits by up to ~0.35, and their random heads produce
/// near-ties (one note's top two logits differ by 0.003), which no int8 scheme can keep in
/// order. A broken quantization flips decisive notes, which this still catches.
const TIE_LOGIT: f32 = 0.4;

fn agreement(kind: &'static str, relaxed: bool) {
    let fx = fixture(kind);
    let int8 = if relaxed { &fx.relaxed } else { &fx.int8 };
    let kind = if relaxed { format!("{kind} (relaxed i8 x u7)") } else { kind.to_string() };
    let (mut agree, mut decisive, mut decisive_agree) = (0, 0, 0);
    let mut max_diff = 0f32;
    for note in NOTES {
        let a = fx.f32.model().predict(fx.f32.tokenizer(), note).unwrap().2;
        let b = int8.model().predict(int8.tokenizer(), note).unwrap().2;
        let (ta, tb) = (top1(&a.scores), top1(&b.scores));
        let order = icd_core::metrics::top_k(&a.logits, 2);
        let gap = a.logits[order[0]] - a.logits[order[1]];
        agree += usize::from(ta == tb);
        if gap >= TIE_LOGIT {
            decisive += 1;
            decisive_agree += usize::from(ta == tb);
        } else if ta != tb {
            println!("{kind}: near-tie flip (f32 gap {gap:.3}) on {note:.50}");
        }
        max_diff = a.logits.iter().zip(&b.logits).map(|(x, y)| (x - y).abs()).fold(max_diff, f32::max);
    }
    let n = NOTES.len();
    let share = decisive_agree as f64 / decisive as f64;
    println!(
        "{kind}: int8 vs f32 top-1 agreement {agree}/{n} = {:.3}; on the {decisive} notes without a near-tie \
         {decisive_agree}/{decisive} = {share:.3}; max logit diff {max_diff:.3}",
        agree as f64 / n as f64
    );
    assert!(decisive >= 20, "{kind}: only {decisive} decisive notes: the check would be vacuous");
    // The i8 × u7 arithmetic (7-bit activations) is coarser: on these random heads it keeps
    // 96 % (cls) and 88 % (laat) of decisive notes and moves laat logits by up to ~4
    // (2026-12-05); a broken kernel (wrong index, zero point, saturation) flips most notes.
    // The shipped, fine-tuned model keeps 299 of 300 synthetic notes' top code (BENCHMARKS.md).
    let (min_share, max_logit) = if relaxed { (0.85, 6.0) } else { (0.99, 0.6) };
    assert!(share >= min_share, "{kind}: agreement {share} on decisive notes");
    // A broken dequantization moves logits by units, not tenths.
    assert!(max_diff < max_logit, "{kind}: max logit diff {max_diff}");
}

#[test]
fn int8_agrees_with_f32_cls() {
    agreement("cls", false);
}

#[test]
fn int8_agrees_with_f32_laat() {
    agreement("laat", false);
}

#[test]
fn relaxed_int8_agrees_with_f32_cls() {
    agreement("cls", true);
}

#[test]
fn relaxed_int8_agrees_with_f32_laat() {
    agreement("laat", true);
}

#[test]
fn gguf_has_q8_linear_weights_and_f32_rest() {
    let fx = fixture("laat");
    let gguf = &fx.bundle.files[MODEL_FILE];
    let content = gguf_file::Content::read(&mut std::io::Cursor::new(gguf)).unwrap();
    let dtype = |n: &str| content.tensor_infos[n].ggml_dtype;
    assert_eq!(dtype("bert.encoder.layer.0.attention.self.query.weight"), GgmlDType::Q8_0);
    assert_eq!(dtype("bert.encoder.layer.5.output.dense.weight"), GgmlDType::Q8_0);
    assert_eq!(dtype("label_attention.first.weight"), GgmlDType::F32);
    assert_eq!(dtype("bert.encoder.layer.0.attention.self.query.bias"), GgmlDType::F32);
    assert_eq!(dtype("bert.embeddings.word_embeddings.weight"), GgmlDType::F32);
    assert_eq!(dtype("bert.embeddings.LayerNorm.weight"), GgmlDType::F32);
    assert_eq!(dtype("label_attention.output.weight"), GgmlDType::F32);
    // 6 layers x 6 linear weights; the heads stay f32.
    assert_eq!(fx.bundle.q8_0.len(), 36, "{:?}", fx.bundle.q8_0);
    let f32_size = fx.bundle.manifest.weights.f32_bytes;
    let int8_size = gguf.len() as u64;
    println!("laat: f32 {f32_size} bytes, int8 {int8_size} bytes ({:.2}x)", f32_size as f64 / int8_size as f64);
    assert!(int8_size < f32_size * 7 / 10, "{int8_size} vs {f32_size}");
}

#[test]
fn quantized_embeddings_make_a_smaller_bundle_that_still_agrees() {
    let dir = root().join("artifacts/test-checkpoints/cls");
    let (config, weights, tok) = (read(&dir.join("config.json")), read(&dir.join("model.safetensors")), read(&dir.join("tokenizer.json")));
    let b = bundle::build("cls", &config, &weights, &tok, None, QuantizeOptions { embeddings: true }).unwrap();
    assert_eq!(b.manifest.weights.embeddings, "q8_0");
    let size = b.files[MODEL_FILE].len();
    println!("cls with q8_0 embeddings: {size} bytes (f32 {})", weights.len());
    assert!(size < weights.len() * 3 / 10);
    let int8 = Coder::from_bundle(&b.manifest_json(), &b.files).unwrap();
    let f32 = &fixture("cls").f32;
    let agree = NOTES.iter().filter(|n| top1(&f32.scores(n).unwrap()) == top1(&int8.scores(n).unwrap())).count();
    assert!(agree as f64 / NOTES.len() as f64 >= 0.99, "{agree}/{}", NOTES.len());
}

#[test]
fn bundle_round_trips_through_files() {
    let fx = fixture("cls");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manifest.json"), fx.bundle.manifest_json()).unwrap();
    for (name, bytes) in &fx.bundle.files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let manifest_json = std::fs::read(dir.path().join("manifest.json")).unwrap();
    let manifest = icd_core::Manifest::from_json(&manifest_json).unwrap();
    assert_eq!(manifest, fx.bundle.manifest);
    let files: HashMap<String, Vec<u8>> = manifest.files.keys().map(|n| (n.clone(), std::fs::read(dir.path().join(n)).unwrap())).collect();
    let coder = Coder::from_bundle(&manifest_json, &files).unwrap();
    assert_eq!(coder.manifest(), Some(&fx.bundle.manifest));
    for note in &NOTES[..4] {
        assert_eq!(coder.code(note, 3).unwrap(), fx.int8.code(note, 3).unwrap());
    }
}

fn refused(files: &HashMap<String, Vec<u8>>, manifest_json: &[u8]) -> String {
    match Coder::from_bundle(manifest_json, files) {
        Ok(_) => panic!("a tampered bundle was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tampered_files_are_refused_by_name() {
    let fx = fixture("cls");
    let mj = fx.bundle.manifest_json();
    for name in [MODEL_FILE, TOKENIZER_FILE] {
        let mut files = fx.bundle.files.clone();
        let f = files.get_mut(name).unwrap();
        let mid = f.len() / 2;
        f[mid] ^= 0x01;
        let e = refused(&files, &mj);
        let expected = &fx.bundle.manifest.files[name].sha256;
        assert!(e.contains(name) && e.contains("sha256") && e.contains(expected.as_str()), "{e}");
        let err = bundle::verify(&fx.bundle.manifest, &files).unwrap_err();
        match err {
            BundleError::Hash { file, expected: ex, found } => {
                assert_eq!(file, name);
                assert_eq!(&ex, expected);
                assert_ne!(found, ex);
            }
            other => panic!("{other}"),
        }
    }
    let mut files = fx.bundle.files.clone();
    files.get_mut(MODEL_FILE).unwrap().pop();
    let e = refused(&files, &mj);
    assert!(e.contains(MODEL_FILE) && e.contains("bytes"), "{e}");
    let mut files = fx.bundle.files.clone();
    files.remove(TOKENIZER_FILE);
    let e = refused(&files, &mj);
    assert!(e.contains(TOKENIZER_FILE) && e.contains("missing"), "{e}");
    // A manifest that stops listing the weights cannot smuggle them in unverified.
    let mut m = fx.bundle.manifest.clone();
    m.files.remove(MODEL_FILE);
    let e = refused(&fx.bundle.files, m.to_json_pretty().as_bytes());
    assert!(e.contains(MODEL_FILE) && e.contains("does not list"), "{e}");
    // Another format version is refused before anything else.
    let mut m = fx.bundle.manifest.clone();
    m.format_version = 99;
    let e = refused(&fx.bundle.files, m.to_json_pretty().as_bytes());
    assert!(e.contains("version 99"), "{e}");
    bundle::verify(&fx.bundle.manifest, &fx.bundle.files).unwrap();
}

#[test]
fn manifest_fields_are_present() {
    let fx = fixture("laat");
    let v: serde_json::Value = serde_json::from_slice(&fx.bundle.manifest_json()).unwrap();
    for key in ["format", "format_version", "name", "architecture", "icd", "weights", "labels", "files"] {
        assert!(v.get(key).is_some(), "manifest lacks {key}: {v}");
    }
    assert_eq!(v["format"], "icd10-coder-bundle");
    assert_eq!(v["architecture"]["hidden_size"], 384);
    assert_eq!(v["icd"]["head"], "label_attention");
    assert_eq!(v["icd"]["label_attention_dim"], 64);
    assert_eq!(v["weights"]["linear"], "q8_0");
    assert_eq!(v["labels"].as_array().unwrap().len(), 6);
    assert_eq!(v["labels"][0]["code"], "J45.909");
    for f in [MODEL_FILE, TOKENIZER_FILE] {
        let e = &v["files"][f];
        assert_eq!(e["sha256"].as_str().unwrap().len(), 64, "{e}");
        assert_eq!(e["bytes"].as_u64().unwrap() as usize, fx.bundle.files[f].len());
    }
}

#[test]
fn coder_ranks_codes_with_evidence() {
    let note = "Patient has asthma with wheezing. Blood pressure is 150/95, hypertension. \
                Sugar is high, type 2 diabetes. Coughing at night.";
    for (kind, method) in [("cls", EvidenceMethod::Occlusion), ("laat", EvidenceMethod::Attention)] {
        let coder = &fixture(kind).int8;
        assert_eq!(coder.evidence_method(), method);
        let out = coder.code(note, 5).unwrap();
        assert_eq!(out.len(), 5);
        assert!(out.windows(2).all(|w| w[0].score >= w[1].score), "{kind}: not sorted");
        let scores = coder.scores(note).unwrap();
        assert_eq!(out[0].score, scores[top1(&scores)]);
        assert!(out.iter().any(|c| !c.evidence.is_empty()), "{kind}: no evidence at all");
        for c in &out {
            assert!(c.evidence.windows(2).all(|w| w[0].weight >= w[1].weight));
            for e in &c.evidence {
                assert_eq!(&note[e.start..e.end], e.text);
                assert!(e.weight > 0.0);
            }
        }
        // Serializes for the web worker.
        let json = serde_json::to_value(&out).unwrap();
        assert!(json[0]["evidence"].is_array() && json[0]["code"].is_string());
        // top_k beyond the label count gives every label once.
        assert_eq!(coder.code(note, 50).unwrap().len(), 6);
        assert!(coder.code_with(note, 2, false).unwrap().iter().all(|c| c.evidence.is_empty()));
    }
}

#[test]
fn occlusion_split_across_workers_gives_the_same_evidence() {
    // The page's pool runs a `cls` note's occlusion passes in shares on its workers and one
    // worker assembles them: the codes and evidence must be those of one worker doing it all.
    let note = "Patient has asthma with wheezing. Blood pressure is 150/95, hypertension.\n\
                Sugar is high, type 2 diabetes. Coughing at night; no fever.";
    let coder = &fixture("cls").int8;
    let whole = coder.code(note, 5).unwrap();
    let spans = icd_core::coder::occlusion_spans(note, icd_core::coder::MAX_OCCLUSION_SPANS);
    assert!(spans.len() >= 4, "{spans:?}");
    for parts in [1, 2, 3] {
        let mut occluded = Vec::new();
        for share in icd_core::evidence::shares(spans.len(), parts) {
            occluded.extend(coder.occluded_scores(note, &spans[share]).unwrap());
        }
        let split = coder.code_with_occluded(note, 5, occluded.clone(), None).unwrap();
        assert_eq!(split, whole, "{parts} shares");
        // With the note's scores from the coding pass, no second pass, the same result.
        let (codes, base) = coder.code_and_scores(note, 5, false).unwrap();
        assert_eq!(base, coder.scores(note).unwrap());
        assert_eq!(codes.iter().map(|c| &c.code).collect::<Vec<_>>(), whole.iter().map(|c| &c.code).collect::<Vec<_>>());
        assert_eq!(coder.code_with_occluded(note, 5, occluded, Some(base)).unwrap(), whole, "{parts} shares, base given");
    }
    // The base given is the one used (no second pass): other scores rank other codes.
    let mut other = coder.scores(note).unwrap();
    other.reverse();
    let rows = coder.occluded_scores(note, &spans).unwrap();
    let reranked = coder.code_with_occluded(note, 5, rows, Some(other)).unwrap();
    assert_ne!(reranked[0].code, whole[0].code);
    // A wrong number of rows, or of base scores, is refused, not mixed up.
    let short = coder.occluded_scores(note, &spans[1..]).unwrap();
    let err = coder.code_with_occluded(note, 5, short, None).unwrap_err().to_string();
    assert!(err.contains("spans"), "{err}");
    let rows = coder.occluded_scores(note, &spans).unwrap();
    let err = coder.code_with_occluded(note, 5, rows, Some(vec![0.0; 2])).unwrap_err().to_string();
    assert!(err.contains("base scores"), "{err}");
    assert!(coder.occluded_scores(note, &[(0, note.len() + 1)]).is_err());
}

#[test]
fn a_long_notes_windows_split_across_workers_give_the_same_codes() {
    // The page's pool runs a long `cls` note's windows in shares on its workers and one worker
    // codes from every window's [CLS] state: the codes and scores must be one worker's.
    let sentence = "Patient has asthma with wheezing and hypertension, type 2 diabetes, coughing at night; no fever. ";
    let note = sentence.repeat(60);
    let coder = &fixture("cls").int8;
    let windows = coder.window_count(&note).unwrap();
    assert!(windows >= 3, "{windows} windows");
    let (whole, scores) = coder.code_and_scores(&note, 5, false).unwrap();
    for parts in [1, 2, 3, windows + 2] {
        let states: Vec<Vec<f32>> = (0..parts).flat_map(|p| coder.window_states(&note, p, parts).unwrap()).collect();
        assert_eq!(states.len(), windows, "{parts} shares");
        let (split, split_scores) = coder.code_from_states(&note, 5, states).unwrap();
        assert_eq!(split, whole, "{parts} shares");
        let diff = scores.iter().zip(&split_scores).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(diff < 1e-5, "{parts} shares: scores differ by {diff}");
    }
    // A missing window, a wrong width or a share out of range is refused, not mixed up.
    let mut states: Vec<Vec<f32>> = (0..2).flat_map(|p| coder.window_states(&note, p, 2).unwrap()).collect();
    states.pop();
    assert!(coder.code_from_states(&note, 5, states).unwrap_err().to_string().contains("window states"));
    let narrow = vec![vec![0.0; 3]; windows];
    assert!(coder.code_from_states(&note, 5, narrow).is_err());
    assert!(coder.window_states(&note, 2, 2).is_err());
    // Label attention reads every token: no window states.
    assert!(fixture("laat").int8.window_states(&note, 0, 1).is_err());
}
