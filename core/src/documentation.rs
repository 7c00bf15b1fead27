//! Facts a code's title asserts, which the note must document before a coder may assign the
//! code (ICD-10-CM guidelines, Section I.B: codes are assigned from the provider's
//! documentation; Section IV.D: code to the highest degree of certainty the note supports).
//!
//! "Unspecified asthma with (acute) exacerbation" asserts an exacerbation. A note that says
//! "history of asthma, chronic cough" does not document one, so the coder reports
//! J45.909 (uncomplicated), whatever the model believes. [`DocumentationRules`] finds, for each
//! label, the fact its title asserts ([`QUALIFIERS`]) and the label to fall back on (the same
//! category's code without that fact: J45.901 → J45.909, J44.1 → J44.9, E11.65 → E11.9). For a
//! note it reports which facts are missing, and the fallback takes the place and the score of
//! the code it stands in for, which ranks just below it, flagged, with its own score.
//!
//! A fact is documented by a trigger phrase at the start of a word that no negation cue
//! ("no", "without", "denies", ...) precedes in the same clause.

/// One fact an ICD-10-CM title can assert.
#[derive(Debug)]
pub struct Qualifier {
    /// What the coder is told is missing ("exacerbation").
    pub fact: &'static str,
    /// Lowercase phrases of official titles that assert the fact.
    pub in_title: &'static [&'static str],
    /// Lowercase phrases that document it in a note (matched at a word start).
    pub documented_by: &'static [&'static str],
}

/// The facts checked. Titles are the official ones (labels/default-codes.tsv and the tabular);
/// the trigger phrases are the ICD-10-CM index entries that lead to the code and the plain
/// words clinicians use for them (guideline I.A.15, "with"; I.C.4.a.6.b: "uncontrolled" and
/// "poorly controlled" diabetes index to hyperglycemia).
pub const QUALIFIERS: &[Qualifier] = &[
    Qualifier {
        fact: "exacerbation",
        in_title: &["with (acute) exacerbation", "with acute exacerbation"],
        documented_by: &["exacerbat", "flare", "asthma attack", "acute asthma", "acute attack", "aecopd", "status asthmaticus", "decompensat"],
    },
    Qualifier {
        fact: "status asthmaticus",
        in_title: &["with status asthmaticus"],
        documented_by: &["status asthmaticus", "intractable asthma", "refractory asthma"],
    },
    Qualifier {
        fact: "lower respiratory infection",
        in_title: &["with (acute) lower respiratory infection"],
        documented_by: &["pneumonia", "bronchitis", "lower respiratory infection", "lower respiratory tract infection", "lrti"],
    },
    Qualifier {
        fact: "hyperglycemia",
        in_title: &["with hyperglycemia"],
        documented_by: &[
            "hyperglycemi",
            "uncontrolled",
            "poorly controlled",
            "inadequately controlled",
            "not well controlled",
            "not controlled",
            "suboptimally controlled",
            "suboptimal control",
            "out of control",
            "high blood sugar",
            "elevated blood sugar",
            "elevated glucose",
            "sugars running high",
            "sugars are running high",
        ],
    },
    Qualifier { fact: "hypoglycemia", in_title: &["with hypoglycemia"], documented_by: &["hypoglycemi", "low blood sugar", "low glucose"] },
    Qualifier {
        fact: "chronic kidney disease",
        in_title: &["with diabetic chronic kidney disease"],
        documented_by: &["chronic kidney disease", "ckd", "diabetic nephropathy", "diabetic kidney disease", "nephropathy"],
    },
    Qualifier {
        fact: "polyneuropathy",
        in_title: &["with diabetic polyneuropathy", "with diabetic neuropathy"],
        documented_by: &["neuropath", "polyneuropath"],
    },
    Qualifier { fact: "foot ulcer", in_title: &["with foot ulcer"], documented_by: &["ulcer"] },
    Qualifier { fact: "heart failure", in_title: &["with heart failure"], documented_by: &["heart failure", "chf", "hfref", "hfpef", "cardiac failure"] },
    Qualifier {
        fact: "lower urinary tract symptoms",
        in_title: &["with lower urinary tract symptoms"],
        documented_by: &[
            "luts",
            "lower urinary tract symptom",
            "urinary symptom",
            "nocturia",
            "frequency",
            "urgency",
            "hesitancy",
            "weak stream",
            "weak urinary stream",
            "incomplete emptying",
            "incomplete bladder emptying",
            "straining to void",
            "urinary retention",
            "dribbling",
            "intermittency",
        ],
    },
];

