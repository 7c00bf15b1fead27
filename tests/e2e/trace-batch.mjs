// Diagnostic (BENCHMARKS.md, issue #19): where a batch's CPU time goes. For 1 and 2 model
// workers: a warm-up batch of 60 notes (132 tokens, as bench.mjs), RUNS untraced batches (their
// notes/s, as bench.mjs's batch rows), then one traced batch: its wall time and each thread's
// CPU time (the page's main thread, each worker), so the cost of the code table's fusion and of
// the page's routing beside the model is visible.
//   node trace-batch.mjs          RUNS=5 node trace-batch.mjs
import { readFileSync } from "node:fs";
import path from "node:path";
import { ARTIFACTS, launch, modelReady, startServer } from "./harness.mjs";

const SENT = "Patient presents with chronic cough and shortness of breath, worse at night, with wheezing on exam. ";
const jsonl = Buffer.from(Array.from({ length: 60 }, (_, i) => JSON.stringify({ id: `n${i}`, text: `${SENT.repeat(6)} Note ${i}.` })).join("\n"));

const browser = await launch();
const server = await startServer();
const context = await browser.newContext();
for (const workers of [1, 2]) {
  const page = await context.newPage();
  await page.goto(server.url + `?workers=${workers}`);
  await modelReady(page);
  await page.locator("#model-workers", { hasText: new RegExp(`^${workers} of ${workers} ready`) }).waitFor({ timeout: 120_000 });
  const tracePath = path.join(ARTIFACTS, `batch-trace-${workers}.json`);
  const runs = Number(process.env.RUNS ?? 3);
  const rates = [];
  for (let k = 0; k < runs + 2; k++) {
    const traced = k === runs + 1;
    if (traced) await browser.startTracing(page, { path: tracePath, categories: ["toplevel", "devtools.timeline"] });
    await page.setInputFiles("#batch-file", { name: `batch${k}.jsonl`, mimeType: "application/x-ndjson", buffer: jsonl });
    await page.locator("#batch-count", { hasText: `batch${k}.jsonl: 60 notes` }).waitFor();
    await page.click("#batch-run");
    const done = await page.locator("#batch-done").innerText({ timeout: 600_000 });
    if (k > 0 && !traced) rates.push(parseFloat(done.match(/\(([\d.]+) notes\/s/)[1]));
    if (traced) {
      await browser.stopTracing();
      console.log(`${workers} worker(s): untraced ${rates.join(", ")} notes/s (median ${[...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)]}); traced: ${done}`);
    }
  }
  const raw = JSON.parse(readFileSync(tracePath, "utf8"));
  const events = raw.traceEvents ?? raw;
  const names = new Map(events.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => [`${e.pid}:${e.tid}`, e.args.name]));
  // Top-level tasks only (their CPU time includes what runs inside them).
  const cpu = new Map();
  for (const e of events) {
    if (e.ph !== "X" || !["ThreadControllerImpl::RunTask", "RunTask"].includes(e.name) || e.tdur == null) continue;
    const key = `${names.get(`${e.pid}:${e.tid}`) ?? "?"} ${e.pid}:${e.tid}`;
    cpu.set(key, (cpu.get(key) ?? 0) + e.tdur);
  }
  for (const [t, us] of [...cpu].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${(us / 1000).toFixed(0).padStart(6)} ms CPU  ${t}`);
  await page.close();
}
await browser.close();
await server.close();
