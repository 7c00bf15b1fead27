#!/usr/bin/env bash
# (Re)builds the tiny int8 bundle fixtures of the wasm parity test and checks them:
#
#   1. core/tests/bundle_fixture.rs (ignored test write_bundle_fixtures): a 2-layer random
#      BERT (hidden 64, character vocabulary), quantized like a real bundle
#      -> tests/fixtures/bundle-tiny-{cls,laat}/{manifest.json,model.gguf,tokenizer.json}
#      and expected.json / expected-i8gemm.json (the native top-5 codes, scores and evidence
#      spans with the f32 path and with the integer GEMM)
#   2. the native check, then the same bundles in WebAssembly (Node, wasm-bindgen-test-runner)
#
# Deterministic (seeded xorshift weights); about 300 KB in all. Commit the folder if it changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"

cargo test -p icd-core --test bundle_fixture -- --ignored --exact write_bundle_fixtures
cargo test -p icd-core --test bundle_fixture
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p icd-core --target wasm32-unknown-unknown --test wasm_parity
