#!/usr/bin/env bash
# The main job (README): set up, build the web app with the shipped model
# (bundles/default-recipe: the original recipe, fully fine-tuned, int8) and serve it on
# http://127.0.0.1:8080 (PORT to change it).
# ICD_MODEL=demo instead generates the synthetic notes, trains the CPU demo model and
# quantizes it (scripts/demo-bundle.sh, about 14 minutes once per machine) and serves that.
# Every step is skipped when its output is up to date, so a second run goes straight to serving.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"
PORT="${PORT:-8080}"

MODEL="${ICD_MODEL:-shipped}"
case "$MODEL" in
  shipped) BUNDLE="$ICD_ROOT/bundles/default-recipe" ;;
  demo) BUNDLE="$ICD_ROOT/artifacts/bundle" ;;
  *) echo "main.sh: ICD_MODEL must be 'shipped' (default) or 'demo', not '$MODEL'" >&2; exit 1 ;;
esac

phase_start "set-up"
bash scripts/setup.sh
phase_end

[ "$MODEL" = shipped ] || bash scripts/demo-bundle.sh

phase_start "web app build (trunk, release, model: $BUNDLE)"
(cd web && ICD_REQUIRE_BUNDLE=1 ICD_BUNDLE_DIR="$BUNDLE" trunk build --release)
phase_end

echo "serving www/dist on http://127.0.0.1:$PORT (Ctrl+C to stop)"
exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory www/dist
