//! `icd predict` / `icd eval` end to end on int8 bundles made from the test checkpoints
//! (`scripts/test-fixtures.sh --checkpoints-only`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use icd_core::bundle::{self, QuantizeOptions};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Bundles for both heads, written once into a temp folder.
fn bundle_dir(kind: &str) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        for kind in ["cls", "laat"] {
            let ck = root().join("artifacts/test-checkpoints").join(kind);
            let read = |n: &str| {
                std::fs::read(ck.join(n)).unwrap_or_else(|e| panic!("{}: {e}; run scripts/test-fixtures.sh --checkpoints-only", ck.join(n).display()))
            };
            let b = bundle::build(kind, &read("config.json"), &read("model.safetensors"), &read("tokenizer.json"), None, QuantizeOptions::default()).unwrap();
            let out = tmp.path().join(kind);
            std::fs::create_dir_all(&out).unwrap();
            std::fs::write(out.join("manifest.json"), b.manifest_json()).unwrap();
            for (n, bytes) in &b.files {
                std::fs::write(out.join(n), bytes).unwrap();
            }
        }
        tmp
    });
    dir.path().join(kind)
}

fn icd(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_icd")).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let input = stdin.unwrap_or("").to_string();
    let mut pipe = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "exit {:?}\nstderr:\n{}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

const JSONL: &str = r#"{"id": "n1", "text": "Asthma with wheezing and shortness of breath.", "codes": ["J45.909"]}
{"id": 2, "text": "Essential hypertension. BP 160/100."}
this is not json
{"id": "n3"}

{"id": "n4", "text": "Type 2 diabetes mellitus, on metformin. Chronic cough."}
"#;

#[test]
fn jsonl_keeps_input_order_and_reports_bad_lines() {
    for kind in ["cls", "laat"] {
        let dir = bundle_dir(kind);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), JSONL).unwrap();
        let o = icd(&["predict", "--bundle", dir.to_str().unwrap(), "--input", f.path().to_str().unwrap(), "--format", "jsonl", "--top-k", "3"], None);
        // Bad lines: every good note is still written, and the exit status is 2.
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8(o.stdout.clone()).unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let ids: Vec<Value> = lines.iter().map(|l| l["id"].clone()).collect();
        assert_eq!(ids, vec![Value::from("n1"), Value::from(2), Value::from("n4")], "{kind}");
        for l in &lines {
            let preds = l["predictions"].as_array().unwrap();
            assert_eq!(preds.len(), 3);
            let scores: Vec<f64> = preds.iter().map(|p| p["score"].as_f64().unwrap()).collect();
            assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
            for p in preds {
                assert!(p["code"].is_string() && p["description"].is_string());
                for e in p["evidence"].as_array().unwrap() {
                    for k in ["start", "end", "text", "weight"] {
                        assert!(e.get(k).is_some(), "evidence lacks {k}: {e}");
                    }
                }
            }
            assert!(preds.iter().any(|p| !p["evidence"].as_array().unwrap().is_empty()), "{kind}: no evidence");
        }
        assert!(err.contains("line 3") && err.contains("line 4"), "{err}");
        assert!(err.contains("skipped 2 bad input line(s)"), "{err}");
    }
}

#[test]
fn text_stdin_and_file_inputs() {
    let dir = bundle_dir("laat");
    let b = dir.to_str().unwrap();
    let note = "Chronic obstructive pulmonary disease with cough.";
    let by_text = ok(&icd(&["predict", "--bundle", b, "--text", note, "--format", "json"], None));
    let by_stdin = ok(&icd(&["predict", "--bundle", b, "--format", "json"], Some(note)));
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), note).unwrap();
    let by_file = ok(&icd(&["predict", "--bundle", b, f.path().to_str().unwrap(), "--format", "json"], None));
    let preds = |s: &str| serde_json::from_str::<Value>(s).unwrap()[0]["predictions"].clone();
    assert_eq!(preds(&by_text), preds(&by_stdin));
    assert_eq!(preds(&by_text), preds(&by_file));
    assert_eq!(preds(&by_text).as_array().unwrap().len(), 5, "default --top-k is 5");
    let text = ok(&icd(&["predict", "--bundle", b, "--text", note], None));
    assert!(text.contains(" 1. ") && text.contains("evidence:"), "{text}");
}

#[test]
fn csv_has_a_header_and_a_row_per_code() {
    let dir = bundle_dir("cls");
    let out = ok(&icd(&["predict", "--bundle", dir.to_str().unwrap(), "--text", "Hypertension, on amlodipine.", "--format", "csv", "--top-k", "2"], None));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "id,rank,code,description,score,evidence,undocumented,score_from,source");
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].starts_with("text,1,"), "{out}");
}

