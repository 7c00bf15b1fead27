//! `icd sections`: a chart's headed sections, the diagnostic ones marked, as text or JSON lines.

use std::process::Command;

fn icd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_icd")).args(args).output().unwrap()
}

#[test]
fn marks_the_diagnostic_sections_of_a_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let note = tmp.path().join("note.txt");
    std::fs::write(&note, "CHIEF COMPLAINT: Cough.\nPAST MEDICAL HISTORY: Asthma.\nIMPRESSION\nAcute bronchitis.\n").unwrap();
    let o = icd(&["sections", note.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("* ChiefComplaint") && lines[0].ends_with("Cough."), "{out}");
    assert!(lines[1].starts_with("  PastMedicalHistory"), "{out}");
    assert!(lines[2].starts_with("* Impression") && lines[2].ends_with("Acute bronchitis."), "{out}");
}

#[test]
fn jsonl_gives_spans_and_names_a_bad_line() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes.jsonl");
    std::fs::write(&notes, "{\"id\": \"a\", \"text\": \"ASSESSMENT: Gout.\"}\n\n{\"id\": \"b\", \"text\": \"no headers here\"}\n").unwrap();
    let o = icd(&["sections", "--jsonl", notes.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["sections"][0]["kind"], "assessment");
    assert_eq!(rows[0]["sections"][0]["diagnostic"], true);
    assert_eq!((rows[0]["sections"][0]["start"].as_u64(), rows[0]["sections"][0]["end"].as_u64()), (Some(0), Some(17)));
    assert_eq!(rows[1]["line"], 3);
    assert_eq!(rows[1]["sections"].as_array().unwrap().len(), 0);

    std::fs::write(&notes, "{\"id\": \"a\", \"text\": \"ok\"}\n{\"id\": \"b\"}\n").unwrap();
    let o = icd(&["sections", "--jsonl", notes.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2") && err.contains("\"text\""), "{err}");
}
