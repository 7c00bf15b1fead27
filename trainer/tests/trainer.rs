//! The trainer on real parts: a tiny random BERT trained on a small coded dataset,
//! the MiniLM base against Hugging Face transformers, and Bio_ClinicalBERT's file layout.

use std::path::{Path, PathBuf};

use icd_trainer::base::BaseModel;
use icd_trainer::bert::{Bert, BertConfig};
use icd_trainer::config::{EvalConfig, TrainConfig};
use icd_trainer::model::{Batch, HeadKind, IcdModel, IcdSettings, Objective};
use icd_trainer::{data, train};
use tch::{nn, Device, Kind, Tensor};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

const WORDS: &[&str] = &[
    "patient",
    "presents",
    "with",
    "history",
    "of",
    "denies",
    "reports",
    "today",
    "clinic",
    "visit",
    "wheeze",
    "inhaler",
    "asthma",
    "albuterol",
    "cough",
    "blood",
    "pressure",
    "hypertension",
    "lisinopril",
    "headache",
    "diabetes",
    "metformin",
    "glucose",
    "thirst",
    "a1c",
    ".",
    ",",
];

/// A tiny uncased BERT base folder in the Bio_ClinicalBERT layout pieces we need:
/// config.json + vocab.txt + model.safetensors (random, seeded).
fn tiny_base(dir: &Path) -> BertConfig {
    std::fs::create_dir_all(dir).unwrap();
    let mut vocab = vec!["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
    vocab.extend_from_slice(WORDS);
    std::fs::write(dir.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
    let mut config = BertConfig::preset("tiny").unwrap();
    config.vocab_size = vocab.len();
    std::fs::write(dir.join("config.json"), serde_json::to_string(&config).unwrap()).unwrap();
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let _bert = Bert::new(&(vs.root() / "bert"), &config);
    vs.save(dir.join("model.safetensors")).unwrap();
    config
}

/// Notes whose words separate three codes, with shared filler words.
fn write_dataset(dir: &Path, labels: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(labels, "code\tdescription\nJ45.909\tUnspecified asthma, uncomplicated\nI10\tEssential (primary) hypertension\nE11.9\tType 2 diabetes mellitus without complications\n").unwrap();
    let topics: [(&str, &[&str]); 3] = [
        ("J45.909", &["wheeze", "inhaler", "asthma", "albuterol", "cough"]),
        ("I10", &["blood", "pressure", "hypertension", "lisinopril", "headache"]),
        ("E11.9", &["diabetes", "metformin", "glucose", "thirst", "a1c"]),
    ];
    let filler = ["patient", "presents", "with", "history", "of", "reports", "today", "clinic", "visit"];
    for (split, n) in [("train", 60), ("valid", 15), ("test", 15)] {
        let mut lines = String::new();
        for i in 0..n {
            let (code, words) = topics[i % 3];
            let mut text = Vec::new();
            for k in 0..(6 + i % 5) {
                text.push(filler[(i * 7 + k * 3) % filler.len()]);
                text.push(words[(i + k) % words.len()]);
            }
            // A second code on some notes (multi-label), never the same as the primary.
            let mut codes = vec![code.to_string()];
            if i % 4 == 0 {
                let (c2, w2) = topics[(i + 1) % 3];
                text.push(w2[i % w2.len()]);
                codes.push(c2.to_string());
            }
            let rec = serde_json::json!({"id": format!("{split}-{i}"), "text": text.join(" ") + ".", "codes": codes});
            lines.push_str(&rec.to_string());
            lines.push('\n');
        }
        std::fs::write(dir.join(format!("{split}.jsonl")), lines).unwrap();
    }
}

/// A run of the tiny model on CPU, one thread, seed 3, 16-token windows, batches of 8.
fn config(base: &Path, data: &Path, labels: &Path, out: &Path, epochs: usize, lr: f64) -> TrainConfig {
    let table = root().join("artifacts/icd10cm.table");
    assert!(table.exists(), "{} missing: run scripts/setup.sh", table.display());
    TrainConfig {
        base: base.into(),
        data: data.into(),
        labels: labels.into(),
        out: out.into(),
        table,
        device: "cpu".into(),
        threads: 1,
        seed: 3,
        epochs,
        lr,
        batch_size: 8,
        max_length: 16,
        ..TrainConfig::default()
    }
}

/// A temporary folder with a tiny random base model, a 3-code label file and the
/// synthetic splits: (folder, base, labels, data).
fn tiny_setup() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    tiny_base(&base);
    let labels = tmp.path().join("labels.tsv");
    let data = tmp.path().join("data");
    write_dataset(&data, &labels);
    (tmp, base, labels, data)
}

/// libtorch's random generator is process-wide: a test drawing from it while another
/// seeds it and initializes a model changes that model. Tests take turns.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TORCH_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn metrics(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap()
}

