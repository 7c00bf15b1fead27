//! wasm32 inference speed (issue #4 benchmark, not a test of results): ms per note at several
//! lengths for the bundle named by ICD_BENCH_BUNDLE at compile time, in Node (or headless
//! Chromium with WASM_BINDGEN_USE_BROWSER=1, see bench/wasm/run.sh), one thread,
//! SIMD128, with the same kernels as the browser worker. Run by bench/wasm/run.sh:
//!   ICD_BENCH_BUNDLE=/abs/bundle CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!     cargo test --release -p icd-core --features wasm-bench --target wasm32-unknown-unknown \
//!     --test wasm_bench -- --nocapture
#![cfg(target_arch = "wasm32")]

use std::collections::HashMap;

use icd_core::{Coder, Int8Kernel};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

const MANIFEST: &[u8] = include_bytes!(concat!(env!("ICD_BENCH_BUNDLE"), "/manifest.json"));
const GGUF: &[u8] = include_bytes!(concat!(env!("ICD_BENCH_BUNDLE"), "/model.gguf"));
const TOKENIZER: &[u8] = include_bytes!(concat!(env!("ICD_BENCH_BUNDLE"), "/tokenizer.json"));
const REPEATS: usize = 10;

/// The same text as `icd-bench predict`'s, cut to exactly `n` tokens.
fn note_of(coder: &Coder, n: usize) -> String {
    let para = "The patient is a 67-year-old man with chronic obstructive pulmonary disease, \
        essential hypertension and type 2 diabetes mellitus who presents with three days of \
        worsening dyspnea, productive cough and wheezing. He denies fever or chest pain. ";
    let long = para.repeat(1 + n / 20);
    let enc = coder.tokenizer().encode(&long).unwrap();
    long[..enc.offsets[n - 1].1].to_string()
}

#[wasm_bindgen_test]
fn ms_per_note() {
    let files: HashMap<String, Vec<u8>> = [("model.gguf", GGUF), ("tokenizer.json", TOKENIZER)].into_iter().map(|(n, b)| (n.to_string(), b.to_vec())).collect();
    let t = now();
    // Built with `--features relaxed-simd` (the worker-relaxed build), the relaxed kernel too.
    let mut kernels = vec![
        ("int8 (dequantized at load)", Int8Kernel::Dequantized),
        ("int8 (candle QMatMul)", Int8Kernel::CandleQMatMul),
        ("int8 (our i8 gemm)", Int8Kernel::I8Gemm),
    ];
    if icd_kernels::RELAXED_SIMD {
        kernels.push(("int8 (our i8 x u7, relaxed SIMD)", Int8Kernel::Relaxed));
    }
    let coders: Vec<_> = kernels.into_iter().map(|(name, k)| (name, Coder::from_bundle_with(MANIFEST, &files, k).expect("bundle loads"))).collect();
    let simd = if icd_kernels::RELAXED_SIMD { "simd128 + relaxed-simd" } else { "simd128" };
    console_log!("wasm32 {simd}, 1 thread: {} coders loaded in {:.0} ms", coders.len(), now() - t);
    let max = coders[0].1.model().config().icd.max_length;
    for n in [128usize, 256, 512] {
        let n = n.min(max) - 2;
        let text = note_of(&coders[0].1, n);
        let mut line = format!("{:>4} tokens:", n + 2);
        for (name, c) in &coders {
            c.scores(&text).unwrap(); // warm-up
            let mut times: Vec<f64> = (0..REPEATS)
                .map(|_| {
                    let s = now();
                    std::hint::black_box(c.scores(&text).unwrap());
                    now() - s
                })
                .collect();
            times.sort_by(|a, b| a.partial_cmp(b).unwrap());
            line += &format!("  {name} {:.1}", times[REPEATS / 2]);
        }
        console_log!("{line}");
    }
}
