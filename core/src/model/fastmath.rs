//! Branch-free `exp`, `erf` and GELU over f32 (the softmax using `exp` is in `attention`).
//!
//! Why: candle's CPU ops call the scalar `expf`/`erff` of libm per element. In wasm32 those
//! are software routines, and a 512-token MiniLM note needs ~19 M `exp` (attention) and
//! ~5 M `erf` (GELU): more time than its matrix products. These versions are plain
//! arithmetic on `f32` that LLVM vectorizes (SIMD128 in wasm, SSE/AVX natively).
//! Accuracy (tested): `exp` relative error < 1e-6, `erf` absolute error < 1e-6 (Abramowitz &
//! Stegun 7.1.26 in f32), far inside the 1e-4 parity tolerance.

use candle_core::{Result, Tensor};

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
pub(crate) fn exp_sum<const L: usize, const FMA: bool>(p: &mut [f32], max: f32) -> f32 {
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

/// erf(x), absolute error < 1.5e-7 (Abramowitz & Stegun 7.1.26).
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

/// GELU with the exact (erf) form, as BERT uses: x/2 · (1 + erf(x/√2)).
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    let mut v = x.flatten_all()?.to_vec1::<f32>()?;
    gelu_in_place(&mut v);
    Tensor::from_vec(v, x.shape(), x.device())
}

/// [`gelu`] on a slice.
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

/// Layer normalization over the last dim, optionally of `x + residual` (BERT's post-norm
/// `LayerNorm(sublayer(x) + x)` in one pass). candle's CPU layer norm sums squares one
/// element at a time; here the sums use [`lanes`] and vectorize.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    /// `weight`, `bias` `[H]`.
    pub fn new(weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Self> {
        let (weight, bias) = (weight.flatten_all()?.to_vec1()?, bias.flatten_all()?.to_vec1()?);
        if weight.len() != bias.len() {
            candle_core::bail!("layer norm: weight has {} values, bias {}", weight.len(), bias.len());
        }
        Ok(Self { weight, bias, eps: eps as f32 })
    }

    /// `x` `[.., H]` -> `[.., H]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_residual(x, None)
    }

    /// LayerNorm(`x` + `residual`); both `[.., H]`.
    pub fn forward_residual(&self, x: &Tensor, residual: Option<&Tensor>) -> Result<Tensor> {
        let h = self.weight.len();
        if x.dims().last() != Some(&h) || residual.is_some_and(|r| r.dims() != x.dims()) {
            candle_core::bail!("layer norm over {h} features: input {:?}, residual {:?}", x.dims(), residual.map(|r| r.dims().to_vec()));
        }
        let mut v = x.flatten_all()?.to_vec1::<f32>()?;
        if let Some(r) = residual {
            super::with_f32(r, |r| {
                for (a, b) in v.iter_mut().zip(r) {
                    *a += b;
                }
            })?;
        }
        for row in v.chunks_exact_mut(h.max(1)) {
            let mean = lanes(row, 0.0, |a, b| a + b) / h as f32;
            for e in row.iter_mut() {
                *e -= mean;
            }
            let var = sum_of_squares(row) / h as f32;
            let inv = 1.0 / (var + self.eps).sqrt();
            for ((e, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *e = *e * inv * w + b;
            }
        }
        Tensor::from_vec(v, x.shape(), x.device())
    }
}

/// Σ x², over 8 interleaved partial sums (as [`lanes`], which cannot square: it combines
/// its partial results with the same function).
#[inline(always)]
fn sum_of_squares(v: &[f32]) -> f32 {
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
pub(crate) fn lanes(v: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
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
    use candle_core::Device;

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

    #[test]
    fn layer_norm_matches_candle() {
        let dev = Device::Cpu;
        let x: Vec<f32> = (0..3 * 20).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
        let x = Tensor::from_vec(x, (3, 20), &dev).unwrap();
        let r = (x.sin().unwrap() * 3.0).unwrap();
        let w = Tensor::from_vec((0..20).map(|i| 0.5 + i as f32 / 20.0).collect::<Vec<_>>(), 20, &dev).unwrap();
        let b = Tensor::from_vec((0..20).map(|i| i as f32 / 10.0 - 1.0).collect::<Vec<_>>(), 20, &dev).unwrap();
        let theirs = candle_nn::LayerNorm::new(w.clone(), b.clone(), 1e-12);
        let ours = LayerNorm::new(&w, &b, 1e-12).unwrap();
        let diff = crate::model::max_abs_diff;
        use candle_nn::Module;
        assert!(diff(&ours.forward(&x).unwrap(), &theirs.forward(&x).unwrap()) < 1e-5);
        let sum = (&x + &r).unwrap();
        assert!(diff(&ours.forward_residual(&x, Some(&r)).unwrap(), &theirs.forward(&sum).unwrap()) < 1e-5);
        assert!(ours.forward(&r.narrow(1, 0, 19).unwrap()).is_err(), "wrong width");
    }

    #[test]
    fn gelu_matches_candle() {
        let dev = Device::Cpu;
        let x: Vec<f32> = (0..2 * 3 * 4 * 4).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
        let x = Tensor::from_vec(x, (2, 3, 4, 4), &dev).unwrap();
        let max_diff = crate::model::max_abs_diff;
        assert!(max_diff(&gelu(&x).unwrap(), &x.gelu_erf().unwrap()) < 1e-5);
    }
}