#[test]
fn tiny_bert_learns_and_its_checkpoint_round_trips() {
    let _serial = serial();
    let (tmp, base, labels, data) = tiny_setup();
    let out = tmp.path().join("run");
    let args = config(&base, &data, &labels, &out, 8, 3e-3);
    train::run(&args).unwrap();

    let m = metrics(&out);
    let epochs = m["epochs"].as_array().unwrap();
    let first = epochs[0]["train_loss"].as_f64().unwrap();
    let last = epochs.last().unwrap()["train_loss"].as_f64().unwrap();
    assert!(last < 0.5 * first, "loss should fall: {first} -> {last}");
    let acc = m["test"]["multiclass"]["accuracy"].as_f64().unwrap();
    assert!(acc >= 0.8, "test accuracy {acc}");
    for f in ["config.json", "model.safetensors", "tokenizer.json", "labels.tsv", "metrics.json", "log.csv", "training_args.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    assert_eq!(std::fs::read_to_string(out.join("log.csv")).unwrap().lines().count(), 9, "header + 8 epochs");
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["id2label"]["1"], "I10");
    assert_eq!(cfg["icd"]["head"], "cls");
    // Notes are longer than 16 tokens, so they were split into chunks.
    assert!(data::load_split(
        &data.join("test.jsonl"),
        &icd_core::LabelSpace::from_labels(vec![
            icd_core::labels::Label { code: "J45.909".into(), description: String::new() },
            icd_core::labels::Label { code: "I10".into(), description: String::new() },
            icd_core::labels::Label { code: "E11.9".into(), description: String::new() },
        ]),
        &BaseModel::load(&base).unwrap().tokenizer,
        &serde_json::from_value::<IcdSettings>(cfg["icd"].clone()).unwrap()
    )
    .unwrap()
    .iter()
    .any(|e| e.chunks.len() > 1));

    // The checkpoint alone reproduces the reported test accuracy.
    let report = train::eval(&EvalConfig { checkpoint: out.clone(), data: data.join("test.jsonl"), device: "cpu".into(), batch_size: 4, json: None }).unwrap();
    assert!((report.multiclass.accuracy - acc).abs() < 1e-9, "{} vs {acc}", report.multiclass.accuracy);

    // --resume continues after the last finished epoch.
    let mut more = args.clone();
    more.epochs = 9;
    more.resume = true;
    train::run(&more).unwrap();
    assert_eq!(metrics(&out)["epochs"].as_array().unwrap().len(), 9);
}

/// A run stopped in the middle of an epoch and resumed ends with exactly the weights
/// of an uninterrupted run: weights, AdamW moments, batch order and dropout masks all
/// continue where they were.
#[test]
fn a_run_resumed_mid_epoch_matches_an_uninterrupted_run() {
    let _serial = serial();
    let (tmp, base, labels, data) = tiny_setup();
    // 60 notes, batch 8: 8 steps per epoch; stop after 3 and after 11 (inside epochs 1 and 2).
    let whole = tmp.path().join("whole");
    train::run(&config(&base, &data, &labels, &whole, 3, 3e-3)).unwrap();

    let parts = tmp.path().join("parts");
    for (max_steps, resume) in [(3, false), (11, true), (0, true)] {
        train::run(&TrainConfig { max_steps, resume, ..config(&base, &data, &labels, &parts, 3, 3e-3) }).unwrap();
        if max_steps == 3 {
            let state: serde_json::Value = serde_json::from_slice(&std::fs::read(parts.join("checkpoint-last/state.json")).unwrap()).unwrap();
            assert_eq!(state["partial"]["batches_done"], 3, "{state}");
            assert!(parts.join("checkpoint-last/optimizer.safetensors").exists());
            assert!(!parts.join("metrics.json").exists(), "a stopped run has no test metrics yet");
        }
    }
    let read = |dir: &Path| {
        let mut t = tch::Tensor::read_safetensors(dir.join("checkpoint-last/model.safetensors")).unwrap();
        t.sort_by(|a, b| a.0.cmp(&b.0));
        t
    };
    let (a, b) = (read(&whole), read(&parts));
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        let d = (ta - tb).abs().max().double_value(&[]);
        assert!(d == 0.0, "{na} differs by {d} between the whole and the resumed run");
    }
    assert_eq!(metrics(&whole)["test"], metrics(&parts)["test"]);
}

