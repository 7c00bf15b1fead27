#!/usr/bin/env bash
# The test command (README): set-up, then every test, with the time of each phase.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"
T0=$(date +%s)

phase_start "set-up"
bash scripts/setup.sh
phase_end

phase_start "formatting and lints (cargo fmt --check, cargo clippy -D warnings)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
phase_end

phase_start "native build (workspace, all targets)"
cargo build --workspace --all-targets
phase_end

phase_start "native tests (cargo test --workspace)"
cargo test --workspace --exclude icd-kernels
phase_end

# The kernels' tests print what this CPU could not run (e.g. "SKIPPED ...: this CPU lacks
# AVX-512BW"); --show-output makes those lines visible.
phase_start "kernel tests, native (skips shown)"
cargo test -p icd-kernels -- --show-output
phase_end

phase_start "kernel tests in wasm32 (Node): the browser's SIMD128 kernels"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p icd-kernels --target wasm32-unknown-unknown
phase_end

# The same tests built with relaxed SIMD, where the i8 x u7 kernel runs
# i32x4.relaxed_dot_i8x16_i7x16_add_s, in headless Chromium (the engine the worker-relaxed build
# is for; Node 20 has relaxed SIMD only behind a flag, and its dot product drops the addend).
in_chromium() {
  local wd="${TMPDIR:-/tmp}/icd-webdriver.json"
  echo '{"goog:chromeOptions": {"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]}}' > "$wd"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner WASM_BINDGEN_USE_BROWSER=1 \
    CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" WASM_BINDGEN_TEST_WEBDRIVER_JSON="$wd" \
    WASM_BINDGEN_TEST_TIMEOUT=300 "$@"
}
phase_start "kernel tests in wasm32 with relaxed SIMD (headless Chromium)"
in_chromium cargo test -p icd-kernels --features relaxed-simd --target wasm32-unknown-unknown
phase_end

# The web crate's wasm32 build (both worker variants, SIMD128 and relaxed SIMD) is the trunk
# release build below, which the end-to-end tests then run; a separate debug build of it cost
# about 15 minutes of a cold CI run and checked nothing more.
phase_start "wasm32 parity of core: SIMD128 in Node, relaxed SIMD in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p icd-core --target wasm32-unknown-unknown --test wasm_parity
in_chromium cargo test -p icd-core --features relaxed-simd --target wasm32-unknown-unknown --test wasm_parity
phase_end

# The CPU demo pipeline end to end: notes -> train -> int8 bundle (cached after the first run:
# see the script); then the demo bundle must code the seed example J45.909 first.
bash scripts/demo-bundle.sh

phase_start "demo bundle codes the seed example (icd predict)"
SEED="Patient presents with chronic cough and shortness of breath. History of asthma."
TOP="$("${CARGO_TARGET_DIR:-target}/release/icd" predict --bundle artifacts/bundle --text "$SEED" --format csv --top-k 1 --no-evidence | sed -n 2p | cut -d, -f3)"
[ "$TOP" = J45.909 ] || { echo "the demo bundle codes the seed example $TOP first, not J45.909" >&2; exit 1; }
echo "seed example: $TOP first"
phase_end

# The app as users get it: the shipped model (bundles/default-recipe), so the end-to-end tests
# code notes with the same weights main.sh serves.
phase_start "web app build (trunk, release, with the shipped bundle)"
(cd web && ICD_REQUIRE_BUNDLE=1 ICD_BUNDLE_DIR="$ICD_ROOT/bundles/default-recipe" trunk build --release)
phase_end

phase_start "end-to-end tests (headless Chromium)"
ICD_E2E_REQUIRE_MODEL=1 bash scripts/e2e.sh
phase_end

# Benchmark scripts must install what they need on a fresh machine: two of them run here, the
# inference anchors in their quick mode (numbers printed, not benchmarks, not checked).
phase_start "benchmark scripts, quick (bench/wasm/run.sh QUICK=1, bench/lighthouse/run.sh)"
QUICK=1 bash bench/wasm/run.sh
bash bench/lighthouse/run.sh
phase_end

echo "all phases passed in $(( $(date +%s) - T0 )) s"
