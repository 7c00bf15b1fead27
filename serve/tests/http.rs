//! `icd serve`'s routes over real HTTP on a loopback port, with a real int8 bundle (made from
//! the test checkpoint, `scripts/test-fixtures.sh --checkpoints-only`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use icd_core::bundle::{self, QuantizeOptions};
use icd_core::Coder;
use icd_serve::{AppState, Config};
use serde_json::{json, Value};

fn coder() -> Coder {
    let ck = Path::new(env!("CARGO_MANIFEST_DIR")).join("../artifacts/test-checkpoints/laat");
    let read = |n: &str| std::fs::read(ck.join(n)).unwrap_or_else(|e| panic!("{}: {e}; run scripts/test-fixtures.sh --checkpoints-only", ck.join(n).display()));
    let b = bundle::build("laat-test", &read("config.json"), &read("model.safetensors"), &read("tokenizer.json"), None, QuantizeOptions::default()).unwrap();
    let files: HashMap<String, Vec<u8>> = b.files.iter().map(|(n, bytes)| (n.clone(), bytes.clone())).collect();
    Coder::from_bundle(&b.manifest_json(), &files).unwrap()
}

/// Starts a server on a free loopback port; returns its base URL.
fn start(config: Config) -> String {
    start_with(config, None)
}

/// [`start`] with a code table (fusion with the table's codes, as `icd serve --table`).
fn start_with(config: Config, table: Option<icd_core::CodeTable>) -> String {
    let (tx, rx) = mpsc::channel();
    let coder = coder();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            icd_serve::serve(listener, AppState::with_table(coder, config, table)).await.unwrap();
        });
    });
    format!("http://{}", rx.recv_timeout(Duration::from_secs(60)).unwrap())
}

/// An HTTP client that returns every status as a response (not as an error).
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(120))).build().into()
}

struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn send(method: &str, url: &str, body: Option<&[u8]>, token: Option<&str>) -> Answer {
    let a = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut r = match (method, body) {
        ("GET", _) => {
            let mut req = a.get(url);
            if let Some(h) = &auth {
                req = req.header("Authorization", h);
            }
            req.call()
        }
        (_, b) => {
            let mut req = a.post(url).header("Content-Type", "application/json");
            if let Some(h) = &auth {
                req = req.header("Authorization", h);
            }
            req.send(b.unwrap_or_default())
        }
    }
    .unwrap();
    let headers = r.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let body = r.body_mut().read_to_string().unwrap_or_else(|e| panic!("reading the answer of {method} {url}: {e}"));
    Answer { status: r.status().as_u16(), headers, body }
}

const ASTHMA: &str = "Asthma with wheezing and shortness of breath.";

