//! The code table worker's service (`icd_web::codes::CodeService`) on the real table, from the
//! table's bytes as the worker fetches them: search, fusion (with HCCs), batch fusion and rule
//! checks, each answering its request's id, all through the JSON messages the page sends.

use icd_core::rules::{Patient, Setting, Severity, Sex};
use icd_core::{NotePrediction, Source};
use icd_tests::artefact;
use icd_web::codes::{CodeService, FromCodes, ToCodes};
use icd_web::protocol::{Note, Prediction};

fn service() -> CodeService {
    let bytes = std::fs::read(artefact("artifacts/icd10cm.table")).expect("read code table");
    CodeService::from_bytes(&bytes).expect("load code table")
}

/// The request as the page sends it (JSON), the answer as the page reads it.
fn ask(s: &CodeService, msg: ToCodes) -> FromCodes {
    let msg: ToCodes = serde_json::from_str(&msg.to_json()).unwrap();
    serde_json::from_str(&s.answer(msg, || 0.0).to_json()).unwrap()
}

fn model(code: &str, score: f32) -> Prediction {
    Prediction::from_coded(icd_core::CodedLabel::new(code, "", 0, score))
}

#[test]
fn searches_fuses_and_checks_through_messages() {
    let s = service();
    let summary = s.summary(1.0);
    assert!(summary.billable > 70_000, "{}", summary.billable);
    assert!(summary.chapter_title(10).contains("respiratory"), "{}", summary.chapter_title(10));

    match ask(&s, ToCodes::Search { id: 1, query: "asthma".into(), limit: 5 }) {
        FromCodes::Hits { id: 1, hits } => {
            assert_eq!(hits.len(), 5);
            assert!(hits.iter().all(|h| h.description.to_lowercase().contains("asthma")), "{hits:?}");
        }
        other => panic!("{other:?}"),
    }

    // A BPH note the model codes as something else: the table's N40.1 comes first.
    let note = "CHIEF COMPLAINT: Trouble emptying the bladder.\nASSESSMENT: BPH with LUTS, nocturia x3.\nPLAN: Tamsulosin.";
    match ask(&s, ToCodes::Fuse { id: 2, text: note.into(), predictions: vec![model("R35.0", 0.2)], top_k: 5 }) {
        FromCodes::Fused { id: 2, predictions, .. } => {
            assert_eq!(predictions[0].code, "N40.1", "{:?}", predictions.iter().map(|p| &p.code).collect::<Vec<_>>());
            assert_eq!(predictions[0].source, Source::Table);
            assert!(!predictions[0].evidence.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // Fused codes carry their HCCs (type 2 diabetes with hyperglycemia: an HCC in V28 and V24).
    match ask(&s, ToCodes::Fuse { id: 3, text: "ASSESSMENT: Type 2 diabetes with hyperglycemia.".into(), predictions: vec![model("E11.65", 0.9)], top_k: 5 }) {
        FromCodes::Fused { predictions, .. } => {
            let e11 = predictions.iter().find(|p| p.code == "E11.65").expect("E11.65 kept");
            assert!(e11.hcc.iter().any(|f| f.version == "V28"), "{:?}", e11.hcc);
        }
        other => panic!("{other:?}"),
    }

    // A batch: each note fused with its own statements, in order; a failed note is left alone.
    let notes = vec![Note { id: "a".into(), text: note.into() }, Note { id: "b".into(), text: "x".into() }];
    let failed = NotePrediction { id: "b".into(), predictions: vec![], low_confidence: false, error: Some("too long".into()) };
    let first = NotePrediction { id: "a".into(), predictions: vec![icd_core::CodedLabel::new("R35.0", "", 0, 0.2)], low_confidence: false, error: None };
    match ask(&s, ToCodes::FuseBatch { id: 4, notes: notes.clone(), results: vec![first.clone(), failed.clone()], top_k: 5 }) {
        FromCodes::FusedBatch { id: 4, results, .. } => {
            assert_eq!(results[0].predictions[0].code, "N40.1");
            assert_eq!(results[1], failed);
        }
        other => panic!("{other:?}"),
    }
    // Notes and results that do not pair up are an error, not a silent mismatch.
    match ask(&s, ToCodes::FuseBatch { id: 5, notes, results: vec![first], top_k: 5 }) {
        FromCodes::Error { id: Some(5), message } => assert!(message.contains("2 notes but 1 results"), "{message}"),
        other => panic!("{other:?}"),
    }

    // O80 (full-term uncomplicated delivery) for a man of 70: the sex edit is an error.
    let patient = Patient { age: Some(70), sex: Some(Sex::Male), setting: Setting::Inpatient };
    match ask(&s, ToCodes::Check { id: 6, codes: vec!["O80".into()], patient }) {
        FromCodes::Checked { id: 6, checked } => assert!(checked.messages.iter().any(|m| m.severity == Severity::Error), "{:?}", checked.messages),
        other => panic!("{other:?}"),
    }
}
