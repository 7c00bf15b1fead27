//! Ranked search over the code table: free words or a code prefix.
//!
//! A word matches a code through its own title (strongest), its inclusion terms,
//! or the title of an ancestor (so every `J45.*` code is "about" asthma, while
//! `J82.83 Eosinophilic asthma` only mentions it). All words must match.
//! Words match whole tokens or, with a lower weight, token prefixes (type-ahead).
//!
//! [`SearchIndex::match_words`] is the other use of the same index: how much of each billable
//! code's title a diagnostic statement covers, each word weighted by its rarity among titles
//! (what `icd_core::candidates` proposes codes beyond a model's labels with).

use crate::table::{normalize_code, CodeTable};

/// The weight of a word that no title holds (a middling title word's idf): a statement's word
/// of that kind, and an inclusion term's. Its idf among titles would be the highest there is,
/// and "migrans" would outweigh "Lyme".
pub const UNTITLED_WORD: f32 = 2.0;
/// The recall of an inclusion term a statement says wholly ([`SearchIndex::match_words`]).
const TERM_RECALL: f32 = 0.9;
const W_TITLE: f32 = 3.0;
const W_INCLUSION: f32 = 1.5;
const W_ANCESTOR: f32 = 1.0;
const PREFIX_DISCOUNT: f32 = 0.7;
/// Bonus for a title the query covers entirely ("asthma" vs `Asthma`).
const W_COVERAGE: f32 = 0.5;

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// Index into [`CodeTable::codes`].
    pub index: usize,
    pub score: f32,
}

/// Inverted index over titles and inclusion terms.
pub struct SearchIndex {
    /// Sorted vocabulary; `postings[k]` holds `(code index, field)` for `vocab[k]`.
    vocab: Vec<String>,
    postings: Vec<Vec<(u32, Field)>>,
    /// Code strings without the dot, for prefix search.
    plain_codes: Vec<String>,
    /// Number of tokens in each title.
    title_len: Vec<u16>,
    /// Inverse title frequency of `vocab[k]`: `ln((n + 1) / (titles holding it + 1))`; 0 for
    /// [`FILLER`] words; [`UNTITLED_WORD`] for words only inclusion terms hold.
    idf: Vec<f32>,
    /// Sum of the idf of each code's distinct title words.
    title_weight: Vec<f32>,
    /// The inclusion terms of billable codes, as [`essential_words`]: `(code index, sum of the
    /// idf of its words)`. A statement may match one instead of the title ("Lumbago" is
    /// M54.50 "Low back pain, unspecified").
    /// And whether the term says "NOS": the tabular's own name for the condition said alone.
    terms: Vec<(u32, f32, bool)>,
    /// `term_postings[k]`: the terms holding `vocab[k]`.
    term_postings: Vec<Vec<u32>>,
}

/// A child title that is its category's default state: what the category's name alone codes
/// to ("without crisis", "not having achieved remission"). Not an "unspecified" site or type:
/// a statement's site or type words pick a sibling, and the term would outrank its title
/// ("Atypical nevus of the back" is no D22.9).
fn is_default(title: &str) -> bool {
    let t = title.to_lowercase();
    ["without", "not having achieved remission", "uncomplicated"].iter().any(|w| t.contains(w))
}

/// An inclusion term's words without its nonessential modifiers in parentheses ("with (acute)
/// exacerbation") or the synonyms in brackets ("[COPD]"), each once.
fn essential_words(term: &str) -> Vec<String> {
    let kept = outside_groups(term, &['(', '['], &[')', ']']);
    let mut words: Vec<String> = tokenize(&kept).collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// A title without its bracketed words, which give another name for the words before them
/// ("Intestinal adhesions [bands]").
pub fn unbracketed(title: &str) -> String {
    outside_groups(title, &['['], &[']'])
}

/// `text` without what stands between an `open` and a `close` character (nested or not).
fn outside_groups(text: &str, open: &[char], close: &[char]) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut depth = 0u32;
    for ch in text.chars() {
        if open.contains(&ch) {
            depth += 1;
        } else if close.contains(&ch) {
            depth = depth.saturating_sub(1);
        } else if depth == 0 {
            kept.push(ch);
        }
    }
    kept
}

