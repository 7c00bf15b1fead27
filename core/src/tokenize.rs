//! Tokenization and chunking of a note, shared by the browser, the CLI and the trainer.
//!
//! The trainer calls the same [`NoteTokenizer::chunks`], so training and inference cut a
//! note into identical windows by construction (see `docs/checkpoint-format.md`, steps 1-2).
//!
//! Offsets are **byte** offsets into the original text (`&text[start..end]` is the
//! token's source span); the web app maps them to UTF-16 positions itself.

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::Tokenizer;

#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    #[error("invalid tokenizer.json: {0}")]
    TokenizerJson(String),
    #[error("invalid vocab.txt: {0}")]
    Vocab(String),
    #[error("the tokenizer's vocabulary has no {0} token")]
    MissingSpecial(&'static str),
    #[error("tokenizing failed: {0}")]
    Encode(String),
    #[error("cannot chunk with max_length {max_length} and overlap {overlap}: need max_length >= 3 and overlap < max_length - 2")]
    ChunkParams { max_length: usize, overlap: usize },
}

/// A note's tokens, without special tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    /// Byte range `(start, end)` of each token in the original text.
    pub offsets: Vec<(usize, usize)>,
    /// Index of the pre-tokenized word each token belongs to (word pieces of one word share
    /// it; punctuation is its own word). Used to merge evidence into whole words.
    pub words: Vec<u32>,
}

impl Encoded {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// One model input window: `[CLS] tokens [SEP]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// `[CLS]`, the window's tokens, `[SEP]`.
    pub ids: Vec<u32>,
    /// Index into [`Encoded`] of the first real token (`ids[1]`).
    pub token_start: usize,
    /// For a window of tokens gathered from several places (the diagnostic-statement window),
    /// the [`Encoded`] index of each real token; `None` for a contiguous window.
    pub gathered: Option<Vec<usize>>,
}

impl Chunk {
    /// A contiguous window.
    pub fn window(ids: Vec<u32>, token_start: usize) -> Self {
        Self { ids, token_start, gathered: None }
    }

    /// Number of real tokens (without `[CLS]`/`[SEP]`).
    pub fn n_tokens(&self) -> usize {
        self.ids.len() - 2
    }

    /// The [`Encoded`] index of real token `p` (`ids[p + 1]`).
    pub fn source(&self, p: usize) -> usize {
        match &self.gathered {
            Some(g) => g[p],
            None => self.token_start + p,
        }
    }
}

pub use crate::schema::checkpoint::InputLayout;

pub struct NoteTokenizer {
    inner: Tokenizer,
    cls_id: u32,
    sep_id: u32,
    pad_id: u32,
}

impl NoteTokenizer {
    /// From a Hugging Face `tokenizer.json`. Padding and truncation are turned off: the
    /// shipped all-MiniLM-L6-v2 file pads/truncates to 128, which would silently drop text.
    pub fn from_tokenizer_json(bytes: &[u8]) -> Result<Self, TokenizeError> {
        let mut inner = Tokenizer::from_bytes(bytes).map_err(|e| TokenizeError::TokenizerJson(e.to_string()))?;
        inner.with_padding(None);
        inner.with_truncation(None).map_err(|e| TokenizeError::TokenizerJson(e.to_string()))?;
        Self::with_specials(inner)
    }

    /// A BERT WordPiece tokenizer from a `vocab.txt` (one token per line, id = line number),
    /// as shipped by Bio_ClinicalBERT. `lowercase` also strips accents, like BERT's
    /// `do_lower_case`.
    pub fn from_vocab_txt(text: &str, lowercase: bool) -> Result<Self, TokenizeError> {
        let mut vocab = ahash::AHashMap::new();
        for (i, line) in text.lines().enumerate() {
            // Windows line endings would otherwise end up inside tokens.
            let token = line.trim_end_matches('\r');
            if token.is_empty() {
                continue;
            }
            let id = u32::try_from(i).map_err(|_| TokenizeError::Vocab("more than u32::MAX lines".into()))?;
            if vocab.insert(token.to_string(), id).is_some() {
                return Err(TokenizeError::Vocab(format!("token {token:?} appears twice (line {})", i + 1)));
            }
        }
        if !vocab.contains_key("[UNK]") {
            return Err(TokenizeError::MissingSpecial("[UNK]"));
        }
        let cls = *vocab.get("[CLS]").ok_or(TokenizeError::MissingSpecial("[CLS]"))?;
        let sep = *vocab.get("[SEP]").ok_or(TokenizeError::MissingSpecial("[SEP]"))?;
        let model = WordPiece::builder()
            .vocab(vocab)
            .unk_token("[UNK]".into())
            .continuing_subword_prefix("##".into())
            .max_input_chars_per_word(100)
            .build()
            .map_err(|e| TokenizeError::Vocab(e.to_string()))?;
        let mut inner = Tokenizer::new(model);
        inner.with_normalizer(Some(BertNormalizer::new(true, true, Some(lowercase), lowercase))).map_err(|e| TokenizeError::Vocab(e.to_string()))?;
        inner.with_pre_tokenizer(Some(BertPreTokenizer));
        // Not used by `encode` (no special tokens), but keeps the saved tokenizer.json a
        // complete BERT tokenizer for other tools.
        inner.with_post_processor(Some(BertProcessing::new(("[SEP]".into(), sep), ("[CLS]".into(), cls))));
        inner.with_decoder(Some(WordPieceDecoder::new("##".into(), true)));
        Self::with_specials(inner)
    }

