//! The routes, their request and answer shapes, and the errors they give.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use icd_core::coder::{check_note, NoteError};
use icd_core::{candidates, fhir, CodedLabel};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::AppState;

type Shared = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/model", get(model))
        .route("/v1/code", post(code))
        .route("/v1/batch", post(batch))
        .route("/fhir/r4/DocumentReference/$code", post(fhir_code))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

/// An error answer: `{"error": "...", ...}` with the status, and the fields that locate it.
struct ApiError {
    status: StatusCode,
    message: String,
    fields: Value,
    retry_after: bool,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), fields: json!({}), retry_after: false }
    }

    /// A body that is not the expected JSON: the message, the field (a path such as `text`,
    /// when the JSON is well formed but a value is wrong) and the position.
    fn bad_json(e: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        let inner = e.inner();
        let path = e.path().to_string();
        let mut err = if path.is_empty() || path == "." {
            Self::new(StatusCode::BAD_REQUEST, format!("invalid request body: {inner}"))
        } else {
            Self::new(StatusCode::BAD_REQUEST, format!("invalid request body: field `{path}`: {inner}"))
        };
        err.fields = json!({"line": inner.line(), "column": inner.column()});
        if !(path.is_empty() || path == ".") {
            err.fields["field"] = json!(path);
        }
        err
    }

    fn body(rejection: BytesRejection, limit: usize) -> Self {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            let mut err = Self::new(status, format!("the request body is over the limit of {limit} bytes (icd serve --max-body-bytes)"));
            err.fields = json!({"limit_bytes": limit});
            return err;
        }
        Self::new(status, rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.message});
        if let (Some(b), Some(f)) = (body.as_object_mut(), self.fields.as_object()) {
            b.extend(f.clone());
        }
        let mut r = (self.status, Json(body)).into_response();
        if self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// The route's name for metrics and logs (never the path as sent, which is unbounded).
fn route_name(path: &str) -> &'static str {
    match path {
        "/healthz" => "/healthz",
        "/v1/model" => "/v1/model",
        "/v1/code" => "/v1/code",
        "/v1/batch" => "/v1/batch",
        "/metrics" => "/metrics",
        "/fhir/r4/DocumentReference/$code" => "/fhir/r4/DocumentReference/$code",
        "/openapi.json" => "/openapi.json",
        _ => "other",
    }
}

/// The routes' contract, kept in the repository (serve/openapi.json).
pub const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Authorization, then the request; counted and logged without its body.
async fn guard(State(s): Shared, req: Request, next: Next) -> Response {
    let t0 = Instant::now();
    let route = route_name(req.uri().path());
    let method = req.method().clone();
    let resp = if route != "/healthz" && !authorized(s.config.token.as_deref(), req.headers().get(header::AUTHORIZATION)) {
        ApiError::new(StatusCode::UNAUTHORIZED, "missing or wrong bearer token (Authorization: Bearer <token>)").into_response()
    } else {
        next.run(req).await
    };
    let secs = t0.elapsed().as_secs_f64();
    s.metrics.request(route, resp.status().as_u16(), secs);
    tracing::info!(%method, route, status = resp.status().as_u16(), ms = secs * 1e3, "request");
    resp
}

fn authorized(token: Option<&str>, header: Option<&HeaderValue>) -> bool {
    let Some(token) = token else { return true };
    let Some(given) = header.and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer ")) else { return false };
    // Constant time in the token's content.
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn model(State(s): Shared) -> Json<Value> {
    let mut v = s.model.clone();
    let labels: Vec<Value> = s.coder.labels().iter().map(|l| json!({"code": l.code, "description": l.description})).collect();
    v["labels"] = json!(labels);
    if let Some(m) = s.coder.manifest() {
        v["icd"] = json!(m.icd);
        v["metrics"] = json!(m.metrics);
    }
    v["limits"] = json!({
        "max_body_bytes": s.config.max_body_bytes,
        "max_note_bytes": s.config.max_note_bytes,
        "workers": s.config.workers,
        "queue": s.config.queue,
        "timeout_seconds": s.config.timeout.as_secs_f64(),
    });
    Json(v)
}

async fn metrics(State(s): Shared) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render())
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route {} {}; the routes are GET /healthz, GET /v1/model, POST /v1/code, POST /v1/batch, POST /fhir/r4/DocumentReference/$code, GET /metrics, GET /openapi.json",
            req.method(),
            req.uri().path()
        ),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    text: String,
    #[serde(default)]
    top_k: Option<usize>,
    #[serde(default)]
    evidence: Option<bool>,
}

