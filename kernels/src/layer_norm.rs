//! Layer normalization over the last dimension, optionally of `x + residual` (BERT's
//! post-norm `LayerNorm(sublayer(x) + x)` in one pass). candle's CPU layer norm sums squares
//! one element at a time; here the sums use [`fastmath::lanes`] and vectorize.

use crate::{fastmath, KernelError};

#[derive(Debug, Clone)]
pub struct LayerNorm {
    /// `[H]`
    weight: Vec<f32>,
    /// `[H]`
    bias: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    /// `weight`, `bias` `[H]`.
    pub fn new(weight: Vec<f32>, bias: Vec<f32>, eps: f32) -> Result<Self, KernelError> {
        if weight.len() != bias.len() {
            return Err(KernelError::NormParams { weight: weight.len(), bias: bias.len() });
        }
        Ok(Self { weight, bias, eps })
    }

    /// Features per row, H.
    pub fn width(&self) -> usize {
        self.weight.len()
    }

    /// `v` `[rows, H]` becomes LayerNorm(`v` + `residual`) in place; `residual` as `v`.
    pub fn forward_in_place(&self, v: &mut [f32], residual: Option<&[f32]>) -> Result<(), KernelError> {
        let h = self.weight.len();
        if h == 0 || !v.len().is_multiple_of(h) || residual.is_some_and(|r| r.len() != v.len()) {
            return Err(KernelError::NormInput { h, len: v.len(), residual: residual.map(<[f32]>::len) });
        }
        if let Some(r) = residual {
            for (a, b) in v.iter_mut().zip(r) {
                *a += b;
            }
        }
        for row in v.chunks_exact_mut(h) {
            let mean = fastmath::lanes(row, 0.0, |a, b| a + b) / h as f32;
            for e in row.iter_mut() {
                *e -= mean;
            }
            let var = fastmath::sum_of_squares(row) / h as f32;
            let inv = 1.0 / (var + self.eps).sqrt();
            for ((e, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *e = *e * inv * w + b;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The definition in f64: (x - mean) / sqrt(var + eps) * w + b per row.
    fn reference(x: &[f32], w: &[f32], b: &[f32], eps: f64) -> Vec<f32> {
        x.chunks(w.len())
            .flat_map(|row| {
                let n = row.len() as f64;
                let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
                let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
                row.iter().zip(w).zip(b).map(move |((&v, &w), &b)| ((v as f64 - mean) / (var + eps).sqrt() * w as f64 + b as f64) as f32)
            })
            .collect()
    }

    #[test]
    fn matches_the_definition_with_and_without_residual() {
        let x: Vec<f32> = (0..3 * 20).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
        let r: Vec<f32> = x.iter().map(|v| v.sin() * 3.0).collect();
        let w: Vec<f32> = (0..20).map(|i| 0.5 + i as f32 / 20.0).collect();
        let b: Vec<f32> = (0..20).map(|i| i as f32 / 10.0 - 1.0).collect();
        let norm = LayerNorm::new(w.clone(), b.clone(), 1e-12).unwrap();
        let close = |got: &[f32], want: &[f32]| got.iter().zip(want).fold(0f32, |m, (a, b)| m.max((a - b).abs())) < 1e-5;
        let mut got = x.clone();
        norm.forward_in_place(&mut got, None).unwrap();
        assert!(close(&got, &reference(&x, &w, &b, 1e-12)));
        let sum: Vec<f32> = x.iter().zip(&r).map(|(a, b)| a + b).collect();
        let mut got = x.clone();
        norm.forward_in_place(&mut got, Some(&r)).unwrap();
        assert!(close(&got, &reference(&sum, &w, &b, 1e-12)));
    }

    #[test]
    fn rejects_wrong_widths() {
        let norm = LayerNorm::new(vec![1.0; 4], vec![0.0; 4], 1e-12).unwrap();
        let e = norm.forward_in_place(&mut [0.0; 7], None).unwrap_err().to_string();
        assert!(e.contains("over 4 features") && e.contains("7 values"), "{e}");
        assert!(norm.forward_in_place(&mut [0.0; 8], Some(&[0.0; 4])).is_err(), "residual of another length");
        assert!(LayerNorm::new(vec![1.0; 4], vec![0.0; 3], 1e-12).is_err());
    }
}
