//! The int8 kernel of browsers with relaxed SIMD: `i32x4.relaxed_dot_i8x16_i7x16_add_s`
//! multiplies 16 signed 8-bit weights by 16 activations of 7 bits (0..=127) and adds the
//! four-product sums to four i32 lanes: 16 multiply-adds in one instruction, where the
//! [`crate::int8`] kernel's `i32x4.dot_i16x8_s` + `i32x4.add` do 8 in two (one `vpdpbusd`
//! where the CPU has VNNI).
//!
//! The arithmetic ("i8 × u7"):
//! - Weights: each output row re-quantized with one scale to ±[`W_MAX`] (i8; never -128,
//!   so a pair of products fits the i16 that some engines saturate to).
//! - Activations: each input row quantized asymmetrically, `x ≈ (u - zp) · s` with
//!   `u` in 0..=[`U_MAX`] (the instruction's 7-bit operand, the same on every engine) and a
//!   zero point `zp` per row, so the 7 bits cover the row's own range.
//! - `Σ w · (u - zp) = Σ w · u - zp · Σ w`: the kernel sums `w · u` and the epilogue
//!   subtracts `zp · wsum[o]` (the weight row sums, kept at pack time).
//!
//! One i32 lane sums `k` products of at most `127 · 127`: `k` up to [`crate::int8::MAX_K`]
//! stays under 2^26, far from overflow.
//!
//! Layout: panels of 4 outputs, `[panel][k / 4][4 outputs][4 columns]` (16 bytes, one
//! vector), so one instruction with a broadcast quad of activations adds 4 columns to 4
//! outputs and each lane ends holding one finished output (as [`crate::panels`]).
//!
//! The same integers come out of [`Relaxed::matmul`] everywhere: the wasm relaxed-SIMD tile
//! in the browser, and a portable loop elsewhere (native tests, the quantization gate and the
//! parity fixtures), so native can say what the browser will answer.

/// Weights are quantized to [-W_MAX, W_MAX].
pub(crate) const W_MAX: f32 = 127.0;
/// Activations are quantized to [0, U_MAX] (the 7-bit operand).
pub(crate) const U_MAX: f32 = 127.0;
/// Outputs per panel: the i32 lanes of one vector.
const WIDTH: usize = 4;
/// Columns per lane and instruction.
const QUAD: usize = 4;
/// Panels whose weights all rows of a group use before moving on (as `panels`).
const PANEL_BLOCK: usize = 32;

/// A `[out, k]` weight in relaxed panels (`k` a multiple of 4).
#[derive(Debug, Clone)]
pub(crate) struct Relaxed {
    out: usize,
    k: usize,
    /// `[ceil(out / 4)][k / 4][4][4]`; rows past `out` are zero.
    data: Vec<i8>,
    /// `[ceil(out / 4) · 4]` `Σ w` of each output row (0 past `out`).
    wsum: Vec<i32>,
}

/// One activation matrix quantized for [`Relaxed::matmul`].
pub(crate) struct Quantized {
    /// `[rows, k]` values in 0..=127.
    pub u: Vec<u8>,
    /// `[rows]` scales.
    pub scale: Vec<f32>,
    /// `[rows]` zero points (0..=127).
    pub zp: Vec<i32>,
}

impl Relaxed {
    /// Whether an inner dimension `k` can be packed: a nonzero multiple of 4 (other layers keep
    /// the [`crate::int8`] kernel).
    pub(crate) fn fits(k: usize) -> bool {
        k.is_multiple_of(QUAD) && k != 0
    }

    /// Packs `w` (`[out, k]`, row-major, values in ±127). `None` unless [`Relaxed::fits`]`(k)`.
    pub(crate) fn pack(w: &[i8], out: usize, k: usize) -> Option<Self> {
        if !Self::fits(k) {
            return None;
        }
        assert_eq!(w.len(), out * k, "relaxed panels need an [out, k] weight");
        let n = out.div_ceil(WIDTH);
        let mut data = vec![0i8; n * k * WIDTH];
        let mut wsum = vec![0i32; n * WIDTH];
        for o in 0..out {
            let (p, lane) = (o / WIDTH, o % WIDTH);
            let row = &w[o * k..(o + 1) * k];
            wsum[o] = row.iter().map(|&v| v as i32).sum();
            for (j, quad) in row.chunks_exact(QUAD).enumerate() {
                let at = ((p * (k / QUAD) + j) * WIDTH + lane) * QUAD;
                data[at..at + QUAD].copy_from_slice(quad);
            }
        }
        Some(Self { out, k, data, wsum })
    }

