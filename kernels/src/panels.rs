//! The int8 kernel's weight layout in panels: x86-64 with AVX-512BW (16 outputs a
//! panel) and wasm32 with SIMD128 (4 outputs a panel).
//!
//! [`crate::int8`]'s row layout dots one activation row with one weight row and must sum
//! the vector lanes at the end of every dot. Here the weight is cut into panels of
//! [`WIDTH`] output rows, stored as pairs of columns: `[panel][k / 2][WIDTH outputs][2]`.
//! One `vpdpwssd` (AVX-512 VNNI), `vpmaddwd` + `vpaddd`, or `i32x4.dot_i16x8_s` +
//! `i32x4.add` of a panel vector with a broadcast pair of activations adds two columns to
//! WIDTH outputs at once, so each i32 lane ends holding one finished output: no
//! horizontal sums, and the epilogue (scales, bias) runs WIDTH outputs at a time. A tile
//! is up to 4 activation rows × 2 panels (8 accumulators).
//!
//! The sums are the same integers as the row layout's (and the browser's), and the
//! epilogue does the same float operations in the same order, so results match exactly.
//! One lane sums `k / 2` pair products of at most
//! `2 · 2047 · 1023`; that fits an i32 for 512 pairs, so longer rows are summed in blocks
//! of 512 pairs and the blocks added in i64.

/// Outputs per panel: the i32 lanes of one vector register.
#[cfg(target_arch = "x86_64")]
pub(crate) const WIDTH: usize = 16;
#[cfg(target_arch = "wasm32")]
pub(crate) const WIDTH: usize = 4;
/// Column pairs summed in i32 before the running sum moves to i64.
const PAIRS_PER_BLOCK: usize = 512;
/// Panels whose weights are used by all rows of a group before moving on: 128 outputs
/// (96 KB of MiniLM weights, which stay in L2).
const PANEL_BLOCK: usize = 128 / WIDTH;

/// A `[out, k]` i16 weight in panels (`k` even). Only [`Panels::pack`] makes one, and only
/// where [`available`] holds: a `Panels` is the proof that this CPU runs the panel kernels,
/// which [`tile`] relies on.
#[derive(Debug, Clone)]
pub(crate) struct Panels {
    out: usize,
    k: usize,
    /// `[ceil(out / 16)][k / 2][16][2]`; rows past `out` are zero.
    data: Vec<i16>,
}

/// Whether this CPU runs the panel kernel.
#[cfg(target_arch = "x86_64")]
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512bw") && std::arch::is_x86_feature_detected!("avx512dq")
}

/// SIMD128 is a compile-time feature in wasm: this module is only built with it.
#[cfg(target_arch = "wasm32")]
pub(crate) fn available() -> bool {
    true
}

impl Panels {
    /// `w` is `[out, k]` row-major. `None` where this CPU has no panel kernel ([`available`])
    /// or `k` is odd (the panels hold pairs of columns).
    pub(crate) fn pack(w: &[i16], out: usize, k: usize) -> Option<Self> {
        if !available() || !k.is_multiple_of(2) {
            return None;
        }
        assert_eq!(w.len(), out * k, "panels need an [out, k] weight");
        let n = out.div_ceil(WIDTH);
        let mut data = vec![0i16; n * k * WIDTH];
        for o in 0..out {
            let (p, lane) = (o / WIDTH, o % WIDTH);
            for j in 0..k / 2 {
                let at = ((p * (k / 2) + j) * WIDTH + lane) * 2;
                data[at] = w[o * k + 2 * j];
                data[at + 1] = w[o * k + 2 * j + 1];
            }
        }
        Some(Self { out, k, data })
    }

    fn panel(&self, p: usize) -> &[i16] {
        let len = self.k / 2 * WIDTH * 2;
        &self.data[p * len..(p + 1) * len]
    }