/// Title words that name no fact of a diagnosis: never needed for a statement to match.
/// ("Other" and "specified" stay: they claim a type the statement must name, so a bare
/// "hyperlipidemia" is E78.5 "Hyperlipidemia, unspecified", not E78.49 "Other hyperlipidemia".)
const FILLER: &[&str] = &[
    "unspecified",
    "of",
    "the",
    "and",
    "or",
    "in",
    "to",
    "for",
    "by",
    "a",
    "an",
    "on",
    "at",
    "as",
    "nos",
    "with",
    "not",
    "elsewhere",
    "classified",
    "due",
    "than",
    "from",
    "part",
    // A plural ending split off by the tokenizer: "vertebra(e)".
    "e",
];

/// How much of one code's title a statement covers ([`SearchIndex::match_words`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WordMatch {
    /// Index into [`CodeTable::codes`] (always a billable code).
    pub index: usize,
    /// Share of the title's weight the words cover, 0..=1.
    pub recall: f32,
    /// The covered weight itself (idf units).
    pub weight: f32,
    /// Matched by one of the code's inclusion terms, not its title.
    pub by_term: bool,
    /// By a term that says "NOS" ("Osteoporosis NOS" of M81.0): the code for the condition
    /// said without a kind.
    pub nos: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    Inclusion,
}

/// Lower-case alphanumeric tokens.
pub fn tokenize(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(|t| t.to_lowercase())
}

impl SearchIndex {
    pub fn build(table: &CodeTable) -> Self {
        let mut pairs: Vec<(String, u32, Field)> = Vec::new();
        for (i, c) in table.codes().iter().enumerate() {
            for t in tokenize(&c.description) {
                pairs.push((t, i as u32, Field::Title));
            }
            for note in &c.inclusion {
                for t in tokenize(note) {
                    pairs.push((t, i as u32, Field::Inclusion));
                }
            }
        }
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        pairs.dedup();
        let mut vocab: Vec<String> = Vec::new();
        let mut postings: Vec<Vec<(u32, Field)>> = Vec::new();
        for (t, i, f) in pairs {
            if vocab.last() != Some(&t) {
                vocab.push(t);
                postings.push(Vec::new());
            }
            postings.last_mut().unwrap().push((i, f));
        }
        let plain_codes = table.codes().iter().map(|c| c.code.replace('.', "")).collect();
        let title_len = table.codes().iter().map(|c| tokenize(&c.description).count().max(1) as u16).collect();
        let n = table.len() as f32;
        let idf: Vec<f32> = vocab
            .iter()
            .zip(&postings)
            .map(|(v, p)| {
                let df = p.iter().filter(|(_, f)| *f == Field::Title).count() as f32;
                if FILLER.contains(&v.as_str()) {
                    0.0
                } else if df == 0.0 {
                    UNTITLED_WORD
                } else {
                    ((n + 1.0) / (df + 1.0)).ln()
                }
            })
            .collect();
        let mut title_weight = vec![0f32; table.len()];
        for (k, p) in postings.iter().enumerate() {
            for &(i, f) in p {
                if f == Field::Title {
                    title_weight[i as usize] += idf[k];
                }
            }
        }
        let mut terms: Vec<(u32, f32, bool)> = Vec::new();
        let mut term_postings: Vec<Vec<u32>> = vec![Vec::new(); vocab.len()];
        // A category's terms name its default code: those of a code that is not billable go to
        // its one billable child that is the default ("Graves' disease" of E05.0 is E05.00
        // "... without thyrotoxic crisis or storm").
        let owner = |i: usize| -> Option<usize> {
            if table.codes()[i].billable {
                return Some(i);
            }
            let mut defaults = table.children(i).filter(|&j| table.codes()[j].billable && is_default(&table.codes()[j].description));
            let first = defaults.next()?;
            defaults.next().is_none().then_some(first)
        };
        for (i, c) in table.codes().iter().enumerate().filter(|(_, c)| !c.inclusion.is_empty()) {
            let Some(i) = owner(i) else { continue };
            for note in &c.inclusion {
                let ks: Vec<usize> = essential_words(note).iter().filter_map(|w| vocab.binary_search(w).ok()).collect();
                let weight: f32 = ks.iter().map(|&k| idf[k]).sum();
                if weight <= 0.0 {
                    continue;
                }
                for &k in &ks {
                    term_postings[k].push(terms.len() as u32);
                }
                let nos = tokenize(note).any(|w| w == "nos");
                terms.push((i as u32, weight, nos));
            }
        }
        Self { vocab, postings, plain_codes, title_len, idf, title_weight, terms, term_postings }
    }

