#!/usr/bin/env bash
# Codes outside the model's labels (issue #16): exact-code and category accuracy at 1 and 5 on
# the hand-written sets in data/eval/ (no real notes), for the model alone (`--model-only`) and
# for the model fused with the code table's match of the diagnostic statements.
# Usage: bash bench/outside/run.sh [BUNDLE] (default bundles/default-recipe)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh
BUNDLE=${1:-bundles/default-recipe}
ICD=${ICD:-${CARGO_TARGET_DIR:-target}/release/icd}
[[ -x $ICD ]] || cargo build -q --release -p icd-cli
out=$(mktemp -d)
for set in outside-dev outside-test; do
  for mode in model-only fused; do
    flag=(); [[ $mode == model-only ]] && flag=(--model-only)
    "$ICD" predict --bundle "$BUNDLE" --input "data/eval/$set.jsonl" --format jsonl --top-k 5 --no-evidence "${flag[@]}" > "$out/$set.$mode.jsonl" 2>/dev/null
  done
done
python3 bench/outside/score.py "$out"