#[test]
fn fhir_is_a_bundle_of_conditions() {
    let dir = bundle_dir("laat");
    let out = ok(&icd(&["predict", "--bundle", dir.to_str().unwrap(), "--text", "Asthma.", "--format", "fhir", "--top-k", "2"], None));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["resourceType"], "Bundle");
    assert_eq!(v["type"], "collection");
    let entries = v["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for e in entries {
        let r = &e["resource"];
        assert_eq!(r["resourceType"], "Condition");
        let coding = &r["code"]["coding"][0];
        assert_eq!(coding["system"], "http://hl7.org/fhir/sid/icd-10-cm");
        assert!(coding["code"].is_string());
        // The test bundle's labels have no descriptions: FHIR strings are never empty.
        assert!(coding.get("display").is_none_or(|d| !d.as_str().unwrap().is_empty()), "{coding}");
        assert!(r["extension"][0]["valueDecimal"].is_number());
    }
}

#[test]
fn tampered_bundle_is_refused_naming_the_file() {
    let src = bundle_dir("cls");
    let tmp = tempfile::tempdir().unwrap();
    for n in ["manifest.json", "model.gguf", "tokenizer.json"] {
        std::fs::copy(src.join(n), tmp.path().join(n)).unwrap();
    }
    let p = tmp.path().join("tokenizer.json");
    let mut bytes = std::fs::read(&p).unwrap();
    let i = bytes.len() / 3;
    bytes[i] ^= 0x20;
    std::fs::write(&p, bytes).unwrap();
    let o = icd(&["predict", "--bundle", tmp.path().to_str().unwrap(), "--text", "cough"], None);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tokenizer.json") && err.contains("sha256"), "{err}");
}

#[test]
fn eval_prints_metrics() {
    let dir = bundle_dir("laat");
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        f.path(),
        "{\"id\":\"a\",\"text\":\"Asthma with wheeze.\",\"codes\":[\"J45.909\"]}\n\
         {\"id\":\"b\",\"text\":\"Hypertension.\",\"codes\":[\"I10\",\"E11.9\"]}\n\
         {\"id\":\"c\",\"text\":\"Fracture.\",\"codes\":[\"S72.001A\"]}\n",
    )
    .unwrap();
    let o = icd(&["eval", "--bundle", dir.to_str().unwrap(), "--data", f.path().to_str().unwrap()], None);
    let out = ok(&o);
    assert!(out.contains("2 notes") && out.contains("accuracy") && out.contains("micro"), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 of 3 notes left out"));
}

#[test]
fn codes_search_still_works() {
    let table = root().join("artifacts/icd10cm.table");
    let out = ok(&icd(&["--table", table.to_str().unwrap(), "codes", "search", "asthma", "-n", "3"], None));
    assert_eq!(out.lines().count(), 3, "{out}");
}