    /// The idf of `word` among titles (or of its singular / plural form), `None` when no title
    /// holds it. Filler words weigh 0.
    pub fn word_weight(&self, word: &str) -> Option<f32> {
        self.forms(word).into_iter().filter(|&k| self.postings[k].iter().any(|(_, f)| *f == Field::Title)).map(|k| self.idf[k]).reduce(f32::max)
    }

    /// Billable codes whose titles share weighted words with `words` (a statement's lower-case
    /// words, each counted once), with the share of each title covered, and those with an
    /// inclusion term the words cover wholly (a code may come twice, by title and by term);
    /// those covering at least `min_recall`, best first (ties: shorter titles, then tabular
    /// order).
    pub fn match_words(&self, table: &CodeTable, words: &[String], min_recall: f32) -> Vec<WordMatch> {
        // Dense accumulators and the lists of codes and terms they touched: common words reach
        // thousands of titles, and a hash map per statement cost most of the match's time.
        let mut covered = vec![0f32; self.title_weight.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut term_covered = vec![0f32; self.terms.len()];
        let mut terms_touched: Vec<u32> = Vec::new();
        let mut seen: Vec<usize> = Vec::new();
        for w in words {
            for k in self.forms(w) {
                if self.idf[k] == 0.0 || seen.contains(&k) {
                    continue;
                }
                seen.push(k);
                for &(i, f) in &self.postings[k] {
                    if f == Field::Title {
                        let c = &mut covered[i as usize];
                        // idf > 0 here, so 0 means not touched yet.
                        if *c == 0.0 {
                            touched.push(i);
                        }
                        *c += self.idf[k];
                    }
                }
                for &t in &self.term_postings[k] {
                    let c = &mut term_covered[t as usize];
                    if *c == 0.0 {
                        terms_touched.push(t);
                    }
                    *c += self.idf[k];
                }
            }
        }
        let codes = table.codes();
        let titles = touched.into_iter().map(|i| (i, covered[i as usize], self.title_weight[i as usize]));
        let mut out: Vec<WordMatch> = titles
            .filter(|&(i, _, _)| codes[i as usize].billable)
            .filter_map(|(i, weight, total)| {
                let recall = if total > 0.0 { (weight / total).min(1.0) } else { 0.0 };
                (recall >= min_recall).then_some(WordMatch { index: i as usize, recall, weight, by_term: false, nos: false })
            })
            .collect();
        // A term counts only when the statement says all of it ("Her withdrawal" is no "Hers
        // disease"), and then as TERM_RECALL: one phrasing among the code's, where a title
        // names the code itself (and one term may be another code's too: "erythema migrans").
        out.extend(terms_touched.into_iter().filter_map(|t| {
            let (i, total, nos) = self.terms[t as usize];
            let weight = term_covered[t as usize];
            (weight >= total * 0.999 && TERM_RECALL >= min_recall).then_some(WordMatch { index: i as usize, recall: TERM_RECALL, weight, by_term: true, nos })
        }));
        // A code's title and one term may both match (the caller weighs each: the title may
        // cover more of the statement); two of its terms are one match.
        out.sort_by(|a, b| a.index.cmp(&b.index).then(a.by_term.cmp(&b.by_term)).then(b.recall.total_cmp(&a.recall)).then(b.weight.total_cmp(&a.weight)));
        out.dedup_by_key(|m| (m.index, m.by_term));
        out.sort_by(|a, b| {
            b.recall.total_cmp(&a.recall).then(codes[a.index].description.len().cmp(&codes[b.index].description.len())).then(a.index.cmp(&b.index))
        });
        out
    }

    /// Vocabulary entries for `word` and its singular or plural form.
    fn forms(&self, word: &str) -> Vec<usize> {
        let mut forms = vec![word.to_string(), format!("{word}s")];
        if let Some(stem) = word.strip_suffix('s').filter(|s| s.len() >= 3 && !s.ends_with('s')) {
            forms.push(stem.to_string());
        }
        forms.iter().filter_map(|f| self.vocab.binary_search(f).ok()).collect()
    }

    /// Up to `limit` hits, best first. Ties prefer billable codes, then shorter titles.
    pub fn search(&self, table: &CodeTable, query: &str, limit: usize) -> Vec<SearchHit> {
        let q = query.trim();
        if q.is_empty() {
            return Vec::new();
        }
        if looks_like_code(q) {
            return self.code_prefix(q, limit);
        }
        let terms: Vec<String> = tokenize(q).collect();
        let n = table.len();
        let mut total = vec![0f32; n];
        let mut matched_all = vec![true; n];
        let mut title_hits = vec![0u16; n];
        for term in &terms {
            let mut own = vec![0f32; n];
            for (k, exact) in self.vocab_matches(term) {
                let w = if exact { 1.0 } else { PREFIX_DISCOUNT };
                for &(i, f) in &self.postings[k] {
                    let fw = match f {
                        Field::Title => W_TITLE,
                        Field::Inclusion => W_INCLUSION,
                    } * w;
                    let slot = &mut own[i as usize];
                    *slot = slot.max(fw);
                }
            }
            // Descendants inherit a title match as an ancestor match.
            let mut via_ancestor = vec![0f32; n];
            for (i, &o) in own.iter().enumerate() {
                // Only title matches pass down (an inclusion match scores below any title match).
                if o >= W_TITLE * PREFIX_DISCOUNT {
                    let w = W_ANCESTOR * o / W_TITLE;
                    for j in table.descendants(i) {
                        via_ancestor[j] = via_ancestor[j].max(w);
                    }
                }
            }
            for i in 0..n {
                if own[i] >= W_TITLE * PREFIX_DISCOUNT {
                    title_hits[i] += 1;
                }
                let s = own[i] + via_ancestor[i];
                if s == 0.0 {
                    matched_all[i] = false;
                }
                total[i] += s;
            }
        }
        let mut hits: Vec<SearchHit> = (0..n)
            .filter(|&i| matched_all[i] && total[i] > 0.0)
            .map(|i| {
                let coverage = (title_hits[i] as f32 / self.title_len[i] as f32).min(1.0);
                SearchHit { index: i, score: total[i] + W_COVERAGE * coverage }
            })
            .collect();
        let codes = table.codes();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(codes[b.index].billable.cmp(&codes[a.index].billable))
                .then(codes[a.index].description.len().cmp(&codes[b.index].description.len()))
                .then(a.index.cmp(&b.index))
        });
        hits.truncate(limit);
        hits
    }

    /// Vocabulary entries equal to `term` (exact) or starting with it (prefix, 3+ chars).
    fn vocab_matches(&self, term: &str) -> Vec<(usize, bool)> {
        let start = self.vocab.partition_point(|v| v.as_str() < term);
        let mut out = Vec::new();
        for k in start..self.vocab.len() {
            let v = &self.vocab[k];
            if v == term {
                out.push((k, true));
            } else if term.chars().count() >= 3 && v.starts_with(term) {
                out.push((k, false));
            } else {
                break;
            }
        }
        out
    }

    fn code_prefix(&self, q: &str, limit: usize) -> Vec<SearchHit> {
        let p = normalize_code(q).replace('.', "");
        self.plain_codes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.starts_with(&p))
            .take(limit)
            .map(|(i, c)| SearchHit { index: i, score: if *c == p { 2.0 } else { 1.0 } })
            .collect()
    }
}

