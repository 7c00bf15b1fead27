#!/usr/bin/env bash
# Inference speed against its anchors (issue #4), all on the same checkpoint and the same ids:
#   native: icd-bench predict (candle) vs PyTorch eager (bench/infer_anchor.py), 1 and 2 threads,
#           per chunk of N tokens, and whole notes end to end (`icd predict`, notes/s);
#   wasm:   our core in Node and headless Chromium (wasm32 + simd128, core/tests/wasm_bench.rs)
#           vs onnxruntime-web (bench/wasm/ort.mjs, ort-chromium.mjs),
#           one thread, on the checkpoint's int8 bundle and its ONNX int8 / f32 exports.
#   bash bench/wasm/run.sh [CHECKPOINT]   (default: artifacts/test-checkpoints/cls, all-MiniLM-L6-v2)
#   QUICK=1 bash bench/wasm/run.sh        the test command's quick mode: every install, the native
#           run, the PyTorch/ONNX export and onnxruntime-web in Node once at 128 tokens, with the
#           debug binaries; no wasm builds and no browser (the test command's wasm and e2e phases
#           cover those). Its numbers are not benchmarks.
# Installs onnx, onnxruntime and tokenizers (infer_anchor.py reads the tokenizer) into the project venv and onnxruntime-web into bench/wasm/node_modules.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
cd "$ICD_ROOT"
CK="$(realpath "${1:-artifacts/test-checkpoints/cls}")"
OUT="$ICD_ROOT/bench/wasm/out/$(basename "$CK")"
QUICK="${QUICK:-0}"
if [ "$QUICK" = 1 ]; then
  OUT="$ICD_ROOT/bench/wasm/out/quick-$(basename "$CK")"
  TOKENS=128 NOTES_N=10 THREADS=1 REPEATS=2 PROFILE=debug
fi
TOKENS="${TOKENS:-128,256,512}"
THREADS="${THREADS:-1,2}"
REPEATS="${REPEATS:-10}"
PROFILE="${PROFILE:-release}"
# Where cargo puts the binaries (the test command sets CARGO_TARGET_DIR).
BIN="${CARGO_TARGET_DIR:-$ICD_ROOT/target}/$PROFILE"
mkdir -p "$OUT"

python -c "import onnx, onnxruntime, tokenizers" 2>/dev/null || pip install -q --disable-pip-version-check onnx onnxruntime tokenizers
(cd bench/wasm && { [ -d node_modules/onnxruntime-web ] || npm ci --no-audit --no-fund; })
if [ "$PROFILE" = release ]; then cargo build --release -q -p icd-quantize -p icd-bench -p icd-cli; else cargo build -q -p icd-quantize -p icd-bench -p icd-cli; fi
NOTES="$OUT/notes.jsonl"
head -n "${NOTES_N:-200}" artifacts/data/test.jsonl > "$NOTES"

echo "== int8 bundle of $CK"
[ -s "$OUT/bundle/manifest.json" ] || "$BIN/icd-quantize" --checkpoint "$CK" --out "$OUT/bundle" --quantize-embeddings
du -b "$OUT/bundle/model.gguf" "$CK/model.safetensors"

echo "== native, this machine: candle (icd-bench) then PyTorch eager"
"$BIN/icd-bench" predict --bundle "$OUT/bundle" --checkpoint "$CK" --threads "$THREADS" --tokens "$TOKENS"
for th in ${THREADS//,/ }; do
  s=$(date +%s.%N)
  RAYON_NUM_THREADS=$th "$BIN/icd" predict --bundle "$OUT/bundle" --input "$NOTES" --format jsonl --no-evidence > "$OUT/predictions.jsonl"
  e=$(date +%s.%N)
  python -c "import sys; n, t = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f'icd predict (int8 bundle, default kernel), {sys.argv[4]} thread(s), {n} notes: {n / t:.1f} notes/s')" \
    "$(wc -l < "$NOTES")" "$s" "$e" "$th"
done
python bench/infer_anchor.py --checkpoint "$CK" --tokens "$TOKENS" --threads "$THREADS" --repeats "$REPEATS" --onnx-out "$OUT/onnx" --notes "$NOTES" --limit "${NOTES_N:-200}"

echo "== wasm, Node $(node --version), one thread: onnxruntime-web then ours"
node bench/wasm/ort.mjs "$OUT/onnx/model-int8.onnx" "$OUT/onnx/model-f32.onnx" --tokens "$TOKENS" --repeats "$REPEATS"
if [ "$QUICK" = 1 ]; then
  echo "== quick mode: the wasm and browser runs are left to the test command's wasm32 and e2e phases"
  exit 0
fi
ICD_BENCH_BUNDLE="$OUT/bundle" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --release -p icd-core --features wasm-bench --target wasm32-unknown-unknown \
  --test wasm_bench -- --nocapture 2>&1 | grep -v "^$"

echo "== wasm, headless Chromium (tests/e2e's), one thread: onnxruntime-web then ours"
[ -d tests/e2e/node_modules/playwright-core ] || (cd tests/e2e && npm ci --no-audit --no-fund)
node bench/wasm/ort-chromium.mjs "$OUT/onnx/model-int8.onnx" "$OUT/onnx/model-f32.onnx" --tokens "$TOKENS"
WD="$OUT/webdriver.json"
echo '{"goog:chromeOptions": {"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]}}' > "$WD"
# Built with relaxed SIMD (as the worker-relaxed build): Chromium has it, so this run times
# the SIMD128 i8 gemm and the relaxed-SIMD kernel side by side in one module.
ICD_BENCH_BUNDLE="$OUT/bundle" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" \
  WASM_BINDGEN_TEST_WEBDRIVER_JSON="$WD" WASM_BINDGEN_TEST_TIMEOUT=300 \
  cargo test --release -p icd-core --features wasm-bench,relaxed-simd --target wasm32-unknown-unknown \
  --test wasm_bench -- --nocapture 2>&1 | grep -v "^$"
