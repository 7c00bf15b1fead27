//! wasm32 vs native: the tiny bundle fixtures (tests/fixtures/bundle-tiny-{cls,laat}, made by
//! scripts/make_bundle_fixtures.sh) must give, in WebAssembly, the top-5 codes, the scores
//! (within 1e-4; 1e-3 for the integer GEMM) and the evidence spans that native stored: expected.json with the f32 path on
//! the int8 weights, expected-i8gemm.json with the integer GEMM (the browser's kernel, and
//! `icd`'s on x86-64 with AVX2: the same arithmetic, so the same answers), and
//! expected-relaxed.json with the i8 × u7 arithmetic, which the wasm build with the
//! `relaxed-simd` feature runs on `i32x4.relaxed_dot_i8x16_i7x16_add_s` (the browser's
//! worker-relaxed) and every other build with plain loops.
//!
//! Runs in Node:
//!   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!     cargo test -p icd-core --target wasm32-unknown-unknown --test wasm_parity
//! and with relaxed SIMD, in headless Chromium (scripts/test.sh's `in_chromium`: Node 20's
//! relaxed SIMD is behind a flag and its dot product drops the addend):
//!     cargo test -p icd-core --features relaxed-simd --target wasm32-unknown-unknown --test wasm_parity
#![cfg(target_arch = "wasm32")]

use std::collections::HashMap;

use icd_core::Coder;
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

const TOL: f64 = 1e-4;
/// The integer GEMM re-quantizes every activation row: an input that differs in its last bit
/// (FMA natively, none in wasm) can round to the neighbouring 12-bit step, which moves a score
/// by ~1e-4. Codes and evidence must still be identical.
const TOL_I8GEMM: f64 = 1e-3;

struct Fixture {
    manifest: &'static [u8],
    gguf: &'static [u8],
    tokenizer: &'static [u8],
    expected: &'static [u8],
    expected_i8gemm: &'static [u8],
    expected_relaxed: &'static [u8],
}

macro_rules! fixture {
    ($kind:literal) => {
        Fixture {
            manifest: include_bytes!(concat!("../../tests/fixtures/bundle-tiny-", $kind, "/manifest.json")),
            gguf: include_bytes!(concat!("../../tests/fixtures/bundle-tiny-", $kind, "/model.gguf")),
            tokenizer: include_bytes!(concat!("../../tests/fixtures/bundle-tiny-", $kind, "/tokenizer.json")),
            expected: include_bytes!(concat!("../../tests/fixtures/bundle-tiny-", $kind, "/expected.json")),
            expected_i8gemm: include_bytes!(concat!("../../tests/fixtures/bundle-tiny-", $kind, "/expected-i8gemm.json")),
            expected_relaxed: include_bytes!(concat!("../../tests/fixtures/bundle-tiny-", $kind, "/expected-relaxed.json")),
        }
    };
}

fn check(f: Fixture) {
    check_kernel(&f, icd_core::Int8Kernel::Dequantized, f.expected, TOL);
    check_kernel(&f, icd_core::Int8Kernel::I8Gemm, f.expected_i8gemm, TOL_I8GEMM);
    check_kernel(&f, icd_core::Int8Kernel::Relaxed, f.expected_relaxed, TOL_I8GEMM);
}

/// The build this test runs in: with `relaxed-simd`, `Int8Kernel::Relaxed` above ran the
/// relaxed-SIMD instruction, so the same test covers both worker builds.
#[wasm_bindgen_test]
fn reports_its_kernel() {
    wasm_bindgen_test::console_log!("wasm parity: relaxed SIMD kernel compiled in: {}", icd_kernels::RELAXED_SIMD);
    assert_eq!(icd_kernels::RELAXED_SIMD, cfg!(feature = "relaxed-simd"));
}

