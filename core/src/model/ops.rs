//! The kernels of `icd-kernels` on candle tensors: the encoder's layer norm, int8 GEMM,
//! GELU and fused attention. Each takes a contiguous f32 CPU tensor in place where it can
//! ([`super::with_f32`]) and returns a new tensor; shapes are checked here so errors name
//! tensor dimensions.

use candle_core::{Device, Result, Tensor};
use icd_kernels::KernelError;

fn kernel(e: KernelError) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}

/// GELU with the exact (erf) form, as BERT uses: x/2 · (1 + erf(x/√2)).
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    let mut v = x.flatten_all()?.to_vec1::<f32>()?;
    icd_kernels::fastmath::gelu_in_place(&mut v);
    Tensor::from_vec(v, x.shape(), x.device())
}

/// Layer norm over the last dim, optionally of `x + residual` (see `icd_kernels::layer_norm`).
#[derive(Debug, Clone)]
pub struct LayerNorm(icd_kernels::LayerNorm);

impl LayerNorm {
    /// `weight`, `bias` `[H]`.
    pub fn new(weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Self> {
        let (weight, bias) = (weight.flatten_all()?.to_vec1()?, bias.flatten_all()?.to_vec1()?);
        icd_kernels::LayerNorm::new(weight, bias, eps as f32).map(Self).map_err(kernel)
    }

    /// `x` `[.., H]` -> `[.., H]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_residual(x, None)
    }

    /// LayerNorm(`x` + `residual`); both `[.., H]`.
    pub fn forward_residual(&self, x: &Tensor, residual: Option<&Tensor>) -> Result<Tensor> {
        let h = self.0.width();
        if x.dims().last() != Some(&h) || residual.is_some_and(|r| r.dims() != x.dims()) {
            candle_core::bail!("layer norm over {h} features: input {:?}, residual {:?}", x.dims(), residual.map(|r| r.dims().to_vec()));
        }
        let mut v = x.flatten_all()?.to_vec1::<f32>()?;
        match residual {
            Some(r) => super::with_f32(r, |r| self.0.forward_in_place(&mut v, Some(r)))?,
            None => self.0.forward_in_place(&mut v, None),
        }
        .map_err(kernel)?;
        Tensor::from_vec(v, x.shape(), x.device())
    }
}

/// An int8 weight `[out, in]` for the integer GEMM (see `icd_kernels::int8`).
#[derive(Debug, Clone)]
pub struct I8Matmul {
    inner: icd_kernels::I8Matmul,
    inp: usize,
}

impl I8Matmul {
    /// Packs an f32 weight `[out, in]` (dequantized Q8_0 blocks, or any f32 weight).
    pub fn pack(weight: &Tensor) -> Result<Self> {
        let (out, inp) = weight.dims2()?;
        let w = weight.flatten_all()?.to_vec1::<f32>()?;
        Ok(Self { inner: icd_kernels::I8Matmul::pack(&w, out, inp).map_err(kernel)?, inp })
    }

    /// Packs for the i8 × u7 arithmetic (`icd_kernels::I8Matmul::pack_relaxed`).
    pub fn pack_relaxed(weight: &Tensor) -> Result<Self> {
        let (out, inp) = weight.dims2()?;
        let w = weight.flatten_all()?.to_vec1::<f32>()?;
        Ok(Self { inner: icd_kernels::I8Matmul::pack_relaxed(&w, out, inp).map_err(kernel)?, inp })
    }

    /// Adds `bias` `[out]` to every output row.
    pub fn with_bias(self, bias: &Tensor) -> Result<Self> {
        let b = bias.flatten_all()?.to_vec1::<f32>()?;
        Ok(Self { inner: self.inner.with_bias(b).map_err(kernel)?, inp: self.inp })
    }

    /// `x` `[.., in]` f32 -> `[.., out]` f32.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, false)
    }

    /// [`I8Matmul::forward`] then GELU, in place on the output (no copy of `[.., out]`).
    pub fn forward_gelu(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, true)
    }

    fn forward_with(&self, x: &Tensor, gelu: bool) -> Result<Tensor> {
        let mut shape = x.dims().to_vec();
        let k = shape.last().copied().unwrap_or(0);
        if k != self.inp {
            candle_core::bail!("int8 kernel: input has {k} features, weight expects {}", self.inp);
        }
        let y = super::with_f32(x, |xs| if gelu { self.inner.forward_gelu(xs) } else { self.inner.forward(xs) })?.map_err(kernel)?;
        *shape.last_mut().expect("k checked above") = self.inner.out_features();
        Tensor::from_vec(y, shape, &Device::Cpu)
    }
}

