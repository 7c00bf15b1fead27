//! Branch-free `exp`, `erf` and GELU over f32 (the softmax using `exp` is in `attention`).
//!
//! Why: candle's CPU ops call the scalar `expf`/`erff` of libm per element. In wasm32 those
//! are software routines, and a 512-token MiniLM note needs ~19 M `exp` (attention) and
//! ~5 M `erf` (GELU): more time than its matrix products. These versions are plain
//! arithmetic on `f32` that LLVM vectorizes (SIMD128 in wasm, SSE/AVX natively).
//! Accuracy (tested here against f64): `exp` relative error < 1e-6, `erf` absolute error
//! < 1e-6 (Abramowitz & Stegun 7.1.26: 1.5e-7 in exact arithmetic, plus f32 rounding), far
//! inside the 1e-4 parity tolerance.

/// e^x; 0 below -87 (so masked attention scores get exactly no weight), e^88 above 88.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    exp_with::<false>(x)
}

/// [`exp`], or with `FMA` the same range and clamps with fused multiply-adds and a degree-5
/// minimax polynomial (Cephes' `expf`): a third cheaper where the caller is compiled with
/// FMA (elsewhere `mul_add` is a libm call). Relative error < 2e-7 either way.
#[inline(always)]
fn exp_with<const FMA: bool>(x: f32) -> f32 {
    let under = x < -87.0;
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    // x = n ln2 + r, |r| <= ln2 / 2
    // Round to nearest by the 1.5 * 2^23 trick: `f32::round` is a libm call on baseline x86-64
    // (no SSE4.1), which would stop the loop from vectorizing.
    const MAGIC: f32 = 12_582_912.0;
    let (n, p) = if FMA {
        let n = x.mul_add(LOG2E, MAGIC) - MAGIC;
        let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, x));
        let p = 1.987_569_1e-4f32.mul_add(r, 1.398_199_9e-3).mul_add(r, 8.333_452e-3).mul_add(r, 4.166_579_6e-2).mul_add(r, 0.166_666_65).mul_add(r, 0.5);
        (n, p.mul_add(r * r, r) + 1.0)
    } else {
        let n = (x * LOG2E + MAGIC) - MAGIC;
        let r = x - n * LN2_HI - n * LN2_LO;
        // e^r by its Taylor polynomial to degree 6 (Horner); error < 2e-7 on |r| <= 0.347.
        let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
        (n, p)
    };
    // 2^n through the exponent bits (n in [-126, 127] after the clamp). The biased exponent
    // n + 127 is read from the low mantissa bits of 2^23 + n + 127, not with `as i32`: Rust's
    // saturating float-to-int cast has NaN checks that keep the loop scalar.
    let y = p * f32::from_bits((n + 8_388_735.0).to_bits() << 23);
    if under {
        0.0
    } else {
        y
    }
}

/// `p[i] = e^(p[i] - max)` in place; returns their sum, over `L` interleaved partial sums
/// reduced in order (as [`lanes`]). `FMA`: as in [`exp_with`].
#[inline(always)]
pub fn exp_sum<const L: usize, const FMA: bool>(p: &mut [f32], max: f32) -> f32 {
    let mut acc = [0f32; L];
    let mut chunks = p.chunks_exact_mut(L);
    for c in &mut chunks {
        for j in 0..L {
            let e = exp_with::<FMA>(c[j] - max);
            c[j] = e;
            acc[j] += e;
        }
    }
    let mut sum = acc.into_iter().reduce(|a, b| a + b).unwrap_or(0.0);
    for x in chunks.into_remainder() {
        *x = exp_with::<FMA>(*x - max);
        sum += *x;
    }
    sum
}

/// erf(x) by Abramowitz & Stegun 7.1.26 (see the module docs for its error).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_7, -1.453_152_1, 1.061_405_4];
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// GELU with the exact (erf) form, as BERT uses: x/2 · (1 + erf(x/√2)), in place.
pub fn gelu_in_place(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { gelu_avx512(v) };
    }
    gelu_loop(v)
}

/// The same loop compiled for 16 lanes (the native build's baseline is SSE2); the same
/// arithmetic per element, so the same results.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gelu_avx512(v: &mut [f32]) {
    gelu_loop(v)
}