/// --init starts from a trained model: with a learning rate of 0 the warm-started run reports
/// exactly the first run's test metrics; a model with other labels is refused.
#[test]
fn init_warm_starts_from_a_trained_checkpoint() {
    let _serial = serial();
    let (tmp, base, labels, data) = tiny_setup();
    let diagnostic_first = icd_core::InputLayout::DiagnosticFirst;
    let first = tmp.path().join("first");
    train::run(&TrainConfig { input: diagnostic_first, ..config(&base, &data, &labels, &first, 3, 3e-3) }).unwrap();
    let warm = tmp.path().join("warm");
    train::run(&TrainConfig { input: diagnostic_first, init: Some(first.clone()), ..config(&base, &data, &labels, &warm, 1, 0.0) }).unwrap();
    assert_eq!(metrics(&warm)["test"], metrics(&first)["test"]);
    let cold = tmp.path().join("cold");
    train::run(&config(&base, &data, &labels, &cold, 1, 0.0)).unwrap();
    assert_ne!(metrics(&cold)["test"], metrics(&first)["test"], "without --init the head is random");

    // A model of another head gives its encoder; this run's head starts fresh.
    let laat = tmp.path().join("laat");
    let args =
        TrainConfig { head: HeadKind::LabelAttention, label_attention_dim: 16, init: Some(first.clone()), ..config(&base, &data, &labels, &laat, 1, 0.0) };
    train::run(&args).unwrap();
    // The init model is the first run's kept weights (its best epoch), at the folder's root.
    let weights = |file: PathBuf| tch::Tensor::read_safetensors(file).unwrap();
    let (theirs, ours) = (weights(first.join("model.safetensors")), weights(laat.join("checkpoint-last/model.safetensors")));
    let encoder: Vec<_> = ours.iter().filter(|(n, _)| n.starts_with("bert.")).collect();
    assert!(!encoder.is_empty() && ours.iter().any(|(n, _)| n.starts_with("label_attention.")));
    for (name, t) in encoder {
        let (_, w) = theirs.iter().find(|(n, _)| n == name).expect(name);
        assert_eq!((t - w).abs().max().double_value(&[]), 0.0, "{name} is not the init model's");
    }

    // Another label order is refused with the folder named.
    let other = tmp.path().join("other.tsv");
    let mut lines: Vec<String> = std::fs::read_to_string(&labels).unwrap().lines().map(String::from).collect();
    lines[1..].reverse();
    std::fs::write(&other, lines.join("\n") + "\n").unwrap();
    let b = TrainConfig { init: Some(first.clone()), batch_size: 16, lr: 5e-5, ..config(&base, &data, &other, &tmp.path().join("bad"), 1, 0.0) };
    let e = format!("{:#}", train::run(&b).unwrap_err());
    assert!(e.contains("--init") && e.contains("labels"), "{e}");
}

#[test]
fn label_attention_head_trains_on_multi_label_data() {
    let _serial = serial();
    let (tmp, base, labels, data) = tiny_setup();
    let out = tmp.path().join("run");
    let args = TrainConfig { head: HeadKind::LabelAttention, label_attention_dim: 16, ..config(&base, &data, &labels, &out, 6, 3e-3) };
    train::run(&args).unwrap();
    let m = metrics(&out);
    let epochs = m["epochs"].as_array().unwrap();
    assert!(epochs.last().unwrap()["train_loss"].as_f64().unwrap() < epochs[0]["train_loss"].as_f64().unwrap());
    let ml = &m["test"]["multilabel"];
    assert!(ml["micro_f1"].as_f64().unwrap() > 0.5, "{ml}");
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["icd"]["objective"], "sigmoid");
    let t = cfg["icd"]["threshold"].as_f64().unwrap();
    assert!(t > 0.0 && t < 1.0);
}

