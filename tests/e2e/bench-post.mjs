// What the page's main thread pays to hand a note to every worker (issue #19): each Occlude
// share of a note's evidence carries its own copy of the text, so the worst case is the
// largest note the page accepts (1 MiB) posted to 8 workers at once. The page posts each
// message as a JSON string (web/src/client.rs: `msg.to_json()`), so each post here is a
// JSON.stringify of the message and a postMessage of the string; the page does the JSON in
// wasm (serde_json), which this approximates. Prints the main thread's time for the eight
// posts and the round trip, over 7 repeats.
// Usage: cd tests/e2e && node bench-post.mjs
import { chromium } from "playwright-core";

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage();
await page.goto("about:blank");
const runs = await page.evaluate(async () => {
  const src = "self.onmessage = (e) => self.postMessage(JSON.parse(e.data).Occlude.text.length);";
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const workers = Array.from({ length: 8 }, () => new Worker(url));
  const sentence = "The patient presents with chronic cough and wheezing. ";
  const text = sentence.repeat(Math.ceil((1 << 20) / sentence.length)).slice(0, 1 << 20);
  const out = [];
  for (let rep = 0; rep < 7; rep++) {
    const back = workers.map((w) => new Promise((res) => (w.onmessage = res)));
    const t0 = performance.now();
    for (const w of workers) w.postMessage(JSON.stringify({ Occlude: { id: rep, part: 0, text, spans: [[0, 10]] } }));
    const posted = performance.now() - t0;
    await Promise.all(back);
    out.push({ posted, roundTrip: performance.now() - t0 });
  }
  workers.forEach((w) => w.terminate());
  return out;
});
await browser.close();
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const posted = runs.map((r) => r.posted);
const trips = runs.map((r) => r.roundTrip);
console.log(`8 posts of a 1 MiB note: main thread ${median(posted).toFixed(1)} ms median, ${Math.max(...posted).toFixed(1)} ms max; round trip ${median(trips).toFixed(1)} ms median (7 repeats)`);
