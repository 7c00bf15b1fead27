#!/usr/bin/env bash
# The hand-written sets in data/eval/ (no real notes): the outside-300 sets (issue #16) and the
# chart sets (issue #15, real-looking charts with acceptable first-listed codes) and the rules
# sets (charts whose first code turns on a sequencing rule of the guidelines), and the second
# chart sets (charts2-* onwards, written later by more hands). For each, the
# model alone (`--model-only`) and the model fused with the code table's match of the
# diagnostic statements. Dev sets were used to set the fusion weights (`icd-bench fusion`);
# test sets only to report.
# Usage: bash bench/handwritten/run.sh [BUNDLE] (default bundles/default-recipe)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh
BUNDLE=${1:-bundles/default-recipe}
ICD=${ICD:-${CARGO_TARGET_DIR:-target}/release/icd}
[[ -x $ICD ]] || cargo build -q --release -p icd-cli
out=$(mktemp -d)
# The later chart sets (charts2-* onwards) as they are in data/eval, in number order.
sets=(outside-dev outside-test charts-dev charts-test rules-dev rules-test)
for f in $(ls data/eval/charts[0-9]*-*.jsonl | sort -V); do sets+=("$(basename "$f" .jsonl)"); done
printf '%s\n' "${sets[@]}" > "$out/sets.txt"
for set in "${sets[@]}"; do
  for mode in model-only fused; do
    flag=(); [[ $mode == model-only ]] && flag=(--model-only)
    "$ICD" predict --bundle "$BUNDLE" --input "data/eval/$set.jsonl" --format jsonl --top-k 5 --no-evidence "${flag[@]}" > "$out/$set.$mode.jsonl" 2>/dev/null
  done
done
python3 bench/handwritten/score.py "$out"
