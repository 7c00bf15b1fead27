// Service worker: the app works offline after one visit.
// web/build-site.sh writes the built copy with VERSION (a hash of every file of the build) and
// PRECACHE (every file: app shell, wasm, code table, model bundle). A new release has a new
// VERSION, so the browser installs this worker again, which fills a new cache and deletes the old.
const VERSION = "__VERSION__";
const PRECACHE = "__PRECACHE__";
const PREFIX = "icd10-coder-";
const CACHE = PREFIX + VERSION;
// Only the model worker build this browser loads: worker_loader.js picks worker-relaxed where
// relaxed_check.js says yes, else worker (the page's ?kernel=simd128 loads the other one from
// the network).
importScripts("./relaxed_check.js");
const UNUSED_WORKER = relaxedDotWorks() ? /^\.\/worker(\.js|_bg\.wasm)$/ : /^\.\/worker-relaxed(\.js|_bg\.wasm)$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // "no-cache": revalidate with the server (a 304 costs no download) so a stale HTTP-cache
      // copy of an unhashed file (index.html, worker, bundle) never enters a new release's cache.
      .then((cache) => cache.addAll(PRECACHE.filter((url) => !UNUSED_WORKER.test(url)).map((url) => new Request(url, { cache: "no-cache" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

// Cache first for this site's files; everything else (nothing else is requested) goes to the network.
self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET" || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const hit = await cache.match(req, { ignoreSearch: true });
      if (hit) return hit;
      if (req.mode === "navigate") {
        const shell = await cache.match("./");
        if (shell) {
          try {
            return await fetch(req);
          } catch {
            return shell;
          }
        }
      }
      return fetch(req);
    })
  );
});
