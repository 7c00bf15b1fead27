//! Per-note writing style (header spelling, list style, abbreviation rate) and the
//! small text utilities the composer uses: random picks, abbreviations, typos.

use std::cell::RefCell;

use rand::distributions::uniform::{SampleRange, SampleUniform};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::vocab::{headers, Sec, ABBREVIATIONS};

/// The note's random stream, shared by reference so nested phrase builders can all draw
/// from it (`f(rng, g(rng))`); draws happen in evaluation order, so output stays deterministic.
pub struct R(RefCell<ChaCha8Rng>);

impl R {
    pub fn new(rng: ChaCha8Rng) -> Self {
        R(RefCell::new(rng))
    }

    pub fn gen_range<T: SampleUniform, G: SampleRange<T>>(&self, range: G) -> T {
        self.0.borrow_mut().gen_range(range)
    }

    pub fn gen_f64(&self) -> f64 {
        self.0.borrow_mut().gen::<f64>()
    }

    pub fn shuffle<T>(&self, v: &mut [T]) {
        v.shuffle(&mut *self.0.borrow_mut());
    }
}

pub fn chance(rng: &R, p: f64) -> bool {
    rng.gen_f64() < p
}

pub fn pick<'a, T>(rng: &R, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// [`pick`] for lists of strings, as `&str`.
pub fn pk<'a, T: AsRef<str>>(rng: &R, items: &'a [T]) -> &'a str {
    items[rng.gen_range(0..items.len())].as_ref()
}

/// Up to `n` distinct items, in random order.
pub fn pick_n<T: Clone>(rng: &R, items: &[T], n: usize) -> Vec<T> {
    let mut v: Vec<T> = items.to_vec();
    rng.shuffle(&mut v);
    v.truncate(n);
    v
}

pub fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Ends with a period unless it already ends in punctuation.
pub fn sentence(s: &str) -> String {
    let s = cap(s.trim());
    if s.ends_with(['.', '!', '?', ':']) {
        s
    } else {
        format!("{s}.")
    }
}

/// "a", "a and b", "a, b, and c" (Oxford comma or not).
pub fn prose_list(rng: &R, items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        2 => format!("{} and {}", items[0], items[1]),
        n => {
            let oxford = if chance(rng, 0.5) { "," } else { "" };
            format!("{}{oxford} and {}", items[..n - 1].join(", "), items[n - 1])
        }
    }
}

#[derive(Debug, Clone)]
pub struct Style {
    /// 0 short ("HPI"), 1 title ("History of Present Illness"), 2 upper, 3 mixed alternates.
    pub hcase: u8,
    /// "HPI: text" on one line vs header on its own line.
    pub inline: bool,
    /// Blank line between sections.
    pub blank: bool,
    /// Lists as "- item" lines vs prose.
    pub bullets: bool,
    /// Numbered problem list in the assessment.
    pub numbered: bool,
    /// Chance that each abbreviable phrase is abbreviated.
    pub abbrev: f64,
    /// Header suffix: ":" or " -" or "".
    pub colon: &'static str,
}

impl Style {
    pub fn random(rng: &R, terse: bool) -> Self {
        let hcase = *pick(rng, &[0u8, 1, 1, 2, 2, 2, 3]);
        Style {
            hcase: if terse && chance(rng, 0.6) { 0 } else { hcase },
            inline: chance(rng, if terse { 0.8 } else { 0.45 }),
            blank: chance(rng, 0.5),
            bullets: chance(rng, 0.35),
            numbered: chance(rng, 0.65),
            abbrev: if terse { rng.gen_range(0.3..0.8) } else { *pick(rng, &[0.0, 0.05, 0.15, 0.3, 0.5]) },
            colon: pick::<&str>(rng, &[":", ":", ":", ":", " -"]),
        }
    }

    /// Dictated-chart look (v2 long documents): mostly ALL-CAPS headers with colons,
    /// sometimes without a colon or in Title Case; few abbreviations.
    pub fn chart(rng: &R) -> Self {
        Style {
            hcase: *pick(rng, &[2u8, 2, 2, 2, 2, 2, 2, 1, 1, 3]),
            inline: chance(rng, 0.5),
            blank: chance(rng, 0.6),
            bullets: chance(rng, 0.2),
            numbered: chance(rng, 0.85),
            abbrev: *pick(rng, &[0.0, 0.0, 0.05, 0.1]),
            colon: pick::<&str>(rng, &[":", ":", ":", ":", ":", ":", ""]),
        }
    }

    /// A section with a header outside [`Sec`]: `upper` ("PREOPERATIVE DIAGNOSIS") or its
    /// Title Case form, by the style's header case.
    pub fn custom(&self, rng: &R, upper: &str, title: &str, body: &str) -> String {
        if body.trim().is_empty() {
            return String::new();
        }
        let h = match self.hcase {
            1 => title,
            3 if chance(rng, 0.3) => title,
            _ => upper,
        };
        let colon = if self.colon == " -" { ":" } else { self.colon };
        if self.inline && !body.contains('\n') {
            format!("{h}{colon} {body}")
        } else {
            format!("{h}{colon}\n{body}")
        }
    }

