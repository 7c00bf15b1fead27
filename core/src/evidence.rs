//! Evidence: the pieces of a note that support a code, and what the note asserts about them.
//!
//! - [`attention`]: a `label_attention` head's attention over the note's words.
//! - [`occlusion_spans`] and `Occlusion`: a `cls` head's sentences and how much each one's
//!   removal lowers a label's score (the forward passes themselves run in [`crate::Coder`]).
//! - `mention_in` / `demote_unasserted`: each span's [`crate::assertion`], judged at the word
//!   naming the code's condition, and the codes whose only evidence the note denies.
//! - [`relative_weights`]: weights scaled to the strongest span (the page's highlight).

use crate::assertion::Assertion;
use crate::model::Prediction;
use crate::schema::prediction::{CodedLabel, EvidenceSpan};
use crate::tokenize::{Chunk, Encoded};

/// Evidence spans returned per code.
pub const EVIDENCE_TOP_N: usize = 5;
/// At most this many occlusion passes per note (the `cls` head's evidence).
pub const MAX_OCCLUSION_SPANS: usize = 40;

/// A word of the note and how much one label's attention it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
    pub weight: f32,
}

/// A token's weight is the **sum** of its attention over every chunk it appears in (with
/// `chunk_overlap > 0` a token can be in two chunks; the attention is one distribution over
/// all positions, so summing keeps the weights a share of the label's total attention).
/// Word pieces of one word are summed into one span from the first piece's start to the last
/// piece's end. `[CLS]`/`[SEP]` have no text and are skipped, so weights sum to at most 1.
/// Empty for the `cls` head (no attention) or an out-of-range label.
pub fn attention(enc: &Encoded, chunks: &[Chunk], pred: &Prediction, label: usize, top_n: usize) -> Vec<Span> {
    let Some(att) = &pred.attention else {
        return Vec::new();
    };
    if label >= att.n_labels || att.n_tokens != chunks.iter().map(|c| c.ids.len()).sum::<usize>() {
        return Vec::new();
    }
    let row = att.label(label);
    let mut per_token = vec![0f32; enc.len()];
    let mut t = 0;
    for c in chunks {
        // Positions 1..len-1 are the real tokens token_start.. of the note.
        for p in 1..c.ids.len() - 1 {
            if let Some(w) = per_token.get_mut(c.source(p - 1)) {
                *w += row[t + p];
            }
        }
        t += c.ids.len();
    }
    let mut spans: Vec<Span> = Vec::new();
    let mut last_word = None;
    for (i, &w) in per_token.iter().enumerate() {
        let (start, end) = enc.offsets[i];
        match spans.last_mut() {
            Some(span) if last_word == Some(enc.words[i]) => {
                span.end = end;
                span.weight += w;
            }
            _ => spans.push(Span { start, end, weight: w }),
        }
        last_word = Some(enc.words[i]);
    }
    spans.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.start.cmp(&b.start)));
    spans.truncate(top_n);
    spans
}

/// The `cls` head's evidence: the note's sentences and each one's score drop per label.
pub(crate) struct Occlusion {
    pub spans: Vec<(usize, usize)>,
    /// `[span][label]`: score without the span subtracted from the full note's score.
    pub drops: Vec<Vec<f32>>,
}

impl Occlusion {
    /// From the full note's scores and the scores without each span.
    pub fn new(spans: Vec<(usize, usize)>, base: &[f32], occluded: Vec<Vec<f32>>) -> Self {
        let drops = occluded.into_iter().map(|o| base.iter().zip(&o).map(|(b, o)| b - o).collect()).collect();
        Occlusion { spans, drops }
    }

    pub fn evidence(&self, label: usize) -> Vec<(usize, usize, f32)> {
        let mut out: Vec<(usize, usize, f32)> = self.spans.iter().zip(&self.drops).map(|(&(s, e), d)| (s, e, d[label])).filter(|x| x.2 > 0.0).collect();
        out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        out.truncate(EVIDENCE_TOP_N);
        out
    }
}

/// `n` occlusion passes cut into `parts` contiguous shares, as even as can be (empty shares
/// when `parts > n`): how the page splits a note's passes across its workers.
pub fn shares(n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.max(1);
    (0..parts).map(|p| n * p / parts..n * (p + 1) / parts).collect()
}

