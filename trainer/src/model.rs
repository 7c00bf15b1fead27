//! The coding model: BERT encoder + a `cls` or label-wise attention head.
//! A batch holds several notes; each note holds one or more 512-token chunks.

use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use crate::bert::{Bert, BertConfig};
use crate::dropout::dropout;

/// The `icd` object of config.json: one definition, in core's schema.
pub use icd_core::{HeadKind, IcdConfig as IcdSettings, Objective};

#[derive(Debug)]
enum Head {
    Cls { classifier: nn::Linear },
    LabelAttention { first: nn::Linear, second: nn::Linear, out_w: Tensor, out_b: Tensor },
}

/// A padded batch: every chunk of every note, flattened.
pub struct Batch {
    /// [N, T] token ids, N = total chunks
    pub ids: Tensor,
    /// [N, T] 1 for tokens, 0 for padding
    pub mask: Tensor,
    /// Note index of each chunk, [N]
    pub note_of_chunk: Vec<i64>,
    pub notes: i64,
}

impl Batch {
    /// `notes[b]` = that note's chunks (each `[CLS] ... [SEP]`).
    pub fn new(notes: &[&[Vec<u32>]], pad_id: u32, device: Device) -> Self {
        let n: usize = notes.iter().map(|c| c.len()).sum();
        let t = notes.iter().flat_map(|c| c.iter().map(Vec::len)).max().unwrap_or(2);
        let mut ids = vec![pad_id as i64; n * t];
        let mut mask = vec![0i64; n * t];
        let mut note_of_chunk = Vec::with_capacity(n);
        let mut row = 0;
        for (b, chunks) in notes.iter().enumerate() {
            for c in chunks.iter() {
                for (j, &id) in c.iter().enumerate() {
                    ids[row * t + j] = id as i64;
                    mask[row * t + j] = 1;
                }
                note_of_chunk.push(b as i64);
                row += 1;
            }
        }
        let shape = [n as i64, t as i64];
        Self {
            ids: Tensor::from_slice(&ids).view(shape).to(device),
            mask: Tensor::from_slice(&mask).view(shape).to(device),
            note_of_chunk,
            notes: notes.len() as i64,
        }
    }
}

#[derive(Debug)]
pub struct IcdModel {
    pub bert: Bert,
    head: Head,
    pub settings: IcdSettings,
    pub num_labels: i64,
}

impl IcdModel {
    /// Creates the variables under `root` (`bert.*`, `classifier.*` or `label_attention.*`).
    pub fn new(root: &nn::Path, config: &BertConfig, settings: &IcdSettings, num_labels: i64) -> Self {
        let bert = Bert::new(&(root / "bert"), config);
        let h = config.hidden_size as i64;
        // Optimizer group 1 = the head, so it can have its own learning rate.
        let root = &root.set_group(1);
        let head = match settings.head {
            HeadKind::Cls => Head::Cls { classifier: nn::linear(root / "classifier", h, num_labels, Default::default()) },
            HeadKind::LabelAttention => {
                let p = root / "label_attention";
                let a = settings.label_attention_dim.expect("checked when the settings are made") as i64;
                let no_bias = nn::LinearConfig { bias: false, ..Default::default() };
                Head::LabelAttention {
                    first: nn::linear(&p / "first", h, a, no_bias),
                    second: nn::linear(&p / "second", a, num_labels, no_bias),
                    out_w: (&p / "output").var("weight", &[num_labels, h], nn::Init::Randn { mean: 0.0, stdev: 0.03 }),
                    out_b: (&p / "output").var("bias", &[num_labels], nn::Init::Const(0.0)),
                }
            }
        };
        Self { bert, head, settings: settings.clone(), num_labels }
    }

    /// Encoder output for a batch: [N, T, H].
    pub fn encode(&self, batch: &Batch, train: bool) -> Tensor {
        self.bert.forward_t(&batch.ids, &batch.mask, train)
    }

    /// Head over encoder states: hidden [N, T, H] -> logits [B, L] (and attention [B, L, C*T] for LAAT).
    pub fn head_forward(&self, hidden: &Tensor, batch: &Batch, train: bool) -> (Tensor, Option<Tensor>) {
        let device = hidden.device();
        let (n, t, h) = hidden.size3().unwrap();
        let note_idx = Tensor::from_slice(&batch.note_of_chunk).to(device);
        match &self.head {
            Head::Cls { classifier } => {
                let cls = hidden.select(1, 0); // [N, H]
                let sums = Tensor::zeros([batch.notes, h], (cls.kind(), device)).index_add(0, &note_idx, &cls);
                let counts =
                    Tensor::zeros([batch.notes], (Kind::Float, device)).index_add(0, &note_idx, &Tensor::ones([n], (Kind::Float, device))).unsqueeze(1);
                let v = dropout(&(sums / counts.to_kind(cls.kind())), self.bert.config.hidden_dropout_prob, train);
                (classifier.forward(&v), None)
            }
            Head::LabelAttention { first, second, out_w, out_b } => {
                // Lay each note's chunks side by side: [B, C, T, H] -> [B, C*T, H].
                let max_chunks = max_chunks(&batch.note_of_chunk);
                let slots = slot_of_chunk(&batch.note_of_chunk, max_chunks);
                let slot_idx = Tensor::from_slice(&slots).to(device);
                let b = batch.notes;
                let hs = Tensor::zeros([b * max_chunks, t, h], (hidden.kind(), device)).index_copy(0, &slot_idx, hidden);
                let hs = hs.view([b, max_chunks * t, h]);
                let m = Tensor::zeros([b * max_chunks, t], (Kind::Int64, device)).index_copy(0, &slot_idx, &batch.mask);
                let m = m.view([b, 1, max_chunks * t]).to_kind(Kind::Bool); // [B, 1, CT]
                let z = first.forward(&hs).tanh(); // [B, CT, A]
                let scores = second.forward(&z).transpose(1, 2); // [B, L, CT]
                let scores = scores.masked_fill(&m.logical_not(), f64::NEG_INFINITY);
                let att = scores.softmax(-1, scores.kind()); // [B, L, CT]
                let v = dropout(&att.matmul(&hs), self.bert.config.hidden_dropout_prob, train); // [B, L, H]
                let logits = (v * out_w.unsqueeze(0).to_kind(hidden.kind())).sum_dim_intlist(-1, false, None::<Kind>) + out_b.to_kind(hidden.kind());
                (logits, Some(att))
            }
        }
    }

