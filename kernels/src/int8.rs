//! The int8 kernel: `y = x · Wᵀ` with integer multiply-adds.
//!
//! - Weights: at load, each output row of the (Q8_0, block-scaled) weight is re-quantized
//!   with one scale per row to ±[`W_MAX`] and stored as i16, so the inner loop needs no
//!   sign extension ("pre-packed"). 11 bits rather than 8: a per-row scale is coarser than
//!   Q8_0's per-32 scales, and 8 bits here cost 2 points of top-1 agreement with f32.
//! - Activations: each input row is quantized at run time with one scale per row, to
//!   ±[`X_MAX`] (12 bits). Wider than int8 at no cost (the products are i16 × i16 either
//!   way), and it matters: int8 activations cost 4 points of agreement on the demo model.
//!   The split 12 + 11 bits measured best (99.2 % agreement, the same as f32 compute).
//! - Accumulation in i32 lanes (`i32x4.dot_i16x8_s` in wasm, `pmaddwd` on x86 with SSE2 or
//!   AVX2): 8 multiply-adds per instruction against 4 per two instructions for f32 in wasm
//!   SIMD, and half the weight bytes to stream. The lanes are summed in i64.
//!
//! Overflow bound: one i32 lane sums `K / 4` products of at most `X_MAX * W_MAX`, so `K` must
//! stay below [`MAX_K`] (BERT-base's largest is 3,072).

use crate::KernelError;

/// Activations are quantized to [-X_MAX, X_MAX].
const X_MAX: f32 = 2047.0;
/// Weights are quantized to [-W_MAX, W_MAX].
const W_MAX: f32 = 1023.0;
/// Largest inner dimension without i32 overflow: 4 * (2^31 - 1) / (2047 * 1023) = 4102.
pub const MAX_K: usize = 4_096;
/// Rows of `x` that share one pass over a weight row (it stays in L1).
const ROW_TILE: usize = 4;

/// A weight `[out, in]` packed for [`I8Matmul::forward`].
#[derive(Debug, Clone)]
pub struct I8Matmul {
    out: usize,
    inp: usize,
    /// `[out, inp]` values in ±`W_MAX`, as i16 (empty when `panels` holds them).
    w: Vec<i16>,
    /// The same values in panels, where the CPU runs the panel kernel (x86-64 with
    /// AVX-512BW, wasm32 with SIMD128).
    #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
    panels: Option<crate::panels::Panels>,
    /// `[out]` one scale per output row.
    scale: Vec<f32>,
    /// `[out]`, added in the kernel's epilogue (no extra pass over the output).
    bias: Option<Vec<f32>>,
    /// The weight for the i8 × u7 arithmetic ([`I8Matmul::pack_relaxed`]), with its own
    /// `[out]` scales; when present, `w` and `panels` are empty.
    relaxed: Option<Box<(crate::relaxed::Relaxed, Vec<f32>)>>,
}

/// Symmetric per-row quantization of an f32 weight `[out, inp]`: each row scaled so its
/// largest magnitude is `max`, rounded and narrowed by `narrow`. Returns the values and the
/// `[out]` scales. Both packings use it, at their own bit widths.
fn quantize_weight<T>(weight: &[f32], out: usize, inp: usize, max: f32, narrow: impl Fn(f32) -> T) -> Result<(Vec<T>, Vec<f32>), KernelError> {
    if inp > MAX_K {
        return Err(KernelError::InnerTooLarge { inp, max: MAX_K });
    }
    if weight.len() != out * inp {
        return Err(KernelError::WeightShape { len: weight.len(), out, inp });
    }
    let mut w = Vec::with_capacity(out * inp);
    let mut scale = Vec::with_capacity(out);
    for row in weight.chunks(inp.max(1)).take(out) {
        let absmax = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let s = if absmax > 0.0 { absmax / max } else { 1.0 };
        w.extend(row.iter().map(|v| narrow((v / s).round().clamp(-max, max))));
        scale.push(s);
    }
    Ok((w, scale))
}

