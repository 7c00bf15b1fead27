//! The same checkpoint in the trainer (tch) and in core (candle) gives the same logits:
//! max abs difference ≤ 1e-3, on short notes and on one longer than 512 tokens (chunked).

use icd_core::labels::{Label, LabelSpace};
use icd_core::model::IcdModel as CandleModel;
use icd_tests::artefact;
use icd_trainer::base::BaseModel;
use icd_trainer::checkpoint;
use icd_trainer::model::{Batch, HeadKind, IcdModel, IcdSettings, Objective};
use icd_trainer::state::Trainer;
use tch::{nn, Device};

const NOTES: &[&str] = &[
    "Patient presents with chronic cough and shortness of breath. History of asthma.",
    "68 yo F with HTN, DM2 and CKD stage 3; denies chest pain. A1c 8.2 %, metformin 1000 mg BID.",
    "",
];

fn long_note() -> String {
    let para = "HPI: 72-year-old man with COPD and tobacco use presents with 3 days of worsening dyspnea, productive cough with green sputum and wheezing. Denies fever or chest pain. Exam: diffuse expiratory wheezes, SpO2 88% on room air. ";
    para.repeat(14)
}

fn check(head: HeadKind, objective: Objective) {
    let base = BaseModel::load(&artefact("models/all-MiniLM-L6-v2")).unwrap();
    let codes = ["J45.909", "I10", "E11.9", "J44.1", "N18.30", "Z87.891"];
    let labels = LabelSpace::from_labels(codes.iter().map(|c| Label { code: c.to_string(), description: String::new() }).collect());
    let settings = IcdSettings {
        head,
        objective,
        max_length: 512,
        chunk_overlap: 32,
        label_attention_dim: Some(64),
        threshold: 0.5,
        base_model: Some("all-MiniLM-L6-v2".into()),
        input: Default::default(),
    };
    tch::manual_seed(11);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = IcdModel::new(&vs.root(), &base.config, &settings, labels.len() as i64);
    base.copy_into(&vs.variables()).unwrap();
    let tr = Trainer { model, vs, device: Device::Cpu, labels, pad_id: base.tokenizer.pad_id(), autocast: false };
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    checkpoint::save(&ck, &tr, &base.tokenizer).unwrap();

    let candle =
        CandleModel::load(&std::fs::read(ck.join("config.json")).unwrap(), &std::fs::read(ck.join("model.safetensors")).unwrap(), &candle_core::Device::Cpu)
            .unwrap();
    let tok = icd_core::tokenize::NoteTokenizer::from_tokenizer_json(&std::fs::read(ck.join("tokenizer.json")).unwrap()).unwrap();
    let long = long_note();
    let mut notes: Vec<&str> = NOTES.to_vec();
    notes.push(&long);
    let mut worst = 0f32;
    let mut saw_long = false;
    for text in notes {
        let (_, chunks, pred) = candle.predict(&tok, text).unwrap();
        saw_long |= chunks.len() > 1;
        let ids: Vec<Vec<u32>> = chunks.iter().map(|c| c.ids.clone()).collect();
        let batch = Batch::new(&[ids.as_slice()], tr.pad_id, Device::Cpu);
        let logits: Vec<f32> = tch::no_grad(|| Vec::<f32>::try_from(tr.model.forward_t(&batch, false).get(0)).unwrap());
        assert_eq!(logits.len(), pred.logits.len());
        for (a, b) in logits.iter().zip(&pred.logits) {
            worst = worst.max((a - b).abs());
        }
    }
    assert!(saw_long, "the long note must need more than one chunk");
    println!("{head:?}/{objective:?}: max abs logit difference tch vs candle = {worst:e}");
    assert!(worst <= 1e-3, "{head:?}: max abs difference {worst}");
}

#[test]
fn cls_head_tch_and_candle_agree() {
    check(HeadKind::Cls, Objective::Softmax);
}

#[test]
fn label_attention_head_tch_and_candle_agree() {
    check(HeadKind::LabelAttention, Objective::Sigmoid);
}
