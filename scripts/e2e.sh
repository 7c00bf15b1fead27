#!/usr/bin/env bash
# End-to-end tests of the built site (www/dist) in headless Chromium (Debian's /usr/bin/chromium).
# Build first: (cd web && trunk build --release). Screenshots go to tests/e2e/artifacts/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e"
[[ -f ../../www/dist/index.html ]] || { echo "e2e: www/dist is not built (cd web && trunk build --release)" >&2; exit 1; }
# playwright-core only drives the system Chromium: never download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [[ ! -d node_modules/playwright-core ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
exec node --test --test-concurrency=1 --test-reporter=spec "$@" app.test.mjs
