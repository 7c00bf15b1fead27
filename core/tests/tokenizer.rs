//! The shipped all-MiniLM-L6-v2 tokenizer.json and a tokenizer built from its vocab.txt
//! (the Bio_ClinicalBERT layout) must agree, and offsets must slice the original text.

use std::path::{Path, PathBuf};

use icd_core::NoteTokenizer;

fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/all-MiniLM-L6-v2")
}

fn read(name: &str) -> Vec<u8> {
    let p = base().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}; scripts/setup.sh downloads the base model", p.display()))
}

const SENTENCES: &[&str] = &[
    "Patient presents with chronic cough and shortness of breath. History of asthma.",
    "Pt is a 67 y/o M w/ COPD, HTN and T2DM (HbA1c 8.1%); denies chest pain.",
    "Café-au-lait spots noted; pt’s BP 148/92 — f/u in 2 wks. Naïve to metformin.",
    "Acute exacerbation of chronic obstructive pulmonary disease with pneumonia, right lower lobe.",
    "  leading and trailing   whitespace\tand\ttabs\n",
];

fn json_tok() -> NoteTokenizer {
    NoteTokenizer::from_tokenizer_json(&read("tokenizer.json")).unwrap()
}

fn vocab_tok() -> NoteTokenizer {
    NoteTokenizer::from_vocab_txt(std::str::from_utf8(&read("vocab.txt")).unwrap(), true).unwrap()
}

#[test]
fn tokenizer_json_and_vocab_txt_agree() {
    let (a, b) = (json_tok(), vocab_tok());
    assert_eq!((a.cls_id(), a.sep_id(), a.pad_id()), (b.cls_id(), b.sep_id(), b.pad_id()));
    for s in SENTENCES {
        let (ea, eb) = (a.encode(s).unwrap(), b.encode(s).unwrap());
        assert_eq!(ea, eb, "{s:?}");
        assert!(!ea.ids.is_empty());
    }
}

#[test]
fn padding_and_truncation_are_off() {
    // The shipped file pads and truncates to 128.
    let t = json_tok();
    let short = t.encode("History of asthma.").unwrap();
    assert_eq!(short.len(), 4, "{:?}", short.ids);
    let long = SENTENCES[1].repeat(20);
    let enc = t.encode(&long).unwrap();
    assert!(enc.len() > 300, "{}", enc.len());
    assert!(!enc.ids.contains(&t.pad_id()));
    assert_eq!(enc, vocab_tok().encode(&long).unwrap());
}

#[test]
fn offsets_slice_back_to_the_tokens() {
    let t = json_tok();
    for s in SENTENCES {
        let enc = t.encode(s).unwrap();
        for (i, (&id, &(start, end))) in enc.ids.iter().zip(&enc.offsets).enumerate() {
            let piece = t.id_to_token(id).unwrap();
            let piece = piece.trim_start_matches("##");
            let src = &s[start..end]; // panics if not on a char boundary
            if piece != "[UNK]" {
                // Lower-cased and accent-stripped, the source span is the vocab piece.
                let folded: String = src.to_lowercase().replace('é', "e").replace('ï', "i");
                assert_eq!(folded, piece, "token {i} of {s:?}");
            }
        }
    }
    let s = SENTENCES[0];
    let enc = t.encode(s).unwrap();
    let words: Vec<&str> = enc.offsets.iter().map(|&(a, b)| &s[a..b]).collect();
    assert_eq!(&words[..5], &["Patient", "presents", "with", "chronic", "cough"]);
    // Byte offsets: after "Café" (5 bytes) the next token starts at byte 5.
    let enc = t.encode("Café-au").unwrap();
    assert_eq!(enc.offsets[0], (0, 5));
    assert_eq!(enc.offsets[1], (5, 6));
}

#[test]
fn vocab_tokenizer_saves_as_tokenizer_json() {
    let b = vocab_tok();
    let json = b.to_tokenizer_json().unwrap();
    let back = NoteTokenizer::from_tokenizer_json(json.as_bytes()).unwrap();
    for s in SENTENCES {
        assert_eq!(back.encode(s).unwrap(), b.encode(s).unwrap());
    }
}

#[test]
fn chunks_cover_a_long_note() {
    let t = json_tok();
    let enc = t.encode(&SENTENCES[3].repeat(40)).unwrap();
    for (max_length, overlap) in [(512, 0), (128, 16), (64, 40)] {
        let chunks = t.chunks(&enc, max_length, overlap).unwrap();
        let w = max_length - 2;
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.token_start, i * (w - overlap));
            assert!(c.ids.len() <= max_length);
            assert_eq!((c.ids[0], *c.ids.last().unwrap()), (t.cls_id(), t.sep_id()));
            assert_eq!(&c.ids[1..c.ids.len() - 1], &enc.ids[c.token_start..c.token_start + c.n_tokens()]);
        }
        let last = chunks.last().unwrap();
        assert_eq!(last.token_start + last.n_tokens(), enc.len());
        // The previous chunk did not already reach the end.
        if chunks.len() > 1 {
            let prev = &chunks[chunks.len() - 2];
            assert!(prev.token_start + prev.n_tokens() < enc.len());
        }
    }
}
