// onnxruntime-web (wasm backend, SIMD, one thread) on the ONNX exports of bench/infer_anchor.py.
//   node bench/wasm/ort.mjs bench/wasm/models/model-int8.onnx [--tokens 128,256,512] [--repeats 10]
// Prints ms/note (median), batch 1, the same ids as infer_anchor.py's `inputs`.
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { msPerNote } from "./ort-loop.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : dflt; };
const tokens = opt("--tokens", "128,256,512").split(",").map(Number);
const repeats = Number(opt("--repeats", "10"));
if (!args.length) throw new Error("usage: node ort.mjs MODEL.onnx... [--tokens 128,256,512] [--repeats 10]");

for (const path of args) {
  const line = await msPerNote(ort, readFileSync(path), tokens, repeats);
  console.log(`onnxruntime-web ${ort.env.versions.web} wasm (SIMD, 1 thread), Node ${process.versions.node}, ${path}: ms/note ${line}`);
}
