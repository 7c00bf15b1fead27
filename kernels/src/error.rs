//! What a kernel refuses: shapes that do not fit together, and inner dimensions that would
//! overflow the integer accumulators.

/// A kernel's input that does not fit its shape contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    #[error("int8 kernel: inner dimension {inp} exceeds {max} (i32 overflow)")]
    InnerTooLarge { inp: usize, max: usize },
    #[error("int8 kernel: weight has {len} values, not [{out}, {inp}]")]
    WeightShape { len: usize, out: usize, inp: usize },
    #[error("int8 kernel: bias has {bias} values, weight has {out} rows")]
    BiasLength { bias: usize, out: usize },
    #[error("int8 kernel: an input of {len} values is not rows of the {want} features the weight expects")]
    InputLength { len: usize, want: usize },
    #[error("layer norm: weight has {weight} values, bias {bias}")]
    NormParams { weight: usize, bias: usize },
    #[error("layer norm over {h} features: input of {len} values, residual {residual:?}")]
    NormInput { h: usize, len: usize, residual: Option<usize> },
    #[error("attention: {queries} query rows of a sequence of {s}")]
    QueryRows { queries: usize, s: usize },
    #[error("attention: qkv {qkv:?} is not [B, S, 3H] or mask {mask:?} is not [B, S]")]
    AttentionShape { qkv: Vec<usize>, mask: Vec<usize> },
    #[error("attention: hidden size {h} is not a multiple of {heads} heads")]
    Heads { h: usize, heads: usize },
}
