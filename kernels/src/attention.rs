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

use crate::{fastmath, KernelError};

/// Query rows per tile: their score rows stay in L1, and each key/value load feeds them all.
const QT: usize = 4;

/// `qkv` `[B, S, 3H]` (`dims` = `[B, S, 3H]`): q, k and v side by side, as the fused linear
/// layer gives them (head `i` is features `i*dh..(i+1)*dh` of each); `mask_bias` `[B, S]`
/// (0 on tokens, very negative on padding) -> `[B, queries, H]`: the first `queries`
/// positions (S for all), over all keys. Each row is the same numbers whatever `queries` is:
/// the `cls` head reads only `[CLS]` from the last layer, which then needs one query row
/// instead of S.
pub fn attention_rows(qkv: &[f32], dims: [usize; 3], mask_bias: &[f32], n_heads: usize, queries: usize) -> Result<Vec<f32>, KernelError> {
    let [b, s, h3] = dims;
    if queries == 0 || queries > s {
        return Err(KernelError::QueryRows { queries, s });
    }
    let h = h3 / 3;
    if h3 % 3 != 0 || qkv.len() != b * s * h3 || mask_bias.len() != b * s {
        return Err(KernelError::AttentionShape { qkv: dims.to_vec(), mask: vec![mask_bias.len()] });
    }
    if n_heads == 0 || h % n_heads != 0 {
        return Err(KernelError::Heads { h, heads: n_heads });
    }
    let dh = h / n_heads;
    let shape = Shape { s, nq: queries, stride: h3, dh, scale: 1.0 / (dh as f32).sqrt() };
    // qkv is read in place (no copy of [B, S, 3H]); each head writes its own columns of `out`.
    let mut out = vec![0f32; b * queries * h];
    let dst = Out(out.as_mut_ptr());
    let run = |t: usize| {
        let (bi, hi) = (t / n_heads, t % n_heads);
        let x = Head { q: qkv, k: &qkv[h..], v: &qkv[2 * h..], bias: &mask_bias[bi * s..(bi + 1) * s], bi, hi };
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
    (0..b * n_heads).for_each(run);
    Ok(out)
}

/// The output buffer, shared by the heads (each writes its own columns).
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: the tasks write disjoint elements (see `attention_rows`).
unsafe impl Send for Out {}
// SAFETY: as for Send: no two tasks touch the same element through it.
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
    /// One head of one note, with the widest vectors the CPU has: row `i` of its `[nq, dh]`
    /// result goes to `out.add(i * row)`.
    ///
    /// # Safety
    /// `out.add(i * row + d)` must be writable for `i < nq`, `d < dh`.
    unsafe fn head(&self, x: &Head, out: *mut f32, row: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above), which implies AVX2 and FMA;
            // `out` as our caller promised.
            return unsafe { self.head_avx512(x, out, row) };
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above); `out` as promised.
            return unsafe { self.head_avx2(x, out, row) };
        }
        // SAFETY: SIMD128 is enabled at compile time for this build; `out` as promised.
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return unsafe { self.head_impl::<simd::Wasm, 1>(x, out, row) };
        // SAFETY: plain arrays need no CPU feature; `out` as our caller promised.
        #[allow(unreachable_code)]
        unsafe {
            self.head_impl::<simd::Scalar, 1>(x, out, row)
        }
    }

    /// # Safety
    /// The CPU has AVX2 and FMA; `out` as for [`Self::head`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn head_avx2(&self, x: &Head, out: *mut f32, row: usize) {
        // Two blocks per tile: 8 independent FMA chains hide the FMA latency.
        // SAFETY: `Avx2`'s features are this function's; `out` as our caller promised.
        unsafe { self.head_impl::<simd::Avx2, 2>(x, out, row) }
    }

    /// # Safety
    /// The CPU has AVX-512F (with AVX2 and FMA); `out` as for [`Self::head`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn head_avx512(&self, x: &Head, out: *mut f32, row: usize) {
        // 16 lanes, two blocks per tile: 32 keys or features.
        // SAFETY: `Avx512`'s features are this function's; `out` as our caller promised.
        unsafe { self.head_impl::<simd::Avx512, 2>(x, out, row) }
    }

    /// `W`: blocks of [`simd::F32Lanes::LANES`] keys (or features) per register tile.
    ///
    /// # Safety
    /// The CPU has `V`'s target features; `out` as for [`Self::head`].
    #[inline(always)]
    unsafe fn head_impl<V: simd::F32Lanes, const W: usize>(&self, x: &Head, out: *mut f32, row_stride: usize) {
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
            // SAFETY: the CPU has V's features (our caller's promise).
            let max = unsafe { scores::<V, W>(&qt, &kt, &bias_p, sp, sl, &mut sc) };
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
            // SAFETY: as for `scores`.
            unsafe { weighted_values::<V, W>(&sc, &vh, dp, sp, sl, &mut ot) };
            for r in 0..n {
                for (d, &x) in ot[r * dp..r * dp + dh].iter().enumerate() {
                    // SAFETY: i0 + r < nq and d < dh (the caller's contract).
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
///
/// # Safety
/// The CPU has `V`'s target features (the shapes are checked here).
#[inline(always)]
unsafe fn scores<V: simd::F32Lanes, const W: usize>(qt: &[f32], kt: &[f32], bias: &[f32], sp: usize, sl: usize, sc: &mut [f32]) -> [f32; QT] {
    let blk = V::LANES * W;
    assert!(W <= 2 && sp.is_multiple_of(blk) && sl.is_multiple_of(V::LANES) && sl <= sp);
    assert!(bias.len() >= sp && sc.len() >= QT * sp && kt.len() / sp == qt.len() / QT);
    let dp = kt.len() / sp;
    // SAFETY: V's features (our caller's promise).
    let mut max = [unsafe { V::splat(-f32::MAX) }; QT];
    for j0 in (0..sl).step_by(blk) {
        let panel = &kt[j0 * dp..][..dp * blk];
        // SAFETY: j0 + blk <= sp: sc rows and bias have room for the block; V's features as
        // our caller promised.
        unsafe {
            if j0 + blk <= sl {
                score_block::<V, W>(qt, panel, blk, bias.as_ptr().add(j0), sc.as_mut_ptr().add(j0), sp, &mut max)
            } else {
                score_block::<V, 1>(qt, panel, blk, bias.as_ptr().add(j0), sc.as_mut_ptr().add(j0), sp, &mut max)
            }
        }
    }
    // SAFETY: V's features (our caller's promise).
    max.map(|m| unsafe { m.reduce_max() })
}

/// One block of `V::LANES WW` keys of [`scores`]: `panel` rows are `blk` keys apart.
///
/// # Safety
/// The CPU has `V`'s target features; `bias` and `sc.add(r * sp)` (r < QT) have
/// `V::LANES WW` values; `blk >= V::LANES WW`.
#[inline(always)]
unsafe fn score_block<V: simd::F32Lanes, const WW: usize>(qt: &[f32], panel: &[f32], blk: usize, bias: *const f32, sc: *mut f32, sp: usize, max: &mut [V; QT]) {
    // SAFETY: the CPU has V's features (our caller's promise).
    let mut acc = [[unsafe { V::zero() }; WW]; QT];
    for (krow, qd) in panel.chunks_exact(blk).zip(qt.chunks_exact(QT)) {
        // SAFETY: (w + 1) * V::LANES <= blk = krow.len().
        let kv: [V; WW] = std::array::from_fn(|w| unsafe { V::load(krow.as_ptr().add(w * V::LANES)) });
        for r in 0..QT {
            // SAFETY: V's features.
            let qr = unsafe { V::splat(qd[r]) };
            for w in 0..WW {
                // SAFETY: V's features.
                acc[r][w] = unsafe { V::madd(qr, kv[w], acc[r][w]) };
            }
        }
    }
    for w in 0..WW {
        // SAFETY: the caller's contract (bias and sc ranges, V's features).
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
///
/// # Safety
/// The CPU has `V`'s target features (the shapes are checked here).
#[inline(always)]
unsafe fn weighted_values<V: simd::F32Lanes, const W: usize>(sc: &[f32], vh: &[f32], dp: usize, sp: usize, sl: usize, ot: &mut [f32]) {
    assert!(dp.is_multiple_of(V::LANES * W) && ot.len() >= QT * dp);
    assert!(vh.len() == sp * dp && sc.len() == QT * sp);
    assert!(sl <= sp);
    let rows: [&[f32]; QT] = std::array::from_fn(|r| &sc[r * sp..r * sp + sl]);
    for d0 in (0..dp).step_by(V::LANES * W) {
        // SAFETY: V's features (our caller's promise).
        let mut acc = [[unsafe { V::zero() }; W]; QT];
        for (j, vrow) in vh[..sl * dp].chunks_exact(dp).enumerate() {
            // SAFETY: d0 + V::LANES * W <= dp = vrow.len(); V's features.
            let vv: [V; W] = std::array::from_fn(|w| unsafe { V::load(vrow.as_ptr().add(d0 + w * V::LANES)) });
            for r in 0..QT {
                // SAFETY: j < sl = rows[r].len(); V's features.
                let p = unsafe { V::splat(*rows[r].get_unchecked(j)) };
                for w in 0..W {
                    // SAFETY: V's features.
                    acc[r][w] = unsafe { V::madd(p, vv[w], acc[r][w]) };
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (w, acc) in acc.iter().enumerate() {
                // SAFETY: r * dp + d0 + V::LANES * W <= QT * dp <= ot.len(), asserted above;
                // V's features.
                unsafe { acc.store(ot.as_mut_ptr().add(r * dp + d0 + w * V::LANES)) };
            }
        }
    }
}

/// A vector of f32 lanes: one AVX-512 register (16), one AVX2 register (8), two SIMD128
/// registers (8), or a plain array (8). (LLVM does not vectorize the tiles above on its
/// own: it keeps the accumulators in scalar registers and on the stack.)
///
/// Every operation is an `unsafe fn`: it runs its type's instructions, so the caller must
/// know the CPU has them (`head` checks before it picks a type).
mod simd {
    /// # Safety (every method)
    /// The CPU has the implementing type's target features; `load` and `store` also need
    /// their `LANES` values readable / writable.
    pub trait F32Lanes: Copy {
        /// Keys (scores) or value features (output) per vector.
        const LANES: usize;
        /// Whether `madd` is fused: the caller is compiled with FMA.
        const FMA: bool;
        unsafe fn zero() -> Self;
        unsafe fn splat(x: f32) -> Self;
        /// `a * b + c` (fused where the target has FMA).
        unsafe fn madd(a: Self, b: Self, c: Self) -> Self;
        unsafe fn add(a: Self, b: Self) -> Self;
        /// Lane-wise `if b > a { b } else { a }`.
        unsafe fn max(a: Self, b: Self) -> Self;
        /// `p..p + LANES` must be readable.
        unsafe fn load(p: *const f32) -> Self;
        /// `p..p + LANES` must be writable.
        unsafe fn store(self, p: *mut f32);
        /// The largest lane (compare-and-select; no NaN rules).
        #[inline(always)]
        unsafe fn reduce_max(self) -> f32 {
            let mut lanes = [0f32; 16];
            // SAFETY: LANES <= 16 values fit `lanes`; features as our caller promised.
            unsafe { self.store(lanes.as_mut_ptr()) };
            lanes[..Self::LANES].iter().fold(-f32::MAX, |a, &b| if b > a { b } else { a })
        }
    }

    /// Plain arrays: no CPU feature needed (its methods are safe to call anywhere).
    #[derive(Clone, Copy)]
    pub struct Scalar([f32; 8]);

    impl F32Lanes for Scalar {
        const LANES: usize = 8;
        const FMA: bool = false;
        #[inline(always)]
        unsafe fn zero() -> Self {
            Self([0.0; 8])
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            Self([x; 8])
        }
        #[inline(always)]
        unsafe fn madd(a: Self, b: Self, c: Self) -> Self {
            Self(std::array::from_fn(|i| a.0[i] * b.0[i] + c.0[i]))
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|i| a.0[i] + b.0[i]))
        }
        #[inline(always)]
        unsafe fn max(a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|i| if b.0[i] > a.0[i] { b.0[i] } else { a.0[i] }))
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: 8 readable values (the caller's contract); unaligned read.
            Self(unsafe { std::ptr::read_unaligned(p as *const [f32; 8]) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: 8 writable values (the caller's contract); unaligned write.
            unsafe { std::ptr::write_unaligned(p as *mut [f32; 8], self.0) }
        }
    }

    /// AVX2 + FMA: only for callers compiled with (or checked for) those features.
    #[cfg(target_arch = "x86_64")]
    #[derive(Clone, Copy)]
    pub struct Avx2(std::arch::x86_64::__m256);

    // SAFETY (every block in this impl): the CPU has AVX2 and FMA (the trait's contract);
    // loads and stores touch the 8 values the caller vouched for.
    #[cfg(target_arch = "x86_64")]
    impl F32Lanes for Avx2 {
        const LANES: usize = 8;
        const FMA: bool = true;
        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm256_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm256_set1_ps(x) })
        }
        #[inline(always)]
        unsafe fn madd(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm256_fmadd_ps(a.0, b.0, c.0) })
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm256_add_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn max(a: Self, b: Self) -> Self {
            // maxps returns its second operand unless the first is greater.
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm256_max_ps(b.0, a.0) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: see the impl.
            unsafe { std::arch::x86_64::_mm256_storeu_ps(p, self.0) }
        }
    }

    /// AVX-512F, 16 lanes: only for callers compiled with (or checked for) it.
    #[cfg(target_arch = "x86_64")]
    #[derive(Clone, Copy)]
    pub struct Avx512(std::arch::x86_64::__m512);

    // SAFETY (every block in this impl): the CPU has AVX-512F (the trait's contract); loads
    // and stores touch the 16 values the caller vouched for.
    #[cfg(target_arch = "x86_64")]
    impl F32Lanes for Avx512 {
        const LANES: usize = 16;
        const FMA: bool = true;
        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm512_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm512_set1_ps(x) })
        }
        #[inline(always)]
        unsafe fn madd(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm512_fmadd_ps(a.0, b.0, c.0) })
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm512_add_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn max(a: Self, b: Self) -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm512_max_ps(b.0, a.0) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: see the impl.
            Self(unsafe { std::arch::x86_64::_mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: see the impl.
            unsafe { std::arch::x86_64::_mm512_storeu_ps(p, self.0) }
        }
    }

    /// Two `f32x4`; wasm SIMD has no FMA, so `madd` is a multiply and an add. SIMD128 is a
    /// compile-time feature: where this type exists, every method's instructions do.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[derive(Clone, Copy)]
    pub struct Wasm([core::arch::wasm32::v128; 2]);

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    impl F32Lanes for Wasm {
        const LANES: usize = 8;
        const FMA: bool = false;
        #[inline(always)]
        unsafe fn zero() -> Self {
            Self([core::arch::wasm32::f32x4_splat(0.0); 2])
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            Self([core::arch::wasm32::f32x4_splat(x); 2])
        }
        #[inline(always)]
        unsafe fn madd(a: Self, b: Self, c: Self) -> Self {
            use core::arch::wasm32::{f32x4_add, f32x4_mul};
            Self([f32x4_add(f32x4_mul(a.0[0], b.0[0]), c.0[0]), f32x4_add(f32x4_mul(a.0[1], b.0[1]), c.0[1])])
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            use core::arch::wasm32::f32x4_add;
            Self([f32x4_add(a.0[0], b.0[0]), f32x4_add(a.0[1], b.0[1])])
        }
        #[inline(always)]
        unsafe fn max(a: Self, b: Self) -> Self {
            // pmax(a, b) is `if a < b { b } else { a }`.
            use core::arch::wasm32::f32x4_pmax;
            Self([f32x4_pmax(a.0[0], b.0[0]), f32x4_pmax(a.0[1], b.0[1])])
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            use core::arch::wasm32::{v128, v128_load};
            // SAFETY: 8 readable values (the caller's contract); v128_load allows unaligned.
            unsafe { Self([v128_load(p as *const v128), v128_load(p.add(4) as *const v128)]) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            use core::arch::wasm32::{v128, v128_store};
            // SAFETY: 8 writable values (the caller's contract).
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
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn attention(qkv: &[f32], dims: [usize; 3], mask: &[f32], n_heads: usize) -> Result<Vec<f32>, KernelError> {
        attention_rows(qkv, dims, mask, n_heads, dims[1])
    }

    fn det(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let x = (i as u32).wrapping_mul(2654435761).wrapping_add(seed.wrapping_mul(40503));
                ((x >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * 3.0
            })
            .collect()
    }

    /// Textbook attention in f64, one score at a time: softmax(q·kᵀ/√dh + mask)·v.
    fn reference(qkv: &[f32], [b, s, h3]: [usize; 3], mask: &[f32], nh: usize) -> Vec<f32> {
        let (h, dh) = (h3 / 3, h3 / 3 / nh);
        let mut out = vec![0f32; b * s * h];
        for bi in 0..b {
            for hi in 0..nh {
                let at = |j: usize, part: usize, d: usize| qkv[(bi * s + j) * h3 + part * h + hi * dh + d] as f64;
                for i in 0..s {
                    let scores: Vec<f64> =
                        (0..s).map(|j| (0..dh).map(|d| at(i, 0, d) * at(j, 1, d)).sum::<f64>() / (dh as f64).sqrt() + mask[bi * s + j] as f64).collect();
                    let max = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = scores.iter().map(|x| (x - max).exp()).collect();
                    let sum: f64 = e.iter().sum();
                    for d in 0..dh {
                        out[(bi * s + i) * h + hi * dh + d] = ((0..s).map(|j| e[j] * at(j, 2, d)).sum::<f64>() / sum) as f32;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn matches_textbook_attention() {
        // S not a multiple of LANES or QT, dh not a multiple of LANES (12), the second note padded.
        for (b, s, h, nh) in [(2, 13, 36, 3), (1, 1, 16, 2), (1, 70, 64, 2)] {
            let dims = [b, s, 3 * h];
            let qkv = det(b * s * 3 * h, 1);
            let mut mask = vec![0f32; b * s];
            if b > 1 {
                mask[s + s / 2..].fill(-f32::MAX);
            }
            let got = attention(&qkv, dims, &mask, nh).unwrap();
            let want = reference(&qkv, dims, &mask, nh);
            let diff = got.iter().zip(&want).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(diff < 1e-5, "b {b} s {s} h {h} nh {nh}: max difference {diff}");
        }
    }

    /// The first rows alone are the full result's first rows, bit for bit (the `cls` fast path).
    #[test]
    fn first_query_rows_equal_the_full_result() {
        let (b, s, h, nh) = (2, 37, 64, 4);
        let dims = [b, s, 3 * h];
        let qkv = det(b * s * 3 * h, 3);
        let mut mask = vec![0f32; b * s];
        mask[s + 30..].fill(-f32::MAX);
        let full = attention(&qkv, dims, &mask, nh).unwrap();
        for rows in [1, 5] {
            let got = attention_rows(&qkv, dims, &mask, nh, rows).unwrap();
            assert_eq!(got.len(), b * rows * h);
            for bi in 0..b {
                assert_eq!(got[bi * rows * h..(bi + 1) * rows * h], full[bi * s * h..(bi * s + rows) * h], "{rows} rows, note {bi}");
            }
        }
        assert!(attention_rows(&qkv, dims, &mask, nh, 0).is_err() && attention_rows(&qkv, dims, &mask, nh, s + 1).is_err());
    }

    /// Every SIMD form this CPU has gives the scalar form's result (the dispatched one is
    /// also checked against the textbook above). Forms the CPU lacks are named as skipped.
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
        // SAFETY: `o` holds s rows of dh values (row stride dh); Scalar needs no CPU feature.
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
                // SAFETY: the CPU has AVX2 and FMA; `o` as above.
                close(run(&|o| unsafe { shape.head_avx2(&head, o, dh) }), "AVX2");
            } else {
                crate::skipped("attention AVX2 form", "this CPU lacks AVX2 or FMA");
            }
            if has!("avx512f") {
                // SAFETY: the CPU has AVX-512F; `o` as above.
                close(run(&|o| unsafe { shape.head_avx512(&head, o, dh) }), "AVX-512");
            } else {
                crate::skipped("attention AVX-512 form", "this CPU lacks AVX-512F");
            }
        }
        // SAFETY: `o` as above.
        close(run(&|o| unsafe { shape.head(&head, o, dh) }), "dispatched");
    }

    #[test]
    fn padding_keys_get_no_weight() {
        // A value of 1000 on the padded key would move the output if it got any weight.
        let (s, h) = (3, 8);
        let mut qkv = vec![1f32; s * 3 * h];
        qkv[2 * 3 * h + 2 * h..].fill(1000.0);
        let got = attention(&qkv, [1, s, 3 * h], &[0.0, 0.0, -f32::MAX], 2).unwrap();
        assert!(got.iter().all(|&x| (x - 1.0).abs() < 1e-6), "{got:?}");
    }

    #[test]
    fn rejects_mismatched_shapes() {
        let e = attention(&[0.0; 72], [1, 3, 24], &[0.0; 4], 2).unwrap_err().to_string();
        assert!(e.contains("is not [B, S]"), "{e}");
        assert!(attention(&[0.0; 75], [1, 3, 25], &[0.0; 3], 2).is_err(), "3H must divide by 3");
        assert!(attention(&[0.0; 72], [1, 3, 24], &[0.0; 3], 3).is_err(), "H = 8 over 3 heads");
        assert!(attention(&[0.0; 71], [1, 3, 24], &[0.0; 3], 2).is_err(), "qkv shorter than its dims");
    }
}
