//! The shipped model (`bundles/default-recipe`, what `scripts/main.sh` serves): it loads (every
//! file's sha256 is checked), passed its int8 gate when it was exported, and codes short notes
//! written for this test, not taken from the training set, with the code a coder would pick
//! among its first three.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bundle() -> PathBuf {
    root().join("bundles/default-recipe")
}

#[test]
fn manifest_records_a_passed_int8_gate_on_the_test_set() {
    let m: Value = serde_json::from_slice(&std::fs::read(bundle().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["icd"]["head"], "cls", "{}", m["icd"]);
    assert_eq!(m["icd"]["input"], "diagnostic_first", "{}", m["icd"]);
    assert_eq!(m["labels"].as_array().unwrap().len(), 300);
    let metrics = &m["metrics"];
    assert!(metrics["n"].as_u64().unwrap() >= 2000, "checked on {} notes", metrics["n"]);
    let agreement = metrics["top1_agreement"].as_f64().unwrap();
    assert!(agreement >= 0.99, "int8 agreement {agreement}");
    let acc = metrics["int8"]["multiclass"]["accuracy"].as_f64().unwrap();
    assert!(acc >= 0.85, "int8 accuracy {acc} (the seed recipe reported 85 %)");
}

/// The first five codes; `model_only`: the model's labels alone (no code-table candidates).
fn first_codes(bundle: &Path, text: &str, model_only: bool) -> Vec<String> {
    first_k_codes(bundle, text, model_only, 5)
}

fn first_k_codes(bundle: &Path, text: &str, model_only: bool, k: usize) -> Vec<String> {
    let table = root().join("artifacts/icd10cm.table");
    let o = Command::new(env!("CARGO_BIN_EXE_icd"))
        .args(["--table", table.to_str().unwrap(), "predict", "--bundle"])
        .arg(bundle)
        .args(["--text", text, "--format", "jsonl", "--top-k", &k.to_string(), "--no-evidence"])
        .args(model_only.then_some("--model-only"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["predictions"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap().to_string()).collect()
}

/// A multi-problem follow-up written for this test: the visit is for blood pressure and
/// cholesterol, but most of its words are about a knee.
const FOLLOW_UP: &str = "CHIEF COMPLAINT: Follow-up of blood pressure and cholesterol.
HISTORY OF PRESENT ILLNESS: The patient is a 58-year-old woman seen for her routine visit. She reports pain in the right knee for two months, worse on stairs, and occasional stiffness in the morning. She tried ibuprofen with some relief. She also had a cold last month that resolved. She walks daily and watches salt intake. Home readings have been in the 130s over 80s.
PAST MEDICAL HISTORY: Hypertension, hyperlipidemia, right knee pain, seasonal allergies.
PAST SURGICAL HISTORY: Right knee arthroscopy in 2015, cholecystectomy.
MEDICATIONS: Lisinopril 10 mg daily, simvastatin 20 mg nightly, loratadine as needed.
SOCIAL HISTORY: Never smoker, rare alcohol.
FAMILY HISTORY: Father had a stroke, mother with osteoarthritis.
PHYSICAL EXAMINATION: Blood pressure 132/82. Right knee with mild effusion and medial joint line tenderness, crepitus. Lungs clear. Heart regular.
ASSESSMENT:
1. Essential hypertension, controlled.
2. Hyperlipidemia, continue statin.
3. Right knee pain, likely osteoarthritis; x-ray ordered.";

#[test]
fn fewer_codes_asked_are_the_first_of_more_and_every_assessed_problem_is_listed() {
    // The fusion ranks the model's first 10 codes whatever --top-k: asking for 3 gives the
    // page's first three (it shows 10).
    let ten = first_k_codes(&bundle(), FOLLOW_UP, false, 10);
    for k in [1, 3] {
        assert_eq!(first_k_codes(&bundle(), FOLLOW_UP, false, k), ten[..k], "--top-k {k}");
    }
    // Each problem of the assessment is among the first five, the knee's too.
    for code in ["I10", "E78.5"] {
        assert!(ten[..5].contains(&code.to_string()), "{code} in {ten:?}");
    }
    assert!(ten[..5].iter().any(|c| c.starts_with("M17") || c.starts_with("M25.56")), "{ten:?}");
}

#[test]
fn the_diagnostic_sections_decide_a_multi_problem_chart() {
    // As shipped (diagnostic-first input): the reason for the visit comes first.
    let codes = first_codes(&bundle(), FOLLOW_UP, true);
    assert_eq!(codes[0], "I10", "{codes:?}");
    // The same weights reading the note in plain windows follow the knee (the failure on
    // real multi-problem follow-ups that docs/real-notes-review.md describes).
    let tmp = tempfile::tempdir().unwrap();
    for f in ["model.gguf", "tokenizer.json"] {
        std::fs::copy(bundle().join(f), tmp.path().join(f)).unwrap();
    }
    let mut m: Value = serde_json::from_slice(&std::fs::read(bundle().join("manifest.json")).unwrap()).unwrap();
    m["icd"].as_object_mut().unwrap().remove("input");
    std::fs::write(tmp.path().join("manifest.json"), m.to_string()).unwrap();
    let windows = first_codes(tmp.path(), FOLLOW_UP, true);
    assert_ne!(windows[0], "I10", "{windows:?}");
    // The assessment's statements matched in the code table confirm I10 (source "both") and
    // bring it back first even then.
    let fused = first_codes(tmp.path(), FOLLOW_UP, false);
    assert_eq!(fused[0], "I10", "{fused:?}");
}

#[test]
fn codes_short_notes_with_the_expected_code_near_the_top() {
    let notes = [
        (
            "Patient presents with chronic cough and shortness of breath. History of asthma.",
            "J45.909",
            1,
        ),
        (
            "Burning on urination and urinary frequency for 3 days. Urinalysis positive for nitrites and leukocyte esterase. Urinary tract infection. Start nitrofurantoin.",
            "N39.0",
            3,
        ),
        (
            "Follow-up of type 2 diabetes mellitus without complications. A1c 7.4 %. Continue metformin 1000 mg twice daily.",
            "E11.9",
            3,
        ),
        (
            "Right lower quadrant pain, fever and anorexia since yesterday. Rebound tenderness at McBurney's point. CT shows an inflamed appendix. Acute appendicitis, surgery consulted.",
            "K35.80",
            3,
        ),
    ];
    for (text, code, within) in notes {
        let v = predict_jsonl(text, &["--top-k", "5"]);
        let codes: Vec<&str> = v["predictions"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
        let rank = codes.iter().position(|c| *c == code);
        assert!(rank.is_some_and(|r| r < within), "{code} not within the first {within} for {text:?}: {codes:?}");
    }
}

/// `icd predict --format jsonl` on one note with the shipped bundle and the code table.
fn predict_jsonl(text: &str, args: &[&str]) -> Value {
    let table = root().join("artifacts/icd10cm.table");
    let o = Command::new(env!("CARGO_BIN_EXE_icd"))
        .args(["--table", table.to_str().unwrap(), "predict", "--bundle"])
        .arg(bundle())
        .args(["--text", text, "--format", "jsonl"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn predictions(text: &str) -> Vec<Value> {
    predict_jsonl(text, &["--top-k", "3", "--no-evidence"])["predictions"].as_array().unwrap().clone()
}

/// The shipped weights score "COPD with (acute) lower respiratory infection" and "with
/// (acute) exacerbation" above plain COPD for a note that names neither (written for this
/// test): the coder may not assign either, so J44.9 comes first with the higher one's score
/// and both are flagged. Once the note documents the exacerbation, J44.1 is not flagged.
#[test]
fn a_fact_the_note_does_not_document_is_flagged_and_ranked_below_the_plain_code() {
    let p = predictions("COPD with increased dyspnea and sputum, started prednisone and azithromycin.");
    let code = |i: usize| p[i]["code"].as_str().unwrap().to_string();
    assert_eq!(code(0), "J44.9", "{p:?}");
    assert!(p[0].get("undocumented").is_none(), "{p:?}");
    let flagged: Vec<(String, String)> = p
        .iter()
        .filter_map(|x| {
            Some((x["code"].as_str()?.to_string(), x.get("undocumented")?.as_array()?.iter().map(|f| f.as_str().unwrap()).collect::<Vec<_>>().join(",")))
        })
        .collect();
    assert!(flagged.contains(&("J44.1".into(), "exacerbation".into())), "{p:?}");
    // J44.9 carries the score of the flagged code it stands in for, and keeps its own.
    let from = p[0]["score_from"].as_str().unwrap_or_else(|| panic!("{p:?}"));
    let carried = p.iter().find(|x| x["code"] == from).unwrap_or_else(|| panic!("{from} listed: {p:?}"));
    assert!(carried.get("undocumented").is_some(), "{p:?}");
    assert_eq!(p[0]["score"], carried["score"], "{p:?}");
    assert!(p[0]["model_score"].as_f64().unwrap() < p[0]["score"].as_f64().unwrap(), "{p:?}");

    let p = predictions("COPD with acute exacerbation: increased dyspnea and sputum, started prednisone and azithromycin.");
    let j441 = p.iter().find(|x| x["code"] == "J44.1").unwrap_or_else(|| panic!("J44.1 among the first three: {p:?}"));
    assert!(j441.get("undocumented").is_none(), "{p:?}");
}

/// With the code table, each suggestion carries its CMS-HCC categories and the rules'
/// messages on it; every evidence span its assertion; a code whose evidence the note only
/// denies or gives to a relative is ranked down (notes written for this test).
#[test]
fn suggestions_carry_hcc_rules_and_assertions() {
    let p = predictions("COPD with increased dyspnea and sputum, started prednisone and azithromycin.");
    let j449 = p.iter().find(|x| x["code"] == "J44.9").unwrap_or_else(|| panic!("{p:?}"));
    let v28 = j449["hcc"].as_array().unwrap().iter().find(|f| f["version"] == "V28").unwrap_or_else(|| panic!("{j449}"));
    assert_eq!(v28["hcc"], 280, "{j449}");
    assert!(!v28["label"].as_str().unwrap().is_empty());
    // J44: "Code also type of asthma, if applicable (J45.-)".
    assert!(j449["rules"].as_array().unwrap().iter().any(|m| m["kind"] == "code_also" && m["severity"] == "info"), "{j449}");

    let text = "Patient presents with chronic cough and shortness of breath. History of asthma. Denies chest pain. Mother has breast cancer.";
    let v = predict_jsonl(text, &["--top-k", "5"]);
    let spans: Vec<(String, String)> = v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["evidence"].as_array().unwrap().iter().map(|e| (e["text"].as_str().unwrap().to_string(), e["assertion"].as_str().unwrap().to_string())))
        .collect();
    assert!(spans.contains(&("History of asthma.".into(), "historical".into())), "{spans:?}");
    assert!(spans.contains(&("Mother has breast cancer.".into(), "family".into())), "{spans:?}");
    assert!(spans.contains(&("Denies chest pain.".into(), "negated".into())), "{spans:?}");
    for p in v["predictions"].as_array().unwrap() {
        let ev = p["evidence"].as_array().unwrap();
        let denied = !ev.is_empty() && ev.iter().all(|e| e["assertion"] == "negated" || e["assertion"] == "family");
        assert_eq!(p.get("demoted").is_some(), denied, "{p}");
    }

    // Without a code table, predict still codes and says what is missing.
    let o = Command::new(env!("CARGO_BIN_EXE_icd"))
        .args(["--table", "/nonexistent/icd10cm.table", "predict", "--bundle"])
        .arg(bundle())
        .args(["--text", "Asthma.", "--format", "jsonl", "--no-evidence"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no code table at /nonexistent/icd10cm.table"));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("\"hcc\""));
}
