//! Tensor names: the checkpoint contract's (docs/checkpoint-format.md) and how a base model's
//! names map onto them. One mapping for the trainer (loading a base model) and the model
//! loader (checkpoints, bundles).

/// Maps a stored name onto the contract's; `None` for tensors no model uses (pooler,
/// pre-training heads, `position_ids` buffers). Wrappers' `model.` / `module.` prefixes are
/// stripped, sentence-transformers' MiniLM gets its missing `bert.` prefix, and old BERT
/// checkpoints' LayerNorm `gamma` / `beta` become `weight` / `bias`. Head tensors
/// (`classifier.*`, `label_attention.*`) keep their names.
pub fn canonical_name(name: &str) -> Option<String> {
    let mut name = name;
    for prefix in ["model.", "module."] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest;
        }
    }
    let name =
        if name.starts_with("embeddings.") || name.starts_with("encoder.") || name.starts_with("pooler.") { format!("bert.{name}") } else { name.to_string() };
    if name.starts_with("bert.pooler.") || name.starts_with("cls.") || name.ends_with("position_ids") {
        return None;
    }
    let name = match name.strip_suffix(".gamma") {
        Some(p) if p.ends_with("LayerNorm") => format!("{p}.weight"),
        _ => match name.strip_suffix(".beta") {
            Some(p) if p.ends_with("LayerNorm") => format!("{p}.bias"),
            _ => name,
        },
    };
    Some(name)
}

/// [`canonical_name`] for the encoder's tensors only (`bert.embeddings.*`, `bert.encoder.*`):
/// what a base model contributes to a new model.
pub fn encoder_name(name: &str) -> Option<String> {
    canonical_name(name).filter(|n| n.starts_with("bert.embeddings.") || n.starts_with("bert.encoder."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_base_model_names() {
        assert_eq!(canonical_name("embeddings.word_embeddings.weight").unwrap(), "bert.embeddings.word_embeddings.weight");
        assert_eq!(canonical_name("bert.encoder.layer.0.output.LayerNorm.gamma").unwrap(), "bert.encoder.layer.0.output.LayerNorm.weight");
        assert_eq!(canonical_name("bert.embeddings.LayerNorm.beta").unwrap(), "bert.embeddings.LayerNorm.bias");
        assert_eq!(canonical_name("module.bert.encoder.layer.3.output.LayerNorm.gamma").unwrap(), "bert.encoder.layer.3.output.LayerNorm.weight");
        assert_eq!(canonical_name("model.embeddings.word_embeddings.weight").unwrap(), "bert.embeddings.word_embeddings.weight");
        assert_eq!(canonical_name("classifier.weight").unwrap(), "classifier.weight");
        assert!(canonical_name("pooler.dense.weight").is_none());
        assert!(canonical_name("bert.pooler.dense.weight").is_none());
        assert!(canonical_name("cls.predictions.bias").is_none());
        assert!(canonical_name("bert.embeddings.position_ids").is_none());
        // A plain `beta` that is not a LayerNorm's keeps its name.
        assert_eq!(canonical_name("label_attention.beta").unwrap(), "label_attention.beta");
    }

    #[test]
    fn encoder_names_only() {
        assert_eq!(encoder_name("encoder.layer.1.attention.self.query.weight").unwrap(), "bert.encoder.layer.1.attention.self.query.weight");
        assert!(encoder_name("classifier.weight").is_none());
        assert!(encoder_name("cls.predictions.bias").is_none());
    }
}