/// A note's text against the limits: the reason it is refused, with the status to give.
fn check_text(text: &str, max: usize) -> Result<(), (StatusCode, String)> {
    check_note(text, max).map_err(|e| match e {
        NoteError::Empty => (StatusCode::BAD_REQUEST, format!("field `text`: {e}")),
        NoteError::TooLong { .. } => (StatusCode::PAYLOAD_TOO_LARGE, format!("field `text`: {e} (icd serve --max-note-bytes)")),
    })
}

fn check_top_k(top_k: Option<usize>, s: &AppState) -> Result<usize, ApiError> {
    let n = s.coder.labels().len();
    match top_k.unwrap_or(s.config.default_top_k.min(n)) {
        k @ 1.. if k <= n => Ok(k),
        k => Err(ApiError::new(StatusCode::BAD_REQUEST, format!("field `top_k`: {k}; it must be 1 to {n} (the model's labels)"))),
    }
}

/// A place in the queue, or 503.
fn admit(s: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    s.admission.clone().try_acquire_owned().map_err(|_| {
        s.metrics.busy();
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("busy: {} notes are being coded and {} requests wait; retry later", s.config.workers, s.config.queue),
        );
        e.retry_after = true;
        e
    })
}

/// Codes one note on a blocking thread once a worker is free; `Err` is the reason it failed.
/// The codes, and whether they are of low confidence (`icd_core::candidates::fuse`).
async fn code_note(s: Arc<AppState>, text: String, top_k: usize, evidence: bool) -> Result<(Vec<CodedLabel>, bool), (StatusCode, String)> {
    let timeout = s.config.timeout;
    let work = async {
        let permit = s.workers.clone().acquire_owned().await.map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_string()))?;
        let coder = s.coder.clone();
        let table = s.table.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // Fusion ranks the model's first MODEL_POOL codes with the table's, then keeps top_k.
            let pool = if table.is_some() { top_k.max(candidates::MODEL_POOL) } else { top_k };
            let model = coder.code_with(&text, pool, evidence)?;
            Ok(match table.as_deref() {
                Some((t, index)) => {
                    let mut fused = candidates::fuse_note(t, index, &text, model, top_k);
                    icd_core::coder::annotate(t, &mut fused.codes);
                    (fused.codes, fused.low_confidence)
                }
                None => {
                    let fused = candidates::Fused::model_only(model);
                    (fused.codes, fused.low_confidence)
                }
            })
        })
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("the coding task failed: {e}")))?
        .map_err(|e: icd_core::ModelError| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
    };
    let r = match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err((StatusCode::GATEWAY_TIMEOUT, format!("coding took longer than the limit of {} s (icd serve --timeout)", timeout.as_secs_f64()))),
    };
    match &r {
        Ok(_) => s.metrics.note_coded(),
        Err(_) => s.metrics.note_error(),
    }
    r
}

async fn code(State(s): Shared, body: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let body = body.map_err(|r| ApiError::body(r, s.config.max_body_bytes))?;
    let req: CodeRequest = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&body)).map_err(|e| ApiError::bad_json(&e))?;
    check_text(&req.text, s.config.max_note_bytes).map_err(|(status, m)| {
        s.metrics.note_error();
        ApiError::new(status, m)
    })?;
    let top_k = check_top_k(req.top_k, &s)?;
    let _admitted = admit(&s)?;
    let (predictions, low_confidence) =
        code_note(s.clone(), req.text, top_k, req.evidence.unwrap_or(true)).await.map_err(|(status, m)| ApiError::new(status, m))?;
    Ok(Json(json!({"predictions": predictions, "low_confidence": low_confidence, "model": s.model})))
}

#[derive(Deserialize)]
struct BatchLine {
    #[serde(default)]
    id: Value,
    text: String,
}

/// One line of a batch: a note to code, or the answer for a bad line.
enum Line {
    Note { id: Value, text: String },
    Bad(Value),
}

fn parse_batch_line(n: usize, raw: &[u8], max_note: usize) -> Option<Line> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let bad = |id: Value, error: String| Some(Line::Bad(json!({"id": id, "error": error, "line": n})));
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => return bad(Value::Null, format!("not valid UTF-8 (byte {} of the line)", e.valid_up_to() + 1)),
    };
    if text.trim().is_empty() {
        return None;
    }
    let line: BatchLine = match serde_json::from_str(text) {
        Ok(l) => l,
        // Keep the id when the line is JSON with an id but a bad or missing `text`.
        Err(e) => return bad(serde_json::from_str::<Value>(text).ok().and_then(|v| v.get("id").cloned()).unwrap_or(Value::Null), e.to_string()),
    };
    if let Err((_, m)) = check_text(&line.text, max_note) {
        return bad(line.id, m);
    }
    Some(Line::Note { id: line.id, text: line.text })
}