    fn with_specials(inner: Tokenizer) -> Result<Self, TokenizeError> {
        let id = |t: &'static str| inner.token_to_id(t).ok_or(TokenizeError::MissingSpecial(t));
        Ok(Self { cls_id: id("[CLS]")?, sep_id: id("[SEP]")?, pad_id: id("[PAD]")?, inner })
    }

    /// The tokenizer as a Hugging Face `tokenizer.json` (padding and truncation off).
    pub fn to_tokenizer_json(&self) -> Result<String, TokenizeError> {
        self.inner.to_string(false).map_err(|e| TokenizeError::TokenizerJson(e.to_string()))
    }

    pub fn cls_id(&self) -> u32 {
        self.cls_id
    }

    pub fn sep_id(&self) -> u32 {
        self.sep_id
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The vocabulary string of a token id (e.g. `##itis`), for display and debugging.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Tokenizes `text` without special tokens; offsets are byte offsets into `text`.
    pub fn encode(&self, text: &str) -> Result<Encoded, TokenizeError> {
        let enc = self.inner.encode(text, false).map_err(|e| TokenizeError::Encode(e.to_string()))?;
        let ids = enc.get_ids().to_vec();
        let offsets = enc.get_offsets().to_vec();
        // Without special tokens every token has a word; fall back to its own index anyway
        // so a surprising tokenizer.json cannot merge unrelated tokens.
        let words = enc.get_word_ids().iter().enumerate().map(|(i, w)| w.unwrap_or(u32::MAX - i as u32)).collect();
        Ok(Encoded { ids, offsets, words })
    }

    /// Cuts a note into `[CLS] .. [SEP]` windows of at most `max_length` ids: window
    /// `W = max_length - 2` real tokens, starting at `0, W - overlap, 2(W - overlap), ...`
    /// until the tokens are covered. An empty note gives one chunk `[CLS][SEP]`.
    pub fn chunks(&self, enc: &Encoded, max_length: usize, overlap: usize) -> Result<Vec<Chunk>, TokenizeError> {
        if max_length < 3 || overlap >= max_length - 2 {
            return Err(TokenizeError::ChunkParams { max_length, overlap });
        }
        let window = max_length - 2;
        let stride = window - overlap;
        let n = enc.ids.len();
        let mut out = Vec::with_capacity(n.div_ceil(stride).max(1));
        let mut start = 0;
        loop {
            let end = (start + window).min(n);
            let mut ids = Vec::with_capacity(end - start + 2);
            ids.push(self.cls_id);
            ids.extend_from_slice(&enc.ids[start..end]);
            ids.push(self.sep_id);
            out.push(Chunk::window(ids, start));
            if end >= n {
                break;
            }
            start += stride;
        }
        Ok(out)
    }

    /// One window of the tokens that lie inside `spans` (byte ranges, in order), at most
    /// `max_length - 2` of them, the first ones kept; `None` when no token lies inside.
    pub fn gathered_chunk(&self, enc: &Encoded, spans: &[(usize, usize)], max_length: usize) -> Option<Chunk> {
        let window = max_length.saturating_sub(2);
        let mut picked = Vec::new();
        let mut s = 0;
        for (i, &(start, end)) in enc.offsets.iter().enumerate() {
            while s < spans.len() && spans[s].1 <= start {
                s += 1;
            }
            if s == spans.len() || picked.len() == window {
                break;
            }
            if start >= spans[s].0 && end <= spans[s].1 {
                picked.push(i);
            }
        }
        if picked.is_empty() {
            return None;
        }
        let mut ids = Vec::with_capacity(picked.len() + 2);
        ids.push(self.cls_id);
        ids.extend(picked.iter().map(|&i| enc.ids[i]));
        ids.push(self.sep_id);
        Some(Chunk { ids, token_start: picked[0], gathered: Some(picked) })
    }

    /// The model input of a note: [`NoteTokenizer::chunks`], preceded for
    /// [`InputLayout::DiagnosticFirst`] by the window of its diagnostic sections.
    /// The trainer and [`crate::IcdModel::predict`] both call this, so they cut notes alike.
    pub fn input_chunks(&self, text: &str, enc: &Encoded, max_length: usize, overlap: usize, layout: InputLayout) -> Result<Vec<Chunk>, TokenizeError> {
        let windows = self.chunks(enc, max_length, overlap)?;
        match layout {
            InputLayout::Windows => Ok(windows),
            InputLayout::DiagnosticFirst => {
                let spans = crate::sections::diagnostic_spans(text);
                Ok(self.gathered_chunk(enc, &spans, max_length).into_iter().chain(windows).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A tiny vocabulary, enough to check chunk arithmetic without model files.
    const VOCAB: &str = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\nd\ne\n##s\n.\n";

    fn tok() -> NoteTokenizer {
        NoteTokenizer::from_vocab_txt(VOCAB, true).unwrap()
    }

    #[test]
    fn specials_come_from_the_vocab() {
        let t = tok();
        assert_eq!((t.pad_id(), t.cls_id(), t.sep_id()), (0, 2, 3));
    }

    #[test]
    fn empty_note_is_one_empty_chunk() {
        let t = tok();
        let enc = t.encode("").unwrap();
        assert!(enc.is_empty());
        let chunks = t.chunks(&enc, 8, 0).unwrap();
        assert_eq!(chunks, vec![Chunk::window(vec![2, 3], 0)]);
    }

    #[test]
    fn windows_follow_the_contract() {
        let t = tok();
        // 10 tokens: a b c d e a b c d e
        let enc = t.encode("A b c d e a b c d E").unwrap();
        assert_eq!(enc.ids, vec![5, 6, 7, 8, 9, 5, 6, 7, 8, 9]);
        // W = 4, stride 4: starts 0, 4, 8
        let c = t.chunks(&enc, 6, 0).unwrap();
        assert_eq!(c.iter().map(|c| c.token_start).collect::<Vec<_>>(), vec![0, 4, 8]);
        assert_eq!(c[2].ids, vec![2, 8, 9, 3]);
        // W = 4, overlap 1, stride 3: starts 0, 3, 6 (6 + 4 = 10 covers the end)
        let c = t.chunks(&enc, 6, 1).unwrap();
        assert_eq!(c.iter().map(|c| c.token_start).collect::<Vec<_>>(), vec![0, 3, 6]);
        assert_eq!(c[1].ids, vec![2, 8, 9, 5, 6, 3]);
        // Exactly one full window: no empty trailing chunk.
        let c = t.chunks(&enc, 12, 0).unwrap();
        assert_eq!(c.len(), 1);
        assert!(t.chunks(&enc, 6, 4).is_err());
        assert!(t.chunks(&enc, 2, 0).is_err());
    }

    #[test]
    fn offsets_are_bytes_and_pieces_share_a_word() {
        let t = tok();
        let text = "é as.";
        let enc = t.encode(text).unwrap();
        // "é" -> "e" after accent stripping; "as" -> a ##s; "." alone.
        assert_eq!(enc.ids, vec![9, 5, 10, 11]);
        assert_eq!(enc.offsets, vec![(0, 2), (3, 4), (4, 5), (5, 6)]);
        assert_eq!(enc.words[1], enc.words[2]);
        assert_ne!(enc.words[2], enc.words[3]);
    }

    #[test]
    fn diagnostic_first_puts_the_diagnostic_sections_in_a_window_of_their_own() {
        let t = tok();
        let text = "a b\nIMPRESSION: c d\nPLAN: e\n";
        let enc = t.encode(text).unwrap();
        let c = t.input_chunks(text, &enc, 6, 0, InputLayout::DiagnosticFirst).unwrap();
        // "impression" is [UNK]; the gathered window holds it, ":" is no token here, then c d.
        let g = c[0].gathered.as_ref().unwrap();
        let words: Vec<&str> = g.iter().map(|&i| &text[enc.offsets[i].0..enc.offsets[i].1]).collect();
        assert_eq!(words, vec!["IMPRESSION", ":", "c", "d"]);
        assert_eq!(c[0].ids.len(), 6);
        assert_eq!((0..4).map(|p| c[0].source(p)).collect::<Vec<_>>(), *g);
        // Then the plain windows, unchanged.
        assert_eq!(c[1..], t.chunks(&enc, 6, 0).unwrap()[..]);
        // Truncated to the window; none without diagnostic sections; windows layout unchanged.
        let c = t.input_chunks(text, &enc, 4, 0, InputLayout::DiagnosticFirst).unwrap();
        assert_eq!(c[0].n_tokens(), 2);
        let plain = "a b\nPLAN: e\n";
        let enc = t.encode(plain).unwrap();
        assert_eq!(t.input_chunks(plain, &enc, 6, 0, InputLayout::DiagnosticFirst).unwrap(), t.chunks(&enc, 6, 0).unwrap());
        assert_eq!(t.input_chunks(text, &t.encode(text).unwrap(), 6, 0, InputLayout::Windows).unwrap(), t.chunks(&t.encode(text).unwrap(), 6, 0).unwrap());
    }

    #[test]
    fn vocab_tokenizer_round_trips_through_json() {
        let t = tok();
        let json = t.to_tokenizer_json().unwrap();
        let back = NoteTokenizer::from_tokenizer_json(json.as_bytes()).unwrap();
        let text = "Abcde as. zzz";
        assert_eq!(t.encode(text).unwrap(), back.encode(text).unwrap());
    }
}
