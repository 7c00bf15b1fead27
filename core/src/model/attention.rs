//! Fused multi-head self-attention: `softmax(q·kᵀ/√dh + mask)·v` for every head, one tile
//! of query rows at a time.
//!
//! Why not candle ops: there, one layer of a 512-token note splits q, k and v into heads
//! (four transposed copies), writes a `[B, nh, S, S]` score tensor (12.6 MB for MiniLM),
//! reads and rewrites it for the softmax, and multiplies with a batched matmul whose inner
//! dimension is only 32. In wasm that was 30 % of the time of a note (BENCHMARKS.md). Here
//! each head gathers its keys (transposed) and values once, and a tile of [`QT`] query
//! rows keeps its scores in L1: scores, softmax and the weighted sum of values run on
//! them before the next tile. The arithmetic is plain `f32` on fixed-size arrays, which
//! LLVM vectorizes (SIMD128 in wasm; natively AVX2 + FMA when the CPU has them, chosen at
//! run time, else SSE2).

use candle_core::{Result, Tensor};

use super::fastmath;

/// Query rows per tile: their score rows stay in L1, and each key/value load feeds them all.
const QT: usize = 4;

/// `qkv` `[B, S, 3H]`: q, k and v side by side, as the fused linear layer gives them (head
/// `i` is features `i*dh..(i+1)*dh` of each); `mask_bias` `[B, S]` (0 on tokens, very
/// negative on padding) -> `[B, queries, H]`: the first `queries` positions (S for all),
/// over all keys. Each row is the same numbers whatever `queries` is: the `cls` head reads
/// only `[CLS]` from the last layer, which then needs one query row instead of S.
pub fn attention_rows(qkv: &Tensor, mask_bias: &Tensor, n_heads: usize, queries: usize) -> Result<Tensor> {
    let (b, s, h3) = qkv.dims3()?;
    if queries == 0 || queries > s {
        candle_core::bail!("attention: {queries} query rows of a sequence of {s}");
    }
    let h = h3 / 3;
    if h3 % 3 != 0 || mask_bias.dims() != [b, s] {
        candle_core::bail!("attention: qkv {:?} is not [B, S, 3H] or mask {:?} is not [B, S]", qkv.dims(), mask_bias.dims());
    }
    if n_heads == 0 || h % n_heads != 0 {
        candle_core::bail!("attention: hidden size {h} is not a multiple of {n_heads} heads");
    }
    let dh = h / n_heads;
    let bias = mask_bias.flatten_all()?.to_vec1::<f32>()?;
    let shape = Shape { s, nq: queries, stride: h3, dh, scale: 1.0 / (dh as f32).sqrt() };
    // qkv is read in place (no copy of [B, S, 3H]); each head writes its own columns of `out`.
    let mut out = vec![0f32; b * queries * h];
    let dst = Out(out.as_mut_ptr());
    super::with_f32(qkv, |qkv| {
        let run = |t: usize| {
            let (bi, hi) = (t / n_heads, t % n_heads);
            let x = Head { q: qkv, k: &qkv[h..], v: &qkv[2 * h..], bias: &bias[bi * s..(bi + 1) * s], bi, hi };
            // SAFETY: `out` is [B, queries, H] and head (bi, hi) writes only features
            // hi·dh..(hi+1)·dh of note bi's rows: no two tasks write the same element, and
            // `out` outlives them.
            unsafe { shape.head(&x, dst.at(bi * queries * h + hi * dh), h) }
        };
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            (0..b * n_heads).into_par_iter().for_each(run)
        }
        #[cfg(target_arch = "wasm32")]
        (0..b * n_heads).for_each(run)
    })?;
    Tensor::from_vec(out, (b, queries, h), &candle_core::Device::Cpu)
}

/// The output buffer, shared by the heads (each writes its own columns).
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: the tasks write disjoint elements (see `attention`).
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// A method, not `.0`: closures capture the whole (Sync) wrapper, not its raw field.
    fn at(self, i: usize) -> *mut f32 {
        self.0.wrapping_add(i)
    }
}

#[derive(Clone, Copy)]
struct Shape {
    s: usize,
    /// Query rows computed: the first `nq` (`s` for all).
    nq: usize,
    /// Distance between rows of q (k, v): 3H.
    stride: usize,
    dh: usize,
    scale: f32,
}