    /// ids -> logits [B, L]
    pub fn forward_t(&self, batch: &Batch, train: bool) -> Tensor {
        let hidden = self.encode(batch, train);
        self.head_forward(&hidden, batch, train).0
    }

    /// Loss of a batch. `targets` is [B] label ids (softmax) or [B, L] 0/1 floats (sigmoid).
    pub fn loss(&self, logits: &Tensor, targets: &Tensor) -> Tensor {
        match self.settings.objective {
            Objective::Softmax => logits.to_kind(Kind::Float).cross_entropy_for_logits(targets),
            Objective::Sigmoid => logits.to_kind(Kind::Float).binary_cross_entropy_with_logits::<Tensor>(targets, None, None, tch::Reduction::Mean),
        }
    }

    /// Cross-entropy of the primary code among the note's documented codes only: `logits`
    /// `[B, L]`, `multi_hot` `[B, L]` (the sigmoid targets), `primary` `[B]` label ids. Other
    /// labels are left to the sigmoid loss (their logits get no gradient here), and a note
    /// with one code adds nothing. It teaches a multi-label model which documented code is
    /// the first-listed diagnosis: the sigmoid loss alone ranks them by chance.
    pub fn primary_loss(logits: &Tensor, multi_hot: &Tensor, primary: &Tensor) -> Tensor {
        // A large finite negative, not -inf: no NaN in the backward pass, in bf16 either.
        let documented = logits.to_kind(Kind::Float).masked_fill(&multi_hot.eq(0.0), -1e4);
        documented.cross_entropy_for_logits(primary)
    }

    /// logits -> per-label scores (softmax or sigmoid).
    pub fn scores(&self, logits: &Tensor) -> Tensor {
        match self.settings.objective {
            Objective::Softmax => logits.to_kind(Kind::Float).softmax(-1, Kind::Float),
            Objective::Sigmoid => logits.to_kind(Kind::Float).sigmoid(),
        }
    }
}

fn max_chunks(note_of_chunk: &[i64]) -> i64 {
    let mut best = 0;
    let mut run = 0;
    let mut prev = -1;
    for &b in note_of_chunk {
        run = if b == prev { run + 1 } else { 1 };
        prev = b;
        best = best.max(run);
    }
    best
}

/// Chunk i of note b goes to slot b * max_chunks + (its index within the note).
fn slot_of_chunk(note_of_chunk: &[i64], max_chunks: i64) -> Vec<i64> {
    let mut out = Vec::with_capacity(note_of_chunk.len());
    let mut prev = -1;
    let mut k = 0;
    for &b in note_of_chunk {
        k = if b == prev { k + 1 } else { 0 };
        prev = b;
        out.push(b * max_chunks + k);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_slots() {
        let n = [0, 0, 1, 2, 2, 2];
        assert_eq!(max_chunks(&n), 3);
        assert_eq!(slot_of_chunk(&n, 3), [0, 1, 3, 6, 7, 8]);
    }

    #[test]
    fn primary_loss_ranks_documented_codes_only() {
        // Note 0 documents labels 1 (primary) and 3; note 1 only label 0.
        let multi_hot = Tensor::from_slice(&[0f32, 1., 0., 1., 1., 0., 0., 0.]).view([2, 4]);
        let primary = Tensor::from_slice(&[1i64, 0]);
        let logits = Tensor::from_slice(&[9f32, 2., -3., 1., 0.5, 7., 7., 7.]).view([2, 4]).set_requires_grad(true);
        let loss = IcdModel::primary_loss(&logits, &multi_hot, &primary);
        // Note 0: -log(e^2 / (e^2 + e^1)); note 1: one documented code, log 1 = 0. Mean of the two.
        let want = (1.0 + (-1f64).exp()).ln() / 2.0;
        assert!((loss.double_value(&[]) - want).abs() < 1e-6, "{} vs {want}", loss.double_value(&[]));
        loss.backward();
        let g: Vec<f32> = Vec::try_from(logits.grad().view([-1])).unwrap();
        // Undocumented labels (and a lone code) get no gradient; the primary is pushed up,
        // the other documented code down.
        for i in [0, 2, 4, 5, 6, 7] {
            assert_eq!(g[i], 0.0, "label {i}: {g:?}");
        }
        assert!(g[1] < 0.0 && g[3] > 0.0, "{g:?}");
    }
}
