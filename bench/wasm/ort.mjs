// onnxruntime-web (wasm backend, SIMD, one thread) on the ONNX exports of bench/infer_anchor.py.
//   node bench/wasm/ort.mjs bench/wasm/models/model-int8.onnx [--tokens 128,256,512] [--repeats 10]
// Prints ms/note (median), batch 1, the same ids as infer_anchor.py's `inputs`.
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : dflt; };
const tokens = opt("--tokens", "128,256,512").split(",").map(Number);
const repeats = Number(opt("--repeats", "10"));
if (!args.length) throw new Error("usage: node ort.mjs MODEL.onnx... [--tokens 128,256,512] [--repeats 10]");

ort.env.wasm.numThreads = 1;
const inputs = (t) => {
  const ids = new BigInt64Array(t);
  ids[0] = 101n; ids[t - 1] = 102n;
  for (let i = 0; i < t - 2; i++) ids[i + 1] = BigInt(((i * 7919) % 28000) + 1000);
  return {
    input_ids: new ort.Tensor("int64", ids, [1, t]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(t).fill(1n), [1, t]),
  };
};
const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];
for (const path of args) {
  const session = await ort.InferenceSession.create(readFileSync(path), { executionProviders: ["wasm"] });
  const line = [];
  for (const t of tokens) {
    const feeds = inputs(t);
    await session.run(feeds);
    const times = [];
    for (let r = 0; r < repeats; r++) {
      const s = performance.now();
      await session.run(feeds);
      times.push(performance.now() - s);
    }
    line.push(`${t} tokens ${median(times).toFixed(1)}`);
  }
  console.log(`onnxruntime-web ${ort.env.versions.web} wasm (SIMD, 1 thread), Node ${process.versions.node}, ${path}: ms/note ${line.join(", ")}`);
}