    pub fn header(&self, rng: &R, s: Sec) -> String {
        let h = headers(s);
        let idx = match self.hcase {
            0 => 0,
            1 => 1,
            2 => 2,
            _ => rng.gen_range(0..h.len()),
        };
        let mut t = h[idx].to_string();
        if self.hcase == 2 {
            t = t.to_uppercase();
        }
        t
    }

    /// Renders a section; empty bodies are dropped.
    pub fn section(&self, rng: &R, s: Sec, body: &str) -> String {
        if body.trim().is_empty() {
            return String::new();
        }
        let h = self.header(rng, s);
        if self.inline && !body.contains('\n') {
            format!("{h}{} {body}", self.colon)
        } else {
            format!("{h}{}\n{body}", if self.colon == " -" { ":" } else { self.colon })
        }
    }

    pub fn list(&self, rng: &R, items: &[String]) -> String {
        if items.is_empty() {
            return String::new();
        }
        if self.bullets && items.len() > 1 {
            items.iter().map(|i| format!("- {i}")).collect::<Vec<_>>().join("\n")
        } else if chance(rng, 0.5) {
            items.join(", ")
        } else {
            items.join("; ")
        }
    }

    pub fn join_sections(&self, parts: &[String]) -> String {
        let sep = if self.blank { "\n\n" } else { "\n" };
        parts.iter().filter(|p| !p.trim().is_empty()).cloned().collect::<Vec<_>>().join(sep)
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Replaces whole-word occurrences of the long forms, each with probability `rate`.
pub fn abbreviate(rng: &R, text: &str, rate: f64) -> String {
    if rate <= 0.0 {
        return text.to_string();
    }
    let mut out = text.to_string();
    for (long, short) in ABBREVIATIONS {
        // "&" for "and" only in very terse notes.
        let r = if *long == "and" { rate * 0.3 } else { rate };
        if !out.contains(long) {
            continue;
        }
        let bytes = out.as_bytes();
        let mut res = String::with_capacity(out.len());
        let mut i = 0;
        let mut last = 0;
        while let Some(pos) = out[i..].find(long) {
            let start = i + pos;
            let end = start + long.len();
            let ok = (start == 0 || !is_word_byte(bytes[start - 1])) && (end == out.len() || !is_word_byte(bytes[end]));
            if ok && chance(rng, r) {
                res.push_str(&out[last..start]);
                res.push_str(short);
                last = end;
            }
            i = end;
        }
        res.push_str(&out[last..]);
        out = res;
    }
    out
}

/// Introduces typos in about `rate` of the eligible words: purely alphabetic lower-case
/// words of 4+ letters (never numbers, doses, abbreviations or headers). Returns the count.
pub fn typos(rng: &R, text: &str, rate: f64) -> (String, usize) {
    let mut out = String::with_capacity(text.len() + 8);
    let mut n = 0;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String, rng: &R, n: &mut usize| {
        if word.len() >= 4 && word.bytes().all(|b| b.is_ascii_lowercase()) && chance(rng, rate) {
            let mut w: Vec<u8> = word.bytes().collect();
            let i = rng.gen_range(1..w.len() - 1);
            match rng.gen_range(0..3) {
                0 => w.swap(i, i + 1),
                1 => {
                    w.remove(i);
                }
                _ => {
                    let c = w[i];
                    w.insert(i, c);
                }
            }
            let typo = String::from_utf8(w).expect("ascii");
            if typo != *word {
                *n += 1;
            }
            out.push_str(&typo);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out, rng, &mut n);
            out.push(c);
        }
    }
    flush(&mut word, &mut out, rng, &mut n);
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn typos_never_touch_numbers_or_caps() {
        let rng = &R::new(ChaCha8Rng::seed_from_u64(1));
        let text = "BP 152/94, lisinopril 20 mg PO daily; NKDA. patient reports wheezing";
        let (t, n) = typos(rng, text, 1.0);
        assert!(n >= 3, "{t}");
        for keep in ["BP 152/94", "20 mg PO", "NKDA"] {
            assert!(t.contains(keep), "{t}");
        }
        let (same, n0) = typos(rng, text, 0.0);
        assert_eq!((same.as_str(), n0), (text, 0));
    }

    #[test]
    fn abbreviations_are_whole_words() {
        let rng = &R::new(ChaCha8Rng::seed_from_u64(1));
        let t = abbreviate(rng, "denies chest pain and shortness of breath; withdrawn", 1.0);
        assert!(t.contains("CP") && t.contains("SOB") && t.contains("withdrawn"), "{t}");
    }
}