impl I8Matmul {
    /// Packs an f32 weight `[out, inp]`, row-major (dequantized Q8_0 blocks, or any f32 weight).
    pub fn pack(weight: &[f32], out: usize, inp: usize) -> Result<Self, KernelError> {
        let (w, scale) = quantize_weight(weight, out, inp, W_MAX, |q| q as i16)?;
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            // `Some` only where this CPU runs the panel kernel.
            let panels = crate::panels::Panels::pack(&w, out, inp);
            let w = if panels.is_some() { Vec::new() } else { w };
            Ok(Self { out, inp, w, scale, bias: None, panels, relaxed: None })
        }
        #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
        Ok(Self { out, inp, w, scale, bias: None, relaxed: None })
    }

    /// Packs for the i8 × u7 arithmetic of `i32x4.relaxed_dot_i8x16_i7x16_add_s`
    /// ([`crate::relaxed`]): 8-bit weights, 7-bit activations. It runs that instruction in
    /// wasm built with relaxed SIMD and a plain loop elsewhere, with the same results, so
    /// native tests and the quantization gate see the browser's answers. An inner dimension
    /// that is not a multiple of 4 keeps [`I8Matmul::pack`]'s arithmetic.
    pub fn pack_relaxed(weight: &[f32], out: usize, inp: usize) -> Result<Self, KernelError> {
        if !crate::relaxed::Relaxed::fits(inp) {
            return Self::pack(weight, out, inp);
        }
        let (w, scale) = quantize_weight(weight, out, inp, crate::relaxed::W_MAX, |q| q as i8)?;
        let packed = crate::relaxed::Relaxed::pack(&w, out, inp).expect("fits was checked");
        Ok(Self {
            out,
            inp,
            w: Vec::new(),
            #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
            panels: None,
            scale: Vec::new(),
            bias: None,
            relaxed: Some(Box::new((packed, scale))),
        })
    }

    /// Adds `bias` `[out]` to every output row.
    pub fn with_bias(mut self, bias: Vec<f32>) -> Result<Self, KernelError> {
        if bias.len() != self.out {
            return Err(KernelError::BiasLength { bias: bias.len(), out: self.out });
        }
        self.bias = Some(bias);
        Ok(self)
    }

    /// Output features (`out`).
    pub fn out_features(&self) -> usize {
        self.out
    }

    /// `x` `[rows, in]` -> `[rows, out]`.
    pub fn forward(&self, x: &[f32]) -> Result<Vec<f32>, KernelError> {
        self.forward_with(x, false)
    }

    /// [`I8Matmul::forward`] then GELU, in place on the output (no copy of `[rows, out]`).
    pub fn forward_gelu(&self, x: &[f32]) -> Result<Vec<f32>, KernelError> {
        self.forward_with(x, true)
    }

    fn forward_with(&self, x: &[f32], gelu: bool) -> Result<Vec<f32>, KernelError> {
        let k = self.inp;
        if k == 0 || !x.len().is_multiple_of(k) {
            return Err(KernelError::InputLength { len: x.len(), want: k });
        }
        let rows = x.len() / k;
        let mut y = match self.relaxed.as_deref() {
            Some((w, scale)) => relaxed_matmul(w, scale, self.bias.as_deref(), x, rows, k, self.out),
            None => {
                let (xq, xscale) = quantize_rows(x, rows, k);
                self.matmul(&xq, &xscale, rows)
            }
        };
        if gelu {
            crate::fastmath::gelu_in_place(&mut y);
        }
        Ok(y)
    }

    /// `y[rows, out] = (xq · wᵀ) * xscale[row] * scale[out]`.
    fn matmul(&self, xq: &[i16], xscale: &[f32], rows: usize) -> Vec<f32> {
        let k = self.inp;
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        if let Some(p) = &self.panels {
            let mut y = Vec::with_capacity(rows * self.out);
            let ys = &mut y.spare_capacity_mut()[..rows * self.out];
            #[cfg(not(target_arch = "wasm32"))]
            {
                use rayon::prelude::*;
                // One group of rows per thread: each group reads the weights once.
                let group = rows.div_ceil(rayon::current_num_threads().max(1)).div_ceil(ROW_TILE).max(1) * ROW_TILE;
                ys.par_chunks_mut(group * self.out).enumerate().for_each(|(g, ys)| {
                    let (r0, n) = (g * group, ys.len() / self.out);
                    p.matmul(&xq[r0 * k..(r0 + n) * k], n, &xscale[r0..r0 + n], &self.scale, self.bias.as_deref(), ys);
                });
            }
            #[cfg(target_arch = "wasm32")]
            p.matmul(xq, rows, xscale, &self.scale, self.bias.as_deref(), ys);
            // SAFETY: the panel kernel wrote all rows · out elements (its contract).
            unsafe { y.set_len(rows * self.out) };
            return y;
        }
        let mut y = vec![0f32; rows * self.out];
        let bias = |o: usize| self.bias.as_ref().map_or(0.0, |b| b[o]);
        let tile = |r0: usize, y: &mut [f32]| {
            let n = (rows - r0).min(ROW_TILE);
            let x = |r: usize| &xq[(r0 + r) * k..(r0 + r + 1) * k];
            let w = |o: usize| &self.w[o * k..(o + 1) * k];
            let mut o = 0;
            if n == ROW_TILE {
                // Two weight rows at a time for all four activation rows.
                while o + 2 <= self.out {
                    let acc = dot4x2([x(0), x(1), x(2), x(3)], [w(o), w(o + 1)]);
                    for (c, acc) in acc.iter().enumerate() {
                        for r in 0..ROW_TILE {
                            y[r * self.out + o + c] = acc[r] as f32 * xscale[r0 + r] * self.scale[o + c] + bias(o + c);
                        }
                    }
                    o += 2;
                }
            }
            // The last weight row when `out` is odd, or every row of a partial tile.
            for o in o..self.out {
                let w = w(o);
                for r in 0..n {
                    y[r * self.out + o] = dot(x(r), w) as f32 * xscale[r0 + r] * self.scale[o] + bias(o);
                }
            }
        };
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            y.par_chunks_mut(ROW_TILE * self.out).enumerate().for_each(|(i, ys)| tile(i * ROW_TILE, ys));
        }
        #[cfg(target_arch = "wasm32")]
        for (i, ys) in y.chunks_mut(ROW_TILE * self.out).enumerate() {
            tile(i * ROW_TILE, ys);
        }
        y
    }
}