/// Waits for one line's answer and streams it; `false` when the client has gone.
async fn send_line(tx: &mpsc::Sender<Result<Bytes, Infallible>>, task: JoinHandle<Value>) -> bool {
    let v = task.await.unwrap_or_else(|e| json!({"error": e.to_string()}));
    tx.send(Ok(Bytes::from(format!("{v}\n")))).await.is_ok()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BatchQuery {
    top_k: Option<usize>,
    evidence: Option<bool>,
}

/// JSONL in, JSONL out in input order, each line written as soon as it and every line before
/// it are done; up to `workers` notes are coded at once.
async fn batch(
    State(s): Shared,
    query: Result<axum::extract::Query<BatchQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| ApiError::body(r, s.config.max_body_bytes))?;
    let q = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?.0;
    let top_k = check_top_k(q.top_k, &s)?;
    let evidence = q.evidence.unwrap_or(false);
    let admitted = admit(&s)?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    let state = s.clone();
    tokio::spawn(async move {
        let _admitted = admitted;
        let mut pending: VecDeque<JoinHandle<Value>> = VecDeque::new();
        let lines = body.split(|&b| b == b'\n').enumerate();
        for (i, raw) in lines {
            let task = match parse_batch_line(i + 1, raw, state.config.max_note_bytes) {
                None => continue,
                Some(Line::Bad(v)) => {
                    state.metrics.note_error();
                    tokio::spawn(async move { v })
                }
                Some(Line::Note { id, text }) => {
                    let st = state.clone();
                    let line = i + 1;
                    tokio::spawn(async move {
                        match code_note(st, text, top_k, evidence).await {
                            Ok((p, low)) => json!({"id": id, "predictions": p, "low_confidence": low}),
                            Err((_, e)) => json!({"id": id, "error": e, "line": line}),
                        }
                    })
                }
            };
            pending.push_back(task);
            if pending.len() >= state.config.workers.max(1) * 2 && !send_line(&tx, pending.pop_front().expect("non-empty")).await {
                return; // the client left
            }
        }
        while let Some(t) = pending.pop_front() {
            if !send_line(&tx, t).await {
                return;
            }
        }
    });
    let mut r = Response::new(Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(r)
}

/// A FHIR error answer: an `OperationOutcome` (`application/fhir+json`).
fn outcome(status: StatusCode, code: &str, diagnostics: &str, expression: Option<&str>) -> Response {
    let mut r = (status, Json(fhir::operation_outcome(code, diagnostics, expression))).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/fhir+json"));
    r
}

/// The note of a `DocumentReference`: the first `content.attachment` that is plain text with
/// inline `data` (base64). `Err`: (FHIRPath, what is wrong).
fn document_text(doc: &Value, path: &str) -> Result<String, (String, String)> {
    if doc["resourceType"] != "DocumentReference" {
        return Err((path.to_string(), format!("expected a DocumentReference, got {}", doc["resourceType"])));
    }
    let Some(content) = doc["content"].as_array().filter(|c| !c.is_empty()) else {
        return Err((format!("{path}.content"), "DocumentReference.content is required (1..*)".into()));
    };
    let mut url_only = None;
    for (j, c) in content.iter().enumerate() {
        let a = &c["attachment"];
        let at = format!("{path}.content[{j}].attachment");
        let plain = a["contentType"].as_str().is_none_or(|t| t.to_ascii_lowercase().starts_with("text/plain"));
        if !plain {
            continue;
        }
        let Some(data) = a["data"].as_str() else {
            if a.get("url").is_some() {
                url_only = Some(at);
            }
            continue;
        };
        let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|e| (format!("{at}.data"), format!("not valid base64: {e}")))?;
        return String::from_utf8(bytes)
            .map_err(|e| (format!("{at}.data"), format!("the decoded note is not UTF-8 text (byte {})", e.utf8_error().valid_up_to() + 1)));
    }
    Err(match url_only {
        Some(at) => {
            (format!("{at}.url"), "attachment.url is not fetched (the service reaches nothing outside); send the note as attachment.data, base64".into())
        }
        None => (format!("{path}.content"), "no text/plain attachment with data (base64) to code".into()),
    })
}

