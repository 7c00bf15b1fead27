// onnxruntime-web in headless Chromium (wasm backend, SIMD, one thread), the same models, ids
// and timing loop as ort.mjs (ort-loop.mjs), so the browser figure sits beside ours from
// `WASM_BINDGEN_USE_BROWSER=1 ... --test wasm_bench` (bench/wasm/run.sh runs both).
//   node bench/wasm/ort-chromium.mjs MODEL.onnx... [--tokens 128,256,512] [--repeats 10]
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "../../tests/e2e/harness.mjs"; // the e2e tests' Chromium and its flags

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : dflt; };
const tokens = opt("--tokens", "128,256,512").split(",").map(Number);
const repeats = Number(opt("--repeats", "10"));
if (!args.length) throw new Error("usage: node ort-chromium.mjs MODEL.onnx... [--tokens 128,256,512] [--repeats 10]");

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import * as ort from "/dist/ort.wasm.min.mjs";
import { msPerNote } from "/ort-loop.mjs";
ort.env.wasm.wasmPaths = "/dist/";
window.bench = async (model, tokens, repeats) => {
  const bytes = new Uint8Array(await (await fetch(model)).arrayBuffer());
  return { version: ort.env.versions.web, line: await msPerNote(ort, bytes, tokens, repeats) };
};
window.ready = true;
</script>`;

const dist = path.join(here, "node_modules/onnxruntime-web/dist");
const models = args.map((p) => path.resolve(p));
const server = createServer((req, res) => {
  const url = decodeURIComponent(req.url.split("?")[0]);
  let file = null;
  if (url === "/") { res.writeHead(200, { "content-type": "text/html" }); return res.end(PAGE); }
  if (url.startsWith("/dist/")) file = path.join(dist, path.basename(url));
  if (url.startsWith("/model/")) file = models[Number(url.slice(7))];
  if (url === "/ort-loop.mjs") file = path.join(here, "ort-loop.mjs");
  try {
    const body = readFileSync(file);
    const type = file.endsWith(".wasm") ? "application/wasm" : file.endsWith("js") ? "text/javascript" : "application/octet-stream";
    res.writeHead(200, { "content-type": type });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.ready === true);
  const ua = await page.evaluate(() => navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? "Chromium");
  for (let i = 0; i < models.length; i++) {
    const r = await page.evaluate(([m, t, n]) => window.bench(m, t, n), [`/model/${i}`, tokens, repeats]);
    console.log(`onnxruntime-web ${r.version} wasm (SIMD, 1 thread), headless ${ua}, ${args[i]}: ms/note ${r.line}`);
  }
} finally {
  await browser.close();
  server.close();
}
