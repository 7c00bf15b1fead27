//! Loading a checkpoint: the contract's names, base-model name mapping, and errors that name
//! the tensor. Uses a tiny synthetic model, so it needs no files.

use candle_core::{Device, Tensor};
use icd_core::{Chunk, IcdModel, ModelError};
use serde_json::json;

const H: usize = 8;
const V: usize = 12;
const L: usize = 3;
const A: usize = 4;

fn config(head: &str) -> Vec<u8> {
    let icd = if head == "cls" {
        json!({"head": "cls", "objective": "softmax", "max_length": 16})
    } else {
        json!({"head": "label_attention", "objective": "sigmoid", "max_length": 16, "label_attention_dim": A})
    };
    serde_json::to_vec(&json!({
        "vocab_size": V, "hidden_size": H, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 16, "hidden_act": "gelu", "max_position_embeddings": 16,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "id2label": {"0": "J45.909", "1": "R05.9", "2": "I10"}, "icd": icd
    }))
    .unwrap()
}

/// (name, shape) of every tensor, with the contract's names.
fn tensors(head: &str) -> Vec<(String, Vec<usize>)> {
    let mut t: Vec<(String, Vec<usize>)> = vec![
        ("bert.embeddings.word_embeddings.weight".into(), vec![V, H]),
        ("bert.embeddings.position_embeddings.weight".into(), vec![16, H]),
        ("bert.embeddings.token_type_embeddings.weight".into(), vec![2, H]),
        ("bert.embeddings.LayerNorm.weight".into(), vec![H]),
        ("bert.embeddings.LayerNorm.bias".into(), vec![H]),
    ];
    let p = "bert.encoder.layer.0";
    for (name, out, inp) in [
        ("attention.self.query", H, H),
        ("attention.self.key", H, H),
        ("attention.self.value", H, H),
        ("attention.output.dense", H, H),
        ("intermediate.dense", 16, H),
        ("output.dense", H, 16),
    ] {
        t.push((format!("{p}.{name}.weight"), vec![out, inp]));
        t.push((format!("{p}.{name}.bias"), vec![out]));
    }
    for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
        t.push((format!("{p}.{ln}.weight"), vec![H]));
        t.push((format!("{p}.{ln}.bias"), vec![H]));
    }
    if head == "cls" {
        t.push(("classifier.weight".into(), vec![L, H]));
        t.push(("classifier.bias".into(), vec![L]));
    } else {
        t.push(("label_attention.first.weight".into(), vec![A, H]));
        t.push(("label_attention.second.weight".into(), vec![L, A]));
        t.push(("label_attention.output.weight".into(), vec![L, H]));
        t.push(("label_attention.output.bias".into(), vec![L]));
    }
    t
}

/// A safetensors file of f32 tensors filled with a deterministic pseudo-random sequence.
fn safetensors(tensors: &[(String, Vec<usize>)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    let mut state = 0x2545_f491_u32;
    for (name, shape) in tensors {
        let n: usize = shape.iter().product();
        let start = data.len();
        for _ in 0..n {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            data.extend_from_slice(&((state as f32 / u32::MAX as f32) - 0.5).to_le_bytes());
        }
        header.insert(name.clone(), json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}));
    }
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    out
}

fn load(head: &str, t: &[(String, Vec<usize>)]) -> Result<IcdModel, ModelError> {
    IcdModel::load(&config(head), &safetensors(t), &Device::Cpu)
}

fn chunk(ids: &[u32]) -> Chunk {
    Chunk::window(ids.to_vec(), 0)
}

