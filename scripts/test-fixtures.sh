#!/usr/bin/env bash
# (Re)builds the test checkpoints and the candle/PyTorch parity fixtures. Idempotent.
#
#   1. scripts/make_test_checkpoint.py  -> artifacts/test-checkpoints/{cls,laat}/ (MiniLM encoder,
#      seeded random heads) and tests/fixtures/parity-notes.json (the note texts)
#   2. core's tokenizer chunks the notes   -> artifacts/test-checkpoints/{cls,laat}/chunks.json
#      (an ignored test, so the ids are exactly what the Rust side feeds the model)
#   3. scripts/reference_model.py (torch) -> tests/fixtures/parity-{cls,laat}.json
#
# Step 1 is deterministic, so a fresh clone only needs step 1 to run the committed fixtures
# (`--checkpoints-only`); the full run rewrites the fixtures (commit them if they changed).
# Needs models/all-MiniLM-L6-v2/ (scripts/setup.sh) and the venv torch.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"

python3 scripts/make_test_checkpoint.py
if [[ "${1:-}" == "--checkpoints-only" ]]; then
  exit 0
fi
cargo test -p icd-core --test parity -- --ignored --exact write_chunks
for kind in cls laat; do
  python3 scripts/reference_model.py "artifacts/test-checkpoints/$kind" \
    --chunks "artifacts/test-checkpoints/$kind/chunks.json" \
    --out "tests/fixtures/parity-$kind.json"
done