#[test]
fn frozen_layers_stay_unchanged_while_the_head_learns() {
    let _serial = serial();
    let (tmp, base, labels, data) = tiny_setup();
    let out = tmp.path().join("run");
    let args = TrainConfig { freeze_layers: 2, ..config(&base, &data, &labels, &out, 4, 1e-2) };
    train::run(&args).unwrap();
    let m = metrics(&out);
    let epochs = m["epochs"].as_array().unwrap();
    assert!(epochs.last().unwrap()["train_loss"].as_f64().unwrap() < epochs[0]["train_loss"].as_f64().unwrap());
    // The encoder stayed as it was: the saved encoder equals the base weights.
    let saved = Tensor::read_safetensors(out.join("model.safetensors")).unwrap();
    let basew = BaseModel::load(&base).unwrap();
    for (name, t) in saved.iter().filter(|(n, _)| n.starts_with("bert.")) {
        let b = &basew.weights[name];
        assert!(t.allclose(b, 0.0, 0.0, false), "{name} changed although frozen");
    }
}

#[test]
fn pytorch_bin_layout_with_vocab_txt_loads_the_same_weights() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let st = tmp.path().join("st");
    tiny_base(&st);
    let st_base = BaseModel::load(&st).unwrap();
    // Write the same weights the way Hugging Face's BertForPreTraining saves them with torch.save.
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(st.join("config.json"), bin.join("config.json")).unwrap();
    std::fs::copy(st.join("vocab.txt"), bin.join("vocab.txt")).unwrap();
    let mut dump = serde_json::Map::new();
    for (name, t) in &st_base.weights {
        let name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta");
        let data: Vec<f32> = Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
        dump.insert(name, serde_json::json!({"shape": t.size(), "data": data}));
    }
    std::fs::write(tmp.path().join("dump.json"), serde_json::Value::Object(dump).to_string()).unwrap();
    let script = r#"
import json, sys, torch
d = json.load(open(sys.argv[1]))
sd = {k: torch.tensor(v["data"], dtype=torch.float32).reshape(v["shape"]) for k, v in d.items()}
sd["cls.predictions.bias"] = torch.zeros(3)
sd["bert.pooler.dense.weight"] = torch.zeros(2, 2)
sd["bert.embeddings.position_ids"] = torch.arange(4)[None]
torch.save(sd, sys.argv[2])
"#;
    let status = std::process::Command::new("python3")
        .args(["-c", script, tmp.path().join("dump.json").to_str().unwrap(), bin.join("pytorch_model.bin").to_str().unwrap()])
        .status()
        .expect("python3 with torch (source scripts/env.sh)");
    assert!(status.success(), "torch.save fixture failed");

    let bin_base = BaseModel::load(&bin).unwrap();
    assert_eq!(bin_base.weights.len(), st_base.weights.len());
    for (name, t) in &st_base.weights {
        assert!(bin_base.weights[name].allclose(t, 0.0, 0.0, false), "{name} differs");
    }
    // The WordPiece tokenizer from vocab.txt lower-cases (the vocabulary is uncased).
    let enc = bin_base.tokenizer.encode("Asthma WHEEZE albuterol").unwrap();
    let asthma = WORDS.iter().position(|w| *w == "asthma").unwrap() as u32 + 5;
    assert_eq!(enc.ids[0], asthma);
    // A config that does not match the weights is refused, naming the tensor.
    let mut cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(bin.join("config.json")).unwrap()).unwrap();
    cfg["hidden_size"] = 64.into();
    cfg["intermediate_size"] = 128.into();
    std::fs::write(bin.join("config.json"), cfg.to_string()).unwrap();
    let wrong = BaseModel::load(&bin).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let config: BertConfig = serde_json::from_value(cfg).unwrap();
    let _m = Bert::new(&(vs.root() / "bert"), &config);
    let err = wrong.copy_into(&vs.variables()).unwrap_err().to_string();
    assert!(err.contains("has shape") && err.contains("bert."), "{err}");
}

