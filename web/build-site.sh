#!/usr/bin/env bash
# trunk post_build hook (Trunk.toml), run in web/ with TRUNK_STAGING_DIR set:
#  1. copy the model bundle ../artifacts/bundle (or $ICD_BUNDLE_DIR) into bundle/
#     (ICD_REQUIRE_BUNDLE=1: fail if it is missing);
#  2. write build.json: {"version", "bundle": bool, "files": {path: bytes}};
#  3. drop trunk's preload of the page's wasm from index.html (boot.js fetches it after the
#     first paint);
#  4. write sw.js from ../www/sw.js with the precache list and a version (a hash of every file),
#     so a new release replaces the old cache.
set -euo pipefail
STAGE="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUNDLE_SRC="${ICD_BUNDLE_DIR:-$HERE/../artifacts/bundle}"

has_bundle=false
if [[ -f "$BUNDLE_SRC/manifest.json" ]]; then
  mkdir -p "$STAGE/bundle"
  # Only the files a bundle has (docs/bundle-format.md), not stray ones.
  for f in manifest.json model.gguf tokenizer.json; do
    [[ -f "$BUNDLE_SRC/$f" ]] || { echo "build-site.sh: $BUNDLE_SRC/$f is missing" >&2; exit 1; }
    cp "$BUNDLE_SRC/$f" "$STAGE/bundle/$f"
  done
  has_bundle=true
elif [[ "${ICD_REQUIRE_BUNDLE:-0}" == 1 ]]; then
  echo "build-site.sh: no model bundle at $BUNDLE_SRC/manifest.json (ICD_REQUIRE_BUNDLE=1)." >&2
  echo "  Build it with icd-quantize (docs/bundle-format.md), or unset ICD_REQUIRE_BUNDLE to build the site without a model." >&2
  exit 1
else
  echo "build-site.sh: warning: no $BUNDLE_SRC/manifest.json, the site is built without a model (code search only)" >&2
fi

cd "$STAGE"
# The page's wasm is fetched by boot.js after the first paint, not preloaded with it.
perl -0pi -e 's/<link rel="preload"[^>]*type="application\/wasm"[^>]*>\s*//g' index.html
grep -q 'type="application/wasm"' index.html && { echo "build-site.sh: could not drop the wasm preload from index.html" >&2; exit 1; }
rm -f sw.js build.json
mapfile -t files < <(find . -type f ! -name '*.d.ts' | sed 's|^\./||' | LC_ALL=C sort)
version="$(for f in "${files[@]}"; do sha256sum "$f"; done | sha256sum | cut -c1-16)"

list='"./"'
sizes=''
for f in "${files[@]}"; do
  list+=",\"./$f\""
  sizes+="${sizes:+,}\"$f\":$(stat -c %s "$f")"
done
printf '{"version":"%s","bundle":%s,"files":{%s}}\n' "$version" "$has_bundle" "$sizes" > build.json
# build.json too: the page reads it at start, offline as well.
list+=',"./build.json"'
sed -e "s|__VERSION__|$version|" -e "s|\"__PRECACHE__\"|[$list]|" "$HERE/../www/sw.js" > sw.js
echo "build-site.sh: sw.js version $version, ${#files[@]} files precached, bundle: $has_bundle"
