//! Dropout masks drawn by the trainer instead of libtorch on CPU.
//!
//! libtorch's CPU `bernoulli_` draws one number at a time from a shared Mersenne
//! twister: 19 ms for one attention-probability mask at batch 16 × 128 tokens, about
//! 17 % of a MiniLM training step (BENCHMARKS.md). Here a mask element is a hash of
//! (seed, step, element counter) (SplitMix64's output function, 16 bits per element),
//! so filling a mask is one vectorizable pass, the draw does not depend on thread
//! count, and `--resume` in the middle of an epoch draws the same masks as an
//! uninterrupted run. On CUDA the trainer keeps libtorch's fused Philox dropout.

use std::cell::Cell;

use tch::{Device, Kind, Tensor};

// Per thread, so runs on different threads (tests) never shift each other's masks.
thread_local! {
    static SEED: Cell<u64> = const { Cell::new(0x5EED) };
    static COUNTER: Cell<u64> = const { Cell::new(0) };
}

/// Positions this thread's mask stream at batch `step` of a run seeded with `seed`.
pub fn begin_step(seed: u64, step: u64) {
    SEED.set(splitmix64(seed ^ 0xD1B5_4A32_D192_ED03));
    // 2^40 hashes per batch before two batches could overlap.
    COUNTER.set(step << 40);
}

/// x * mask / (1 - p) with a fresh mask; `x` unchanged when not training.
pub fn dropout(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p <= 0.0 {
        return x.shallow_clone();
    }
    if x.device() != Device::Cpu || x.kind() != Kind::Float {
        return x.dropout(p, true);
    }
    x * keep_scale_mask(&x.size(), p)
}

/// [shape] f32 on CPU: 0 with probability `p`, else 1 / (1 - p).
pub fn keep_scale_mask(shape: &[i64], p: f64) -> Tensor {
    let scale = (1.0 / (1.0 - p)) as f32;
    fill(shape, Kind::Float, p, |out: &mut [f32], drop| {
        for (o, d) in out.iter_mut().zip(drop) {
            *o = if d { 0.0 } else { scale };
        }
    })
}

/// [shape] bool on CPU: true (drop) with probability `p`.
pub fn drop_mask(shape: &[i64], p: f64) -> Tensor {
    fill(shape, Kind::Bool, p, |out: &mut [bool], drop| {
        for (o, d) in out.iter_mut().zip(drop) {
            *o = d;
        }
    })
}

/// Allocates a CPU tensor and writes it 4 elements (one 64-bit hash) at a time.
fn fill<T: Copy + Default>(shape: &[i64], kind: Kind, p: f64, write4: impl Fn(&mut [T], [bool; 4])) -> Tensor {
    let n: i64 = shape.iter().product();
    let t = Tensor::empty(shape, (kind, Device::Cpu));
    if n == 0 {
        return t;
    }
    // Drop when a 16-bit uniform falls below p · 2^16.
    let threshold = (p * 65536.0).round().clamp(0.0, 65536.0) as u64;
    let seed = SEED.get();
    let base = COUNTER.get();
    COUNTER.set(base + (n as u64).div_ceil(4));
    // SAFETY: `t` is a fresh contiguous CPU tensor of `n` elements of T (f32 or bool).
    let out = unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut T, n as usize) };
    for (i, chunk) in out.chunks_mut(4).enumerate() {
        let h = splitmix64(seed.wrapping_add((base + i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        let drop = [0, 16, 32, 48].map(|s| (h >> s) & 0xFFFF < threshold);
        write4(chunk, drop);
    }
    t
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_rate_and_scale_match_p() {
        begin_step(7, 3);
        let m = keep_scale_mask(&[64, 1000], 0.1);
        let v: Vec<f32> = Vec::try_from(m.flatten(0, -1)).unwrap();
        let dropped = v.iter().filter(|&&x| x == 0.0).count() as f64 / v.len() as f64;
        assert!((dropped - 0.1).abs() < 0.005, "drop rate {dropped}");
        assert!(v.iter().all(|&x| x == 0.0 || (x - 1.0 / 0.9).abs() < 1e-6));
        // The mean is preserved, as torch's dropout does.
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn masks_repeat_per_step_and_differ_between_calls() {
        begin_step(1, 5);
        let a = drop_mask(&[3, 333], 0.5);
        let b = drop_mask(&[3, 333], 0.5);
        begin_step(1, 5);
        let a2 = drop_mask(&[3, 333], 0.5);
        assert!(a.equal(&a2), "same seed and step give the same mask");
        assert!(!a.equal(&b), "consecutive calls draw new masks");
        begin_step(1, 6);
        assert!(!a.equal(&drop_mask(&[3, 333], 0.5)), "another step draws another mask");
    }

    #[test]
    fn no_dropout_outside_training() {
        let x = Tensor::ones([4, 5], (Kind::Float, Device::Cpu));
        assert!(dropout(&x, 0.3, false).equal(&x));
        assert!(dropout(&x, 0.0, true).equal(&x));
    }
}