#[test]
fn minilm_encoder_matches_hugging_face_transformers() {
    let _serial = serial();
    let fixture: serde_json::Value = serde_json::from_slice(&std::fs::read(root().join("trainer/tests/fixtures/minilm-hidden.json")).unwrap()).unwrap();
    let base = BaseModel::load(&root().join("models/all-MiniLM-L6-v2")).expect("run scripts/setup.sh for the base model");
    let vs = nn::VarStore::new(Device::Cpu);
    let bert = Bert::new(&(vs.root() / "bert"), &base.config);
    base.copy_into(&vs.variables()).unwrap();
    let inputs = fixture["inputs"].as_array().unwrap();
    // Both inputs in one padded batch: padding must not change the real tokens' states.
    let chunks: Vec<Vec<Vec<u32>>> = inputs.iter().map(|i| vec![i["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect()]).collect();
    // Our tokenizer gives the same ids as Hugging Face's.
    for (inp, c) in inputs.iter().zip(&chunks) {
        let enc = base.tokenizer.encode(inp["text"].as_str().unwrap()).unwrap();
        let ch = base.tokenizer.chunks(&enc, 512, 0).unwrap();
        assert_eq!(ch[0].ids, c[0], "token ids of {:?}", inp["text"]);
    }
    let refs: Vec<&[Vec<u32>]> = chunks.iter().map(|c| c.as_slice()).collect();
    let batch = Batch::new(&refs, 0, Device::Cpu);
    let h = tch::no_grad(|| bert.forward_t(&batch.ids, &batch.mask, false));
    let mut max_diff = 0f64;
    for (b, inp) in inputs.iter().enumerate() {
        let want = inp["hidden"].as_array().unwrap();
        for (t, row) in want.iter().enumerate() {
            let want_row: Vec<f32> = row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let got = h.get(b as i64).get(t as i64);
            let d = (got - Tensor::from_slice(&want_row)).abs().max().double_value(&[]);
            max_diff = max_diff.max(d);
        }
    }
    assert!(max_diff <= 1e-4, "max abs difference {max_diff}");
}

#[test]
fn long_notes_are_chunked_and_pooled_over_every_chunk() {
    let _serial = serial();
    let config = BertConfig::preset("tiny").unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    for head in [HeadKind::Cls, HeadKind::LabelAttention] {
        let settings = IcdSettings {
            head,
            objective: Objective::Sigmoid,
            max_length: 8,
            chunk_overlap: 0,
            label_attention_dim: Some(8),
            threshold: 0.5,
            base_model: Some("tiny".into()),
            input: Default::default(),
        };
        let model = IcdModel::new(&(vs.root() / format!("{head:?}")), &config, &settings, 4);
        // One note of three chunks next to a note of one chunk.
        let long: Vec<Vec<u32>> = vec![vec![2, 10, 11, 12, 13, 14, 15, 3], vec![2, 16, 17, 18, 19, 20, 21, 3], vec![2, 22, 3]];
        let short: Vec<Vec<u32>> = vec![vec![2, 30, 31, 3]];
        let batch = Batch::new(&[long.as_slice(), short.as_slice()], 0, Device::Cpu);
        let (logits, att) = tch::no_grad(|| {
            let h = model.encode(&batch, false);
            model.head_forward(&h, &batch, false)
        });
        assert_eq!(logits.size(), [2, 4]);
        // The note's logits change when its last chunk changes: every chunk counts.
        let mut long2 = long.clone();
        long2[2] = vec![2, 40, 3];
        let batch2 = Batch::new(&[long2.as_slice(), short.as_slice()], 0, Device::Cpu);
        let logits2 = tch::no_grad(|| model.forward_t(&batch2, false));
        let d = (logits.get(0) - logits2.get(0)).abs().max().double_value(&[]);
        assert!(d > 1e-6, "{head:?}: the last chunk did not change the note's logits");
        let same = (logits.get(1) - logits2.get(1)).abs().max().double_value(&[]);
        assert!(same < 1e-5, "{head:?}: another note's chunks leaked into this one ({same})");
        if let Some(att) = att {
            // [B, L, C*T]: sums to 1 over real tokens, 0 on padding.
            assert_eq!(att.size(), [2, 4, 3 * 8]);
            let sums = att.sum_dim_intlist(-1, false, Kind::Float);
            assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-5);
            let pad = att.get(0).get(0).narrow(0, 2 * 8 + 3, 5).abs().max().double_value(&[]);
            assert_eq!(pad, 0.0, "padding got attention");
        }
    }
}