    /// `y[r, o] = (xq[r] · w[o]) * xscale[r] * scale[o] + bias[o]` for `rows` rows of `xq`
    /// (`[rows, k]`), written into `y` (`[rows, out]`): the row layout's arithmetic, in
    /// the same order, 16 outputs at a time. Every element of `y` is written, so it may
    /// start uninitialized (no memset of the output).
    pub(crate) fn matmul(&self, xq: &[i16], rows: usize, xscale: &[f32], scale: &[f32], bias: Option<&[f32]>, y: &mut [std::mem::MaybeUninit<f32>]) {
        let (k, out) = (self.k, self.out);
        assert!(xq.len() >= rows * k && xscale.len() >= rows && scale.len() == out && y.len() >= rows * out);
        assert!(bias.is_none_or(|b| b.len() == out));
        let n = out.div_ceil(WIDTH);
        // One raw pointer for all tiles' output rows (each row's range is in bounds: asserted).
        let y0 = y.as_mut_ptr() as *mut f32;
        for pb in (0..n).step_by(PANEL_BLOCK) {
            for r0 in (0..rows).step_by(4) {
                let nr = (rows - r0).min(4);
                let x: [&[i16]; 4] = std::array::from_fn(|r| if r < nr { &xq[(r0 + r) * k..(r0 + r + 1) * k] } else { &[][..] });
                let xs: [f32; 4] = std::array::from_fn(|r| if r < nr { xscale[r0 + r] } else { 0.0 });
                let mut p = pb;
                while p < (pb + PANEL_BLOCK).min(n) {
                    let np = (n - p).min(2);
                    let o0 = p * WIDTH;
                    let panels = [self.panel(p), if np == 2 { self.panel(p + 1) } else { &[][..] }];
                    let epi = Epilogue {
                        // SAFETY: (r0 + r) * out + o0 < rows * out <= y.len() for r < nr.
                        y: std::array::from_fn(|r| if r < nr { unsafe { y0.add((r0 + r) * out + o0) } } else { std::ptr::null_mut() }),
                        valid: out - o0,
                        xscale: xs,
                        scale: scale[o0..].as_ptr(),
                        bias: bias.map(|b| b[o0..].as_ptr()),
                    };
                    // SAFETY: `self` exists, so `available()` held ([`Panels::pack`]); the first
                    // nr rows of x have k values, the first np panels k / 2 · 2 · WIDTH, and
                    // `epi` points at nr output rows with room for min(out - o0, np · WIDTH).
                    unsafe { tile(nr, np, &x, &panels, &epi) };
                    p += np;
                }
            }
        }
    }
}

/// Where a tile's outputs go: output `o0 + c` of tile row `r` is `y[r].add(c)`, for
/// `c < valid`; `scale` and `bias` point at output `o0`.
struct Epilogue {
    y: [*mut f32; 4],
    valid: usize,
    xscale: [f32; 4],
    scale: *const f32,
    bias: Option<*const f32>,
}

/// Dispatches a tile of `nr` rows × `np` panels to the widest kernel the CPU has.
///
/// # Safety
/// [`available`] holds; `panels[..np]` have one length, a multiple of 2 · [`WIDTH`]; the
/// first `nr` rows of `x` hold at least that length / [`WIDTH`] values; `epi.y[..nr]` each
/// point at `min(epi.valid, np · WIDTH)` writable values, and `epi.scale` / `epi.bias` at as
/// many readable ones.
#[cfg(target_arch = "x86_64")]
unsafe fn tile(nr: usize, np: usize, x: &[&[i16]; 4], panels: &[&[i16]; 2], epi: &Epilogue) {
    macro_rules! go {
        ($f:ident) => {
            // SAFETY: `available()` (our caller's promise) covers `$f`'s features (`tile_vnni`
            // is chosen only after its own check); shapes and pointers as our caller promised.
            unsafe {
                match (nr, np) {
                    (4, 2) => $f::<4, 2>(x, panels, epi),
                    (3, 2) => $f::<3, 2>(x, panels, epi),
                    (2, 2) => $f::<2, 2>(x, panels, epi),
                    (1, 2) => $f::<1, 2>(x, panels, epi),
                    (4, _) => $f::<4, 1>(x, panels, epi),
                    (3, _) => $f::<3, 1>(x, panels, epi),
                    (2, _) => $f::<2, 1>(x, panels, epi),
                    _ => $f::<1, 1>(x, panels, epi),
                }
            }
        };
    }
    if std::arch::is_x86_feature_detected!("avx512vnni") {
        go!(tile_vnni)
    } else {
        go!(tile_bw)
    }
}

