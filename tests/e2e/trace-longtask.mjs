// Diagnostic (BENCHMARKS.md, issue #19): the main-thread tasks over 50 ms while the page codes
// the bench notes, each coding on its own line, and, with TRACE=1, a Chromium trace of the run
// whose longest main-thread task is split into wall time and the main thread's own CPU time
// (a task that waits for a core shows far more wall than CPU) and its biggest parts.
//   node trace-longtask.mjs            SIZES=6,23 TRACE=1 node trace-longtask.mjs
import { readFileSync } from "node:fs";
import path from "node:path";
import { ARTIFACTS, launch, modelReady, recordLongTasks, searchReady, startServer, tasksSince } from "./harness.mjs";

const SENT = "Patient presents with chronic cough and shortness of breath, worse at night, with wheezing on exam. ";
const sizes = (process.env.SIZES ?? "6,13,23,26").split(",").map(Number);
const tracePath = path.join(ARTIFACTS, "longtask-trace.json");

const browser = await launch();
const server = await startServer();
const context = await browser.newContext();
await recordLongTasks(context);
const page = await context.newPage();
await page.goto(server.url);
await searchReady(page);
await modelReady(page);
await page.waitForTimeout(1500);
if (process.env.TRACE) {
  await browser.startTracing(page, { path: tracePath, categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "blink", "toplevel"] });
}
for (const sentences of sizes) {
  const note = SENT.repeat(sentences).trim();
  for (let i = 0; i < 3; i++) {
    const t = await page.evaluate(() => performance.now());
    await page.fill("#note", note + " ".repeat(i));
    await page.click("#code-note");
    await page.waitForFunction(() => !document.querySelector("#code-note").disabled, null, { timeout: 120_000 });
    await page.locator("#predictions + p.hint", { hasText: /evidence \d+ ms/ }).waitFor({ timeout: 300_000 });
    const tasks = (await tasksSince(page, t)).map(Math.round);
    console.log(`${sentences} sentences, coding ${i + 1}: main-thread tasks over 50 ms: ${tasks.length ? tasks.join(", ") + " ms" : "none"}`);
  }
}
if (process.env.TRACE) {
  await browser.stopTracing();
  const raw = JSON.parse(readFileSync(tracePath, "utf8"));
  const events = raw.traceEvents ?? raw;
  const names = new Map(events.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => [`${e.pid}:${e.tid}`, e.args.name]));
  const onMain = (e) => names.get(`${e.pid}:${e.tid}`) === "CrRendererMain";
  const task = events.filter((e) => onMain(e) && e.ph === "X" && e.name === "RunTask").sort((a, b) => b.dur - a.dur)[0];
  if (task) {
    console.log(`longest main-thread task in the trace: ${(task.dur / 1000).toFixed(1)} ms wall, ${((task.tdur ?? 0) / 1000).toFixed(1)} ms of the main thread's CPU`);
    const parts = new Map();
    for (const e of events) {
      if (onMain(e) && e.ph === "X" && e !== task && e.ts >= task.ts && e.ts < task.ts + task.dur) parts.set(e.name, (parts.get(e.name) ?? 0) + e.dur);
    }
    for (const [name, us] of [...parts].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${(us / 1000).toFixed(1)} ms  ${name}`);
  }
  console.log(`trace: ${tracePath}`);
}
await browser.close();
await server.close();
