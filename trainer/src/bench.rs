//! Training throughput on random weights and token ids: the numbers in BENCHMARKS.md.
//! Same settings as the PyTorch baseline (bench/pytorch_train.py): model shape,
//! batch, sequence length, AdamW, 300-label `cls` head.

use std::time::Instant;

use anyhow::{Context, Result};
use tch::nn;
use tch::{Kind, Tensor};

use crate::bert::BertConfig;
use crate::config::BenchConfig;
use crate::model::{Batch, HeadKind, IcdModel, IcdSettings, Objective};

pub fn run(a: &BenchConfig) -> Result<()> {
    if a.threads > 0 {
        tch::set_num_threads(a.threads);
    }
    tch::manual_seed(0);
    let device = crate::base::device(&a.device)?;
    let config = BertConfig::preset(&a.shape).with_context(|| format!("--shape {:?}: use bert-base, minilm-l6 or tiny", a.shape))?;
    let settings = IcdSettings {
        head: a.head,
        objective: if a.head == HeadKind::Cls { Objective::Softmax } else { Objective::Sigmoid },
        max_length: a.seq,
        chunk_overlap: 0,
        label_attention_dim: Some(256),
        threshold: 0.5,
        base_model: Some(a.shape.clone()),
        input: Default::default(),
    };
    let labels = 300i64;
    let vs = nn::VarStore::new(device);
    let model = IcdModel::new(&vs.root(), &config, &settings, labels);
    let mut opt = crate::optim::AdamW::new(&vs, 0.01);
    let ids: Vec<Vec<u32>> = (0..a.batch).map(|i| (0..a.seq).map(|j| ((i * 7919 + j * 104729) % 30000 + 100) as u32).collect()).collect();
    let notes: Vec<Vec<Vec<u32>>> = ids.into_iter().map(|c| vec![c]).collect();
    let refs: Vec<&[Vec<u32>]> = notes.iter().map(|n| n.as_slice()).collect();
    let batch = Batch::new(&refs, 0, device);
    let targets = match settings.objective {
        Objective::Softmax => Tensor::from_slice(&(0..a.batch as i64).map(|i| i % labels).collect::<Vec<_>>()).to(device),
        Objective::Sigmoid => Tensor::zeros([a.batch as i64, labels], (Kind::Float, device)),
    };
    let autocast = a.bf16 && device.is_cuda();
    let mut step = || {
        let loss = if autocast {
            crate::amp::bf16(|| model.loss(&model.forward_t(&batch, true), &targets))
        } else {
            model.loss(&model.forward_t(&batch, true), &targets)
        };
        loss.backward();
        // Clips to norm 1 and zeroes the gradients.
        opt.step([5e-5, 5e-5], 1.0);
    };
    for _ in 0..a.warmup_steps {
        step();
    }
    if device.is_cuda() {
        tch::Cuda::synchronize(0);
    }
    let t = Instant::now();
    for _ in 0..a.steps {
        step();
    }
    if device.is_cuda() {
        tch::Cuda::synchronize(0);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "tch train {} seq {} batch {} on {:?}{}: {:.1} samples/s ({:.1} ms/step, threads {})",
        a.shape,
        a.seq,
        a.batch,
        device,
        if autocast { " autocast" } else { "" },
        (a.steps * a.batch) as f64 / secs,
        1e3 * secs / a.steps as f64,
        tch::get_num_threads()
    );
    Ok(())
}
