//! wasm32 vs native: the tiny bundle fixtures (tests/fixtures/bundle-tiny-{cls,laat}, made by
//! scripts/make_bundle_fixtures.sh) must give, in WebAssembly, the top-5 codes and scores
//! (within 1e-4) and the evidence spans that native stored in expected.json.
//!
//! Runs in Node:
//!   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!     cargo test -p icd-core --target wasm32-unknown-unknown --test wasm_parity
#![cfg(target_arch = "wasm32")]

use std::collections::HashMap;

use icd_core::Coder;
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

const TOL: f64 = 1e-4;

struct Fixture {
    manifest: &'static [u8],
    gguf: &'static [u8],
    tokenizer: &'static [u8],
    expected: &'static [u8],
}

macro_rules! fixture {
    ($kind:literal) => {
        Fixture {
            manifest: include_bytes!(concat!(
                "../../tests/fixtures/bundle-tiny-",
                $kind,
                "/manifest.json"
            )),
            gguf: include_bytes!(concat!(
                "../../tests/fixtures/bundle-tiny-",
                $kind,
                "/model.gguf"
            )),
            tokenizer: include_bytes!(concat!(
                "../../tests/fixtures/bundle-tiny-",
                $kind,
                "/tokenizer.json"
            )),
            expected: include_bytes!(concat!(
                "../../tests/fixtures/bundle-tiny-",
                $kind,
                "/expected.json"
            )),
        }
    };
}

fn check(f: Fixture) {
    let files: HashMap<String, Vec<u8>> = [("model.gguf", f.gguf), ("tokenizer.json", f.tokenizer)]
        .into_iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .collect();
    let coder = Coder::from_bundle(f.manifest, &files).expect("bundle loads in wasm");
    let expected: Value = serde_json::from_slice(f.expected).unwrap();
    let k = expected["top_k"].as_u64().unwrap() as usize;
    for note in expected["notes"].as_array().unwrap() {
        let text = note["text"].as_str().unwrap();
        let got = coder.code(text, k).unwrap();
        let want = note["top"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{text}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.code, w["code"].as_str().unwrap(), "{text}");
            let ws = w["score"].as_f64().unwrap();
            assert!(
                (g.score as f64 - ws).abs() < TOL,
                "{}: wasm {} vs native {ws} on {text:?}",
                g.code,
                g.score
            );
            let spans: Vec<[usize; 2]> = g.evidence.iter().map(|e| [e.start, e.end]).collect();
            let want_spans: Vec<[usize; 2]> =
                serde_json::from_value(w["evidence"].clone()).unwrap();
            assert_eq!(spans, want_spans, "{} evidence on {text:?}", g.code);
        }
    }
}

#[wasm_bindgen_test]
fn cls_bundle_matches_native() {
    check(fixture!("cls"));
}

#[wasm_bindgen_test]
fn laat_bundle_matches_native() {
    check(fixture!("laat"));
}

#[wasm_bindgen_test]
fn tampered_bundle_is_refused_in_wasm() {
    let f = fixture!("laat");
    let mut gguf = f.gguf.to_vec();
    gguf[1000] ^= 0x10;
    let files: HashMap<String, Vec<u8>> = [
        ("model.gguf".to_string(), gguf),
        ("tokenizer.json".to_string(), f.tokenizer.to_vec()),
    ]
    .into();
    let e = Coder::from_bundle(f.manifest, &files)
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("model.gguf") && e.contains("sha256"), "{e}");
}
