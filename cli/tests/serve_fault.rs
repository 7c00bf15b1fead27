//! A fault during a batch: `icd serve` is killed (SIGKILL) while it streams a batch's answers,
//! then started again. The answers come in input order, each a whole line, so the client knows
//! exactly which notes were coded: it keeps the complete lines it got, sends the rest again, and
//! ends with every note once, in order, as an uninterrupted run gives.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use icd_core::bundle::{self, QuantizeOptions};
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn test_bundle(dir: &Path) {
    let ck = root().join("artifacts/test-checkpoints/cls");
    let read = |n: &str| std::fs::read(ck.join(n)).unwrap_or_else(|e| panic!("{}: {e}; run scripts/test-fixtures.sh --checkpoints-only", ck.join(n).display()));
    let b = bundle::build("cls", &read("config.json"), &read("model.safetensors"), &read("tokenizer.json"), None, QuantizeOptions::default()).unwrap();
    std::fs::write(dir.join("manifest.json"), b.manifest_json()).unwrap();
    for (n, bytes) in &b.files {
        std::fs::write(dir.join(n), bytes).unwrap();
    }
}

/// Starts `icd serve` on a free port; returns the process and its URL.
fn start(bundle: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_icd"))
        .args(["serve", "--bundle", bundle.to_str().unwrap(), "--addr", "127.0.0.1:0", "--workers", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, url)
}

fn batch_body(notes: &[(usize, String)]) -> Vec<u8> {
    notes.iter().flat_map(|(id, text)| format!("{}\n", json!({"id": id, "text": text})).into_bytes()).collect()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(std::time::Duration::from_secs(120))).build().into()
}

#[test]
fn a_killed_batch_resumes_with_every_note_once_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    test_bundle(tmp.path());
    let notes: Vec<(usize, String)> = (0..120).map(|i| (i, format!("Note {i}: hypertension, cough and wheeze. {}", "Stable. ".repeat(i % 7)))).collect();

    // The reference: one uninterrupted batch.
    let (mut server, url) = start(tmp.path());
    let mut r = agent().post(format!("{url}/v1/batch")).send(&batch_body(&notes)[..]).unwrap();
    let reference: Vec<Value> = r.body_mut().read_to_string().unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reference.len(), notes.len());

    // The same batch, killed after some answers have arrived.
    let mut got: Vec<Value> = Vec::new();
    let r = agent().post(format!("{url}/v1/batch")).send(&batch_body(&notes)[..]).unwrap();
    let mut reader = BufReader::new(r.into_body().into_reader());
    let mut line = String::new();
    while got.len() < 30 {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0);
        got.push(serde_json::from_str(&line).unwrap());
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    // Whatever else arrives before the connection breaks: complete lines only count.
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(n) if n > 0 && line.ends_with('\n') => got.push(serde_json::from_str(&line).unwrap()),
            _ => break,
        }
    }
    let done = got.len();
    assert!(done < notes.len(), "the kill came before the end ({done} lines)");
    let ids: Vec<u64> = got.iter().map(|v| v["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (0..done as u64).collect::<Vec<_>>(), "a prefix, in order: the client knows what was coded");

    // Restart; send only the notes not answered.
    let (mut server, url) = start(tmp.path());
    let mut r = agent().post(format!("{url}/v1/batch")).send(&batch_body(&notes[done..])[..]).unwrap();
    got.extend(r.body_mut().read_to_string().unwrap().lines().map(|l| serde_json::from_str::<Value>(l).unwrap()));
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(got, reference, "every note once, in order, with the same codes");
    std::io::stdout().flush().unwrap();
}

/// The service's log names routes, statuses and times, never a note's words, whatever the
/// request (coded, refused, or a batch with a bad line).
#[test]
fn the_log_never_holds_note_text() {
    let tmp = tempfile::tempdir().unwrap();
    test_bundle(tmp.path());
    // The log goes to a file: a pipe nobody reads while the server runs would fill and stall it.
    let log_path = tmp.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_icd"))
        .args(["serve", "--bundle", tmp.path().to_str().unwrap(), "--addr", "127.0.0.1:0", "--max-note-bytes", "400"])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let secret = "Zanzibarite-pneumonitis-7731";
    let a = agent();
    let post = |path: &str, body: String| a.post(format!("{url}{path}")).send(body.as_bytes()).unwrap().status().as_u16();
    assert_eq!(post("/v1/code", json!({"text": format!("{secret} with cough.")}).to_string()), 200);
    assert_eq!(post("/v1/code", json!({"text": format!("{secret} {}", "x".repeat(500))}).to_string()), 413);
    assert_eq!(post("/v1/code", format!("{{\"text\": \"{secret}\", \"bogus\": 1}}")), 400);
    assert_eq!(post("/v1/batch", format!("{}\n{{\"id\": 2, \"text\": {secret}}}\n", json!({"id": 1, "text": secret}))), 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("/v1/code") && log.contains("status=413"), "the log is written: {log}");
    assert!(!log.contains("Zanzibarite"), "note text in the log:\n{log}");
}