/// `J45`, `j45.9`, `S72001A`: a letter, a digit, then code characters only.
fn looks_like_code(q: &str) -> bool {
    let b = q.as_bytes();
    b.len() >= 2 && b.len() <= 8 && b[0].is_ascii_alphabetic() && b[1].is_ascii_digit() && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::test_tables::respiratory;

    fn table() -> CodeTable {
        respiratory(&[
            ("J44", "Other chronic obstructive pulmonary disease", true, &[]),
            ("J44.8", "Other specified chronic obstructive pulmonary disease", true, &[]),
            ("J44.89", "Other specified chronic obstructive pulmonary disease", false, &["chronic obstructive asthma"]),
            ("J45", "Asthma", true, &["allergic asthma"]),
            ("J45.9", "Other and unspecified asthma", true, &[]),
            ("J45.90", "Unspecified asthma", true, &[]),
            ("J45.909", "Unspecified asthma, uncomplicated", false, &["Asthma NOS"]),
            ("J82", "Pulmonary eosinophilia", true, &[]),
            ("J82.8", "Other pulmonary eosinophilia", true, &[]),
            ("J82.83", "Eosinophilic asthma", false, &[]),
        ])
    }

    fn codes(t: &CodeTable, hits: &[SearchHit]) -> Vec<String> {
        hits.iter().map(|h| t.codes()[h.index].code.clone()).collect()
    }

    #[test]
    fn category_words_outrank_passing_mentions() {
        let t = table();
        let idx = SearchIndex::build(&t);
        let got = codes(&t, &idx.search(&t, "asthma", 10));
        let first_other = got.iter().position(|c| !c.starts_with("J45")).unwrap();
        assert_eq!(first_other, 4, "all J45 codes come first: {got:?}");
        assert!(got.contains(&"J44.89".to_string()), "inclusion terms are searched: {got:?}");
    }

    #[test]
    fn all_words_must_match_and_prefixes_work() {
        let t = table();
        let idx = SearchIndex::build(&t);
        assert_eq!(codes(&t, &idx.search(&t, "asth uncompl", 10)), ["J45.909"]);
        assert!(idx.search(&t, "asthma fracture", 10).is_empty());
    }

    #[test]
    fn statements_match_the_titles_they_cover() {
        let t = table();
        let idx = SearchIndex::build(&t);
        let words = |s: &str| tokenize(s).collect::<Vec<_>>();
        let got = idx.match_words(&t, &words("eosinophilic"), 0.2);
        // "Eosinophilic asthma": eosinophilic is all but "asthma".
        let j82 = got.iter().find(|m| t.codes()[m.index].code == "J82.83").expect("J82.83 matches");
        assert!(j82.recall > 0.0 && j82.recall < 1.0, "{j82:?}");
        let got = idx.match_words(&t, &words("asthma"), 0.2);
        assert!(got.iter().all(|m| t.codes()[m.index].billable), "only billable codes");
        let full = idx.match_words(&t, &words("eosinophilic asthma"), 0.99);
        assert_eq!(full.iter().map(|m| t.codes()[m.index].code.as_str()).collect::<Vec<_>>(), ["J82.83"]);
        // Plural forms meet singular titles; filler words weigh nothing.
        assert_eq!(idx.word_weight("asthmas"), idx.word_weight("asthma"));
        assert_eq!(idx.word_weight("unspecified"), Some(0.0));
        assert_eq!(idx.word_weight("fracture"), None);
    }

    #[test]
    fn statements_match_inclusion_terms_without_their_modifiers() {
        let t = table();
        let idx = SearchIndex::build(&t);
        let words = |s: &str| tokenize(s).collect::<Vec<_>>();
        let recall =
            |statement: &str, code: &str| idx.match_words(&t, &words(statement), 0.0).into_iter().find(|m| t.codes()[m.index].code == code).map(|m| m.recall);
        // "Unspecified asthma, uncomplicated" is asthma and "uncomplicated"; its inclusion
        // term "Asthma NOS" is asthma alone.
        assert_eq!(recall("asthma", "J45.909"), Some(TERM_RECALL));
        // J44.89's title says nothing of asthma; its term "chronic obstructive asthma" does.
        assert_eq!(recall("chronic obstructive asthma", "J44.89"), Some(TERM_RECALL));
        // Said in part, a term is nothing: what is left is the title's share.
        assert!(recall("obstructive asthma", "J44.89").is_some_and(|r| r < 0.5), "{:?}", recall("obstructive asthma", "J44.89"));
        // A code with children is no match, whatever its terms ("allergic asthma" of J45).
        assert_eq!(recall("allergic asthma", "J45"), None);
        assert_eq!(essential_words("Decompensated COPD with (acute) exacerbation [AECOPD] NOS"), ["copd", "decompensated", "exacerbation", "nos", "with"]);
    }

    #[test]
    fn code_prefixes() {
        let t = table();
        let idx = SearchIndex::build(&t);
        assert_eq!(codes(&t, &idx.search(&t, "j45.90", 10)), ["J45.90", "J45.909"]);
        assert_eq!(codes(&t, &idx.search(&t, "J82", 1)), ["J82"]);
    }
}