/// One head of one note: q, k and v start at offsets 0, H and 2H of the qkv rows.
struct Head<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    /// `[S]`, this note's mask.
    bias: &'a [f32],
    /// Note and head index.
    bi: usize,
    hi: usize,
}

impl Shape {
    /// One head of one note: row `i` of its `[nq, dh]` result goes to `out.add(i * row)`.
    ///
    /// # Safety
    /// `out.add(i * row + d)` must be writable for `i < nq`, `d < dh`.
    unsafe fn head(&self, x: &Head, out: *mut f32, row: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above), which implies AVX2 and FMA.
            return unsafe { self.head_avx512(x, out, row) };
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { self.head_avx2(x, out, row) };
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return unsafe { self.head_impl::<simd::Wasm, 1>(x, out, row) };
        #[allow(unreachable_code)]
        unsafe {
            self.head_impl::<simd::Scalar, 1>(x, out, row)
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn head_avx2(&self, x: &Head, out: *mut f32, row: usize) {
        // Two blocks per tile: 8 independent FMA chains hide the FMA latency.
        unsafe { self.head_impl::<simd::Avx2, 2>(x, out, row) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn head_avx512(&self, x: &Head, out: *mut f32, row: usize) {
        // 16 lanes, two blocks per tile: 32 keys or features.
        unsafe { self.head_impl::<simd::Avx512, 2>(x, out, row) }
    }

    #[inline(always)]
    /// `W`: blocks of [`simd::F32x8::LANES`] keys (or features) per register tile.
    /// Safety: as [`Self::head`].
    unsafe fn head_impl<V: simd::F32x8, const W: usize>(&self, x: &Head, out: *mut f32, row_stride: usize) {
        let &Head { q, k, v, bias, bi, hi } = x;
        let Shape { s, nq, stride, dh, scale } = *self;
        // Pad keys to whole register tiles and features to whole V::LANES; padded keys get
        // the mask's very negative bias (no weight), padded features are zero.
        let sp = s.next_multiple_of(V::LANES * W);
        // Keys scored, in whole vectors: the softmax and the weighted sum stop here, not at sp
        // (a 230-token note is 240 keys, not 256).
        let sl = s.next_multiple_of(V::LANES);
        let dp = dh.next_multiple_of(V::LANES * W);
        fn row(x: &[f32], o: usize, dh: usize) -> &[f32] {
            &x[o..o + dh]
        }
        let at = |j: usize| (bi * s + j) * stride + hi * dh;
        // Keys transposed in panels of one register tile: [sp / (V::LANES W), dp, V::LANES W], so a
        // tile's keys are one contiguous 2 KB run instead of dp rows 2 KB apart.
        let blk = V::LANES * W;
        let mut kt = vec![0f32; dp * sp];
        let mut vh = vec![0f32; sp * dp]; // [sp, dp]
        gather_keys_values(&mut kt, &mut vh, |j| (row(k, at(j), dh), row(v, at(j), dh)), s, dp, blk);
        let mut bias_p = vec![-f32::MAX; sp];
        bias_p[..s].copy_from_slice(bias);

        let mut qt = vec![0f32; dp * QT]; // [dp, QT]: a tile of queries, transposed and scaled
        let mut sc = vec![0f32; QT * sp]; // [QT, sp]: scores, then probabilities
        let mut ot = vec![0f32; QT * dp]; // [QT, dp]
        for i0 in (0..nq).step_by(QT) {
            let n = (nq - i0).min(QT);
            let rows: [&[f32]; QT] = std::array::from_fn(|r| if r < n { row(q, at(i0 + r), dh) } else { &[][..] });
            transpose_queries(&mut qt, &rows, scale);
            let max = scores::<V, W>(&qt, &kt, &bias_p, sp, sl, &mut sc);
            let mut inv = [0f32; QT];
            for (r, inv) in inv.iter_mut().enumerate().take(n) {
                let p = &mut sc[r * sp..r * sp + sl];
                // 16 partial sums with 16-lane registers, else 8 (SIMD128's pair of f32x4).
                let sum = if V::LANES == 16 {
                    fastmath::exp_sum::<16, true>(p, max[r])
                } else if V::FMA {
                    fastmath::exp_sum::<8, true>(p, max[r])
                } else {
                    fastmath::exp_sum::<8, false>(p, max[r])
                };
                *inv = 1.0 / sum;
            }
            weighted_values::<V, W>(&sc, &vh, dp, sp, sl, &mut ot);
            for r in 0..n {
                for (d, &x) in ot[r * dp..r * dp + dh].iter().enumerate() {
                    // SAFETY: i0 + r < s and d < dh (the caller's contract).
                    unsafe { *out.add((i0 + r) * row_stride + d) = x * inv[r] };
                }
            }
        }
    }
}

/// Copies key `j < s` into its panel column of `kt` (`[sp / blk, dp, blk]`) and value `j`
/// into row `j` of `vh` (`[sp, dp]`).
///
/// Not inlined into the SIMD forms on purpose: compiled with AVX-512, LLVM turns the column
/// writes into `vscatterqps`, which is microcoded on AMD (a tenth of the head's time).
#[inline(never)]
fn gather_keys_values<'a>(kt: &mut [f32], vh: &mut [f32], kv: impl Fn(usize) -> (&'a [f32], &'a [f32]), s: usize, dp: usize, blk: usize) {
    for j in 0..s {
        let (k, v) = kv(j);
        let panel = &mut kt[(j / blk) * dp * blk..][..dp * blk];
        for (d, &x) in k.iter().enumerate() {
            panel[d * blk + j % blk] = x;
        }
        vh[j * dp..j * dp + v.len()].copy_from_slice(v);
    }
}

/// `qt[d, r] = rows[r][d] · scale` (`[dp, QT]`; zero past a row's end). Not inlined, as
/// [`gather_keys_values`] (the same scatter).
#[inline(never)]
fn transpose_queries(qt: &mut [f32], rows: &[&[f32]; QT], scale: f32) {
    qt.fill(0.0);
    for (r, x) in rows.iter().enumerate() {
        for (d, &x) in x.iter().enumerate() {
            qt[d * QT + r] = x * scale;
        }
    }
}

/// `sc[r, j] = Σ_d qt[d, r] · k[j, d] + bias[j]` for keys `j < sl`, [`QT`] rows × `V::LANES W`
/// keys at a time (a last block of `V::LANES`, when `sl` ends there); returns each row's
/// maximum (taken here, so the softmax needs no pass of its own).
/// `qt` `[dp, QT]`, `kt` `[sp / (V::LANES W), dp, V::LANES W]`, `sc` `[QT, sp]`.
#[inline(always)]
fn scores<V: simd::F32x8, const W: usize>(qt: &[f32], kt: &[f32], bias: &[f32], sp: usize, sl: usize, sc: &mut [f32]) -> [f32; QT] {
    let blk = V::LANES * W;
    assert!(W <= 2 && sp.is_multiple_of(blk) && sl.is_multiple_of(V::LANES) && sl <= sp);
    assert!(bias.len() >= sp && sc.len() >= QT * sp && kt.len() / sp == qt.len() / QT);
    let dp = kt.len() / sp;
    let mut max = [V::splat(-f32::MAX); QT];
    for j0 in (0..sl).step_by(blk) {
        let panel = &kt[j0 * dp..][..dp * blk];
        // SAFETY: j0 + blk <= sp: sc rows and bias have room for the block.
        unsafe {
            if j0 + blk <= sl {
                score_block::<V, W>(qt, panel, blk, bias.as_ptr().add(j0), sc.as_mut_ptr().add(j0), sp, &mut max)
            } else {
                score_block::<V, 1>(qt, panel, blk, bias.as_ptr().add(j0), sc.as_mut_ptr().add(j0), sp, &mut max)
            }
        }
    }
    let mut out = [0f32; QT];
    for r in 0..QT {
        out[r] = max[r].reduce_max();
    }
    out
}

/// One block of `V::LANES WW` keys of [`scores`]: `panel` rows are `blk` keys apart.
/// Safety: `bias` and `sc.add(r * sp)` (r < QT) have `V::LANES WW` values.
#[inline(always)]
unsafe fn score_block<V: simd::F32x8, const WW: usize>(qt: &[f32], panel: &[f32], blk: usize, bias: *const f32, sc: *mut f32, sp: usize, max: &mut [V; QT]) {
    let mut acc = [[V::zero(); WW]; QT];
    for (krow, qd) in panel.chunks_exact(blk).zip(qt.chunks_exact(QT)) {
        // SAFETY: (w + 1) * V::LANES <= blk = krow.len().
        let kv: [V; WW] = std::array::from_fn(|w| unsafe { V::load(krow.as_ptr().add(w * V::LANES)) });
        for r in 0..QT {
            let qr = V::splat(qd[r]);
            for w in 0..WW {
                acc[r][w] = V::madd(qr, kv[w], acc[r][w]);
            }
        }
    }
    for w in 0..WW {
        // SAFETY: the caller's contract.
        unsafe {
            let b = V::load(bias.add(w * V::LANES));
            for (r, acc) in acc.iter().enumerate() {
                let x = V::add(acc[w], b);
                max[r] = V::max(max[r], x);
                x.store(sc.add(r * sp + w * V::LANES));
            }
        }
    }
}

/// `ot[r, d] = Σ_{j < sl} sc[r, j] · vh[j, d]`, for [`QT`] rows × `V::LANES W` features at a time.
/// `sc` `[QT, sp]`, `vh` `[sp, dp]`, `ot` `[QT, dp]`.
#[inline(always)]
fn weighted_values<V: simd::F32x8, const W: usize>(sc: &[f32], vh: &[f32], dp: usize, sp: usize, sl: usize, ot: &mut [f32]) {
    assert!(dp.is_multiple_of(V::LANES * W) && ot.len() >= QT * dp);
    assert!(vh.len() == sp * dp && sc.len() == QT * sp);
    assert!(sl <= sp);
    let rows: [&[f32]; QT] = std::array::from_fn(|r| &sc[r * sp..r * sp + sl]);
    for d0 in (0..dp).step_by(V::LANES * W) {
        let mut acc = [[V::zero(); W]; QT];
        for (j, vrow) in vh[..sl * dp].chunks_exact(dp).enumerate() {
            // SAFETY: d0 + V::LANES * W <= dp = vrow.len().
            let vv: [V; W] = std::array::from_fn(|w| unsafe { V::load(vrow.as_ptr().add(d0 + w * V::LANES)) });
            for r in 0..QT {
                // SAFETY: j < sl = rows[r].len().
                let p = V::splat(unsafe { *rows[r].get_unchecked(j) });
                for w in 0..W {
                    acc[r][w] = V::madd(p, vv[w], acc[r][w]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (w, acc) in acc.iter().enumerate() {
                // SAFETY: r * dp + d0 + V::LANES * W <= QT * dp <= ot.len(), asserted above.
                unsafe { acc.store(ot.as_mut_ptr().add(r * dp + d0 + w * V::LANES)) };
            }
        }
    }
}

/// A vector of f32 lanes: one AVX-512 register (16), one AVX2 register (8), two SIMD128
/// registers (8), or a plain array (8). (LLVM does not vectorize the tiles above on its
/// own: it keeps the accumulators in scalar registers and on the stack.)
mod simd {
    pub trait F32x8: Copy {
        /// Keys (scores) or value features (output) per vector.
        const LANES: usize;
        fn zero() -> Self;
        fn splat(x: f32) -> Self;
        /// `a * b + c` (fused where the target has FMA).
        fn madd(a: Self, b: Self, c: Self) -> Self;
        fn add(a: Self, b: Self) -> Self;
        /// Lane-wise `if b > a { b } else { a }`.
        fn max(a: Self, b: Self) -> Self;
        /// Whether `madd` is fused: the caller is compiled with FMA.
        const FMA: bool;
        /// # Safety
        /// `p..p + LANES` must be readable.
        unsafe fn load(p: *const f32) -> Self;
        /// # Safety
        /// `p..p + LANES` must be writable.
        unsafe fn store(self, p: *mut f32);
        /// The largest lane (compare-and-select; no NaN rules).
        #[inline(always)]
        fn reduce_max(self) -> f32 {
            let mut lanes = [0f32; 16];
            // SAFETY: LANES <= 16.
            unsafe { self.store(lanes.as_mut_ptr()) };
            lanes[..Self::LANES].iter().fold(-f32::MAX, |a, &b| if b > a { b } else { a })
        }
    }

    #[derive(Clone, Copy)]
    pub struct Scalar([f32; 8]);

    impl F32x8 for Scalar {
        const LANES: usize = 8;
        #[inline(always)]
        fn zero() -> Self {
            Self([0.0; 8])
        }
        #[inline(always)]
        fn splat(x: f32) -> Self {
            Self([x; 8])
        }
        #[inline(always)]
        fn madd(a: Self, b: Self, c: Self) -> Self {
            Self(std::array::from_fn(|i| a.0[i] * b.0[i] + c.0[i]))
        }
        #[inline(always)]
        fn add(a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|i| a.0[i] + b.0[i]))
        }
        #[inline(always)]
        fn max(a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|i| if b.0[i] > a.0[i] { b.0[i] } else { a.0[i] }))
        }
        const FMA: bool = false;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(unsafe { std::ptr::read_unaligned(p as *const [f32; 8]) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            unsafe { std::ptr::write_unaligned(p as *mut [f32; 8], self.0) }
        }
    }

    /// Only inlined into `#[target_feature(enable = "avx2,fma")]` functions.
    #[cfg(target_arch = "x86_64")]
    #[derive(Clone, Copy)]
    pub struct Avx2(std::arch::x86_64::__m256);

    #[cfg(target_arch = "x86_64")]
    impl F32x8 for Avx2 {
        const LANES: usize = 8;
        #[inline(always)]
        fn zero() -> Self {
            // SAFETY (all methods): only reached from `head_avx2`, which requires AVX2 + FMA.
            Self(unsafe { std::arch::x86_64::_mm256_setzero_ps() })
        }
        #[inline(always)]
        fn splat(x: f32) -> Self {
            Self(unsafe { std::arch::x86_64::_mm256_set1_ps(x) })
        }
        #[inline(always)]
        fn madd(a: Self, b: Self, c: Self) -> Self {
            Self(unsafe { std::arch::x86_64::_mm256_fmadd_ps(a.0, b.0, c.0) })
        }
        #[inline(always)]
        fn add(a: Self, b: Self) -> Self {
            Self(unsafe { std::arch::x86_64::_mm256_add_ps(a.0, b.0) })
        }
        #[inline(always)]
        fn max(a: Self, b: Self) -> Self {
            // maxps returns its second operand unless the first is greater.
            Self(unsafe { std::arch::x86_64::_mm256_max_ps(b.0, a.0) })
        }
        const FMA: bool = true;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(unsafe { std::arch::x86_64::_mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            unsafe { std::arch::x86_64::_mm256_storeu_ps(p, self.0) }
        }
    }

    /// Only inlined into `#[target_feature(enable = "avx512f,...")]` functions.
    #[cfg(target_arch = "x86_64")]
    #[derive(Clone, Copy)]
    pub struct Avx512(std::arch::x86_64::__m512);

    #[cfg(target_arch = "x86_64")]
    impl F32x8 for Avx512 {
        const LANES: usize = 16;
        #[inline(always)]
        fn zero() -> Self {
            // SAFETY (all methods): only reached from `head_avx512`, which requires AVX-512F.
            Self(unsafe { std::arch::x86_64::_mm512_setzero_ps() })
        }
        #[inline(always)]
        fn splat(x: f32) -> Self {
            Self(unsafe { std::arch::x86_64::_mm512_set1_ps(x) })
        }
        #[inline(always)]
        fn madd(a: Self, b: Self, c: Self) -> Self {
            Self(unsafe { std::arch::x86_64::_mm512_fmadd_ps(a.0, b.0, c.0) })
        }
        #[inline(always)]
        fn add(a: Self, b: Self) -> Self {
            Self(unsafe { std::arch::x86_64::_mm512_add_ps(a.0, b.0) })
        }
        #[inline(always)]
        fn max(a: Self, b: Self) -> Self {
            Self(unsafe { std::arch::x86_64::_mm512_max_ps(b.0, a.0) })
        }
        const FMA: bool = true;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(unsafe { std::arch::x86_64::_mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            unsafe { std::arch::x86_64::_mm512_storeu_ps(p, self.0) }
        }
    }

    /// Two `f32x4`; wasm SIMD has no FMA, so `madd` is a multiply and an add.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[derive(Clone, Copy)]
    pub struct Wasm([core::arch::wasm32::v128; 2]);

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    impl F32x8 for Wasm {
        const LANES: usize = 8;
        #[inline(always)]
        fn zero() -> Self {
            Self([core::arch::wasm32::f32x4_splat(0.0); 2])
        }
        #[inline(always)]
        fn splat(x: f32) -> Self {
            Self([core::arch::wasm32::f32x4_splat(x); 2])
        }
        #[inline(always)]
        fn madd(a: Self, b: Self, c: Self) -> Self {
            use core::arch::wasm32::{f32x4_add, f32x4_mul};
            Self([f32x4_add(f32x4_mul(a.0[0], b.0[0]), c.0[0]), f32x4_add(f32x4_mul(a.0[1], b.0[1]), c.0[1])])
        }
        #[inline(always)]
        fn add(a: Self, b: Self) -> Self {
            use core::arch::wasm32::f32x4_add;
            Self([f32x4_add(a.0[0], b.0[0]), f32x4_add(a.0[1], b.0[1])])
        }
        #[inline(always)]
        fn max(a: Self, b: Self) -> Self {
            // pmax(a, b) is `if a < b { b } else { a }`.
            use core::arch::wasm32::f32x4_pmax;
            Self([f32x4_pmax(a.0[0], b.0[0]), f32x4_pmax(a.0[1], b.0[1])])
        }
        const FMA: bool = false;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            use core::arch::wasm32::{v128, v128_load};
            unsafe { Self([v128_load(p as *const v128), v128_load(p.add(4) as *const v128)]) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            use core::arch::wasm32::{v128, v128_store};
            unsafe {
                v128_store(p as *mut v128, self.0[0]);
                v128_store(p.add(4) as *mut v128, self.0[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn attention(qkv: &Tensor, mask_bias: &Tensor, n_heads: usize) -> Result<Tensor> {
        attention_rows(qkv, mask_bias, n_heads, qkv.dim(1)?)
    }

    /// The first rows alone are the full result's first rows, bit for bit (the `cls` fast path).
    #[test]
    fn first_query_rows_equal_the_full_result() {
        let (b, s, h, nh) = (2, 37, 64, 4);
        let qkv = Tensor::from_vec(det(b * s * 3 * h, 3), (b, s, 3 * h), &Device::Cpu).unwrap();
        let mut mask = vec![0f32; b * s];
        mask[s + 30..].fill(-f32::MAX);
        let mask = Tensor::from_vec(mask, (b, s), &Device::Cpu).unwrap();
        let full = attention(&qkv, &mask, nh).unwrap();
        for rows in [1, 5] {
            let got = attention_rows(&qkv, &mask, nh, rows).unwrap();
            assert_eq!(got.dims(), [b, rows, h]);
            let want = full.narrow(1, 0, rows).unwrap();
            let (got, want) = (got.flatten_all().unwrap().to_vec1::<f32>().unwrap(), want.flatten_all().unwrap().to_vec1::<f32>().unwrap());
            assert_eq!(got, want, "{rows} rows");
        }
        assert!(attention_rows(&qkv, &mask, nh, 0).is_err() && attention_rows(&qkv, &mask, nh, s + 1).is_err());
    }

    /// The unfused reference: candle ops, as the encoder computed attention before.
    fn reference(q: &Tensor, k: &Tensor, v: &Tensor, mask_bias: &Tensor, nh: usize) -> Tensor {
        let (b, s, h) = q.dims3().unwrap();
        let dh = h / nh;
        let heads = |t: &Tensor| t.reshape((b, s, nh, dh)).unwrap().transpose(1, 2).unwrap().contiguous().unwrap();
        let (q, k, v) = (heads(q), heads(k), heads(v));
        let scores = (q.matmul(&k.t().unwrap()).unwrap() / (dh as f64).sqrt()).unwrap();
        let scores = scores.broadcast_add(&mask_bias.reshape((b, 1, 1, s)).unwrap()).unwrap();
        let p = candle_nn::ops::softmax_last_dim(&scores).unwrap();
        p.matmul(&v).unwrap().transpose(1, 2).unwrap().reshape((b, s, h)).unwrap()
    }

    fn det(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let x = (i as u32).wrapping_mul(2654435761).wrapping_add(seed.wrapping_mul(40503));
                ((x >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * 3.0
            })
            .collect()
    }

    #[test]
    fn matches_unfused_attention() {
        let dev = Device::Cpu;
        // S not a multiple of LANES or QT, dh not a multiple of LANES (12), the second note padded.
        for (b, s, h, nh) in [(2, 13, 36, 3), (1, 1, 16, 2), (1, 70, 64, 2)] {
            let t = |seed| Tensor::from_vec(det(b * s * h, seed), (b, s, h), &dev).unwrap();
            let (q, k, v) = (t(1), t(2), t(3));
            let mut mask = vec![0f32; b * s];
            if b > 1 {
                for m in &mut mask[s + s / 2..] {
                    *m = -f32::MAX;
                }
            }
            let mask = Tensor::from_vec(mask, (b, s), &dev).unwrap();
            let qkv = Tensor::cat(&[&q, &k, &v], 2).unwrap();
            let got = attention(&qkv, &mask, nh).unwrap();
            let want = reference(&q, &k, &v, &mask, nh);
            let diff = crate::model::max_abs_diff(&got, &want);
            assert!(diff < 1e-5, "b {b} s {s} h {h} nh {nh}: max difference {diff}");
        }
    }

    /// Every SIMD form this CPU has gives the scalar form's result (the dispatched one is
    /// also checked against candle above).
    #[test]
    fn every_kernel_form_agrees_with_scalar() {
        let (s, h, nh) = (45, 64, 2);
        let qkv = det(s * 3 * h, 9);
        let mut bias = vec![0f32; s];
        bias[40..].fill(-f32::MAX);
        let shape = Shape { s, nq: s, stride: 3 * h, dh: h / nh, scale: 0.125 };
        let head = Head { q: &qkv[..], k: &qkv[h..], v: &qkv[2 * h..], bias: &bias, bi: 0, hi: 1 };
        let dh = h / nh;
        // Runs one form into a fresh [s, dh] buffer (NaN where nothing was written).
        let run = |f: &dyn Fn(*mut f32)| {
            let mut o = vec![f32::NAN; s * dh];
            f(o.as_mut_ptr());
            o
        };
        // SAFETY (every form below): `o` holds s rows of dh values; row stride dh.
        let want = run(&|o| unsafe { shape.head_impl::<simd::Scalar, 1>(&head, o, dh) });
        assert!(want.iter().all(|x| x.is_finite()));
        let close = |got: Vec<f32>, name: &str| {
            let d = got.iter().zip(&want).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(d < 1e-5, "{name}: max difference {d}");
        };
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                // SAFETY: the CPU has AVX2 and FMA.
                close(run(&|o| unsafe { shape.head_avx2(&head, o, dh) }), "AVX2");
            }
            if has!("avx512f") {
                // SAFETY: the CPU has AVX-512F.
                close(run(&|o| unsafe { shape.head_avx512(&head, o, dh) }), "AVX-512");
            }
        }
        close(run(&|o| unsafe { shape.head(&head, o, dh) }), "dispatched");
    }

    #[test]
    fn padding_keys_get_no_weight() {
        // A value of 1000 on the padded key would move the output if it got any weight.
        let dev = Device::Cpu;
        let q = Tensor::ones((1, 3, 8), candle_core::DType::F32, &dev).unwrap();
        let k = q.clone();
        let v = Tensor::new(&[[[1f32; 8], [1.0; 8], [1000.0; 8]]], &dev).unwrap();
        let mask = Tensor::new(&[[0f32, 0.0, -f32::MAX]], &dev).unwrap();
        let qkv = Tensor::cat(&[&q, &k, &v], 2).unwrap();
        let got: Vec<f32> = attention(&qkv, &mask, 2).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert!(got.iter().all(|&x| (x - 1.0).abs() < 1e-6), "{got:?}");
    }

    #[test]
    fn rejects_mismatched_shapes() {
        let dev = Device::Cpu;
        let qkv = Tensor::zeros((1, 3, 24), candle_core::DType::F32, &dev).unwrap();
        let mask = Tensor::zeros((1, 4), candle_core::DType::F32, &dev).unwrap();
        let e = attention(&qkv, &mask, 2).unwrap_err().to_string();
        assert!(e.contains("is not [B, S]"), "{e}");
        let qkv = Tensor::zeros((1, 3, 25), candle_core::DType::F32, &dev).unwrap();
        let mask = Tensor::zeros((1, 3), candle_core::DType::F32, &dev).unwrap();
        assert!(attention(&qkv, &mask, 2).is_err(), "3H must divide by 3");
    }
}