/// `x` `[rows, k]` through the i8 × u7 kernel, split into groups of rows across threads natively.
fn relaxed_matmul(w: &crate::relaxed::Relaxed, scale: &[f32], bias: Option<&[f32]>, x: &[f32], rows: usize, k: usize, out: usize) -> Vec<f32> {
    let mut y = Vec::with_capacity(rows * out);
    let ys = &mut y.spare_capacity_mut()[..rows * out];
    let run = |r0: usize, ys: &mut [std::mem::MaybeUninit<f32>]| {
        let n = ys.len() / out;
        let q = crate::relaxed::quantize_rows(&x[r0 * k..(r0 + n) * k], n, k);
        w.matmul(&q, n, scale, bias, ys);
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        let group = rows.div_ceil(rayon::current_num_threads().max(1)).div_ceil(ROW_TILE).max(1) * ROW_TILE;
        ys.par_chunks_mut(group * out).enumerate().for_each(|(g, ys)| run(g * group, ys));
    }
    #[cfg(target_arch = "wasm32")]
    run(0, ys);
    // SAFETY: the relaxed kernel wrote all rows · out elements (its contract).
    unsafe { y.set_len(rows * out) };
    y
}

/// Per-row symmetric quantization: `x ≈ xq * scale[row]`, `|xq| <= X_MAX`.
fn quantize_rows(x: &[f32], rows: usize, k: usize) -> (Vec<i16>, Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU has AVX-512F and BW (checked just above).
        return unsafe { quantize_rows_avx512(x, rows, k) };
    }
    quantize_rows_loop(x, rows, k)
}

/// The same loops compiled for 16 lanes (the native baseline is SSE2): same results.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_rows_avx512(x: &[f32], rows: usize, k: usize) -> (Vec<i16>, Vec<f32>) {
    quantize_rows_loop(x, rows, k)
}

#[inline(always)]
fn quantize_rows_loop(x: &[f32], rows: usize, k: usize) -> (Vec<i16>, Vec<f32>) {
    let mut q = Vec::with_capacity(x.len());
    let mut scales = Vec::with_capacity(rows);
    for row in x.chunks(k.max(1)).take(rows) {
        // Interleaved partial maxima: a plain fold over floats stays scalar.
        let max = crate::fastmath::lanes(row, 0.0, |m, v| if v.abs() > m { v.abs() } else { m });
        let s = if max > 0.0 { max / X_MAX } else { 1.0 };
        let inv = 1.0 / s;
        // Round to nearest by adding 1.5 * 2^23: the integer lands in the low mantissa bits
        // (|y| <= X_MAX), read as i16. Plain bit operations that vectorize, where `f32::round`
        // is a libm call and a saturating `as i16` has range checks.
        q.extend(row.iter().map(|v| {
            const MAGIC: f32 = 12_582_912.0;
            (v * inv + MAGIC).to_bits() as i16
        }));
        scales.push(s);
    }
    (q, scales)
}

