#!/usr/bin/env bash
# The test command (README): set-up, then every test, with the time of each phase.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"
T0=$(date +%s)

phase_start "set-up"
bash scripts/setup.sh
phase_end

phase_start "native build (workspace, all targets)"
cargo build --workspace --all-targets
phase_end

phase_start "native tests (cargo test --workspace)"
cargo test --workspace
phase_end

phase_start "wasm32 build of the web crate"
cargo build -p icd-web --target wasm32-unknown-unknown
phase_end

phase_start "wasm32 parity of core (wasm-bindgen-test in Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p icd-core --target wasm32-unknown-unknown --test wasm_parity
phase_end

# The trained default bundle, so the end-to-end tests code notes with the real model
# (cached after the first run: see the script).
bash scripts/demo-bundle.sh

phase_start "web app build (trunk, release, with the default bundle)"
(cd web && ICD_REQUIRE_BUNDLE=1 trunk build --release)
phase_end

phase_start "end-to-end tests (headless Chromium)"
ICD_E2E_REQUIRE_MODEL=1 bash scripts/e2e.sh
phase_end

echo "all phases passed in $(( $(date +%s) - T0 )) s"
