//! Evidence display: the note cut into highlighted pieces. The spans come from the model
//! (`icd_core::Coder`: label attention, or sentence occlusion for a `cls` head).

use icd_core::assertion::Assertion;

use crate::protocol::Span;

/// The note cut into pieces for display: `(text, Some((weight, assertion)))` for highlighted
/// pieces. Overlapping spans keep the larger weight (and its span's assertion); out-of-range
/// or mid-character offsets are clamped.
pub fn segments(text: &str, spans: &[Span]) -> Vec<(String, Option<(f32, Assertion)>)> {
    let n = text.len();
    let mut weight = vec![0f32; n];
    let mut asserted = vec![Assertion::Present; n];
    for s in spans {
        let (mut a, mut b) = (s.start.min(n), s.end.min(n));
        while a > 0 && !text.is_char_boundary(a) {
            a -= 1;
        }
        while b < n && !text.is_char_boundary(b) {
            b += 1;
        }
        let w = s.weight.max(f32::MIN_POSITIVE);
        for i in a..b {
            if w > weight[i] {
                weight[i] = w;
                asserted[i] = s.assertion;
            }
        }
    }
    let mut out: Vec<(String, Option<(f32, Assertion)>)> = Vec::new();
    let mut start = 0;
    for i in 1..=n {
        if i == n || (text.is_char_boundary(i) && (weight[i] != weight[start] || asserted[i] != asserted[start])) {
            let w = weight[start];
            out.push((text[start..i].to_string(), (w > 0.0).then_some((w, asserted[start]))));
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_text_and_mark_spans() {
        let span = |start, end, weight, assertion| Span { start, end, weight, assertion };
        let spans = [span(8, 16, 0.5, Assertion::Present), span(12, 20, 1.0, Assertion::Negated)];
        let segs = segments("Patient presents with", &spans);
        let joined: String = segs.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(joined, "Patient presents with");
        assert_eq!(segs[1], ("pres".to_string(), Some((0.5, Assertion::Present))));
        assert_eq!(segs[2], ("ents wit".to_string(), Some((1.0, Assertion::Negated))));
        // Offsets inside a multi-byte character do not panic.
        let segs = segments("é é", &[span(1, 2, 1.0, Assertion::Present)]);
        assert_eq!(segs.iter().map(|s| s.0.as_str()).collect::<String>(), "é é");
    }
}