/// The wasm coder with `kernel` against what native stored with the same kernel.
fn check_kernel(f: &Fixture, kernel: icd_core::Int8Kernel, expected: &[u8], tol: f64) {
    let files: HashMap<String, Vec<u8>> =
        [("model.gguf", f.gguf), ("tokenizer.json", f.tokenizer)].into_iter().map(|(n, b)| (n.to_string(), b.to_vec())).collect();
    let coder = Coder::from_bundle_with(f.manifest, &files, kernel).expect("bundle loads in wasm");
    let expected: Value = serde_json::from_slice(expected).unwrap();
    let k = expected["top_k"].as_u64().unwrap() as usize;
    for note in expected["notes"].as_array().unwrap() {
        let text = note["text"].as_str().unwrap();
        let got = coder.code(text, k).unwrap();
        let want = note["top"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{text}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.code, w["code"].as_str().unwrap(), "{text}");
            let ws = w["score"].as_f64().unwrap();
            assert!((g.score as f64 - ws).abs() < tol, "{kernel:?} {}: wasm {} vs native {ws} on {text:?}", g.code, g.score);
            let spans: Vec<[usize; 2]> = g.evidence.iter().map(|e| [e.start, e.end]).collect();
            let want_spans: Vec<[usize; 2]> = serde_json::from_value(w["evidence"].clone()).unwrap();
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
    let files: HashMap<String, Vec<u8>> = [("model.gguf".to_string(), gguf), ("tokenizer.json".to_string(), f.tokenizer.to_vec())].into();
    let e = Coder::from_bundle(f.manifest, &files).err().expect("refused").to_string();
    assert!(e.contains("model.gguf") && e.contains("sha256"), "{e}");
}

/// The int8 kernel's wasm SIMD path (`i32x4.dot_i16x8_s`) against candle's f32 matmul, on
/// shapes that are not multiples of the SIMD width or the row tile.
#[wasm_bindgen_test]
fn i8_gemm_matches_f32_matmul() {
    use candle_core::{Device, Tensor};
    let (rows, k, out) = (7, 389, 11);
    let val = |i: u32, seed: u32| ((i.wrapping_mul(2654435761).wrapping_add(seed * 40503) >> 7) % 2001) as f32 / 1000.0 - 1.0;
    let x: Vec<f32> = (0..(rows * k) as u32).map(|i| val(i, 1)).collect();
    let w: Vec<f32> = (0..(out * k) as u32).map(|i| val(i, 2)).collect();
    let x = Tensor::from_vec(x, (rows, k), &Device::Cpu).unwrap();
    let w = Tensor::from_vec(w, (out, k), &Device::Cpu).unwrap();
    let want: Vec<f32> = x.matmul(&w.t().unwrap()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let got: Vec<f32> = icd_core::I8Matmul::pack(&w).unwrap().forward(&x).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let err = want.iter().zip(&got).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err < 0.02 * scale, "max error {err} vs output scale {scale}");
}

/// Integer inputs whose row maxima are the kernel's ranges (2047, 1023) quantize with
/// scale 1, so the kernel must return the exact dot products: checks the panel layout's
/// partial panels (11 outputs) and its i64 blocks (k = 1100), in wasm and natively.
#[wasm_bindgen_test]
fn i8_gemm_is_exact_on_integer_inputs() {
    use candle_core::{Device, Tensor};
    for (rows, k, out) in [(5, 1100, 11), (3, 40, 4), (6, 384, 33)] {
        let int = |i: usize, seed: usize, max: i64| ((i * 7919 + seed * 104_729) as i64 % (2 * max + 1)) - max;
        let mut x: Vec<i64> = (0..rows * k).map(|i| int(i, 1, 2047)).collect();
        let mut w: Vec<i64> = (0..out * k).map(|i| int(i, 2, 1023)).collect();
        for r in 0..rows {
            x[r * k] = 2047;
        }
        for o in 0..out {
            w[o * k] = -1023;
        }
        let xt = Tensor::from_vec(x.iter().map(|&v| v as f32).collect::<Vec<_>>(), (rows, k), &Device::Cpu).unwrap();
        let wt = Tensor::from_vec(w.iter().map(|&v| v as f32).collect::<Vec<_>>(), (out, k), &Device::Cpu).unwrap();
        let got: Vec<f32> = icd_core::I8Matmul::pack(&wt).unwrap().forward(&xt).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        for r in 0..rows {
            for o in 0..out {
                let want: i64 = (0..k).map(|i| x[r * k + i] * w[o * k + i]).sum();
                assert_eq!(got[r * out + o], want as f32, "rows {rows}, k {k}, out {out}: row {r}, output {o}");
            }
        }
    }
}
