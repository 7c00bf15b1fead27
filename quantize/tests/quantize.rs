//! `icd-quantize` end to end on the test checkpoints (`scripts/test-fixtures.sh --checkpoints-only`)
//! and the code table (`scripts/setup.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const DATA: &str = r#"{"id":"a","text":"Asthma exacerbation with wheezing.","codes":["J45.909"]}
{"id":"b","text":"Essential hypertension, BP 160/100.","codes":["I10"]}
{"id":"c","text":"Type 2 diabetes without complications.","codes":["E11.9","I10"]}
{"id":"d","text":"Dry cough for two weeks.","codes":["R05.9"]}
{"id":"e","text":"Fractured femur.","codes":["S72.001A"]}
"#;

fn run(kind: &str, out: &Path, data: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_icd-quantize"))
        .arg("--checkpoint")
        .arg(root().join("artifacts/test-checkpoints").join(kind))
        .arg("--out")
        .arg(out)
        .arg("--data")
        .arg(data)
        .arg("--table")
        .arg(root().join("artifacts/icd10cm.table"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn writes_a_verified_bundle_with_metrics_and_official_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("test.jsonl");
    std::fs::write(&data, DATA).unwrap();
    for kind in ["cls", "laat"] {
        let out = tmp.path().join(kind);
        // --force: the random heads of the test checkpoints have near-ties, so the gate's
        // verdict on 4 notes is not what this test is about.
        let o = run(kind, &out, &data, &["--force"]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&o.stderr));
        assert!(stdout.contains("size: f32") && stdout.contains("top-1 agreement"), "{stdout}");
        let m: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["labels"][0]["description"], "Unspecified asthma, uncomplicated");
        assert_eq!(m["labels"][0]["chapter"], 10);
        assert_eq!(m["metrics"]["n"], 4, "the S72 note is not a label and is left out");
        // A share of the 4 notes (--force: the verdict itself is unit-tested in main.rs).
        let agreement = m["metrics"]["top1_agreement"].as_f64().unwrap() * 4.0;
        assert!((0.0..=4.0).contains(&agreement) && (agreement - agreement.round()).abs() < 1e-9, "{agreement}");
        assert!(m["metrics"]["f32"]["multiclass"]["accuracy"].is_number());
        assert_eq!(m["metrics"]["int8"]["multilabel"].is_object(), kind == "laat", "multilabel only for sigmoid");
        assert_eq!(m["source"]["weights_sha256"].as_str().unwrap().len(), 64);
        // What was written verifies and loads.
        let manifest = std::fs::read(out.join("manifest.json")).unwrap();
        let files = ["model.gguf", "tokenizer.json"].into_iter().map(|n| (n.to_string(), std::fs::read(out.join(n)).unwrap())).collect();
        let coder = icd_core::Coder::from_bundle(&manifest, &files).unwrap();
        assert!(!coder.code("Asthma.", 1).unwrap()[0].description.is_empty());
    }
}

#[test]
fn bad_inputs_fail_loudly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("test.jsonl");
    std::fs::write(&data, "{\"id\":\"a\",\"text\":\"x\",\"codes\":[\"I10\"]}\n{broken\n").unwrap();
    let out = tmp.path().join("b");
    let o = run("cls", &out, &data, &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2"), "{err}");
    assert!(!out.join("manifest.json").exists(), "nothing is written on failure");
    let o = Command::new(env!("CARGO_BIN_EXE_icd-quantize")).args(["--checkpoint", "/nonexistent/ck", "--out"]).arg(&out).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/ck/config.json"));
}
