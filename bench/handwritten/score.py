"""Scores `icd predict` JSONL against data/eval/*.jsonl: a chart counts when an acceptable
first-listed code (`accept`, else `code`) is first, in the first 3 or 5; category (3
characters) of the gold code first; how often the run said low confidence."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
print(f"{'set':<13} {'mode':<11} {'n':>3}  {'code@1':>6} {'code@3':>6} {'code@5':>6} {'cat@1':>6}  {'low conf':>8}")
# The sets run.sh ran, in its order.
for name in (out / "sets.txt").read_text().split():
    gold = {}
    for line in Path(f"data/eval/{name}.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            gold[r["id"]] = (r["code"], set(r.get("accept") or []) | {r["code"]})
    for mode in ["model-only", "fused"]:
        preds = [json.loads(l) for l in (out / f"{name}.{mode}.jsonl").read_text().splitlines() if l.strip()]
        n = len(preds)
        assert n == len(gold), f"{name} {mode}: {n} predictions for {len(gold)} notes"
        c1 = c3 = c5 = k1 = low = 0
        for p in preds:
            code, accept = gold[p["id"]]
            codes = [x["code"] for x in p["predictions"]]
            c1 += bool(codes[:1]) and codes[0] in accept
            c3 += any(c in accept for c in codes[:3])
            c5 += any(c in accept for c in codes[:5])
            k1 += any(c[:3] == code[:3] for c in codes[:1])
            low += bool(p.get("low_confidence"))
        f = lambda x: f"{x / n:.2f}"
        print(f"{name:<13} {mode:<11} {n:>3}  {f(c1):>6} {f(c3):>6} {f(c5):>6} {f(k1):>6}  {low:>8}")