#[test]
fn code_model_health_and_metrics() {
    let base = start(Config::default());
    let h = send("GET", &format!("{base}/healthz"), None, None);
    assert_eq!((h.status, h.json()["status"].as_str()), (200, Some("ok")));

    let m = send("GET", &format!("{base}/v1/model"), None, None).json();
    assert_eq!(m["name"], "laat-test");
    assert_eq!(m["sha256"].as_str().unwrap().len(), 64);
    assert!(m["labels"].as_array().unwrap().iter().any(|l| l["code"] == "J45.909"), "{m}");

    let body = json!({"text": ASTHMA, "top_k": 3, "evidence": true}).to_string();
    let a = send("POST", &format!("{base}/v1/code"), Some(body.as_bytes()), None);
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 3);
    assert_eq!(v["model"]["sha256"], m["sha256"]);
    for p in preds {
        assert!(p["code"].is_string() && p["description"].is_string() && p["score"].is_number(), "{p}");
        for e in p["evidence"].as_array().unwrap() {
            let (s, t) = (e["start"].as_u64().unwrap() as usize, e["end"].as_u64().unwrap() as usize);
            assert_eq!(&ASTHMA[s..t], e["text"].as_str().unwrap());
        }
    }
    // The same prediction objects as the library gives (and `icd predict --format jsonl`).
    let direct = coder().code_with(ASTHMA, 3, true).unwrap();
    for (p, d) in preds.iter().zip(&direct) {
        assert_eq!(p["code"], d.code.as_str());
        assert!((p["score"].as_f64().unwrap() - f64::from(d.score)).abs() < 1e-6, "{p} {d:?}");
        let spans: Vec<(u64, u64)> = p["evidence"].as_array().unwrap().iter().map(|e| (e["start"].as_u64().unwrap(), e["end"].as_u64().unwrap())).collect();
        assert_eq!(spans, d.evidence.iter().map(|e| (e.start as u64, e.end as u64)).collect::<Vec<_>>());
    }

    let metrics = send("GET", &format!("{base}/metrics"), None, None);
    assert!(metrics.headers["content-type"].starts_with("text/plain"), "{:?}", metrics.headers);
    assert!(metrics.body.contains("icd_requests_total{route=\"/v1/code\",status=\"200\"} 1"), "{}", metrics.body);
    assert!(metrics.body.contains("icd_notes_coded_total 1"), "{}", metrics.body);
    assert!(!metrics.body.contains("wheezing"), "no note text anywhere in the metrics");

    let nf = send("GET", &format!("{base}/v2/code"), None, None);
    assert_eq!(nf.status, 404);
    assert!(nf.json()["error"].as_str().unwrap().contains("POST /v1/code"));
}