#[test]
fn loads_both_heads_and_batches_with_padding() {
    for head in ["cls", "label_attention"] {
        let m = load(head, &tensors(head)).unwrap();
        let (a, b) = (chunk(&[2, 5, 6, 7, 8, 9, 3]), chunk(&[2, 10, 3]));
        let ab = m.forward(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(ab.logits.len(), L);
        assert!(ab.logits.iter().all(|x| x.is_finite()));
        if head == "cls" {
            // The mean over chunks is order-free; the padding sits on a different chunk.
            let ba = m.forward(&[b, a]).unwrap();
            let d = ab.logits.iter().zip(&ba.logits).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
            assert!(d < 1e-5, "{:?} vs {:?}", ab.logits, ba.logits);
            assert!(ab.attention.is_none());
        } else {
            let att = ab.attention.unwrap();
            assert_eq!((att.n_labels, att.n_tokens), (L, 10)); // 7 + 3 ids, no padding
            for l in 0..L {
                assert!((att.label(l).iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
    }
}

/// The `cls` path computes only the first position in the last layer: it must be the full
/// encoder's first row, bit for bit, padding included.
#[test]
fn first_position_alone_equals_the_full_encoder() {
    let m = load("cls", &tensors("cls")).unwrap();
    let ids = Tensor::new(&[[2u32, 5, 6, 7, 8, 9, 3], [2, 10, 3, 0, 0, 0, 0]], &Device::Cpu).unwrap();
    let mask = Tensor::new(&[[1f32; 7], [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]], &Device::Cpu).unwrap();
    let full = m.encoder().forward(&ids, &mask).unwrap();
    let first = m.encoder().forward_first(&ids, &mask).unwrap();
    assert_eq!(first.dims(), [2, 1, full.dim(2).unwrap()]);
    let want: Vec<f32> = full.narrow(1, 0, 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let got: Vec<f32> = first.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(got, want);
    assert!(got.iter().all(|x| x.is_finite()) && got.iter().any(|&x| x != 0.0));
}

#[test]
fn base_model_names_are_mapped() {
    // sentence-transformers layout (no `bert.`), old gamma/beta, and ignored extras.
    let mut t: Vec<(String, Vec<usize>)> = tensors("cls")
        .into_iter()
        .map(|(n, s)| {
            let n = n.strip_prefix("bert.").map(str::to_string).unwrap_or(n);
            let n = n.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta");
            (n, s)
        })
        .collect();
    t.push(("pooler.dense.weight".into(), vec![H, H]));
    t.push(("cls.predictions.bias".into(), vec![V]));
    let mapped = load("cls", &t).unwrap();
    let plain = load("cls", &tensors("cls")).unwrap();
    let c = [chunk(&[2, 4, 3])];
    // Same values in the same order, so the same logits.
    assert_eq!(mapped.forward(&c).unwrap().logits, plain.forward(&c).unwrap().logits);
}

#[test]
fn missing_tensor_is_named() {
    let t: Vec<_> = tensors("label_attention").into_iter().filter(|(n, _)| n != "label_attention.second.weight").collect();
    let e = load("label_attention", &t).err().expect("must fail").to_string();
    assert!(e.contains("label_attention.second.weight"), "{e}");
}

#[test]
fn misshaped_tensor_is_named_with_shapes() {
    let t: Vec<_> =
        tensors("cls").into_iter().map(|(n, s)| if n == "bert.encoder.layer.0.intermediate.dense.weight" { (n, vec![H, 16]) } else { (n, s) }).collect();
    let e = load("cls", &t).err().expect("must fail").to_string();
    assert!(e.contains("bert.encoder.layer.0.intermediate.dense.weight") && e.contains("[8, 16]") && e.contains("[16, 8]"), "{e}");
}

#[test]
fn bad_inputs_are_errors() {
    let m = load("cls", &tensors("cls")).unwrap();
    assert!(m.forward(&[]).is_err());
    let e = m.forward(&[chunk(&[2, 99, 3])]).unwrap_err().to_string();
    assert!(e.contains("99"), "{e}");
    let e = m.forward(&[chunk(&[2; 17])]).unwrap_err().to_string();
    assert!(e.contains("17 ids"), "{e}");
    let mut cfg: serde_json::Value = serde_json::from_slice(&config("cls")).unwrap();
    cfg["hidden_act"] = json!("gelu_new");
    let e = IcdModel::load(&serde_json::to_vec(&cfg).unwrap(), &safetensors(&tensors("cls")), &Device::Cpu).err().unwrap().to_string();
    assert!(e.contains("config.json") && e.contains("gelu_new"), "{e}");
    assert!(IcdModel::load(&config("cls"), b"not safetensors", &Device::Cpu).is_err());
}
