//! Specificity: the more specific billable codes a coder can pick instead of a code, with
//! the facts that decide between them named (laterality, episode of care, type, acuity, ...).
//!
//! Two places in the tabular ask for facts a note may not give:
//! - a 7th character (`S52.501A` / `D` / `S`): every code sharing the 7th-character base is
//!   an option, the fact is the episode of care (or what the chapter's 7th characters say);
//! - an "unspecified" title at some level of the hierarchy (`Unspecified fracture of the
//!   lower end of radius`): its siblings at that level are options, each narrowed to the
//!   billable descendant closest to the code (same side, same 7th character).

use serde::{Deserialize, Serialize};

use crate::search::tokenize;
use crate::table::CodeTable;

/// Most options listed for one code.
pub const MAX_OPTIONS: usize = 24;

/// The more specific codes that may fit, and the facts that decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Specificity {
    /// What the note must say to pick one: "episode of care (7th character)", "laterality",
    /// "type", ...
    pub facts: Vec<String>,
    /// Billable codes, the 7th-character choices first.
    pub options: Vec<SpecificOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecificOption {
    pub code: String,
    pub description: String,
}

/// The options for `code`, `None` when its title leaves nothing open (or it is not in the table).
pub fn refine(table: &CodeTable, code: &str) -> Option<Specificity> {
    let idx = table.index_of(code)?;
    let codes = table.codes();
    let own_words: Vec<String> = tokenize(&codes[idx].description).collect();
    let mut facts: Vec<String> = Vec::new();
    let mut options: Vec<usize> = Vec::new();

    // The 7th character: the parent is the base when every child is one character longer.
    let me = &codes[idx];
    if let Some(p) = me.parent.map(|p| p as usize) {
        let base = &codes[p];
        let kids: Vec<usize> = table.children(p).collect();
        let seventh = me.code.len() == 8 && kids.len() > 1 && kids.iter().all(|&k| codes[k].code.len() == base.code.len() + 1);
        if seventh {
            options.extend(kids.iter().copied().filter(|&k| k != idx));
            facts.push(if codes[idx].description.contains("encounter") { "episode of care (7th character)" } else { "7th character" }.to_string());
        }
    }

    // Every level whose title says "unspecified": its siblings are the choices.
    let mut node = Some(idx);
    while let Some(n) = node {
        let c = &codes[n];
        let Some(parent) = c.parent.map(|p| p as usize) else { break };
        if c.description.to_lowercase().contains("unspecified") {
            let mut differing: Vec<String> = Vec::new();
            for sib in table.children(parent).filter(|&s| s != n) {
                let pick = if codes[sib].billable { Some(sib) } else { closest_billable(table, sib, &own_words) };
                let Some(pick) = pick else { continue };
                if pick != idx && !options.contains(&pick) {
                    options.push(pick);
                }
                differing.extend(tokenize(&codes[sib].description).filter(|w| !tokenize(&c.description).any(|x| &x == w)));
            }
            let fact = fact_of(&differing);
            if !facts.contains(&fact) {
                facts.push(fact);
            }
        }
        node = Some(parent);
    }
    if options.is_empty() {
        return None;
    }
    options.truncate(MAX_OPTIONS);
    Some(Specificity {
        facts,
        options: options.into_iter().map(|i| SpecificOption { code: codes[i].code.clone(), description: codes[i].description.clone() }).collect(),
    })
}

/// The billable code under `root` whose title shares most words with `words`, earliest on ties.
fn closest_billable(table: &CodeTable, root: usize, words: &[String]) -> Option<usize> {
    let codes = table.codes();
    table
        .descendants(root)
        .filter(|&d| codes[d].billable)
        .map(|d| (d, tokenize(&codes[d].description).filter(|w| words.contains(w)).count()))
        .fold(None, |best: Option<(usize, usize)>, (d, n)| match best {
            Some((_, bn)) if bn >= n => best,
            _ => Some((d, n)),
        })
        .map(|(d, _)| d)
}

/// Names the fact that the words of the alternatives' titles differ by.
fn fact_of(words: &[String]) -> String {
    let has = |set: &[&str]| words.iter().any(|w| set.contains(&w.as_str()));
    if has(&["right", "left", "bilateral"]) {
        "laterality"
    } else if has(&["without", "uncomplicated", "exacerbation", "complication", "complications"]) {
        "complication"
    } else if has(&["acute", "chronic", "subacute"]) {
        "acuity"
    } else if has(&["displaced", "nondisplaced"]) {
        "displacement"
    } else if has(&["organism", "bacterial", "viral", "streptococcus", "staphylococcus", "bacteria", "virus"]) {
        "organism"
    } else if has(&["trimester", "weeks"]) {
        "trimester or weeks of gestation"
    } else {
        "type or site"
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::test_tables::respiratory;

    #[test]
    fn unspecified_titles_offer_their_siblings() {
        let t = respiratory(&[
            ("J45", "Asthma", true, &[]),
            ("J45.2", "Mild intermittent asthma", true, &[]),
            ("J45.20", "Mild intermittent asthma, uncomplicated", false, &[]),
            ("J45.9", "Other and unspecified asthma", true, &[]),
            ("J45.90", "Unspecified asthma", true, &[]),
            ("J45.901", "Unspecified asthma with (acute) exacerbation", false, &[]),
            ("J45.909", "Unspecified asthma, uncomplicated", false, &[]),
        ]);
        let s = refine(&t, "J45.909").expect("options");
        let codes: Vec<&str> = s.options.iter().map(|o| o.code.as_str()).collect();
        assert!(codes.contains(&"J45.901"), "{codes:?}");
        // "Other and unspecified asthma" is unspecified too: the mild intermittent branch is offered,
        // narrowed to its billable code closest in wording.
        assert!(codes.contains(&"J45.20"), "{codes:?}");
        assert!(!codes.contains(&"J45.909"), "not itself");
        assert_eq!(s.facts[0], "complication");
        assert_eq!(refine(&t, "J45.20"), None, "a specific title leaves nothing open");
    }
}
