// Browser benchmark (BENCHMARKS.md): node bench.mjs  (after building www/dist)
// First paint, model ready (cold and from cache), ms per note at 132/286/506/572 tokens, the
// longest main-thread task (PerformanceObserver "longtask") during load and during coding, batch
// notes/s with 1 and 2 model workers, and
// the size of what the page transfers (raw and gzip, as GitHub Pages sends it), in headless Chromium.
import { gzipSync } from "node:zlib";
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { DIST, HAS_BUNDLE, launch, modelReady, recordLongTasks, searchReady, serviceWorkerReady, startServer, tasksSince } from "./harness.mjs";

const SENT = "Patient presents with chronic cough and shortness of breath, worse at night, with wheezing on exam. ";
const LATE_EVIDENCE = HAS_BUNDLE && JSON.parse(readFileSync(path.join(DIST, "bundle/manifest.json"), "utf8")).icd.head === "cls";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const browser = await launch();
const server = await startServer();
const context = await browser.newContext();
await recordLongTasks(context);
const page = await context.newPage();
const longest = async (since = 0) => Math.max(0, ...(await tasksSince(page, since)));

const t0 = Date.now();
await page.goto(server.url);
await searchReady(page);
const fcp = await page.evaluate(() => performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint")?.startTime);
const rows = [["first contentful paint (cold)", `${fcp?.toFixed(0)} ms`]];
if (HAS_BUNDLE) {
  await modelReady(page);
  rows.push(["model ready, cold (navigation → ready)", `${Date.now() - t0} ms`]);
}
// Settled: the code table and the model are loaded, nothing else is pending.
await page.waitForTimeout(1000);
rows.push(["longest main-thread task, cold load (navigation → model and code table ready)", `${(await longest()).toFixed(0)} ms`]);
await serviceWorkerReady(page);
const transfers = server.log.filter((r) => r.bytes);
const t1 = Date.now();
await page.reload();
await searchReady(page);
const fcp2 = await page.evaluate(() => performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint")?.startTime);
rows.push(["first contentful paint (from cache)", `${fcp2?.toFixed(0)} ms`]);
if (HAS_BUNDLE) {
  await modelReady(page);
  rows.push(["model ready, from cache (reload → ready)", `${Date.now() - t1} ms`]);
  await page.waitForTimeout(1000);
  rows.push(["longest main-thread task, load from cache", `${(await longest()).toFixed(0)} ms`]);
  const codingStart = await page.evaluate(() => performance.now());
  // SENT is 22 tokens (WordPiece, the shipped MiniLM vocabulary; 6/13/23/26 sentences give
  // 132/286/506/572 tokens). 506 fit one 512-token window, 572 need a second, short one.
  for (const [sentences, tokens] of [[6, 132], [13, 286], [23, 506], [26, 572]]) {
    const note = SENT.repeat(sentences).trim();
    const ms = [];
    const evMs = [];
    const tableMs = [];
    for (let i = 0; i < 6; i++) {
      await page.fill("#note", note + " ".repeat(i));
      await page.click("#code-note");
      await page.waitForFunction(() => !document.querySelector("#code-note").disabled, null, { timeout: 120_000 }).catch(async (e) => {
        console.error(await page.locator("#coding-status").innerText(), await page.locator("main").innerText());
        throw e;
      });
      const hintText = await page.locator("#predictions + p.hint").innerText();
      ms.push(parseFloat(hintText));
      // The code table's match and fusion in its worker, as the page waited for it: "…; code table N ms".
      tableMs.push(parseFloat((hintText.match(/code table (\d+) ms/) ?? [, "NaN"])[1]));
      if (LATE_EVIDENCE) {
        // A cls model's occlusion evidence follows the codes: "… ms on this device; evidence N ms".
        const hint = page.locator("#predictions + p.hint", { hasText: /evidence \d+ ms/ });
        await hint.waitFor({ timeout: 300_000 });
        evMs.push(parseFloat((await hint.innerText()).match(/evidence (\d+) ms/)[1]));
      }
    }
    rows.push([`one note, ${tokens} tokens: code table match + fusion (its worker, round trip; median of 5)`, `${median(tableMs.slice(1))} ms`]);
    if (LATE_EVIDENCE) {
      rows.push([`one note, ${tokens} tokens: codes shown (median of 5)`, `${median(ms.slice(1))} ms`]);
      rows.push([`one note, ${tokens} tokens: evidence after that (occlusion, ${sentences} sentences)`, `${median(evMs.slice(1))} ms`]);
    } else {
      rows.push([`coding one note, ${tokens} tokens (median of 5, incl. evidence)`, `${median(ms.slice(1))} ms`]);
    }
  }
  rows.push(["longest main-thread task while coding the notes above", `${(await longest(codingStart)).toFixed(0)} ms`]);
  // Memory: every Chromium process's resident set (page, workers, GPU/utility), in MB.
  const rss = () => Math.round(execSync("ps -C chromium -o rss=").toString().trim().split(/\s+/).reduce((a, b) => a + Number(b), 0) / 1024);
  const before = rss();
  await page.fill("#note", "Chronic cough and shortness of breath. ".repeat(52_000)); // 2.03 MB
  await page.click("#code-note");
  await page.locator("p.error[role=alert]", { hasText: "the limit is" }).waitFor();
  await page.waitForTimeout(1000);
  rows.push(["browser memory (all Chromium processes, RSS) before / after a 2 MB paste is coded (refused: over the 1 MiB limit)", `${before} / ${rss()} MB`]);
}
// Batch throughput with 1 and 2 model workers (?workers=N): 60 notes of 132 tokens.
if (HAS_BUNDLE) {
  const jsonl = Buffer.from(Array.from({ length: 60 }, (_, i) => JSON.stringify({ id: `n${i}`, text: `${SENT.repeat(6)} Note ${i}.` })).join("\n"));
  for (const workers of [1, 2]) {
    const p = await context.newPage();
    await p.goto(server.url + `?workers=${workers}`);
    await modelReady(p);
    await p.locator("#model-workers", { hasText: new RegExp(`^${workers} of ${workers} ready`) }).waitFor({ timeout: 120_000 });
    const runs = [];
    // The first batch is a warm-up: a new worker's wasm starts on V8's baseline compiler.
    for (let k = 0; k < 4; k++) {
      await p.setInputFiles("#batch-file", { name: `batch${k}.jsonl`, mimeType: "application/x-ndjson", buffer: jsonl });
      await p.locator("#batch-count", { hasText: `batch${k}.jsonl: 60 notes` }).waitFor();
      await p.click("#batch-run");
      const done = await p.locator("#batch-done").innerText({ timeout: 600_000 });
      if (k > 0) runs.push(parseFloat(done.match(/\(([\d.]+) notes\/s/)[1]));
    }
    rows.push([`batch of 60 notes (132 tokens), ${workers} model worker${workers > 1 ? "s" : ""} (after a warm-up batch, median of 3: ${runs.join(", ")})`, `${median(runs)} notes/s`]);
    if (LATE_EVIDENCE) {
      // A cls note's occlusion passes, split across the pool's workers (one worker: all on it).
      const evMs = [];
      for (let i = 0; i < 4; i++) {
        await p.fill("#note", SENT.repeat(23).trim() + " ".repeat(i));
        await p.click("#code-note");
        await p.waitForFunction(() => !document.querySelector("#code-note").disabled, null, { timeout: 120_000 });
        const hint = p.locator("#predictions + p.hint", { hasText: /evidence \d+ ms/ });
        await hint.waitFor({ timeout: 300_000 });
        evMs.push(parseFloat((await hint.innerText()).match(/evidence (\d+) ms/)[1]));
      }
      rows.push([`one note, 506 tokens: evidence (23 occlusion passes), ${workers} model worker${workers > 1 ? "s" : ""} (median of 3 after one: ${evMs.slice(1).join(", ")})`, `${median(evMs.slice(1))} ms`]);
      // A long note (about 1,500 tokens, 3 windows): with 2 workers its windows are split.
      // Click to codes shown (the code table's fusion included), timed here for both: the
      // page's hint gives one worker's own time, but the whole wait when split.
      const longMs = [];
      let windows = "1 worker";
      for (let i = 0; i < 4; i++) {
        await p.fill("#note", SENT.repeat(68).trim() + " ".repeat(i));
        const t0 = Date.now();
        await p.click("#code-note");
        await p.waitForFunction(() => !document.querySelector("#code-note").disabled, null, { timeout: 120_000 });
        longMs.push(Date.now() - t0);
        const hint = await p.locator("#predictions + p.hint").innerText();
        windows = hint.match(/\((\d+ windows on \d+ workers)\)/)?.[1] ?? windows;
        // Its evidence runs next on every worker: wait, so the next note starts on idle ones.
        await p.locator("#predictions + p.hint", { hasText: /evidence \d+ ms/ }).waitFor({ timeout: 600_000 });
      }
      rows.push([`one note, about 1,500 tokens: codes (${windows}; median of 3 after one: ${longMs.slice(1).join(", ")})`, `${median(longMs.slice(1))} ms`]);
    }
    await p.close();
  }
}
const group = (f) => (f.endsWith(".wasm") ? "wasm" : f.endsWith(".js") ? "JS" : f.startsWith("bundle/") ? "model bundle" : f === "icd10cm.table" ? "code table" : "other");
const sizes = {};
for (const r of transfers) {
  const rel = new URL(r.url, "http://x").pathname.replace(/^\/icd10-coder\//, "") || "index.html";
  const bytes = readFileSync(path.join(DIST, rel.endsWith("/") || rel === "" ? "index.html" : rel));
  const g = (sizes[group(rel)] ??= { raw: 0, gz: 0, files: new Set() });
  if (g.files.has(rel)) continue;
  g.files.add(rel);
  g.raw += bytes.length;
  g.gz += gzipSync(bytes, { level: 6 }).length;
}
console.log(`| measure | value |\n| --- | --- |`);
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
console.log(`\n| transferred (first visit) | files | raw | gzip |\n| --- | --- | --- | --- |`);
for (const [k, g] of Object.entries(sizes)) console.log(`| ${k} | ${g.files.size} | ${(g.raw / 1e6).toFixed(2)} MB | ${(g.gz / 1e6).toFixed(2)} MB |`);
await browser.close();
await server.close();