/// Bad input is that line's rejection, with its line number and what is wrong, never the
/// run's end: invalid UTF-8, an empty note, a note over the size limit, a repeated id under
/// `--strict` (without it, a warning).
#[test]
fn each_bad_line_is_rejected_alone_and_named() {
    let dir = bundle_dir("cls");
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"id\": \"a\", \"text\": \"Asthma with wheeze.\"}\n");
    input.extend_from_slice(b"{\"id\": \"b\", \"text\": \"caf\xe9 au lait spots\"}\n"); // Latin-1, not UTF-8
    input.extend_from_slice(b"{\"id\": \"c\", \"text\": \"   \"}\n");
    input.extend_from_slice(b"{\"id\": \"d\", \"text\": \"Hypertension. ");
    input.extend_from_slice("x".repeat(300).as_bytes());
    input.extend_from_slice(b"\"}\n");
    input.extend_from_slice(b"{\"id\": \"a\", \"text\": \"Type 2 diabetes.\"}\r\n");
    input.extend_from_slice(b"{\"id\": \"e\", \"text\": \"Chronic cough.\"}");
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &input).unwrap();
    let path = f.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "predict",
            "--bundle",
            dir.to_str().unwrap(),
            "--input",
            path,
            "--format",
            "jsonl",
            "--top-k",
            "1",
            "--no-evidence",
            "--max-note-bytes",
            "200",
        ];
        args.extend_from_slice(extra);
        icd(&args, None)
    };
    let ids = |o: &Output| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_string()).collect()
    };

    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(ids(&o), ["a", "a", "e"], "{err}");
    assert!(err.contains("line 2: skipped: not valid UTF-8 (byte 25 of the line)"), "{err}");
    assert!(err.contains("line 3: skipped: field `text`: the note is empty"), "{err}");
    assert!(err.contains("line 4: skipped: field `text`: the note is 314 bytes, over the limit of 200 (--max-note-bytes)"), "{err}");
    assert!(err.contains("line 5: warning: id \"a\" repeats line 1"), "{err}");
    assert!(err.contains("coded 3 note(s); skipped 3 bad input line(s)"), "{err}");

    let o = run(&["--strict"]);
    assert_eq!(ids(&o), ["a", "e"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 5: skipped: id \"a\" repeats line 1 (--strict)"), "{err}");
    assert!(err.contains("skipped 4 bad input line(s)"), "{err}");

    // A single note gets the same checks, as an error.
    let o = icd(&["predict", "--bundle", dir.to_str().unwrap(), "--text", " \n "], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--text: the note is empty"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Notes are coded and written in batches: more notes than one batch keep their order, and
/// the CSV header is written once.
#[test]
fn a_long_input_streams_in_order() {
    let dir = bundle_dir("laat");
    let n = 600;
    let text: String = (0..n).map(|i| format!("{{\"id\": {i}, \"text\": \"Note {i}: cough and wheeze.\"}}\n")).collect();
    let o = icd(&["predict", "--bundle", dir.to_str().unwrap(), "--input", "-", "--format", "csv", "--top-k", "1", "--no-evidence"], Some(&text));
    let out = ok(&o);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), n + 1, "one header, one row per note");
    assert!(rows[0].starts_with("id,rank,code"));
    for (i, r) in rows[1..].iter().enumerate() {
        assert!(r.starts_with(&format!("{i},1,")), "row {i}: {r}");
    }
}

/// `--shard K/N` (what the Kubernetes Indexed Job in deploy/k8s/code-job.yaml runs): N
/// processes over one file, their `--output` files concatenated in K order equal one run,
/// bad lines included (each reported by the shard that holds it, with its line number).
#[test]
fn sharded_runs_concatenate_to_one_run() {
    let dir = bundle_dir("cls");
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("notes.jsonl");
    let mut text: String = (0..23).map(|i| format!("{{\"id\": {i}, \"text\": \"Note {i}: hypertension and cough.\"}}\n")).collect();
    text.push_str("not json\n{\"id\": 99, \"text\": \"Asthma.\"}"); // a bad line, and no final newline
    std::fs::write(&input, &text).unwrap();
    let run = |extra: &[&str]| {
        let mut args =
            vec!["predict", "--bundle", dir.to_str().unwrap(), "--input", input.to_str().unwrap(), "--format", "jsonl", "--top-k", "2", "--no-evidence"];
        args.extend_from_slice(extra);
        icd(&args, None)
    };
    let whole = run(&[]);
    assert_eq!(whole.status.code(), Some(2));
    let n = 4;
    let shards: Vec<_> = (0..n)
        .map(|k| {
            let out = tmp.path().join(format!("part-{k}.jsonl"));
            let (shard, o) = (format!("{k}/{n}"), out.to_str().unwrap().to_string());
            let (dir, input) = (dir.clone(), input.clone());
            std::thread::spawn(move || {
                let args = [
                    "predict",
                    "--bundle",
                    dir.to_str().unwrap(),
                    "--input",
                    input.to_str().unwrap(),
                    "--format",
                    "jsonl",
                    "--top-k",
                    "2",
                    "--no-evidence",
                    "--shard",
                    &shard,
                    "--output",
                    &o,
                ];
                (icd(&args, None), out)
            })
        })
        .collect();
    let mut merged = String::new();
    let mut errors = String::new();
    for h in shards {
        let (o, out) = h.join().unwrap();
        assert!(o.stdout.is_empty(), "--output takes the codes off stdout");
        assert!(!Path::new(&format!("{}.partial", out.display())).exists());
        merged.push_str(&std::fs::read_to_string(&out).unwrap());
        errors.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(merged, String::from_utf8(whole.stdout).unwrap());
    assert_eq!(merged.lines().count(), 24);
    assert!(errors.contains("line 24: skipped"), "{errors}");
    let o = icd(&["predict", "--bundle", dir.to_str().unwrap(), "--input", input.to_str().unwrap(), "--shard", "4/4"], None);
    assert!(String::from_utf8_lossy(&o.stderr).contains("K must be 0 to N-1"), "{}", String::from_utf8_lossy(&o.stderr));
}