/// Four activation rows against two weight rows (8 accumulators): per 8 columns, 6 loads
/// feed 8 `i32x4.dot_i16x8_s`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn dot4x2(x: [&[i16]; 4], w: [&[i16]; 2]) -> [[i64; 4]; 2] {
    use core::arch::wasm32::*;
    let n = x.iter().chain(&w).fold(usize::MAX, |n, v| n.min(v.len()));
    let mut acc = [[i32x4_splat(0); 4]; 2];
    let mut i = 0;
    // SAFETY: every load reads 8 i16 at i..i+8 <= n of a slice of length >= n (unaligned ok).
    unsafe {
        while i + 8 <= n {
            let w0 = v128_load(w[0].as_ptr().add(i) as *const v128);
            let w1 = v128_load(w[1].as_ptr().add(i) as *const v128);
            for r in 0..4 {
                let xv = v128_load(x[r].as_ptr().add(i) as *const v128);
                acc[0][r] = i32x4_add(acc[0][r], i32x4_dot_i16x8(xv, w0));
                acc[1][r] = i32x4_add(acc[1][r], i32x4_dot_i16x8(xv, w1));
            }
            i += 8;
        }
    }
    let mut out = [[0i64; 4]; 2];
    for c in 0..2 {
        for r in 0..4 {
            let a = acc[c][r];
            out[c][r] = lanes_sum(a) + x[r][i..n].iter().zip(&w[c][i..n]).map(|(&a, &b)| a as i64 * b as i64).sum::<i64>();
        }
    }
    out
}

/// The four i32 lanes summed in i64: each lane is bounded by [`MAX_K`], their sum is not.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn lanes_sum(a: core::arch::wasm32::v128) -> i64 {
    use core::arch::wasm32::i32x4_extract_lane;
    i32x4_extract_lane::<0>(a) as i64 + i32x4_extract_lane::<1>(a) as i64 + i32x4_extract_lane::<2>(a) as i64 + i32x4_extract_lane::<3>(a) as i64
}

/// Four activation rows against two weight rows.
#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
#[inline]
fn dot4x2(x: [&[i16]; 4], w: [&[i16]; 2]) -> [[i64; 4]; 2] {
    w.map(|w| x.map(|x| dot(x, w)))
}

/// Four activation rows against two weight rows, in 8 register accumulators: AVX-512BW
/// (`vpmaddwd` on 32 values) or AVX2 (16 values) when the CPU has them, else one SSE2
/// dot per pair. (With AVX-512 the panel layout takes every even inner dimension.)
#[cfg(target_arch = "x86_64")]
#[inline]
fn dot4x2(x: [&[i16]; 4], w: [&[i16]; 2]) -> [[i64; 4]; 2] {
    let n = x.iter().chain(&w).fold(usize::MAX, |n, v| n.min(v.len()));
    let (x, w) = (x.map(|x| &x[..n]), w.map(|w| &w[..n]));
    if std::arch::is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU has AVX-512F and BW (BW implies F), checked just above.
        return unsafe { dot4x2_avx512(x, w) };
    }
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { dot4x2_avx2(x, w) };
    }
    w.map(|w| x.map(|x| dot(x, w)))
}