#[test]
fn bad_requests_get_a_400_that_says_what_and_where() {
    let base = start(Config { max_note_bytes: 200, max_body_bytes: 4096, ..Config::default() });
    let post = |b: &[u8]| send("POST", &format!("{base}/v1/code"), Some(b), None);

    let a = post(b"{\"text\": \"Asthma.\",\n \"top_k\": }");
    assert_eq!(a.status, 400);
    let v = a.json();
    assert_eq!((v["line"].as_u64(), v["column"].as_u64()), (Some(2), Some(11)), "{v}");

    let a = post(b"{\"text\": \"caf\xe9\"}");
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.json()["error"].as_str().unwrap().contains("line 1"), "{}", a.body);

    let a = post(br#"{"text": 5}"#);
    assert_eq!(a.status, 400);
    let v = a.json();
    assert_eq!((v["field"].as_str(), v["line"].as_u64(), v["column"].as_u64()), (Some("text"), Some(1), Some(10)), "{v}");
    assert!(v["error"].as_str().unwrap().starts_with("invalid request body: field `text`: invalid type: integer `5`, expected a string"), "{v}");

    let a = post(br#"{"txt": "Asthma."}"#);
    assert_eq!(a.status, 400);
    assert!(a.json()["error"].as_str().unwrap().contains("unknown field `txt`"), "{}", a.body);

    let a = post(br#"{"text": "  "}"#);
    assert_eq!((a.status, a.json()["error"].as_str()), (400, Some("field `text`: the note is empty")));

    let a = post(br#"{"text": "Asthma.", "top_k": 0}"#);
    assert_eq!(a.status, 400);
    assert!(a.json()["error"].as_str().unwrap().starts_with("field `top_k`: 0"), "{}", a.body);

    let long = json!({"text": "a".repeat(300)}).to_string();
    let a = post(long.as_bytes());
    assert_eq!(a.status, 413);
    assert!(a.json()["error"].as_str().unwrap().contains("300 bytes, over the limit of 200"), "{}", a.body);

    let huge = json!({"text": "a".repeat(5000)}).to_string();
    let a = post(huge.as_bytes());
    assert_eq!(a.status, 413);
    assert_eq!(a.json()["limit_bytes"], 4096, "{}", a.body);
}

#[test]
fn batch_streams_jsonl_in_input_order_and_answers_bad_lines_in_place() {
    let base = start(Config { workers: 2, max_note_bytes: 500, ..Config::default() });
    let mut body = Vec::new();
    for i in 0..20 {
        body.extend_from_slice(json!({"id": format!("n{i}"), "text": format!("Note {i}: {ASTHMA}")}).to_string().as_bytes());
        body.push(b'\n');
        if i == 5 {
            body.extend_from_slice(b"{\"id\": \"bad-json\", \"text\": }\n{\"id\": \"no-text\"}\n");
        }
        if i == 9 {
            body.extend_from_slice(b"{\"id\": \"latin1\", \"text\": \"caf\xe9\"}\n\n");
        }
    }
    let a = send("POST", &format!("{base}/v1/batch?top_k=2"), Some(&body), None);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = a.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 23, "every line answered: {}", a.body);
    let ids: Vec<String> = lines.iter().map(|l| l["id"].as_str().unwrap_or("null").to_string()).collect();
    let mut expected: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
    expected.insert(6, "null".into()); // not JSON: no id to give back
    expected.insert(7, "no-text".into());
    expected.insert(12, "null".into());
    assert_eq!(ids, expected);
    assert_eq!(lines[6]["line"], 7);
    assert!(lines[6]["error"].as_str().unwrap().contains("expected value"), "{}", lines[6]);
    assert_eq!(lines[7]["line"], 8);
    assert!(lines[7]["error"].as_str().unwrap().contains("missing field `text`"), "{}", lines[7]);
    assert_eq!((lines[12]["line"].as_u64(), lines[12]["error"].as_str()), (Some(13), Some("not valid UTF-8 (byte 30 of the line)")));
    for l in lines.iter().filter(|l| l.get("error").is_none()) {
        assert_eq!(l["predictions"].as_array().unwrap().len(), 2, "{l}");
    }
}

#[test]
fn a_token_guards_every_route_but_health() {
    let token = "correct-horse-battery-staple";
    let base = start(Config { token: Some(token.into()), ..Config::default() });
    assert_eq!(send("GET", &format!("{base}/healthz"), None, None).status, 200);
    let body = json!({"text": ASTHMA}).to_string();
    let no = send("POST", &format!("{base}/v1/code"), Some(body.as_bytes()), None);
    assert_eq!(no.status, 401);
    assert_eq!(no.headers["www-authenticate"], "Bearer");
    assert_eq!(send("POST", &format!("{base}/v1/code"), Some(body.as_bytes()), Some("wrong-horse-battery-staple")).status, 401);
    assert_eq!(send("GET", &format!("{base}/v1/model"), None, None).status, 401);
    assert_eq!(send("GET", &format!("{base}/metrics"), None, None).status, 401);
    assert_eq!(send("POST", &format!("{base}/v1/code"), Some(body.as_bytes()), Some(token)).status, 200);
}

/// One worker, no queue: while a batch holds the only place, another request gets 503 with
/// Retry-After, and every request gets an answer.
#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let base = start(Config { workers: 1, queue: 0, ..Config::default() });
    let mut body = Vec::new();
    let n = 60;
    for i in 0..n {
        body.extend_from_slice(json!({"id": i, "text": format!("{ASTHMA} {}", "Chronic cough. ".repeat(40))}).to_string().as_bytes());
        body.push(b'\n');
    }
    let url = format!("{base}/v1/batch");
    // Like a client that honours Retry-After: should a knock below hold the place when the
    // batch arrives, the batch gets 503 and comes back.
    let long = std::thread::spawn(move || loop {
        let a = send("POST", &url, Some(&body), None);
        if a.status != 503 {
            return a;
        }
        std::thread::sleep(Duration::from_millis(50));
    });
    // Wait until the batch holds the place (its first lines are coded), then knock.
    let mut busy = None;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(25));
        let a = send("POST", &format!("{base}/v1/code"), Some(json!({"text": ASTHMA}).to_string().as_bytes()), None);
        if a.status == 503 {
            busy = Some(a);
            break;
        }
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let busy = busy.expect("a 503 while the batch runs");
    assert_eq!(busy.headers["retry-after"], "1");
    assert!(busy.json()["error"].as_str().unwrap().starts_with("busy"), "{}", busy.body);
    let done = long.join().unwrap();
    assert_eq!(done.status, 200);
    assert_eq!(done.body.lines().count(), n, "the batch finished whole");
    let metrics = send("GET", &format!("{base}/metrics"), None, None).body;
    assert!(metrics.contains("icd_rejected_busy_total "), "{metrics}");
    assert!(!metrics.contains("icd_rejected_busy_total 0"), "{metrics}");
}