    fn panel(&self, p: usize) -> &[i8] {
        let len = self.k * WIDTH;
        &self.data[p * len..(p + 1) * len]
    }

    /// `y[r, o] = (Σ w[o] · u[r] - zp[r] · wsum[o]) · scale[r] · wscale[o] + bias[o]`, every
    /// element of `y` (`[rows, out]`) written, so it may start uninitialized.
    pub(crate) fn matmul(&self, x: &Quantized, rows: usize, wscale: &[f32], bias: Option<&[f32]>, y: &mut [std::mem::MaybeUninit<f32>]) {
        let (k, out) = (self.k, self.out);
        assert!(x.u.len() >= rows * k && x.scale.len() >= rows && x.zp.len() >= rows);
        assert!(wscale.len() == out && y.len() >= rows * out && bias.is_none_or(|b| b.len() == out));
        let n = out.div_ceil(WIDTH);
        for pb in (0..n).step_by(PANEL_BLOCK) {
            for r0 in (0..rows).step_by(4) {
                let nr = (rows - r0).min(4);
                let xr: [&[u8]; 4] = std::array::from_fn(|r| if r < nr { &x.u[(r0 + r) * k..(r0 + r + 1) * k] } else { &[][..] });
                let mut p = pb;
                while p < (pb + PANEL_BLOCK).min(n) {
                    let np = (n - p).min(2);
                    let panels = [self.panel(p), if np == 2 { self.panel(p + 1) } else { &[][..] }];
                    let mut acc = [[[0i32; WIDTH]; 2]; 4];
                    tile(nr, np, &xr, &panels, &mut acc);
                    // Epilogue: the zero point, then the same float steps as `int8`.
                    for (r, acc) in acc.iter().enumerate().take(nr) {
                        let (s, zp) = (x.scale[r0 + r], x.zp[r0 + r]);
                        for (q, acc) in acc.iter().enumerate().take(np) {
                            for (lane, &a) in acc.iter().enumerate() {
                                let o = (p + q) * WIDTH + lane;
                                if o < out {
                                    let sum = a - zp * self.wsum[o];
                                    let b = bias.map_or(0.0, |b| b[o]);
                                    y[(r0 + r) * out + o].write(sum as f32 * s * wscale[o] + b);
                                }
                            }
                        }
                    }
                    p += np;
                }
            }
        }
    }
}