/// [`dot4x2`] with AVX-512BW; every slice has the same length. The last partial block is
/// read with masked loads (masked-off lanes are zero and are not read).
///
/// # Safety
/// The CPU has AVX-512F and AVX-512BW. (Slice lengths are the callee's business: a shorter
/// slice is read only up to `w[0].len()`, so every slice must be at least that long.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn dot4x2_avx512(x: [&[i16]; 4], w: [&[i16]; 2]) -> [[i64; 4]; 2] {
    use std::arch::x86_64::*;
    let n = w[0].len();
    let mut acc = [[_mm512_setzero_si512(); 4]; 2];
    let mut i = 0;
    while i < n {
        let m: __mmask32 = if n - i >= 32 { !0 } else { (1u32 << (n - i)) - 1 };
        // SAFETY: lanes at i..min(i + 32, n) are in bounds; the mask stops the rest.
        unsafe {
            let w0 = _mm512_maskz_loadu_epi16(m, w[0].as_ptr().add(i));
            let w1 = _mm512_maskz_loadu_epi16(m, w[1].as_ptr().add(i));
            for r in 0..4 {
                let xv = _mm512_maskz_loadu_epi16(m, x[r].as_ptr().add(i));
                acc[0][r] = _mm512_add_epi32(acc[0][r], _mm512_madd_epi16(xv, w0));
                acc[1][r] = _mm512_add_epi32(acc[1][r], _mm512_madd_epi16(xv, w1));
            }
        }
        i += 32;
    }
    // Each i32 lane holds n/16 products (bounded by MAX_K); their sum is taken in i64.
    acc.map(|a| {
        a.map(|a| {
            let lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(a));
            let hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(a));
            _mm512_reduce_add_epi64(_mm512_add_epi64(lo, hi))
        })
    })
}

/// [`dot4x2`] with AVX2; every slice has the same length.
///
/// # Safety
/// The CPU has AVX2, and every slice is at least `w[0].len()` long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot4x2_avx2(x: [&[i16]; 4], w: [&[i16]; 2]) -> [[i64; 4]; 2] {
    use std::arch::x86_64::*;
    let n = w[0].len();
    let mut acc = [[_mm256_setzero_si256(); 4]; 2];
    let mut i = 0;
    // SAFETY: each load reads 16 i16 at i..i + 16 <= n (unaligned loads).
    unsafe {
        while i + 16 <= n {
            let w0 = _mm256_loadu_si256(w[0].as_ptr().add(i) as *const __m256i);
            let w1 = _mm256_loadu_si256(w[1].as_ptr().add(i) as *const __m256i);
            for r in 0..4 {
                let xv = _mm256_loadu_si256(x[r].as_ptr().add(i) as *const __m256i);
                acc[0][r] = _mm256_add_epi32(acc[0][r], _mm256_madd_epi16(xv, w0));
                acc[1][r] = _mm256_add_epi32(acc[1][r], _mm256_madd_epi16(xv, w1));
            }
            i += 16;
        }
    }
    let mut out = [[0i64; 4]; 2];
    for c in 0..2 {
        for r in 0..4 {
            let mut lanes = [0i32; 8];
            // SAFETY: `lanes` holds 8 i32 (unaligned store).
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc[c][r]) };
            out[c][r] = lanes.iter().map(|&l| l as i64).sum::<i64>() + x[r][i..].iter().zip(&w[c][i..]).map(|(&a, &b)| a as i64 * b as i64).sum::<i64>();
        }
    }
    out
}

/// Σ a[i] * b[i] in i32 (portable; LLVM vectorizes this reduction).
#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
#[inline]
fn dot(a: &[i16], b: &[i16]) -> i64 {
    a.iter().zip(b).map(|(&x, &y)| x as i32 as i64 * y as i64).sum()
}

/// Σ a[i] * b[i] in i32 with `pmaddwd` (SSE2 is baseline on x86-64; AVX2 when the CPU has it).
#[cfg(target_arch = "x86_64")]
#[inline]
fn dot(a: &[i16], b: &[i16]) -> i64 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { dot_avx2(&a[..n], &b[..n]) };
    }
    let mut i = 0;
    // SAFETY: SSE2 is part of x86-64; each load reads 8 i16 at i..i+8 <= n (unaligned loads).
    let mut s = unsafe {
        let mut acc = _mm_setzero_si128();
        while i + 8 <= n {
            let x = _mm_loadu_si128(a.as_ptr().add(i) as *const __m128i);
            let y = _mm_loadu_si128(b.as_ptr().add(i) as *const __m128i);
            acc = _mm_add_epi32(acc, _mm_madd_epi16(x, y));
            i += 8;
        }
        let mut lanes = [0i32; 4];
        _mm_storeu_si128(lanes.as_mut_ptr() as *mut __m128i, acc);
        lanes.iter().map(|&l| l as i64).sum::<i64>()
    };
    while i < n {
        s += a[i] as i64 * b[i] as i64;
        i += 1;
    }
    s
}

