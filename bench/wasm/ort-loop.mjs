// The onnxruntime-web timing loop shared by ort.mjs (Node) and ort-chromium.mjs (the page it
// serves imports this file): the same ids as infer_anchor.py's `inputs`, batch 1, median ms.
export const inputs = (ort, t) => {
  const ids = new BigInt64Array(t);
  ids[0] = 101n; ids[t - 1] = 102n;
  for (let i = 0; i < t - 2; i++) ids[i + 1] = BigInt(((i * 7919) % 28000) + 1000);
  return {
    input_ids: new ort.Tensor("int64", ids, [1, t]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(t).fill(1n), [1, t]),
  };
};

const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];

/** "128 tokens 58.7, 256 tokens ..." for one model (bytes), one thread. */
export async function msPerNote(ort, modelBytes, tokens, repeats) {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ["wasm"] });
  const line = [];
  for (const t of tokens) {
    const feeds = inputs(ort, t);
    await session.run(feeds);
    const times = [];
    for (let r = 0; r < repeats; r++) {
      const s = performance.now();
      await session.run(feeds);
      times.push(performance.now() - s);
    }
    line.push(`${t} tokens ${median(times).toFixed(1)}`);
  }
  return line.join(", ");
}