/// Validates FHIR JSON with an independent implementation: the PyPI `fhir.resources` R4B
/// models (installed into the project venv by scripts/setup.sh). Panics with the validator's
/// message when the resource is not valid.
fn validate_fhir(resource: &Value) {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let script = "import json,sys,importlib\n\
        v=json.load(sys.stdin); t=v['resourceType']\n\
        mod={'Bundle':'bundle','OperationOutcome':'operationoutcome'}[t]\n\
        cls=getattr(importlib.import_module('fhir.resources.R4B.'+mod), t)\n\
        cls.model_validate(v)\n";
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup.sh (it installs fhir.resources into the venv)", python.display()));
    use std::io::Write;
    child.stdin.take().unwrap().write_all(resource.to_string().as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "not valid FHIR R4: {}\n{resource}", String::from_utf8_lossy(&o.stderr));
}

fn document(id: &str, text: &str) -> Value {
    use base64::Engine;
    json!({
        "resourceType": "DocumentReference",
        "id": id,
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": base64::engine::general_purpose::STANDARD.encode(text)}}],
    })
}

#[test]
fn fhir_documents_in_conditions_out_valid_r4() {
    let base = start(Config::default());
    let url = format!("{base}/fhir/r4/DocumentReference/$code");
    let post = |v: &Value| send("POST", &url, Some(v.to_string().as_bytes()), None);

    let a = post(&document("d1", ASTHMA));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.headers["content-type"], "application/fhir+json");
    let b = a.json();
    validate_fhir(&b);
    let entries = b["entry"].as_array().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        let c = &e["resource"];
        assert_eq!(c["subject"]["reference"], "Patient/p1", "the document's patient");
        assert_eq!(c["evidence"][0]["detail"][0]["reference"], "DocumentReference/d1");
        assert_eq!(c["verificationStatus"]["coding"][0]["code"], "provisional");
    }

    // A Bundle of two documents: each one's Conditions point at it.
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": document("d1", ASTHMA)}, {"resource": document("d2", "Type 2 diabetes mellitus on metformin.")}]});
    let b = post(&bundle).json();
    validate_fhir(&b);
    let docs: std::collections::BTreeSet<&str> =
        b["entry"].as_array().unwrap().iter().map(|e| e["resource"]["evidence"][0]["detail"][0]["reference"].as_str().unwrap()).collect();
    assert_eq!(docs.into_iter().collect::<Vec<_>>(), ["DocumentReference/d1", "DocumentReference/d2"]);

    // Invalid input: an OperationOutcome that says what and where, itself valid FHIR.
    let mut bad_b64 = document("d3", ASTHMA);
    bad_b64["content"][0]["attachment"]["data"] = json!("not base64!");
    let mut url_only = document("d4", ASTHMA);
    url_only["content"][0]["attachment"] = json!({"contentType": "text/plain", "url": "https://ehr.example/notes/4"});
    for (input, expression, words) in [
        (json!({"resourceType": "Patient"}), None, "expected a DocumentReference or a Bundle"),
        (bad_b64, Some("DocumentReference.content[0].attachment.data"), "not valid base64"),
        (url_only, Some("DocumentReference.content[0].attachment.url"), "is not fetched"),
        (
            json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": document("d5", "  ")}]}),
            Some("Bundle.entry[0].resource"),
            "the note is empty",
        ),
    ] {
        let a = post(&input);
        assert_eq!(a.status, 400, "{}", a.body);
        let o = a.json();
        validate_fhir(&o);
        assert_eq!(o["resourceType"], "OperationOutcome");
        assert!(o["issue"][0]["diagnostics"].as_str().unwrap().contains(words), "{o}");
        assert_eq!(o["issue"][0]["expression"][0].as_str(), expression, "{o}");
    }
    let a = send("POST", &url, Some(b"{not json"), None);
    assert_eq!(a.status, 400);
    validate_fhir(&a.json());
}