/// Per-row asymmetric quantization to 0..=127: `x ≈ (u - zp) · scale`. The range always
/// holds 0, so a row of zeros (padding) quantizes to `u = zp` exactly.
pub(crate) fn quantize_rows(x: &[f32], rows: usize, k: usize) -> Quantized {
    let mut u = Vec::with_capacity(rows * k);
    let (mut scale, mut zp) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for row in x.chunks(k.max(1)).take(rows) {
        // Interleaved partial extrema (a plain fold over floats stays scalar); from 0, so the
        // range holds 0.
        let lo = crate::fastmath::lanes(row, 0.0, |m, v| if v < m { v } else { m });
        let hi = crate::fastmath::lanes(row, 0.0, |m, v| if v > m { v } else { m });
        let s = if hi > lo { (hi - lo) / U_MAX } else { 1.0 };
        let inv = 1.0 / s;
        let z = (-lo * inv).round().clamp(0.0, U_MAX);
        // Round to nearest with the 1.5 · 2^23 trick (see `int8`): the integer is the low
        // mantissa bits, so subtracting MAGIC's bits gives it with its sign; then the 7 bits.
        u.extend(row.iter().map(|v| {
            const MAGIC: f32 = 12_582_912.0;
            ((v * inv + z + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32).clamp(0, U_MAX as i32) as u8
        }));
        scale.push(s);
        zp.push(z as i32);
    }
    Quantized { u, scale, zp }
}

/// `acc[r][p][lane] = Σ_j panels[p][j][lane] · x[r][j]` for `nr` rows × `np` panels.
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
fn tile(nr: usize, np: usize, x: &[&[u8]; 4], panels: &[&[i8]; 2], acc: &mut [[[i32; WIDTH]; 2]; 4]) {
    match (nr, np) {
        (4, 2) => tile_wasm::<4, 2>(x, panels, acc),
        (3, 2) => tile_wasm::<3, 2>(x, panels, acc),
        (2, 2) => tile_wasm::<2, 2>(x, panels, acc),
        (1, 2) => tile_wasm::<1, 2>(x, panels, acc),
        (4, _) => tile_wasm::<4, 1>(x, panels, acc),
        (3, _) => tile_wasm::<3, 1>(x, panels, acc),
        (2, _) => tile_wasm::<2, 1>(x, panels, acc),
        _ => tile_wasm::<1, 1>(x, panels, acc),
    }
}

/// `i32x4.relaxed_dot_i8x16_i7x16_add_s` with a broadcast quad of activations. Only this
/// function carries the relaxed-SIMD feature; a wasm module holding it does not validate in
/// an engine without relaxed SIMD, hence the separate worker build (`web/Cargo.toml`).
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
#[target_feature(enable = "relaxed-simd")]
fn tile_wasm<const R: usize, const P: usize>(x: &[&[u8]; 4], panels: &[&[i8]; 2], out: &mut [[[i32; WIDTH]; 2]; 4]) {
    use core::arch::wasm32::*;
    let quads = panels[0].len() / (QUAD * WIDTH);
    assert!((0..P).all(|p| panels[p].len() == quads * QUAD * WIDTH) && (0..R).all(|r| x[r].len() >= QUAD * quads));
    let mut acc = [[i32x4_splat(0); P]; R];
    for j in 0..quads {
        let mut w = [i32x4_splat(0); P];
        for p in 0..P {
            // SAFETY: panel p holds `quads` vectors of 16 bytes (asserted); j < quads.
            w[p] = unsafe { v128_load(panels[p].as_ptr().add(j * QUAD * WIDTH) as *const v128) };
        }
        for r in 0..R {
            // SAFETY: row r holds at least 4 · quads bytes (asserted); this reads 4j..4j + 4.
            let xv = unsafe { v128_load32_splat(x[r].as_ptr().add(QUAD * j) as *const u32) };
            for p in 0..P {
                // Activations are 0..=127 (`quantize_rows`), weights ±127: the same sums on
                // every engine, and a pair of products fits i16 where an engine saturates.
                acc[r][p] = i32x4_relaxed_dot_i8x16_i7x16_add(w[p], xv, acc[r][p]);
            }
        }
    }
    for r in 0..R {
        for p in 0..P {
            let a = acc[r][p];
            out[r][p] = [i32x4_extract_lane::<0>(a), i32x4_extract_lane::<1>(a), i32x4_extract_lane::<2>(a), i32x4_extract_lane::<3>(a)];
        }
    }
}

/// The same sums with plain integer loops (natively and in wasm without relaxed SIMD). Each of
/// a panel vector's 16 products keeps its own i32 sum over `j` (a loop LLVM vectorizes), and
/// the four of each output are added at the end: the same integers as the instruction's.
#[cfg(not(all(target_arch = "wasm32", feature = "relaxed-simd")))]
fn tile(nr: usize, np: usize, x: &[&[u8]; 4], panels: &[&[i8]; 2], acc: &mut [[[i32; WIDTH]; 2]; 4]) {
    for (r, acc) in acc.iter_mut().enumerate().take(nr) {
        for (p, acc) in acc.iter_mut().enumerate().take(np) {
            let mut sums = [0i32; QUAD * WIDTH];
            for (w, x) in panels[p].chunks_exact(QUAD * WIDTH).zip(x[r].chunks_exact(QUAD)) {
                for (t, s) in sums.iter_mut().enumerate() {
                    *s += w[t] as i32 * x[t % QUAD] as i32;
                }
            }
            for (lane, a) in acc.iter_mut().enumerate() {
                *a = sums[lane * QUAD..(lane + 1) * QUAD].iter().sum();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn values(n: usize, seed: usize, max: i32) -> Vec<i8> {
        (0..n).map(|i| (((i * 7919 + seed * 104_729) % (2 * max as usize + 1)) as i32 - max) as i8).collect()
    }

    fn run(p: &Relaxed, x: &Quantized, rows: usize, wscale: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let mut y = vec![f32::NAN; rows * p.out];
        // SAFETY: MaybeUninit<f32> has f32's layout, and the kernel writes only f32 values.
        let yu = unsafe { &mut *(y.as_mut_slice() as *mut [f32] as *mut [std::mem::MaybeUninit<f32>]) };
        p.matmul(x, rows, wscale, bias, yu);
        y
    }

    /// Every tile shape, against plain integer sums with the zero point.
    #[test]
    fn sums_equal_plain_dots() {
        for (rows, out, k) in [(1, 1, 4), (3, 17, 8), (4, 32, 384), (9, 50, 64), (6, 33, 1536), (5, 9, 4096)] {
            let w = values(out * k, 1, 127);
            let u: Vec<u8> = values(rows * k, 2, 63).iter().map(|&v| (v as i32 + 64) as u8).collect();
            let zp: Vec<i32> = (0..rows as i32).map(|r| r * 13 % 128).collect();
            let x = Quantized { u: u.clone(), scale: vec![1.0; rows], zp: zp.clone() };
            let p = Relaxed::pack(&w, out, k).unwrap();
            let got = run(&p, &x, rows, &vec![1.0; out], None);
            for r in 0..rows {
                for o in 0..out {
                    let want: i64 = (0..k).map(|i| w[o * k + i] as i64 * (u[r * k + i] as i64 - zp[r] as i64)).sum();
                    assert_eq!(got[r * out + o], want as f32, "rows {rows}, out {out}, k {k}: row {r}, output {o}");
                }
            }
        }
    }

    #[test]
    fn extreme_values_do_not_saturate() {
        // Every product at its largest: 127 · 127, pairs of them, over the largest k.
        let k = crate::int8::MAX_K;
        let p = Relaxed::pack(&vec![127i8; 2 * k], 2, k).unwrap();
        let x = Quantized { u: vec![127u8; 3 * k], scale: vec![1.0; 3], zp: vec![0; 3] };
        assert_eq!(run(&p, &x, 3, &[1.0, 1.0], None), vec![(k as i64 * 127 * 127) as f32; 6]);
        let p = Relaxed::pack(&vec![-127i8; k], 1, k).unwrap();
        assert_eq!(run(&p, &x, 1, &[1.0], None), vec![-(k as f32) * 127.0 * 127.0]);
    }

    #[test]
    fn quantization_round_trips_within_half_a_step() {
        let x: Vec<f32> = (0..3 * 40).map(|i| ((i * 37 % 101) as f32 - 30.0) / 7.0).collect();
        let q = quantize_rows(&x, 3, 40);
        for r in 0..3 {
            for i in 0..40 {
                let back = (q.u[r * 40 + i] as i32 - q.zp[r]) as f32 * q.scale[r];
                assert!((back - x[r * 40 + i]).abs() <= 0.5 * q.scale[r] + 1e-6, "row {r} col {i}");
            }
        }
        // All-positive and all-zero rows: the range still holds 0.
        let q = quantize_rows(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0], 2, 4);
        assert_eq!((q.zp[0], q.u[3]), (0, 127));
        assert_eq!(&q.u[4..], &[q.zp[1] as u8; 4]);
    }

    #[test]
    fn epilogue_scales_and_bias() {
        let (rows, out, k) = (5, 6, 8);
        let w = values(out * k, 5, 127);
        let x = Quantized { u: values(rows * k, 6, 63).iter().map(|&v| (v as i32 + 64) as u8).collect(), scale: vec![0.5; rows], zp: vec![3; rows] };
        let p = Relaxed::pack(&w, out, k).unwrap();
        let wscale: Vec<f32> = (0..out).map(|o| 0.25 * (o + 1) as f32).collect();
        let bias: Vec<f32> = (0..out).map(|o| o as f32 - 2.0).collect();
        let plain = run(&p, &x, rows, &vec![1.0; out], None);
        let got = run(&p, &x, rows, &wscale, Some(&bias));
        for (i, (g, s)) in got.iter().zip(&plain).enumerate() {
            assert_eq!(*g, s * wscale[i % out] + bias[i % out]);
        }
    }

    #[test]
    fn inner_dimensions_not_a_multiple_of_four_are_refused() {
        assert!(Relaxed::pack(&[1, 2, 3, 4, 5, 6], 1, 6).is_none());
        assert!(Relaxed::pack(&[], 1, 0).is_none());
    }
}