/// The note's sentences as byte ranges (whitespace trimmed): a sentence ends after `.`, `!`,
/// `?` or `;` followed by whitespace, or at a line break. More than `max` sentences are merged
/// into `max` runs of neighbours (each run one occlusion pass).
pub fn occlusion_spans(text: &str, max: usize) -> Vec<(usize, usize)> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let end_here = match c {
            '\n' | '\r' => Some(i),
            '.' | '!' | '?' | ';' => {
                let next = bytes.get(i + 1);
                (next.is_none() || next.is_some_and(|b| b.is_ascii_whitespace())).then_some(i + 1)
            }
            _ => None,
        };
        if let Some(end) = end_here {
            push_trimmed(text, start, end, &mut sentences);
            start = end;
        }
    }
    push_trimmed(text, start, text.len(), &mut sentences);
    if max == 0 || sentences.len() <= max {
        return sentences;
    }
    let per = sentences.len().div_ceil(max);
    sentences.chunks(per).map(|run| (run[0].0, run[run.len() - 1].1)).collect()
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    let piece = &text[start..end];
    let lead = piece.len() - piece.trim_start().len();
    let trimmed = piece.trim();
    if !trimmed.is_empty() {
        out.push((start + lead, start + lead + trimmed.len()));
    }
}

/// Where in an evidence span the code's condition is named: the first word that shares a
/// 5-letter stem with a content word of the code's title ("Denies chest pain." for R07.9
/// "Chest pain, unspecified" -> "chest"), so a sentence's own cue ("denies") scopes over it;
/// otherwise the span's last word, so the sentence's own cues reach it ("Mother has breast
/// cancer." for an asthma code is still a relative's sentence). Attention spans are single words.
pub(crate) fn mention_in(text: &str, span: std::ops::Range<usize>, title: &str) -> std::ops::Range<usize> {
    const FILLER: &[&str] = &[
        "unspecified",
        "other",
        "with",
        "without",
        "and",
        "due",
        "site",
        "type",
        "part",
        "specified",
        "classified",
        "elsewhere",
        "condition",
        "disorder",
        "encounter",
    ];
    let stem = |w: &str| w.chars().take(5).collect::<String>().to_lowercase();
    let stems: Vec<String> =
        title.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 4 && !FILLER.contains(&w.to_lowercase().as_str())).map(stem).collect();
    let body = &text[span.clone()];
    let mut at = 0;
    let mut last = None;
    for word in body.split(|c: char| !c.is_alphanumeric()) {
        let start = at;
        at += word.len() + body[at + word.len()..].chars().next().map_or(0, char::len_utf8);
        if word.is_empty() {
            continue;
        }
        let here = span.start + start..span.start + start + word.len();
        if word.len() >= 4 && stems.contains(&stem(word)) {
            return here;
        }
        last = Some(here);
    }
    last.unwrap_or(span)
}

/// A code whose every evidence span the note denies or gives to a relative ("denies chest
/// pain", "mother had breast cancer") moves below the codes the note asserts, keeping its
/// score, with `demoted` saying which. A family assertion wins over a negated one.
pub(crate) fn demote_unasserted(coded: &mut [CodedLabel]) {
    for c in coded.iter_mut() {
        let denied = |a: Assertion| matches!(a, Assertion::Negated | Assertion::Family);
        if !c.evidence.is_empty() && c.evidence.iter().all(|e| denied(e.assertion)) {
            let family = c.evidence.iter().any(|e| e.assertion == Assertion::Family);
            c.demoted = Some(if family { Assertion::Family } else { Assertion::Negated });
        }
    }
    // Stable: the asserted codes keep their order, then the demoted ones keep theirs.
    coded.sort_by_key(|c| c.demoted.is_some());
}