/// Negation cues: a trigger after one of these in the same clause is not documentation.
const NEGATIONS: &[&str] = &["no", "not", "without", "denies", "denied", "negative for", "free of", "absence of", "never"];
/// How far back (bytes) a negation cue reaches within a clause.
const NEGATION_REACH: usize = 48;

/// For each label: the fact its title asserts (an index into [`QUALIFIERS`]) and its fallback.
#[derive(Debug, Clone, Default)]
pub struct DocumentationRules {
    rules: Vec<Option<Rule>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    qualifier: usize,
    /// The same category's label that asserts no fact, nearest by code.
    fallback: Option<usize>,
}

/// A label's place in the documented ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub label: usize,
    /// The score it ranks by: the model's, or for a fallback the higher score of a code it
    /// stands in for (the model's belief in "asthma with exacerbation" is belief in asthma).
    pub score: f32,
    /// The label whose score a fallback carries.
    pub carried_from: Option<usize>,
    /// Facts the label's title asserts that the note does not document.
    pub undocumented: Vec<&'static str>,
}

impl DocumentationRules {
    /// `labels`: (code, official title) in label-id order.
    pub fn new<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let labels: Vec<(&str, String)> = labels.into_iter().map(|(c, t)| (c, t.to_lowercase())).collect();
        let qualifier_of = |title: &str| QUALIFIERS.iter().position(|q| q.in_title.iter().any(|p| title.contains(p)));
        let rules = labels
            .iter()
            .map(|(code, title)| {
                let qualifier = qualifier_of(title)?;
                let category = code.get(..3)?;
                let fallback = labels
                    .iter()
                    .enumerate()
                    .filter(|(_, (c, t))| c != code && c.starts_with(category) && qualifier_of(t).is_none())
                    .max_by_key(|(i, (c, _))| (common_prefix(c, code), std::cmp::Reverse(*i)))
                    .map(|(i, _)| i);
                Some(Rule { qualifier, fallback })
            })
            .collect();
        Self { rules }
    }

    /// The fallback label of `label`, if its title asserts a fact.
    pub fn fallback(&self, label: usize) -> Option<usize> {
        self.rules.get(label).copied().flatten().and_then(|r| r.fallback)
    }

    /// The fact `label`'s title asserts, if any.
    pub fn asserted_fact(&self, label: usize) -> Option<&'static str> {
        self.rules.get(label).copied().flatten().map(|r| QUALIFIERS[r.qualifier].fact)
    }

    /// The `k` best labels for `text`: by score, except that a label whose asserted fact the
    /// note does not document gives its place and score to its fallback (the same category's
    /// code without the fact, which the model's belief in the specific code supports) and
    /// ranks just below it, flagged. The order is one ranking of every label, so the `k` best are
    /// always a prefix of the `k + 1` best (`--top-k 1` and the app's ten agree).
    pub fn rank(&self, text: &str, scores: &[f32], k: usize) -> Vec<Ranked> {
        let lower = text.to_lowercase();
        let mut documented: Vec<Option<bool>> = vec![None; QUALIFIERS.len()];
        let mut is_documented = |q: usize| *documented[q].get_or_insert_with(|| documents(&lower, &QUALIFIERS[q]));
        // key = (rank score, tie-break): a demoted label sorts right after its fallback (0 < 1).
        let mut key: Vec<(f32, u8)> = scores.iter().map(|&s| (s, 1)).collect();
        let mut carried_from: Vec<Option<usize>> = vec![None; scores.len()];
        let mut undocumented: Vec<Option<&'static str>> = vec![None; scores.len()];
        for (l, rule) in self.rules.iter().enumerate().take(scores.len()) {
            let Some(rule) = rule else { continue };
            if is_documented(rule.qualifier) {
                continue;
            }
            undocumented[l] = Some(QUALIFIERS[rule.qualifier].fact);
            if let Some(f) = rule.fallback {
                if scores[l] > key[f].0 {
                    key[f].0 = scores[l];
                    carried_from[f] = Some(l);
                }
            }
        }
        for (l, rule) in self.rules.iter().enumerate().take(scores.len()) {
            if let (Some(_), Some(Rule { fallback: Some(f), .. })) = (undocumented[l], rule) {
                // Demoted, never promoted: a code the model already ranks lower keeps its place.
                key[l] = (key[*f].0.min(scores[l]), 0);
            }
        }
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| key[b].0.total_cmp(&key[a].0).then(key[b].1.cmp(&key[a].1)).then(scores[b].total_cmp(&scores[a])).then(a.cmp(&b)));
        order.truncate(k);
        order
            .into_iter()
            .map(|label| Ranked {
                label,
                score: carried_from[label].map_or(scores[label], |_| key[label].0),
                carried_from: carried_from[label],
                undocumented: undocumented[label].into_iter().collect(),
            })
            .collect()
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// Whether `lower` (a lowercased note) documents `q`: a trigger at a word start, not negated.
pub fn documents(lower: &str, q: &Qualifier) -> bool {
    q.documented_by.iter().any(|t| lower.match_indices(t).any(|(at, _)| starts_word(lower, at) && !negated(lower, at)))
}