/// A tile of `nr` rows × `np` panels with SIMD128.
///
/// # Safety
/// As the x86-64 `tile`: the shapes and the pointers of `epi`.
#[cfg(target_arch = "wasm32")]
unsafe fn tile(nr: usize, np: usize, x: &[&[i16]; 4], panels: &[&[i16]; 2], epi: &Epilogue) {
    // SAFETY: our caller's promise, passed on.
    unsafe {
        match (nr, np) {
            (4, 2) => tile_wasm::<4, 2>(x, panels, epi),
            (3, 2) => tile_wasm::<3, 2>(x, panels, epi),
            (2, 2) => tile_wasm::<2, 2>(x, panels, epi),
            (1, 2) => tile_wasm::<1, 2>(x, panels, epi),
            (4, _) => tile_wasm::<4, 1>(x, panels, epi),
            (3, _) => tile_wasm::<3, 1>(x, panels, epi),
            (2, _) => tile_wasm::<2, 1>(x, panels, epi),
            _ => tile_wasm::<1, 1>(x, panels, epi),
        }
    }
}

/// `i32x4.dot_i16x8_s` with a broadcast pair: 4 outputs per panel vector.
///
/// # Safety
/// `epi`'s pointers as for `tile` (the slice shapes are asserted here).
#[cfg(target_arch = "wasm32")]
#[inline(always)]
unsafe fn tile_wasm<const R: usize, const P: usize>(x: &[&[i16]; 4], panels: &[&[i16]; 2], epi: &Epilogue) {
    use core::arch::wasm32::*;
    let pairs = panels[0].len() / (2 * WIDTH);
    assert!((0..P).all(|p| panels[p].len() == pairs * 2 * WIDTH) && (0..R).all(|r| x[r].len() >= 2 * pairs));
    let mut acc = [[i32x4_splat(0); P]; R];
    // Sums of the finished i32 blocks, when k needs several.
    let mut wide = [[[0i64; WIDTH]; P]; R];
    let mut start = 0;
    while start < pairs {
        let end = (start + PAIRS_PER_BLOCK).min(pairs);
        for j in start..end {
            let mut w = [i32x4_splat(0); P];
            for p in 0..P {
                // SAFETY: panel p holds `pairs` vectors of 8 i16 (asserted); j < pairs.
                w[p] = unsafe { v128_load(panels[p].as_ptr().add(j * 2 * WIDTH) as *const v128) };
            }
            for r in 0..R {
                // SAFETY: row r holds at least 2 · pairs values (asserted); this reads 2j and 2j + 1.
                let xv = unsafe { v128_load32_splat(x[r].as_ptr().add(2 * j) as *const u32) };
                for p in 0..P {
                    acc[r][p] = i32x4_add(acc[r][p], i32x4_dot_i16x8(xv, w[p]));
                }
            }
        }
        if pairs > PAIRS_PER_BLOCK {
            for r in 0..R {
                for p in 0..P {
                    let a = acc[r][p];
                    let lanes = [i32x4_extract_lane::<0>(a), i32x4_extract_lane::<1>(a), i32x4_extract_lane::<2>(a), i32x4_extract_lane::<3>(a)];
                    for (wd, l) in wide[r][p].iter_mut().zip(lanes) {
                        *wd += l as i64;
                    }
                    acc[r][p] = i32x4_splat(0);
                }
            }
        }
        start = end;
    }
    // Epilogue: (sum as f32 * xscale) * scale + bias, as the row layout does it.
    for p in 0..P {
        let lanes = epi.valid.saturating_sub(p * WIDTH).min(WIDTH);
        if lanes == 0 {
            continue;
        }
        let at = |ptr: *const f32, l: usize| {
            if l < lanes {
                // SAFETY: `scale` and `bias` have `valid` values from o0; l < lanes stays inside.
                unsafe { *ptr.add(p * WIDTH + l) }
            } else {
                0.0
            }
        };
        let scale = f32x4(at(epi.scale, 0), at(epi.scale, 1), at(epi.scale, 2), at(epi.scale, 3));
        let bias = epi.bias.map_or(f32x4_splat(0.0), |b| f32x4(at(b, 0), at(b, 1), at(b, 2), at(b, 3)));
        for r in 0..R {
            let sum = if pairs > PAIRS_PER_BLOCK {
                let w = wide[r][p];
                f32x4(w[0] as f32, w[1] as f32, w[2] as f32, w[3] as f32)
            } else {
                f32x4_convert_i32x4(acc[r][p])
            };
            let v = f32x4_add(f32x4_mul(f32x4_mul(sum, f32x4_splat(epi.xscale[r])), scale), bias);
            // SAFETY: row r has room for `valid` outputs from o0; lanes <= valid - p * WIDTH.
            unsafe {
                let y = epi.y[r].add(p * WIDTH);
                if lanes == WIDTH {
                    v128_store(y as *mut v128, v);
                } else {
                    let v = [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
                    for (l, &x) in v.iter().enumerate().take(lanes) {
                        *y.add(l) = x;
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
macro_rules! tile_kernel {
    ($(#[$doc:meta])* $name:ident, $features:literal, |$acc:ident, $x:ident, $w:ident| $madd:expr) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU has this kernel's target features; shapes and pointers as for `tile`.
        #[target_feature(enable = $features)]
        unsafe fn $name<const R: usize, const P: usize>(x: &[&[i16]; 4], panels: &[&[i16]; 2], epi: &Epilogue) {
            use std::arch::x86_64::*;
            let pairs = panels[0].len() / (2 * WIDTH);
            let mut acc = [[_mm512_setzero_si512(); P]; R];
            // Sums of the finished i32 blocks, as i64 (lanes 0..8 and 8..16), when k needs several.
            let mut wide = [[[_mm512_setzero_si512(); 2]; P]; R];
            let mut start = 0;
            while start < pairs {
                let end = (start + PAIRS_PER_BLOCK).min(pairs);
                for j in start..end {
                    let mut w = [_mm512_setzero_si512(); P];
                    for p in 0..P {
                        // SAFETY: panel p holds `pairs` vectors of 32 i16; j < pairs.
                        w[p] = unsafe { _mm512_loadu_si512(panels[p].as_ptr().add(j * 2 * WIDTH) as *const _) };
                    }
                    for r in 0..R {
                        // SAFETY: row r holds 2 · pairs values; this reads values 2j and 2j + 1.
                        let pair = unsafe { (x[r].as_ptr().add(2 * j) as *const i32).read_unaligned() };
                        let xv = _mm512_set1_epi32(pair);
                        for p in 0..P {
                            let ($acc, $x, $w) = (acc[r][p], xv, w[p]);
                            acc[r][p] = $madd;
                        }
                    }
                }
                if pairs > PAIRS_PER_BLOCK {
                    for r in 0..R {
                        for p in 0..P {
                            let a = acc[r][p];
                            wide[r][p][0] = _mm512_add_epi64(wide[r][p][0], _mm512_cvtepi32_epi64(_mm512_castsi512_si256(a)));
                            wide[r][p][1] = _mm512_add_epi64(wide[r][p][1], _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(a)));
                            acc[r][p] = _mm512_setzero_si512();
                        }
                    }
                }
                start = end;
            }
            // Epilogue: (sum as f32 * xscale) * scale + bias, as the row layout does it (no FMA).
            for p in 0..P {
                let lanes = epi.valid.saturating_sub(p * WIDTH).min(WIDTH);
                if lanes == 0 {
                    continue;
                }
                let m: __mmask16 = if lanes == WIDTH { !0 } else { (1u16 << lanes) - 1 };
                // SAFETY: `scale` and `bias` have `valid` values from o0; the mask stops the rest.
                let (scale, bias) = unsafe {
                    (
                        _mm512_maskz_loadu_ps(m, epi.scale.add(p * WIDTH)),
                        epi.bias.map_or(_mm512_setzero_ps(), |b| _mm512_maskz_loadu_ps(m, b.add(p * WIDTH))),
                    )
                };
                for r in 0..R {
                    let sum = if pairs > PAIRS_PER_BLOCK {
                        let lo = _mm512_cvtepi64_ps(wide[r][p][0]);
                        let hi = _mm512_cvtepi64_ps(wide[r][p][1]);
                        _mm512_insertf32x8::<1>(_mm512_castps256_ps512(lo), hi)
                    } else {
                        _mm512_cvtepi32_ps(acc[r][p])
                    };
                    let v = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(sum, _mm512_set1_ps(epi.xscale[r])), scale), bias);
                    // SAFETY: row r has room for `valid` outputs from o0; the mask stops the rest.
                    unsafe { _mm512_mask_storeu_ps(epi.y[r].add(p * WIDTH), m, v) };
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
tile_kernel!(
    /// `vpmaddwd` + `vpaddd` (AVX-512BW).
    tile_bw,
    "avx512f,avx512bw,avx512dq",
    |acc, x, w| _mm512_add_epi32(acc, _mm512_madd_epi16(x, w))
);

#[cfg(target_arch = "x86_64")]
tile_kernel!(
    /// `vpdpwssd` (AVX-512 VNNI: Ice Lake, Zen 4 and later).
    tile_vnni,
    "avx512f,avx512bw,avx512dq,avx512vnni",
    |acc, x, w| _mm512_dpwssd_epi32(acc, x, w)
);

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The weight in panels, or `None` (and the test named as skipped) on a CPU without the
    /// panel kernel (x86-64 without AVX-512BW/DQ; wasm always has it).
    fn packed(test: &str, w: &[i16], out: usize, k: usize) -> Option<Panels> {
        let p = Panels::pack(w, out, k);
        if p.is_none() {
            assert!(!available(), "an even k packs wherever the kernel runs");
            crate::skipped(test, "this CPU has no panel kernel (AVX-512BW and DQ)");
        }
        p
    }

    fn values(n: usize, seed: usize, max: i32) -> Vec<i16> {
        (0..n).map(|i| (((i * 7919 + seed * 104_729) % (2 * max as usize + 1)) as i32 - max) as i16).collect()
    }

    /// `matmul` with unit scales: the exact sum, rounded to f32 once.
    fn sums(p: &Panels, x: &[i16], rows: usize) -> Vec<f32> {
        let mut y = vec![f32::NAN; rows * p.out];
        p.matmul(x, rows, &vec![1.0; rows], &vec![1.0; p.out], None, uninit(&mut y));
        y
    }

    /// The NaNs stay where nothing was written.
    fn uninit(y: &mut [f32]) -> &mut [std::mem::MaybeUninit<f32>] {
        // SAFETY: MaybeUninit<f32> has f32's layout, and the kernel writes only f32 values.
        unsafe { &mut *(y as *mut [f32] as *mut [std::mem::MaybeUninit<f32>]) }
    }

    /// Every tile shape and a row long enough to need two i32 blocks, against plain sums.
    #[test]
    fn panel_sums_equal_row_dots() {
        for (rows, out, k) in [(1, 1, 2), (3, 17, 8), (4, 32, 384), (9, 50, 64), (6, 33, 1536), (5, 16, 2048)] {
            let w = values(out * k, 1, 1023);
            let x = values(rows * k, 2, 2047);
            let Some(p) = packed("panel_sums_equal_row_dots", &w, out, k) else { return };
            let got = sums(&p, &x, rows);
            for r in 0..rows {
                for o in 0..out {
                    let want: i64 = (0..k).map(|i| x[r * k + i] as i64 * w[o * k + i] as i64).sum();
                    assert_eq!(got[r * out + o], want as f32, "rows {rows}, out {out}, k {k}: row {r}, output {o}");
                }
            }
        }
    }

    #[test]
    fn epilogue_scales_and_bias_as_the_row_layout() {
        let (rows, out, k) = (5, 21, 40);
        let (w, x) = (values(out * k, 5, 1023), values(rows * k, 6, 2047));
        let xscale: Vec<f32> = (0..rows).map(|r| 0.001 * (r + 1) as f32).collect();
        let scale: Vec<f32> = (0..out).map(|o| 0.0007 * (o + 3) as f32).collect();
        let bias: Vec<f32> = (0..out).map(|o| o as f32 * 0.25 - 2.0).collect();
        let mut y = vec![f32::NAN; rows * out];
        let Some(p) = packed("epilogue_scales_and_bias_as_the_row_layout", &w, out, k) else { return };
        p.matmul(&x, rows, &xscale, &scale, Some(&bias), uninit(&mut y));
        for r in 0..rows {
            for o in 0..out {
                let s: i64 = (0..k).map(|i| x[r * k + i] as i64 * w[o * k + i] as i64).sum();
                let want = s as f32 * xscale[r] * scale[o] + bias[o];
                assert_eq!(y[r * out + o], want, "row {r}, output {o}");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vnni_and_bw_tiles_agree() {
        if !(available() && std::arch::is_x86_feature_detected!("avx512vnni")) {
            return crate::skipped("vnni_and_bw_tiles_agree", "this CPU lacks AVX-512 VNNI (or BW/DQ)");
        }
        let k = 1100; // three i32 blocks
        let w = Panels::pack(&values(32 * k, 3, 1023), 32, k).expect("AVX-512BW and DQ: checked above");
        let xs = values(4 * k, 4, 2047);
        let x: [&[i16]; 4] = std::array::from_fn(|r| &xs[r * k..(r + 1) * k]);
        let panels = [w.panel(0), w.panel(1)];
        let (mut a, mut b) = (vec![0f32; 4 * 32], vec![0f32; 4 * 32]);
        let scale = [1f32; 32];
        for (kernel, y) in [(0, &mut a), (1, &mut b)] {
            let base = y.as_mut_ptr();
            let epi = Epilogue {
                // SAFETY: `y` holds 4 rows of 32 outputs.
                y: std::array::from_fn(|r| unsafe { base.add(r * 32) }),
                valid: 32,
                xscale: [1.0; 4],
                scale: scale.as_ptr(),
                bias: None,
            };
            // SAFETY: the CPU has AVX-512BW, DQ and VNNI (checked above); shapes as `tile` passes them.
            unsafe {
                if kernel == 0 {
                    tile_bw::<4, 2>(&x, &panels, &epi)
                } else {
                    tile_vnni::<4, 2>(&x, &panels, &epi)
                }
            }
        }
        assert_eq!(a, b);
        assert!(a.iter().any(|&s| s != 0.0));
    }

    #[test]
    fn odd_inner_dimensions_stay_in_the_row_layout() {
        assert!(Panels::pack(&[1, 2, 3], 1, 3).is_none());
    }

    #[test]
    fn largest_values_do_not_overflow() {
        let k = 4096;
        let (w, x) = (vec![-1023i16; 3 * k], vec![2047i16; 4 * k]);
        let Some(p) = packed("largest_values_do_not_overflow", &w, 3, k) else { return };
        let got = sums(&p, &x, 4);
        assert_eq!(got, vec![(-(k as i64) * 2047 * 1023) as f32; 12]);
    }
}
