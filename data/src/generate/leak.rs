//! Leakage checks and the token estimate, shared by the generator, the importer and the card.

/// The first ICD-10 code-like token in `text`, if any: a letter, two digits, then either
/// nothing, a dot and 1-4 letters/digits, or 1-4 more upper-case letters/digits (the
/// undotted form), standing alone (no letter or digit right before or after).
/// Catches `J45.909`, `j45.909`, `J45909`, `I10`, `F32.A`, `S06.0X0A`; leaves `SpO2`,
/// `q12h`, `T4`, `C5-C6` alone.
pub fn find_code_like(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i + 3 <= n {
        let boundary_before = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary_before && b[i].is_ascii_alphabetic() && b[i + 1].is_ascii_digit() && b[i + 2].is_ascii_digit() {
            let mut j = i + 3;
            if j + 1 < n && b[j] == b'.' && b[j + 1].is_ascii_alphanumeric() {
                let mut k = j + 1;
                while k < n && k < j + 5 && b[k].is_ascii_alphanumeric() {
                    k += 1;
                }
                j = k;
            } else {
                let mut k = j;
                while k < n && k < j + 4 && (b[k].is_ascii_digit() || b[k].is_ascii_uppercase()) {
                    k += 1;
                }
                j = k;
            }
            if j >= n || !b[j].is_ascii_alphanumeric() {
                return Some(&text[i..j]);
            }
        }
        i += 1;
    }
    None
}

/// ASCII case-insensitive substring test (descriptions and terms are ASCII).
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_ascii_lowercase().contains(&needle.to_ascii_lowercase())
}

/// Case-insensitive whole-phrase test: `needle` found with no letter or digit right before
/// or after it ("asthma" is in "history of asthma." but not in "asthmatic").
pub fn contains_phrase_ci(haystack: &str, needle: &str) -> bool {
    contains_phrase_lc(&haystack.to_ascii_lowercase(), &needle.to_ascii_lowercase())
}

/// [`contains_phrase_ci`] for a haystack and needle already in ASCII lower case.
pub fn contains_phrase_lc(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let h = hay.as_bytes();
    hay.match_indices(needle).any(|(i, _)| {
        let end = i + needle.len();
        (i == 0 || !h[i - 1].is_ascii_alphanumeric()) && (end == h.len() || !h[end].is_ascii_alphanumeric())
    })
}

/// Token estimate used throughout (stated in the dataset card): BERT's basic pre-tokenizer,
/// i.e. each run of letters/digits is one token and each other non-space character is one.
/// WordPiece splits further, so a real model sees at least this many tokens.
pub fn estimate_tokens(text: &str) -> usize {
    let mut n = 0;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if !in_word {
                n += 1;
                in_word = true;
            }
        } else {
            in_word = false;
            if !c.is_whitespace() {
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_like_tokens() {
        for t in ["dx J45.909 today", "I10", "(E11.65)", "j45.909", "code J45909.", "F32.A", "S06.0X0A", "Z00.00;", "T78.3XXA"] {
            assert!(find_code_like(t).is_some(), "{t}");
        }
        for t in ["SpO2 98%", "q12h", "T4 normal", "C5-C6", "A1c 7.2%", "FEV1/FVC", "vitamin D3", "H2 blocker", "CA-125", "B-12", "x 10"] {
            assert_eq!(find_code_like(t), None, "{t}");
        }
        assert_eq!(find_code_like("see J45.909 and"), Some("J45.909"));
    }

    #[test]
    fn phrases_and_tokens() {
        assert!(contains_ci("History of ASTHMA", "asthma"));
        assert!(contains_phrase_ci("history of asthma.", "Asthma"));
        assert!(!contains_phrase_ci("asthmatic", "asthma"));
        assert_eq!(estimate_tokens("BP 120/80, HR 72."), 8);
        assert_eq!(estimate_tokens(""), 0);
    }
}