/// Each span's weight over the strongest one's (0..=1; all zero when no weight is positive).
pub fn relative_weights(spans: &[EvidenceSpan]) -> Vec<f32> {
    let max = spans.iter().map(|s| s.weight).fold(0f32, f32::max);
    spans.iter().map(|s| if max > 0.0 { s.weight / max } else { 0.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::{demote_unasserted, mention_in, occlusion_spans, relative_weights, shares};

    #[test]
    fn shares_cover_every_pass_once_and_evenly() {
        for n in 0..12 {
            for parts in 1..6 {
                let s = shares(n, parts);
                assert_eq!(s.len(), parts);
                assert_eq!(s.iter().flat_map(|r| r.clone()).collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
                let (lo, hi) = (s.iter().map(|r| r.len()).min().unwrap(), s.iter().map(|r| r.len()).max().unwrap());
                assert!(hi - lo <= 1, "{n} in {parts}: {s:?}");
            }
        }
        assert_eq!(shares(3, 0), vec![0..3]);
    }
    use crate::assertion::{assert_mention, Assertion};
    use crate::schema::prediction::{CodedLabel, EvidenceSpan};

    #[test]
    fn weights_relative_to_the_strongest() {
        let span = |weight| EvidenceSpan { start: 0, end: 1, text: "x".into(), weight, assertion: Assertion::Present };
        assert_eq!(relative_weights(&[span(0.5), span(0.25), span(0.0)]), [1.0, 0.5, 0.0]);
        assert_eq!(relative_weights(&[span(0.0)]), [0.0]);
        assert!(relative_weights(&[]).is_empty());
    }

    #[test]
    fn a_sentence_span_is_judged_at_the_word_naming_the_condition() {
        let t = "Cough for 3 days. Denies chest pain. FAMILY HISTORY: Mother had breast cancer.";
        let s = t.find("Denies").unwrap()..t.find(" FAMILY").unwrap();
        let m = mention_in(t, s.clone(), "Chest pain, unspecified");
        assert_eq!(&t[m.clone()], "chest");
        assert_eq!(assert_mention(t, m), Assertion::Negated);
        let s = t.find("Mother").unwrap()..t.len();
        let m = mention_in(t, s.clone(), "Malignant neoplasm of unspecified site of unspecified female breast");
        assert_eq!((&t[m.clone()], assert_mention(t, m)), ("breast", Assertion::Family));
        assert_eq!(&t[mention_in(t, 0..17, "Essential (primary) hypertension")], "days", "no title word: the last word");
        let s = t.find("Mother").unwrap()..t.len();
        assert_eq!(assert_mention(t, mention_in(t, s, "Unspecified asthma, uncomplicated")), Assertion::Family);
        assert_eq!(mention_in(t, 3..3, "Cough"), 3..3, "an empty span stays as it is");
    }

    fn coded(code: &str, assertions: &[Assertion]) -> CodedLabel {
        let evidence = assertions.iter().map(|&assertion| EvidenceSpan { start: 0, end: 1, text: "x".into(), weight: 1.0, assertion }).collect();
        CodedLabel { evidence, ..CodedLabel::new(code, "", 0, 0.5) }
    }

    #[test]
    fn codes_the_note_denies_or_gives_to_a_relative_move_down() {
        let mut c = vec![
            coded("R07.9", &[Assertion::Negated]),
            coded("C50.919", &[Assertion::Family, Assertion::Negated]),
            coded("J20.9", &[Assertion::Present, Assertion::Negated]),
            coded("I10", &[]),
            coded("Z87.891", &[Assertion::Historical]),
        ];
        demote_unasserted(&mut c);
        let order: Vec<_> = c.iter().map(|c| (c.code.as_str(), c.demoted)).collect();
        assert_eq!(order, [("J20.9", None), ("I10", None), ("Z87.891", None), ("R07.9", Some(Assertion::Negated)), ("C50.919", Some(Assertion::Family))]);
    }

    #[test]
    fn sentences_split_and_merge() {
        let t = "Cough for 3 days. BP 140/90; on lisinopril.\nNo fever! Temp 37.2 today";
        let s: Vec<&str> = occlusion_spans(t, 40).iter().map(|&(a, b)| &t[a..b]).collect();
        assert_eq!(s, vec!["Cough for 3 days.", "BP 140/90;", "on lisinopril.", "No fever!", "Temp 37.2 today"]);
        let m = occlusion_spans(t, 2);
        assert_eq!(m.len(), 2);
        assert_eq!(&t[m[0].0..m[0].1], "Cough for 3 days. BP 140/90; on lisinopril.");
        assert_eq!(&t[m[1].0..m[1].1], "No fever! Temp 37.2 today");
        assert!(occlusion_spans("  \n ", 40).is_empty());
    }
}