/// [`dot`] with AVX2: two 16-lane accumulators.
///
/// # Safety
/// The CPU has AVX2, and `b` is at least as long as `a`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(a: &[i16], b: &[i16]) -> i64 {
    use std::arch::x86_64::*;
    let n = a.len();
    let mut i = 0;
    let (mut acc0, mut acc1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    // SAFETY (the loads below): each reads 16 i16 at i..i+16 <= n of `a` and of `b` (at
    // least n long: the caller's contract), unaligned.
    while i + 32 <= n {
        // SAFETY: see above.
        let (x0, y0, x1, y1) = unsafe {
            (
                _mm256_loadu_si256(a.as_ptr().add(i) as *const __m256i),
                _mm256_loadu_si256(b.as_ptr().add(i) as *const __m256i),
                _mm256_loadu_si256(a.as_ptr().add(i + 16) as *const __m256i),
                _mm256_loadu_si256(b.as_ptr().add(i + 16) as *const __m256i),
            )
        };
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x0, y0));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(x1, y1));
        i += 32;
    }
    if i + 16 <= n {
        // SAFETY: see above.
        let (x0, y0) = unsafe { (_mm256_loadu_si256(a.as_ptr().add(i) as *const __m256i), _mm256_loadu_si256(b.as_ptr().add(i) as *const __m256i)) };
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x0, y0));
        i += 16;
    }
    // Two accumulators of K/32 products each per lane, summed in i64.
    let (mut l0, mut l1) = ([0i32; 8], [0i32; 8]);
    // SAFETY: each array holds 8 i32 (unaligned stores).
    unsafe {
        _mm256_storeu_si256(l0.as_mut_ptr() as *mut __m256i, acc0);
        _mm256_storeu_si256(l1.as_mut_ptr() as *mut __m256i, acc1);
    }
    let mut s: i64 = l0.iter().chain(&l1).map(|&l| l as i64).sum();
    while i < n {
        s += a[i] as i64 * b[i] as i64;
        i += 1;
    }
    s
}

