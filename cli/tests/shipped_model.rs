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
    let m: Value =
        serde_json::from_slice(&std::fs::read(bundle().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["icd"]["head"], "cls", "{}", m["icd"]);
    assert_eq!(m["labels"].as_array().unwrap().len(), 300);
    let metrics = &m["metrics"];
    assert!(metrics["n"].as_u64().unwrap() >= 2000, "checked on {} notes", metrics["n"]);
    let agreement = metrics["top1_agreement"].as_f64().unwrap();
    assert!(agreement >= 0.99, "int8 agreement {agreement}");
    let acc = metrics["int8"]["multiclass"]["accuracy"].as_f64().unwrap();
    assert!(acc >= 0.85, "int8 accuracy {acc} (the seed recipe reported 85 %)");
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
    let table = root().join("artifacts/icd10cm.table");
    for (text, code, within) in notes {
        let o = Command::new(env!("CARGO_BIN_EXE_icd"))
            .args(["--table", table.to_str().unwrap(), "predict", "--bundle"])
            .arg(bundle())
            .args(["--text", text, "--format", "jsonl", "--top-k", "5"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let codes: Vec<&str> = v["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect();
        let rank = codes.iter().position(|c| *c == code);
        assert!(
            rank.is_some_and(|r| r < within),
            "{code} not within the first {within} for {text:?}: {codes:?}"
        );
    }
}