/// Fused self-attention (see `icd_kernels::attention`): `qkv` `[B, S, 3H]`, `mask_bias`
/// `[B, S]` -> `[B, queries, H]`, the first `queries` positions over all keys.
pub fn attention_rows(qkv: &Tensor, mask_bias: &Tensor, n_heads: usize, queries: usize) -> Result<Tensor> {
    let (b, s, h3) = qkv.dims3()?;
    if mask_bias.dims() != [b, s] {
        candle_core::bail!("attention: qkv {:?} is not [B, S, 3H] or mask {:?} is not [B, S]", qkv.dims(), mask_bias.dims());
    }
    let bias = mask_bias.flatten_all()?.to_vec1::<f32>()?;
    let out = super::with_f32(qkv, |qkv| icd_kernels::attention_rows(qkv, [b, s, h3], &bias, n_heads, queries))?.map_err(kernel)?;
    Tensor::from_vec(out, (b, queries, h3 / 3), &Device::Cpu)
}

/// The kernels against candle's own ops (the kernels' own tests, in `icd-kernels`, check
/// them against plain definitions).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::max_abs_diff as diff;
    use candle_nn::Module;

    fn det(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let x = (i as u32).wrapping_mul(2654435761).wrapping_add(seed.wrapping_mul(40503));
                ((x >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * 3.0
            })
            .collect()
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
        assert!(diff(&ours.forward(&x).unwrap(), &theirs.forward(&x).unwrap()) < 1e-5);
        let sum = (&x + &r).unwrap();
        assert!(diff(&ours.forward_residual(&x, Some(&r)).unwrap(), &theirs.forward(&sum).unwrap()) < 1e-5);
        assert!(ours.forward(&r.narrow(1, 0, 19).unwrap()).is_err(), "wrong width");
    }

    #[test]
    fn gelu_matches_candle() {
        let x: Vec<f32> = (0..2 * 3 * 4 * 4).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
        let x = Tensor::from_vec(x, (2, 3, 4, 4), &Device::Cpu).unwrap();
        assert!(diff(&gelu(&x).unwrap(), &x.gelu_erf().unwrap()) < 1e-5);
    }

    #[test]
    fn int8_matmul_is_close_to_candle_f32() {
        let (k, out) = (100, 13);
        let x = Tensor::from_vec(det(9 * k, 1), (3, 3, k), &Device::Cpu).unwrap();
        let w = Tensor::from_vec(det(out * k, 2), (out, k), &Device::Cpu).unwrap();
        let b = Tensor::from_vec(det(out, 5), out, &Device::Cpu).unwrap();
        let want = x.broadcast_matmul(&w.t().unwrap()).unwrap().broadcast_add(&b).unwrap();
        let m = I8Matmul::pack(&w).unwrap().with_bias(&b).unwrap();
        let got = m.forward(&x).unwrap();
        assert_eq!(got.dims(), &[3, 3, out]);
        let scale = want.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        // int8 weights: about 1 % of the output range; a wrong index would be ~100 %.
        assert!(diff(&got, &want) < 0.02 * scale);
        assert!(diff(&m.forward_gelu(&x).unwrap(), &got.gelu_erf().unwrap()) < 1e-5);
        let e = m.forward(&x.narrow(2, 0, 7).unwrap()).unwrap_err().to_string();
        assert!(e.contains("7 features"), "{e}");
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

    #[test]
    fn attention_matches_unfused_candle_ops() {
        let dev = Device::Cpu;
        let (b, s, h, nh) = (2, 13, 36, 3);
        let t = |seed| Tensor::from_vec(det(b * s * h, seed), (b, s, h), &dev).unwrap();
        let (q, k, v) = (t(1), t(2), t(3));
        let mut mask = vec![0f32; b * s];
        mask[s + s / 2..].fill(-f32::MAX);
        let mask = Tensor::from_vec(mask, (b, s), &dev).unwrap();
        let qkv = Tensor::cat(&[&q, &k, &v], 2).unwrap();
        let got = attention_rows(&qkv, &mask, nh, s).unwrap();
        assert!(diff(&got, &reference(&q, &k, &v, &mask, nh)) < 1e-5);
        let e = attention_rows(&qkv, &mask.narrow(1, 0, 12).unwrap(), nh, s).unwrap_err().to_string();
        assert!(e.contains("is not [B, S]"), "{e}");
    }
}