/// Σ a[i] * b[i] in i32 with `i32x4.dot_i16x8_s` (8 multiply-adds per instruction).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn dot(a: &[i16], b: &[i16]) -> i64 {
    use core::arch::wasm32::*;
    let n = a.len().min(b.len());
    let (mut acc0, mut acc1) = (i32x4_splat(0), i32x4_splat(0));
    let mut i = 0;
    // SAFETY: every load reads 8 i16 at i..i+8 (or i+8..i+16) < n; v128_load allows unaligned.
    unsafe {
        while i + 16 <= n {
            let x0 = v128_load(a.as_ptr().add(i) as *const v128);
            let y0 = v128_load(b.as_ptr().add(i) as *const v128);
            let x1 = v128_load(a.as_ptr().add(i + 8) as *const v128);
            let y1 = v128_load(b.as_ptr().add(i + 8) as *const v128);
            acc0 = i32x4_add(acc0, i32x4_dot_i16x8(x0, y0));
            acc1 = i32x4_add(acc1, i32x4_dot_i16x8(x1, y1));
            i += 16;
        }
        if i + 8 <= n {
            let x0 = v128_load(a.as_ptr().add(i) as *const v128);
            let y0 = v128_load(b.as_ptr().add(i) as *const v128);
            acc0 = i32x4_add(acc0, i32x4_dot_i16x8(x0, y0));
            i += 8;
        }
    }
    let mut s = lanes_sum(acc0) + lanes_sum(acc1);
    while i < n {
        s += a[i] as i64 * b[i] as i64;
        i += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn det(n: usize, seed: u32) -> Vec<f32> {
        // Deterministic values in [-1, 1) with a few larger outliers.
        (0..n)
            .map(|i| {
                let h = (i as u32).wrapping_mul(2654435761).wrapping_add(seed.wrapping_mul(40503));
                let v = (h >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
                if h.is_multiple_of(97) {
                    v * 6.0
                } else {
                    v
                }
            })
            .collect()
    }

    #[test]
    fn dot_matches_scalar_at_every_length() {
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 33, 384] {
            let a: Vec<i16> = (0..n).map(|i| (i * 37 % 255 - 127) as i16).collect();
            let b: Vec<i16> = (0..n).map(|i| (8191 - i * 101 % 16383) as i16).collect();
            let want: i64 = a.iter().zip(&b).map(|(&x, &y)| x as i64 * y as i64).sum();
            assert_eq!(dot(&a, &b), want, "n = {n}");
        }
    }

    #[test]
    fn dot4x2_matches_scalar_at_every_length() {
        for n in [0, 1, 7, 15, 16, 17, 31, 32, 33, 100, 384] {
            let rows: Vec<Vec<i16>> = (0..6).map(|s| (0..n).map(|i| ((i * 37 + s * 1011) % 4095 - 2047) as i16).collect()).collect();
            let x = [&rows[0][..], &rows[1], &rows[2], &rows[3]];
            let w = [&rows[4][..], &rows[5]];
            let want = w.map(|w| x.map(|x| x.iter().zip(w).map(|(&a, &b)| a as i64 * b as i64).sum::<i64>()));
            assert_eq!(dot4x2(x, w), want, "n = {n}");
            // Every x86 form the CPU has, not only the one dispatched.
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                if has!("avx2") {
                    // SAFETY: the CPU has AVX2; the slices have one length.
                    assert_eq!(unsafe { dot4x2_avx2(x, w) }, want, "AVX2, n = {n}");
                } else if n == 0 {
                    crate::skipped("dot4x2 AVX2 form", "this CPU lacks AVX2");
                }
                if has!("avx512bw") {
                    // SAFETY: the CPU has AVX-512BW (and F); the slices have one length.
                    assert_eq!(unsafe { dot4x2_avx512(x, w) }, want, "AVX-512BW, n = {n}");
                } else if n == 0 {
                    crate::skipped("dot4x2 AVX-512BW form", "this CPU lacks AVX-512BW");
                }
            }
        }
    }

    #[test]
    fn no_overflow_at_the_largest_inner_dimension() {
        // Every product at its largest, all of one sign: the worst case for the i32 lanes.
        let (x, w) = (vec![X_MAX as i16; MAX_K], vec![-(W_MAX as i16); MAX_K]);
        let want = -(MAX_K as i64) * X_MAX as i64 * W_MAX as i64;
        assert_eq!(dot(&x, &w), want);
        assert_eq!(dot4x2([&x, &x, &x, &x], [&w, &w]), [[want; 4]; 2]);
    }

    #[test]
    fn matmul_is_close_to_f32() {
        let (rows, k, out) = (9, 100, 13); // not multiples of the tile or the SIMD width
        let (x, w) = (det(rows * k, 1), det(out * k, 2));
        let (xr, wr) = (&x, &w);
        let want: Vec<f32> = (0..rows).flat_map(|r| (0..out).map(move |o| (0..k).map(|i| xr[r * k + i] * wr[o * k + i]).sum::<f32>())).collect();
        let got = I8Matmul::pack(&w, out, k).unwrap().forward(&x).unwrap();
        assert_eq!(got.len(), rows * out);
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let err = want.iter().zip(&got).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        // int8 weights: about 1 % of the output range; a wrong index would be ~100 %.
        assert!(err < 0.02 * scale, "max error {err} vs output scale {scale}");
    }

    #[test]
    fn bias_and_gelu_epilogue() {
        let (x, w, b) = (det(5 * 40, 3), det(6 * 40, 4), det(6, 5));
        let m = I8Matmul::pack(&w, 6, 40).unwrap();
        let plain = m.forward(&x).unwrap();
        let m = m.with_bias(b.clone()).unwrap();
        let want: Vec<f32> = plain.iter().enumerate().map(|(i, y)| y + b[i % 6]).collect();
        let got = m.forward(&x).unwrap();
        let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff(&got, &want) < 1e-6);
        let mut gelu = want.clone();
        crate::fastmath::gelu_in_place(&mut gelu);
        assert!(diff(&m.forward_gelu(&x).unwrap(), &gelu) < 1e-6);
        assert!(I8Matmul::pack(&w, 6, 40).unwrap().with_bias(vec![0.0; 5]).is_err(), "bias of the wrong length");
    }

    #[test]
    fn rejects_wrong_shapes() {
        let m = I8Matmul::pack(&[0.0; 32], 4, 8).unwrap();
        let e = m.forward(&[0.0; 14]).unwrap_err().to_string();
        assert!(e.contains("14 values") && e.contains("8 features"), "{e}");
        assert!(I8Matmul::pack(&[0.0; 31], 4, 8).is_err(), "weight shorter than [out, in]");
        assert!(I8Matmul::pack(&vec![0.0; MAX_K + 1], 1, MAX_K + 1).is_err(), "inner dimension past the i32 bound");
    }
}