/// The OpenAPI document is served as kept in the repository, and names every route the server
/// answers (and no other).
#[test]
fn the_openapi_document_covers_every_route() {
    let base = start(Config::default());
    let a = send("GET", &format!("{base}/openapi.json"), None, None);
    assert_eq!(a.status, 200);
    assert_eq!(a.body, icd_serve::OPENAPI);
    let doc = a.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    for p in &paths {
        let method = doc["paths"][p].as_object().unwrap().keys().next().unwrap().to_uppercase();
        let body = (method == "POST").then_some(b"{}".as_slice());
        let answer = send(&method, &format!("{base}{p}"), body, None);
        assert_ne!(answer.status, 404, "{method} {p} is documented but not served: {}", answer.body);
    }
    let nf = send("GET", &format!("{base}/nope"), None, None).json();
    let listed = nf["error"].as_str().unwrap();
    for p in &paths {
        assert!(listed.contains(p), "the 404 message lists {p}: {listed}");
    }
}

/// A note that takes longer than the timeout gets 504 (a line error in a batch), and the
/// service goes on answering.
#[test]
fn a_slow_note_times_out_with_504() {
    let base = start(Config { timeout: Duration::from_millis(1), ..Config::default() });
    let long = format!("{ASTHMA} {}", "Chronic cough for months, worse at night. ".repeat(60));
    let a = send("POST", &format!("{base}/v1/code"), Some(json!({"text": long}).to_string().as_bytes()), None);
    assert_eq!(a.status, 504, "{}", a.body);
    assert!(a.json()["error"].as_str().unwrap().contains("longer than the limit of 0.001 s"), "{}", a.body);
    let batch = format!("{}\n", json!({"id": "slow", "text": long}));
    let b = send("POST", &format!("{base}/v1/batch"), Some(batch.as_bytes()), None);
    assert_eq!(b.status, 200);
    let line: Value = serde_json::from_str(b.body.trim()).unwrap();
    assert_eq!((line["id"].as_str(), line["line"].as_u64()), (Some("slow"), Some(1)), "{line}");
    assert!(line["error"].as_str().unwrap().contains("longer than the limit"), "{line}");
    assert_eq!(send("GET", &format!("{base}/healthz"), None, None).status, 200);
}

#[test]
fn with_the_code_table_answers_fuse_the_table_codes_with_sources_and_specificity() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../artifacts/icd10cm.table");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; scripts/setup.sh builds it", path.display()));
    let base = start_with(Config::default(), Some(icd_core::CodeTable::from_bytes(&bytes).unwrap()));
    // The history names conditions of the test model's labels (asthma, hypertension): a model
    // code whose condition the note never names would leave the list.
    let note = "IMPRESSION: Closed fracture of the right distal radius, initial encounter.\n\nPAST MEDICAL HISTORY: Asthma, hypertension.";
    let a = send("POST", &format!("{base}/v1/code"), Some(json!({"text": note}).to_string().as_bytes()), None);
    assert_eq!(a.status, 200, "{}", a.body);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert!(v["low_confidence"].is_boolean(), "{v}");
    let preds = v["predictions"].as_array().unwrap();
    let fx = preds.iter().find(|p| p["code"].as_str().unwrap().starts_with("S52.5")).unwrap_or_else(|| panic!("{v}"));
    assert!(fx["source"] == "table" || fx["source"] == "both", "{fx}");
    assert!(fx["specificity"]["facts"].as_array().unwrap().iter().any(|f| f.as_str().unwrap().contains("7th character")), "{fx}");
    // The model's own codes are there too, marked as such.
    assert!(preds.iter().any(|p| p["source"] == "model"), "{v}");
}
