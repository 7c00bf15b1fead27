#!/usr/bin/env bash
# The main job (README): set up, build everything that exists, and serve the app
# on http://127.0.0.1:8080 (PORT to change it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"
PORT="${PORT:-8080}"

phase_start "set-up"
bash scripts/setup.sh
phase_end

phase_start "web app build (trunk, release)"
(cd web && trunk build --release)
phase_end

echo "serving www/dist on http://127.0.0.1:$PORT (Ctrl+C to stop)"
exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory www/dist
