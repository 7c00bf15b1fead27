#!/usr/bin/env bash
# The main job (README): set up, generate the synthetic notes, train the CPU demo model,
# quantize it to the int8 bundle (scripts/demo-bundle.sh), build the web app with it, and
# serve it on http://127.0.0.1:8080 (PORT to change it). Every step is skipped when its
# output is up to date, so a second run goes straight to serving.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"
PORT="${PORT:-8080}"

phase_start "set-up"
bash scripts/setup.sh
phase_end

bash scripts/demo-bundle.sh

phase_start "web app build (trunk, release)"
(cd web && ICD_REQUIRE_BUNDLE=1 trunk build --release)
phase_end

echo "serving www/dist on http://127.0.0.1:$PORT (Ctrl+C to stop)"
exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory www/dist
