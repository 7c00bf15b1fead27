// Test harness: a static server for www/dist under a sub-path (as on GitHub Pages project sites)
// that logs every request it receives, and headless Chromium (Debian's /usr/bin/chromium).
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const DIST = path.resolve(process.env.ICD_DIST ?? path.join(here, "../../www/dist"));
export const ARTIFACTS = path.join(here, "artifacts");
export const BASE_PATH = "/icd10-coder/";
export const HAS_BUNDLE = existsSync(path.join(DIST, "bundle/manifest.json"));
export const NO_BUNDLE_REASON =
  "no model bundle in www/dist/bundle (build artifacts/bundle, then `cd web && trunk build --release`)";
// The test command sets ICD_E2E_REQUIRE_MODEL=1: there a missing bundle is a failure, not a skip.
if (!HAS_BUNDLE && process.env.ICD_E2E_REQUIRE_MODEL === "1") {
  throw new Error(`ICD_E2E_REQUIRE_MODEL=1 but ${NO_BUNDLE_REASON}`);
}
mkdirSync(ARTIFACTS, { recursive: true });

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".css": "text/css", ".json": "application/json",
  ".webmanifest": "application/manifest+json", ".png": "image/png", ".svg": "image/svg+xml",
};

/**
 * Serves DIST at http://127.0.0.1:<random port>/icd10-coder/. `log` gets every request:
 * {method, url, headers, body, status, bytes}. `tamper(relPath, bytes)` may rewrite a file's bytes;
 * `overlay` maps paths (relative to the site) to contents served instead of, or besides, DIST's files.
 */
export async function startServer({ tamper, overlay = {} } = {}) {
  const log = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const entry = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), status: 0 };
    log.push(entry);
    const send = (status, body = "", headers = {}) => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    const url = new URL(req.url, "http://x");
    if (url.pathname === BASE_PATH.slice(0, -1)) return send(301, "", { Location: BASE_PATH });
    if (!url.pathname.startsWith(BASE_PATH)) return send(404, "not under " + BASE_PATH);
    let rel = decodeURIComponent(url.pathname.slice(BASE_PATH.length));
    if (rel === "" || rel.endsWith("/")) rel += "index.html";
    const file = path.join(DIST, rel);
    if (!file.startsWith(DIST + path.sep)) return send(403);
    try {
      let bytes;
      if (rel in overlay) bytes = Buffer.from(overlay[rel]);
      else if (!(await stat(file)).isFile()) return send(404);
      else bytes = await readFile(file);
      if (tamper) bytes = tamper(rel, bytes);
      entry.bytes = bytes.length;
      send(200, req.method === "HEAD" ? "" : bytes, {
        "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
        "Content-Length": bytes.length,
        "Cache-Control": "no-cache",
      });
    } catch {
      send(404, "not found");
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, url: origin + BASE_PATH, log, close: () => new Promise((r) => server.close(r)) };
}

/**
 * Records every main-thread task over 50 ms in the context's pages, from navigation on
 * (buffered: the observer sees tasks that ran before it was registered), as
 * `window.__longtasks` ({start, ms}); `tasksSince(page, t)` reads those that began at `t` or later.
 */
export async function recordLongTasks(context) {
  await context.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, ms: e.duration });
    }).observe({ type: "longtask", buffered: true });
  });
}

export const tasksSince = (page, since = 0) => page.evaluate((t) => window.__longtasks.filter((e) => e.start >= t).map((e) => e.ms), since);

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
}

/** Opens the app in a fresh context; collects console errors, page errors and every request the browser makes. */
export async function openApp(browser, server, { viewport = { width: 1280, height: 900 }, query = "" } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  context.on("request", (r) => requests.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postData() ?? "" }));
  await page.goto(server.url + query);
  return { context, page, errors, requests };
}

/** Waits until the code search is usable (the ICD-10-CM table is loaded). */
export async function searchReady(page) {
  await page.locator("#code-query").waitFor({ timeout: 30_000 });
}

export async function modelReady(page, timeout = 120_000) {
  await page.locator("#model-ready, #model-error").first().waitFor({ timeout });
  const err = await page.locator("#model-error").count();
  if (err) throw new Error(await page.locator("#model-error").innerText());
}

/** Waits for the page to be controlled by the service worker (after its first install). */
export async function serviceWorkerReady(page, timeout = 120_000) {
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller !== null, null, { timeout });
}
