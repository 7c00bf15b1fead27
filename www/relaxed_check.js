// Whether this engine runs wasm relaxed SIMD's int8 dot product correctly: the module returns
// lane 0 of i32x4.relaxed_dot_i8x16_i7x16_add_s(sixteen 2s, sixteen 3s, four 5s) = 4 * 6 + 5 = 29.
// Validating is not enough: Node 20's experimental relaxed SIMD (behind a flag) returns 48,
// dropping the addend. Loaded by worker_loader.js (which build to start) and sw.js (which
// build to precache) with importScripts.
const DOT_ADD = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 64, 1, 62, 0, 253, 12, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 253, 12, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 253, 12, 5, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 0, 253, 147, 2, 253, 27, 0, 11]);
function relaxedDotWorks() {
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(DOT_ADD)).exports.f() === 29;
  } catch {
    return false;
  }
}
