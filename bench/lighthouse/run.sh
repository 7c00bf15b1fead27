#!/usr/bin/env bash
# Lighthouse (pinned 12.2.3: newer ones need Node 22) on the built site, served as
# scripts/main.sh serves it, with the mobile (default) and desktop presets, in headless Chromium.
# Prints each category's score, total blocking time, time to interactive and the longest
# main-thread task Lighthouse saw. Build first: `cd web && trunk build --release` (www/dist).
# Installs lighthouse into ~/.cache/icd10-coder/lighthouse from the npm registry once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
cd "$ICD_ROOT"
[[ -f www/dist/index.html ]] || { echo "bench/lighthouse/run.sh: no www/dist/index.html; build the site first (cd web && trunk build --release)" >&2; exit 1; }
LH_DIR="${ICD_CACHE:-$HOME/.cache/icd10-coder}/lighthouse"
if [[ ! -x "$LH_DIR/node_modules/.bin/lighthouse" ]]; then
  mkdir -p "$LH_DIR"
  [[ -f "$LH_DIR/package.json" ]] || echo '{"private":true}' > "$LH_DIR/package.json"
  (cd "$LH_DIR" && npm install --no-audit --no-fund --silent lighthouse@12.2.3)
fi
OUT="${KEEP:-$(mktemp -d)}"; mkdir -p "$OUT"
PORT="${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory www/dist >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; [[ -n "${KEEP:-}" ]] || rm -rf "$OUT"' EXIT
sleep 1
export CHROME_PATH="${CHROMIUM:-/usr/bin/chromium}"
for preset in mobile desktop; do
  args=()
  [[ $preset == desktop ]] && args+=(--preset=desktop)
  "$LH_DIR/node_modules/.bin/lighthouse" "http://127.0.0.1:$PORT/" "${args[@]}" --quiet \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage" \
    --output=json --output-path="$OUT/$preset.json" >/dev/null
done
node - "$OUT" <<'JS'
const fs = require("fs");
const dir = process.argv[2];
console.log("| preset | performance | accessibility | best practices | SEO | TBT | TTI | longest task |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const preset of ["mobile", "desktop"]) {
  const r = JSON.parse(fs.readFileSync(`${dir}/${preset}.json`, "utf8"));
  const c = r.categories, a = r.audits;
  const longest = Math.max(0, ...((a["long-tasks"]?.details?.items) ?? []).map((t) => t.duration));
  const ms = (k) => `${Math.round(a[k].numericValue)} ms`;
  console.log(`| ${preset} | ${c.performance.score} | ${c.accessibility.score} | ${c["best-practices"].score} | ${c.seo.score} | ${ms("total-blocking-time")} | ${ms("interactive")} | ${Math.round(longest)} ms |`);
}
JS