#[inline(always)]
fn gelu_loop(v: &mut [f32]) {
    for e in v.iter_mut() {
        *e = 0.5 * *e * (1.0 + erf(*e * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Σ x², over 8 interleaved partial sums (as [`lanes`], which cannot square: it combines
/// its partial results with the same function).
#[inline(always)]
pub fn sum_of_squares(v: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for j in 0..8 {
            acc[j] += c[j] * c[j];
        }
    }
    acc.iter().sum::<f32>() + tail.iter().map(|x| x * x).sum::<f32>()
}

/// A reduction over 8 interleaved partial results, so it vectorizes (a plain fold is
/// sequential under IEEE rules).
#[inline(always)]
pub fn lanes(v: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 8];
    let chunks = v.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for j in 0..8 {
            acc[j] = f(acc[j], c[j]);
        }
    }
    tail.iter().fold(acc.into_iter().reduce(&f).unwrap_or(init), |a, &b| f(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn exp_and_erf_match_libm() {
        let mut worst = (0f32, 0f32, 0f32);
        for i in -8600..8799 {
            let x = i as f32 / 100.0 + 0.003;
            let rel = |e: f32| ((e as f64 - (x as f64).exp()) / (x as f64).exp()).abs() as f32;
            worst.0 = worst.0.max(rel(exp(x)));
            worst.2 = worst.2.max(rel(exp_with::<true>(x)));
        }
        for i in -600..=600 {
            let x = i as f32 / 100.0 + 0.001;
            worst.1 = worst.1.max((erf(x) - libm_erf(x)).abs());
        }
        assert!(worst.0 < 1e-6, "exp max relative error {}", worst.0);
        assert!(worst.2 < 1e-6, "exp with FMA: max relative error {}", worst.2);
        assert_eq!((exp_with::<true>(-1000.0), exp_with::<true>(0.0)), (0.0, 1.0));
        assert!(worst.1 < 1e-6, "erf max absolute error {}", worst.1);
        assert!(exp(-1000.0).is_finite());
        assert!(exp(1000.0).is_finite());
    }

    /// erf by its series / continued fraction in f64, independent of the code under test.
    fn libm_erf(x: f32) -> f32 {
        let x = x as f64;
        if x.abs() < 2.5 {
            // Maclaurin series: 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
            let (mut sum, mut term, mut n) = (0.0, x, 0.0);
            while term.abs() > 1e-17 {
                sum += term / (2.0 * n + 1.0);
                n += 1.0;
                term *= -x * x / n;
            }
            (sum * 2.0 / std::f64::consts::PI.sqrt()) as f32
        } else {
            // 1 - erfc, erfc by its continued fraction (converges well for |x| >= 2.5)
            let a = x.abs();
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = (k as f64 / 2.0) / (a + f);
            }
            let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f);
            ((1.0 - erfc) * x.signum()) as f32
        }
    }

    /// The slice form of GELU against the same formula with f64 `erf` (so it checks the
    /// AVX-512 path where the CPU has it, and the plain loop otherwise).
    #[test]
    fn gelu_matches_its_formula() {
        let mut v: Vec<f32> = (0..2 * 3 * 4 * 4 + 5).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
        let want: Vec<f32> = v.iter().map(|&x| 0.5 * x * (1.0 + libm_erf(x * std::f32::consts::FRAC_1_SQRT_2))).collect();
        gelu_in_place(&mut v);
        let d = v.iter().zip(&want).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(d < 1e-5, "max difference {d}");
    }

    #[test]
    fn partial_sums_cover_every_element() {
        for n in [0, 1, 7, 8, 9, 17, 100] {
            let v: Vec<f32> = (0..n).map(|i| i as f32 - 3.5).collect();
            assert_eq!(lanes(&v, 0.0, |a, b| a + b), v.iter().sum::<f32>(), "n = {n}");
            assert_eq!(sum_of_squares(&v), v.iter().map(|x| x * x).sum::<f32>(), "n = {n}");
            // Scores in [-0.4, 9.7]: e^(x - 2) stays in range.
            let scores: Vec<f32> = v.iter().map(|x| x / 10.0).collect();
            let mut p = scores.clone();
            let sum = exp_sum::<8, false>(&mut p, 2.0);
            let want: f64 = scores.iter().map(|&x| (x as f64 - 2.0).exp()).sum();
            assert!((sum as f64 - want).abs() <= 1e-5 * want.max(1.0), "n = {n}: {sum} vs {want}");
            assert!(p.iter().zip(&scores).all(|(e, x)| (*e as f64 - (*x as f64 - 2.0).exp()).abs() <= 1e-6 * e.max(1.0) as f64), "n = {n}");
        }
    }
}
