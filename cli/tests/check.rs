//! `icd check` as a user runs it: the JSON contract, the text report and the exit status,
//! on the real code table (`scripts/setup.sh` builds it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn table() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../artifacts/icd10cm.table");
    assert!(p.exists(), "{} is missing: run scripts/setup.sh", p.display());
    p
}

fn icd_check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_icd")).arg("--table").arg(table()).arg("check").args(args).output().unwrap()
}

fn json(args: &[&str]) -> (Value, i32) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let o = icd_check(&all);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    (v, o.status.code().unwrap())
}

fn kinds(v: &Value) -> Vec<(&str, &str)> {
    v["messages"].as_array().unwrap().iter().map(|m| (m["severity"].as_str().unwrap(), m["kind"].as_str().unwrap())).collect()
}

#[test]
fn excludes1_is_an_error_naming_both_codes_and_exits_1() {
    let (v, code) = json(&["E11.9", "E10.9"]);
    assert_eq!(code, 1);
    let m = v["messages"].as_array().unwrap().iter().find(|m| m["kind"] == "excludes1").expect("an excludes1 message");
    assert_eq!(m["severity"], "error");
    assert_eq!(m["codes"], serde_json::json!(["E11.9", "E10.9"]));
    assert!(m["text"].as_str().unwrap().contains("E10.-"));
    let c = &v["codes"][0];
    assert_eq!((c["code"].as_str(), c["valid"].as_bool(), c["billable"].as_bool()), (Some("E11.9"), Some(true), Some(true)));
    assert_eq!(c["description"], "Type 2 diabetes mellitus without complications");
}

#[test]
fn hcc_categories_of_both_models() {
    let (v, code) = json(&["E11.9"]);
    assert_eq!(code, 0, "use-additional prompts are information, not errors: {v}");
    assert_eq!(v["codes"][0]["hcc"], serde_json::json!({"v28": "38", "v24": "19"}));
    let (v, _) = json(&["I10"]);
    assert_eq!(v["codes"][0]["hcc"], serde_json::json!({"v28": null, "v24": null}));
}

#[test]
fn headers_and_missing_seventh_characters_are_errors() {
    let (v, code) = json(&["J45.90"]);
    assert_eq!(code, 1);
    assert_eq!(kinds(&v)[0], ("error", "not_billable"));
    let text = v["messages"][0]["text"].as_str().unwrap();
    assert!(["J45.901", "J45.902", "J45.909"].iter().all(|c| text.contains(c)), "{text}");
    let (v, code) = json(&["S72.001"]);
    assert_eq!((code, kinds(&v)[0]), (1, ("error", "seventh_character")));
    let (v, _) = json(&["--sex", "male", "--age", "70", "O80", "N40.0"]);
    assert!(kinds(&v).contains(&("error", "sex")) && kinds(&v).contains(&("warning", "age")), "{v}");
}

#[test]
fn text_report_and_bad_arguments() {
    let o = icd_check(&["N18.30", "E11.22"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(out.contains("warning[sequencing]: E11.22 goes before N18.30"), "{out}");
    assert!(out.contains("[HCC V28 329") || out.contains("HCC V28"), "{out}");
    let o = icd_check(&["--sex", "other", "I10"]);
    assert_eq!(o.status.code(), Some(2), "clap rejects an unknown --sex");
    let o = icd_check(&[]);
    assert_eq!(o.status.code(), Some(2), "codes are required");
}