fn starts_word(s: &str, at: usize) -> bool {
    s[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric())
}

/// A negation cue between the clause start and `at`, within [`NEGATION_REACH`] bytes.
fn negated(lower: &str, at: usize) -> bool {
    let mut from = at.saturating_sub(NEGATION_REACH);
    while !lower.is_char_boundary(from) {
        from += 1;
    }
    let before = &lower[from..at];
    // The clause: after the last sentence or clause break.
    let clause_start = before.rfind(['.', ';', '\n', ':']).map_or(0, |i| i + 1);
    let clause = &before[clause_start..];
    let clause = clause.rsplit(" but ").next().unwrap_or(clause);
    let clause = clause.rsplit(" however").next().unwrap_or(clause);
    clause.split(|c: char| !c.is_alphanumeric() && c != ' ').any(|part| {
        let words: Vec<&str> = part.split_whitespace().collect();
        NEGATIONS.iter().any(|cue| {
            let cue: Vec<&str> = cue.split(' ').collect();
            words.windows(cue.len()).any(|w| w == cue.as_slice())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> (DocumentationRules, Vec<&'static str>) {
        let labels = [
            ("E11.65", "Type 2 diabetes mellitus with hyperglycemia"),
            ("E11.9", "Type 2 diabetes mellitus without complications"),
            ("E11.42", "Type 2 diabetes mellitus with diabetic polyneuropathy"),
            ("J44.0", "Chronic obstructive pulmonary disease with (acute) lower respiratory infection"),
            ("J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation"),
            ("J44.9", "Chronic obstructive pulmonary disease, unspecified"),
            ("J45.20", "Mild intermittent asthma, uncomplicated"),
            ("J45.901", "Unspecified asthma with (acute) exacerbation"),
            ("J45.909", "Unspecified asthma, uncomplicated"),
            ("I11.0", "Hypertensive heart disease with heart failure"),
            ("I10", "Essential (primary) hypertension"),
        ];
        (DocumentationRules::new(labels.iter().copied()), labels.iter().map(|l| l.0).collect())
    }

    fn id(codes: &[&str], c: &str) -> usize {
        codes.iter().position(|x| *x == c).unwrap()
    }

    #[test]
    fn fallbacks_are_the_same_categorys_code_without_the_fact() {
        let (r, codes) = rules();
        let fb = |c: &str| r.fallback(id(&codes, c)).map(|f| codes[f]);
        assert_eq!(fb("J45.901"), Some("J45.909"), "the nearest code, not J45.20");
        assert_eq!(fb("J44.1"), Some("J44.9"), "J44.0 asserts a fact too");
        assert_eq!(fb("J44.0"), Some("J44.9"));
        assert_eq!(fb("E11.65"), Some("E11.9"));
        assert_eq!(fb("I11.0"), None, "no I11 code without heart failure among the labels");
        assert_eq!(fb("J45.909"), None);
        assert_eq!(r.asserted_fact(id(&codes, "E11.42")), Some("polyneuropathy"));
        assert_eq!(r.asserted_fact(id(&codes, "I10")), None);
    }

    #[test]
    fn triggers_count_only_when_not_negated_in_their_clause() {
        let exac = &QUALIFIERS[0];
        let doc = |s: &str| documents(&s.to_lowercase(), exac);
        assert!(doc("Acute exacerbation of asthma."));
        assert!(doc("COPD exacerbation, improving."));
        assert!(doc("Presents with an asthma flare after a cold."));
        assert!(!doc("History of asthma. Chronic cough and shortness of breath."));
        assert!(!doc("Asthma without exacerbation."));
        assert!(!doc("No recent exacerbations."));
        assert!(!doc("Denies any flare of symptoms."));
        assert!(doc("No fever. Asthma exacerbation today."), "a negation ends at the sentence");
        assert!(doc("No fever; asthma flare"), "and at a semicolon");
        assert!(doc("Not on steroids but this is an exacerbation"), "'but' ends the negation's scope");
        assert!(!doc("reflare"), "triggers start a word");
        let hyper = &QUALIFIERS[3];
        assert!(documents("type 2 diabetes, poorly controlled, a1c 9.8", hyper));
        assert!(!documents("type 2 diabetes, well controlled", hyper));
        assert!(!documents("no hyperglycemia", hyper));
    }

    #[test]
    fn an_undocumented_fact_ranks_the_code_below_its_fallback() {
        let (r, codes) = rules();
        let mut scores = vec![0.01; codes.len()];
        scores[id(&codes, "J45.901")] = 0.92;
        scores[id(&codes, "J45.909")] = 0.78;
        scores[id(&codes, "I10")] = 0.30;
        let top = |text: &str, scores: &[f32], k: usize| -> Vec<(&str, Vec<&str>)> {
            r.rank(text, scores, k).into_iter().map(|x| (codes[x.label], x.undocumented)).collect()
        };
        let seed = "Patient presents with chronic cough and shortness of breath. History of asthma.";
        assert_eq!(top(seed, &scores, 3), [("J45.909", vec![]), ("J45.901", vec!["exacerbation"]), ("I10", vec![])]);
        let ranked = r.rank(seed, &scores, 2);
        assert_eq!((ranked[0].score, ranked[0].carried_from), (0.92, Some(id(&codes, "J45.901"))), "the fallback carries the score");
        assert_eq!((ranked[1].score, ranked[1].carried_from), (0.92, None), "the flagged code keeps its own");
        assert_eq!(top("Asthma exacerbation with wheezing.", &scores, 3), [("J45.901", vec![]), ("J45.909", vec![]), ("I10", vec![])]);
        // A flagged code the model already ranks low keeps its place.
        scores[id(&codes, "J45.901")] = 0.02;
        scores[id(&codes, "E11.9")] = 0.03;
        assert_eq!(top(seed, &scores, 4), [("J45.909", vec![]), ("I10", vec![]), ("E11.9", vec![]), ("J45.901", vec!["exacerbation"])]);
    }

    #[test]
    fn the_ranking_is_one_order_whatever_k() {
        let (r, codes) = rules();
        let mut scores = vec![0.0; codes.len()];
        scores[id(&codes, "J44.1")] = 0.9;
        scores[id(&codes, "I10")] = 0.5;
        scores[id(&codes, "J44.9")] = 0.05;
        let got = |k: usize, scores: &[f32]| -> Vec<(&str, Vec<&str>)> {
            r.rank("COPD on home oxygen, stable.", scores, k).into_iter().map(|x| (codes[x.label], x.undocumented)).collect()
        };
        assert_eq!(got(3, &scores), [("J44.9", vec![]), ("J44.1", vec!["exacerbation"]), ("I10", vec![])]);
        assert_eq!(got(1, &scores), [("J44.9", vec![])], "top-1 is the first of top-3");
        for k in 1..codes.len() {
            assert_eq!(got(k, &scores), got(codes.len(), &scores)[..k]);
        }
        // Without a fallback the order stays, with the flag.
        scores[id(&codes, "I11.0")] = 0.95;
        let first = &r.rank("Hypertensive heart disease.", &scores, 1)[0];
        assert_eq!((codes[first.label], first.undocumented.clone()), ("I11.0", vec!["heart failure"]));
    }
}