/// `POST /fhir/r4/DocumentReference/$code`: a DocumentReference, or a Bundle of them, in; a
/// Bundle of provisional Conditions out (each linked to its document and patient).
async fn fhir_code(State(s): Shared, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => return outcome(r.status(), "too-long", &ApiError::body(r, s.config.max_body_bytes).message, None),
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return outcome(StatusCode::BAD_REQUEST, "invalid", &format!("invalid JSON: {e}"), None),
    };
    let docs: Vec<(String, &Value)> = match v["resourceType"].as_str() {
        Some("DocumentReference") => vec![("DocumentReference".into(), &v)],
        Some("Bundle") => v["entry"]
            .as_array()
            .map(|e| e.iter().enumerate().map(|(i, e)| (format!("Bundle.entry[{i}].resource"), &e["resource"])).collect())
            .unwrap_or_default(),
        other => {
            return outcome(
                StatusCode::BAD_REQUEST,
                "invalid",
                &format!("expected a DocumentReference or a Bundle of them, got resourceType {}", other.map_or("(none)".into(), |o| format!("{o:?}"))),
                None,
            )
        }
    };
    if docs.is_empty() {
        return outcome(StatusCode::BAD_REQUEST, "required", "the Bundle has no entry to code", Some("Bundle.entry"));
    }
    let mut notes = Vec::with_capacity(docs.len());
    for (path, doc) in &docs {
        let text = match document_text(doc, path) {
            Ok(t) => t,
            Err((at, m)) => return outcome(StatusCode::BAD_REQUEST, "invalid", &m, Some(&at)),
        };
        if let Err((status, m)) = check_text(&text, s.config.max_note_bytes) {
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too-long" } else { "required" };
            return outcome(status, code, &m.replace("field `text`", "the note"), Some(path));
        }
        notes.push(text);
    }
    let _admitted = match admit(&s) {
        Ok(p) => p,
        Err(e) => {
            let mut r = outcome(e.status, "transient", &e.message, None);
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
    };
    let top_k = s.config.default_top_k.min(s.coder.labels().len());
    let mut coded = Vec::with_capacity(notes.len());
    for text in notes {
        match code_note(s.clone(), text, top_k, true).await {
            Ok((p, _)) => coded.push(p),
            Err((status, m)) => return outcome(status, if status == StatusCode::GATEWAY_TIMEOUT { "timeout" } else { "exception" }, &m, None),
        }
    }
    let fhir_notes: Vec<fhir::FhirNote> = docs
        .iter()
        .zip(&coded)
        .enumerate()
        .map(|(i, ((_, doc), preds))| {
            let key = doc["id"].as_str().map_or_else(|| format!("document-{}", i + 1), str::to_string);
            fhir::FhirNote {
                subject: if doc["subject"].is_object() { doc["subject"].clone() } else { fhir::note_subject(&key) },
                document: doc["id"].as_str().map(|id| json!({"reference": format!("DocumentReference/{id}")})),
                key,
                predictions: preds,
            }
        })
        .collect();
    let name = s.model["name"].as_str().unwrap_or_default().to_string();
    let mut r = Json(fhir::conditions_bundle(&fhir_notes, &name)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/fhir+json"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_must_match_exactly() {
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(authorized(None, None));
        assert!(authorized(Some("s3cret"), Some(&h("Bearer s3cret"))));
        assert!(!authorized(Some("s3cret"), Some(&h("Bearer s3cre"))));
        assert!(!authorized(Some("s3cret"), Some(&h("Bearer s3cres"))));
        assert!(!authorized(Some("s3cret"), Some(&h("s3cret"))));
        assert!(!authorized(Some("s3cret"), None));
    }

    #[test]
    fn batch_lines_say_what_is_wrong_and_where() {
        let bad = |raw: &[u8]| match parse_batch_line(7, raw, 50) {
            Some(Line::Bad(v)) => v,
            _ => panic!("not a bad line: {}", String::from_utf8_lossy(raw)),
        };
        assert!(parse_batch_line(1, b"  \r", 50).is_none(), "blank lines are skipped");
        assert_eq!(bad(b"{\"id\": 1, \"text\": \"caf\xe9\"}")["error"], "not valid UTF-8 (byte 23 of the line)");
        let v = bad(b"{\"id\": \"x\"}");
        assert_eq!((v["id"].as_str(), v["line"].as_u64()), (Some("x"), Some(7)));
        assert!(v["error"].as_str().unwrap().contains("missing field `text`"), "{v}");
        assert_eq!(bad(b"{\"id\": 2, \"text\": \" \"}")["error"], "field `text`: the note is empty");
        assert!(bad(format!("{{\"id\": 3, \"text\": \"{}\"}}", "a".repeat(60)).as_bytes())["error"].as_str().unwrap().contains("over the limit of 50"));
        assert!(matches!(parse_batch_line(2, b"{\"id\": 4, \"text\": \"Asthma.\"}\r", 50), Some(Line::Note { .. })));
    }
}
