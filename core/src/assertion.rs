//! Assertion detection: is a condition the note mentions present, negated, historical, a
//! relative's, hypothetical or uncertain? A ConText-style algorithm (Harkema et al. 2009,
//! after Chapman's NegEx): trigger phrases from a lexicon, each with a scope in its clause.
//!
//! API: [`assert_mention`] gives the [`Assertion`] of the mention at a byte range of a note
//! (or of one sentence); [`assert_mention_with_trigger`] also gives the byte range of the
//! phrase that decided it ([`Asserted::trigger`]: the cue, or the section header), to show as
//! evidence; [`Note`] answers the same for many mentions of one note, reading its sections
//! and clause ends once. Byte offsets are into the text handed in; a range that runs past the text or
//! cuts a character is widened to whole characters inside the text, never a panic.
//!
//! How a mention is judged:
//! 1. Its clause: the text between clause ends, which are `.` (followed by a space or the
//!    end, and not after "vs", "e.g", "dr" ...), `;`, `?`, `!`, and a line break before a blank
//!    line, a section header ([`crate::sections`]) or a list item (`- `, `* `, `• `, `1. `, `2) `,
//!    `a) `). Other line breaks are wrapped text.
//! 2. The clause's words are matched against the lexicon (`core/data/assertion-triggers.tsv`)
//!    left to right, the longest phrase first, on word boundaries and case-insensitively; the
//!    mention's own words are never a trigger. A pseudo-trigger ("no increase", "not only")
//!    covers its words, so the cue inside it does not fire.
//! 3. A forward cue reaches the mention after it, a backward cue the mention before it,
//!    unless a termination term ("but", "however", "presents with", ...) lies between, or a
//!    cue of another assertion starts a new comma-separated phrase between them ("no fever,
//!    history of asthma": asthma is historical). Negated, hypothetical and uncertain cues,
//!    and every backward cue, reach at most [`MAX_SCOPE_WORDS`] words, as in NegEx; family and
//!    historical cues reach the end of the clause (they head lists: "history of hypertension,
//!    diabetes, ..."), and so does a section-like phrase ending in ":" ("negative for:").
//! 4. Section: a mention under a FAMILY HISTORY header is [`Assertion::Family`]; under PAST
//!    MEDICAL HISTORY or PAST SURGICAL HISTORY, [`Assertion::Historical`]. Other sections
//!    (ALLERGIES included) add nothing; their cues still count.
//! 5. Precedence, when several apply: family > negated > hypothetical > uncertain >
//!    historical > present ([`Assertion::rank`]). Family first: the condition is a relative's,
//!    so nothing is coded for the patient whatever its modality ("no family history of colon
//!    cancer" and "FAMILY HISTORY: no diabetes" are family). Negated next: an absent condition
//!    is not coded, past or possible ("no history of asthma"). Hypothetical before uncertain:
//!    a condition that may come ("return if possible infection") has not happened, so it is no
//!    diagnosis even under the uncertain-diagnosis rules. Uncertain before historical: a past
//!    condition never confirmed ("history of possible TIA") stays unconfirmed. Historical last:
//!    the condition did exist. Among cues of the winning assertion the nearest is the evidence.
//!
//! Informants: "patient's mother denies fever" is negated, not family. A parent answering for
//! a child reports the patient's state, so the lexicon lists "mother denies" as one negation
//! cue, and "per mother", "mother reports", "with her mother", ... as pseudo-triggers.
//!
//! Each call reads the whole text once (section headers and clause ends), so its cost is linear
//! in the text's length. The outpatient rule (uncertain diagnoses are not coded) is the caller's business.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use crate::sections::{self, Section, SectionKind};

/// What the note asserts about a mentioned condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assertion {
    /// The patient has it now (no cue applies).
    Present,
    /// Denied or absent ("denies chest pain", "pneumonia was ruled out").
    Negated,
    /// In the past ("history of", "status post", past medical or surgical history sections).
    Historical,
    /// A relative's ("mother had breast cancer", the family history section).
    Family,
    /// Conditional or future ("return if fever develops", "fall precautions").
    Hypothetical,
    /// Not established ("possible", "rule out", "cannot exclude", "versus").
    Uncertain,
}

impl Assertion {
    /// Every assertion, in declaration order.
    pub const ALL: [Assertion; 6] =
        [Assertion::Present, Assertion::Negated, Assertion::Historical, Assertion::Family, Assertion::Hypothetical, Assertion::Uncertain];

    /// The snake_case name (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            Assertion::Present => "present",
            Assertion::Negated => "negated",
            Assertion::Historical => "historical",
            Assertion::Family => "family",
            Assertion::Hypothetical => "hypothetical",
            Assertion::Uncertain => "uncertain",
        }
    }

    /// The assertion a [`name`](Assertion::name) spells, `None` for any other string.
    pub fn from_name(name: &str) -> Option<Assertion> {
        Assertion::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Precedence when several cues apply to one mention: the highest rank wins
    /// (family > negated > hypothetical > uncertain > historical > present; see the module doc).
    pub fn rank(self) -> u8 {
        match self {
            Assertion::Present => 0,
            Assertion::Historical => 1,
            Assertion::Uncertain => 2,
            Assertion::Hypothetical => 3,
            Assertion::Negated => 4,
            Assertion::Family => 5,
        }
    }
}

/// An assertion and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Asserted {
    pub assertion: Assertion,
    /// Byte range of the trigger phrase or section header that decided it; `None` when present.
    pub trigger: Option<Range<usize>>,
}

/// How many words a capped cue reaches: the mention must start within this many words of it
/// (NegEx used 5-6; clinical lists of negated symptoms run longer).
pub const MAX_SCOPE_WORDS: usize = 8;

/// The assertion of the mention at byte range `target` of `text` (a whole note or a sentence).
pub fn assert_mention(text: &str, target: Range<usize>) -> Assertion {
    Note::new(text).mention(target)
}

/// The assertion of a diagnostic statement at byte range `target` of `text`: as
/// [`assert_mention`], except that a negation or uncertainty cue opening the statement governs
/// the rest of it ("No evidence of kidney stone", "Rule out appendicitis"). Other cues that
/// open a statement name its code ("Screening for colon cancer", "History of colon polyps").
pub fn assert_statement(text: &str, target: Range<usize>) -> Assertion {
    Note::new(text).statement(target)
}

/// The assertion of the mention at byte range `target` of `text`, with the byte range (in
/// `text`) of the trigger phrase or section header that decided it.
pub fn assert_mention_with_trigger(text: &str, target: Range<usize>) -> Asserted {
    Note::new(text).mention_with_trigger(target)
}

/// A note read once for the assertions of many of its mentions: its sections and clause ends
/// are found a single time (the free functions find them again for every mention, which a
/// long note's coding, asking about hundreds of mentions, would repeat).
pub struct Note<'a> {
    text: &'a str,
    sections: Vec<Section>,
    /// Every clause end, in order: (end of the clause before, start of the next).
    breaks: Vec<(usize, usize)>,
}

impl<'a> Note<'a> {
    pub fn new(text: &'a str) -> Self {
        let sections = sections::detect(text);
        let header_starts: Vec<usize> = sections.iter().map(|s| s.header.0).collect();
        let breaks = clause_breaks(text, &header_starts);
        Note { text, sections, breaks }
    }

    /// The note's sections, as [`sections::detect`] finds them.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// As [`assert_mention`].
    pub fn mention(&self, target: Range<usize>) -> Assertion {
        self.mention_with_trigger(target).assertion
    }

    /// As [`assert_statement`].
    pub fn statement(&self, target: Range<usize>) -> Assertion {
        let text = self.text;
        let target = clamp(text, target);
        let tokens = tokenize(text, self.clause_around(&target));
        let t_start = tokens.iter().position(|t| t.span.end > target.start).unwrap_or(tokens.len());
        let t_end = tokens.iter().position(|t| t.span.start >= target.end).unwrap_or(tokens.len()).max(t_start);
        let lexicon = lexicon();
        // The triggers of the statement's own tokens (skipping none of them), one that starts it.
        let own = &tokens[t_start..t_end];
        let found = lexicon.find(own, 0..0);
        let opening = found
            .iter()
            .find(|m| m.tokens.start == 0 && matches!(lexicon.triggers[m.trigger].kind, Kind::Cue(Assertion::Negated | Assertion::Uncertain)))
            .map(|m| t_start + m.tokens.end);
        if let Some(rest) = opening.filter(|&rest| rest < t_end) {
            return self.mention(tokens[rest].span.start..target.end);
        }
        // A negation or uncertainty cue that closes the statement's one head governs it, and what
        // follows is its reason: "Septic arthritis excluded by negative Gram stain and culture"
        // says nothing present of the Gram stain. Not past a comma: "Chest pain, MI ruled out".
        let closing = found.iter().find(|m| {
            let trigger = &lexicon.triggers[m.trigger];
            m.tokens.start > 0
                && matches!(trigger.kind, Kind::Cue(Assertion::Negated | Assertion::Uncertain))
                && trigger.direction.reaches(false)
                && !own[..m.tokens.start].iter().any(|t| t.norm == ",")
        });
        match closing {
            Some(m) => self.mention(target.start..own[m.tokens.start - 1].span.end),
            None => self.mention(target),
        }
    }

    /// As [`assert_mention_with_trigger`].
    pub fn mention_with_trigger(&self, target: Range<usize>) -> Asserted {
        let text = self.text;
        let target = clamp(text, target);
        let mut best = section_cue(&self.sections, target.start);

        let clause = self.clause_around(&target);
        let tokens = tokenize(text, clause);
        // Tokens the mention covers (an empty mention covers the word it cuts, or none).
        let t_start = tokens.iter().position(|t| t.span.end > target.start).unwrap_or(tokens.len());
        let t_end = tokens.iter().position(|t| t.span.start >= target.end).unwrap_or(tokens.len()).max(t_start);

        let lexicon = lexicon();
        let matches = lexicon.find(&tokens, t_start..t_end);
        for m in &matches {
            let trigger = &lexicon.triggers[m.trigger];
            let Kind::Cue(assertion) = trigger.kind else { continue };
            let (gap, forward) = if m.tokens.end <= t_start {
                (m.tokens.end..t_start, true)
            } else if m.tokens.start >= t_end {
                (t_end..m.tokens.start, false)
            } else {
                continue;
            };
            if !trigger.direction.reaches(forward) {
                continue;
            }
            let words = tokens[gap.clone()].iter().filter(|t| t.word).count();
            let capped = !trigger.section_like && (!forward || matches!(assertion, Assertion::Negated | Assertion::Hypothetical | Assertion::Uncertain));
            if capped && words >= MAX_SCOPE_WORDS {
                continue;
            }
            if scope_broken(lexicon, &tokens, &matches, &gap, assertion, forward) {
                continue;
            }
            let span = tokens[m.tokens.start].span.start..tokens[m.tokens.end - 1].span.end;
            let found = Found { assertion, trigger: span, distance: words };
            if best.as_ref().is_none_or(|b| found.beats(b)) {
                best = Some(found);
            }
        }
        match best {
            Some(f) => Asserted { assertion: f.assertion, trigger: Some(f.trigger) },
            None => Asserted { assertion: Assertion::Present, trigger: None },
        }
    }

    /// The byte range of the clause holding `target` (of several clauses when it spans them).
    fn clause_around(&self, target: &Range<usize>) -> Range<usize> {
        clause_in(&self.breaks, self.text.len(), target)
    }
}

/// A cue that applies to the mention.
struct Found {
    assertion: Assertion,
    trigger: Range<usize>,
    /// Words between the cue and the mention; a section header is farthest.
    distance: usize,
}

impl Found {
    fn beats(&self, other: &Found) -> bool {
        (self.assertion.rank(), std::cmp::Reverse(self.distance)) > (other.assertion.rank(), std::cmp::Reverse(other.distance))
    }
}

/// The section-level assertion of the section holding byte `at`.
fn section_cue(sections: &[Section], at: usize) -> Option<Found> {
    // Sections run from one header to the next, so the last header at or before `at` holds it.
    let section = sections.iter().rev().find(|s| s.header.0 <= at)?;
    let assertion = match section.kind {
        SectionKind::FamilyHistory => Assertion::Family,
        SectionKind::PastMedicalHistory | SectionKind::SurgicalHistory => Assertion::Historical,
        _ => return None,
    };
    Some(Found { assertion, trigger: section.header.0..section.header.1, distance: usize::MAX })
}

/// Whether something between a cue and the mention (token range `gap`) ends the cue's scope: a
/// termination term that ends scopes of this direction, or a cue of another assertion right
/// after a comma (a new phrase of a list with its own cue).
fn scope_broken(lexicon: &Lexicon, tokens: &[Token], matches: &[Match], gap: &Range<usize>, assertion: Assertion, forward: bool) -> bool {
    matches.iter().filter(|m| gap.start <= m.tokens.start && m.tokens.end <= gap.end).any(|m| {
        let other = &lexicon.triggers[m.trigger];
        match other.kind {
            Kind::Termination => other.direction.reaches(forward),
            Kind::Cue(a) => a != assertion && m.tokens.start > gap.start && tokens[m.tokens.start - 1].norm == ",",
            Kind::Pseudo => false,
        }
    })
}

/// `target` within `text` and on character boundaries (widened to whole characters).
fn clamp(text: &str, target: Range<usize>) -> Range<usize> {
    let mut start = target.start.min(text.len());
    let mut end = target.end.clamp(start, text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

// ---------------------------------------------------------------------------------------------
// Clauses

/// Words before a "." that does not end a sentence. Only those that matter: "vs." would cut
/// the "versus" cue from its second alternative; the others are common in clinical prose.
const NO_BREAK_ABBREVIATIONS: &[&str] = &["vs", "e.g", "i.e", "dr", "mr", "mrs", "ms", "approx"];

/// The byte range of the clause holding `target` (of several clauses when it spans them).
#[cfg(test)]
fn clause_around(text: &str, sections: &[Section], target: &Range<usize>) -> Range<usize> {
    let header_starts: Vec<usize> = sections.iter().map(|s| s.header.0).collect();
    clause_in(&clause_breaks(text, &header_starts), text.len(), target)
}

/// The clause holding `target` among the clause ends `breaks` of a text `len` bytes long.
fn clause_in(breaks: &[(usize, usize)], len: usize, target: &Range<usize>) -> Range<usize> {
    // Both ends of the breaks rise through the text: binary searches, not scans.
    let start = breaks[..breaks.partition_point(|b| b.1 <= target.start)].last().map_or(0, |b| b.1);
    let end = breaks.get(breaks.partition_point(|b| b.0 <= start || b.0 < target.end)).map_or(len, |b| b.0);
    start..end
}

/// Every clause end of `text`, in order: (end of the clause before, start of the next).
fn clause_breaks(text: &str, header_starts: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            ';' | '?' | '!' => out.push((i + 1, i + 1)),
            '.' if ends_sentence(text, i) => out.push((i + 1, i + 1)),
            // The line after a blank line starts a clause too.
            '\n' if line_starts_clause(text, i + 1, header_starts) || text[..i].rsplit('\n').next().is_some_and(|l| l.trim().is_empty()) => {
                out.push((i, i + 1))
            }
            _ => {}
        }
    }
    out
}

/// Whether the "." at byte `i` ends a sentence: a space or the end follows it ("2.5" and the
/// inner dot of "e.g." do not) and it does not close a known abbreviation.
fn ends_sentence(text: &str, i: usize) -> bool {
    if !text[i + 1..].chars().next().is_none_or(char::is_whitespace) {
        return false;
    }
    let word = text[..i].rsplit(char::is_whitespace).next().unwrap_or("");
    let word = word.trim_start_matches(|c: char| !c.is_alphanumeric()).to_ascii_lowercase();
    !NO_BREAK_ABBREVIATIONS.contains(&word.as_str())
}

/// Whether the line starting at byte `line_start` begins a new clause: it is blank, starts a
/// section header, or starts a list item.
fn line_starts_clause(text: &str, line_start: usize, header_starts: &[usize]) -> bool {
    let line = text[line_start..].split('\n').next().unwrap_or("");
    let content = line.trim_start();
    content.trim_end().is_empty() || header_starts.contains(&(line_start + line.len() - content.len())) || starts_list_item(content)
}

/// `- `, `* `, `• `, `1. `, `12) `, `a) `.
fn starts_list_item(line: &str) -> bool {
    let followed_by_space = |rest: &str| rest.chars().next().is_some_and(char::is_whitespace);
    let Some(first) = line.chars().next() else { return false };
    if matches!(first, '-' | '*' | '+' | '•' | '·' | '–' | '—') {
        return followed_by_space(&line[first.len_utf8()..]);
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let marker = if (1..=3).contains(&digits) {
        digits
    } else if first.is_ascii_alphabetic() {
        1
    } else {
        return false;
    };
    let rest = &line[marker..];
    let closes = if digits > 0 { rest.starts_with('.') || rest.starts_with(')') } else { rest.starts_with(')') };
    closes && followed_by_space(&rest[1..])
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// A word (a run of letters and digits, lower-cased) or one punctuation character.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    span: Range<usize>,
    norm: String,
    word: bool,
}

/// The tokens of `text[range]`. Whitespace and hyphens separate tokens and are dropped, so
/// "status-post" reads as "status post"; curly apostrophes read as straight ones.
fn tokenize(text: &str, range: Range<usize>) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word_start: Option<usize> = None;
    let word = |s: usize, e: usize| Token { span: s..e, norm: text[s..e].to_lowercase(), word: true };
    for (i, c) in text[range.clone()].char_indices() {
        let i = i + range.start;
        if c.is_alphanumeric() {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(s) = word_start.take() {
            out.push(word(s, i));
        }
        if c.is_whitespace() || matches!(c, '-' | '\u{2010}' | '\u{2011}') {
            continue;
        }
        let norm = if matches!(c, '\u{2018}' | '\u{2019}') { '\'' } else { c };
        out.push(Token { span: i..i + c.len_utf8(), norm: norm.to_string(), word: false });
    }
    if let Some(s) = word_start {
        out.push(word(s, range.end));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Lexicon

/// The shipped trigger list.
const SHIPPED_TRIGGERS: &str = include_str!("../data/assertion-triggers.tsv");

/// The shipped lexicon, parsed once.
fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| Lexicon::parse(SHIPPED_TRIGGERS).expect("core/data/assertion-triggers.tsv is valid (unit test shipped_triggers_parse)"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cue(Assertion),
    Pseudo,
    Termination,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
    Both,
}

impl Direction {
    /// Whether a cue of this direction reaches a mention after it (`forward`) or before it.
    fn reaches(self, forward: bool) -> bool {
        matches!((self, forward), (Direction::Both, _) | (Direction::Forward, true) | (Direction::Backward, false))
    }
}

#[derive(Debug)]
struct Trigger {
    tokens: Vec<String>,
    kind: Kind,
    direction: Direction,
    /// Ends with ":" ("negative for:"): heads a list, its scope is not capped.
    section_like: bool,
}

#[derive(Debug)]
struct Lexicon {
    triggers: Vec<Trigger>,
    /// Trigger indices by first token, longest phrase first.
    by_first: HashMap<String, Vec<usize>>,
}

/// A trigger found in a clause: `tokens` indexes the clause's tokens.
#[derive(Debug)]
struct Match {
    trigger: usize,
    tokens: Range<usize>,
}

/// Why the trigger list does not parse; `line` counts from 1.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum TriggerError {
    #[error("assertion triggers, line {line}: expected 3 tab-separated columns (phrase, category, direction), found {found}")]
    Columns { line: usize, found: usize },
    #[error("assertion triggers, line {line}: the phrase has no words")]
    EmptyPhrase { line: usize },
    #[error("assertion triggers, line {line}: phrase {phrase:?} contains {found:?}, which ends a clause, so it can never match")]
    ClauseEnd { line: usize, phrase: String, found: char },
    #[error(
        "assertion triggers, line {line}: unknown category {found:?} (expected negated, historical, family, hypothetical, uncertain, pseudo or termination)"
    )]
    Category { line: usize, found: String },
    #[error("assertion triggers, line {line}: unknown direction {found:?} (expected forward, backward or both)")]
    Direction { line: usize, found: String },
    #[error("assertion triggers, line {line}: a pseudo-trigger applies wherever it is found; write direction `both`, not {found:?}")]
    PseudoDirection { line: usize, found: String },
    #[error("assertion triggers, line {line}: phrase {phrase:?} is already listed on line {first}")]
    Duplicate { line: usize, phrase: String, first: usize },
}

impl Lexicon {
    /// Parses the TSV: `phrase<TAB>category<TAB>direction`; `#` comments, blank lines and a
    /// `phrase category direction` header row are skipped.
    fn parse(text: &str) -> Result<Lexicon, TriggerError> {
        let mut triggers: Vec<Trigger> = Vec::new();
        let mut first_line: HashMap<Vec<String>, usize> = HashMap::new();
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = raw.split('\t').map(str::trim).collect();
            let [phrase, category, direction] = cols[..] else {
                return Err(TriggerError::Columns { line, found: cols.len() });
            };
            if [phrase, category, direction] == ["phrase", "category", "direction"] {
                continue;
            }
            if let Some(found) = phrase.chars().find(|c| matches!(c, ';' | '?' | '!')) {
                return Err(TriggerError::ClauseEnd { line, phrase: phrase.to_string(), found });
            }
            let tokens: Vec<String> = tokenize(phrase, 0..phrase.len()).into_iter().map(|t| t.norm).collect();
            if tokens.is_empty() {
                return Err(TriggerError::EmptyPhrase { line });
            }
            let kind = match category {
                "pseudo" => Kind::Pseudo,
                "termination" => Kind::Termination,
                // "present" is what no cue means, not a cue.
                _ => match Assertion::from_name(category) {
                    Some(a) if a != Assertion::Present => Kind::Cue(a),
                    _ => return Err(TriggerError::Category { line, found: category.to_string() }),
                },
            };
            let direction = match direction {
                "forward" => Direction::Forward,
                "backward" => Direction::Backward,
                "both" => Direction::Both,
                _ => return Err(TriggerError::Direction { line, found: direction.to_string() }),
            };
            if kind == Kind::Pseudo && direction != Direction::Both {
                return Err(TriggerError::PseudoDirection { line, found: cols[2].to_string() });
            }
            if let Some(&first) = first_line.get(&tokens) {
                return Err(TriggerError::Duplicate { line, phrase: phrase.to_string(), first });
            }
            first_line.insert(tokens.clone(), line);
            let section_like = tokens.last().is_some_and(|t| t == ":");
            triggers.push(Trigger { tokens, kind, direction, section_like });
        }
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in triggers.iter().enumerate() {
            by_first.entry(t.tokens[0].clone()).or_default().push(i);
        }
        for ids in by_first.values_mut() {
            ids.sort_by_key(|&i| std::cmp::Reverse(triggers[i].tokens.len()));
        }
        Ok(Lexicon { triggers, by_first })
    }

    /// The triggers in `tokens`, left to right, the longest at each token; none uses a token of
    /// `skip` (the mention).
    fn find(&self, tokens: &[Token], skip: Range<usize>) -> Vec<Match> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let fits = |id: &usize| {
                let phrase = &self.triggers[*id].tokens;
                let end = i + phrase.len();
                end <= tokens.len() && (end <= skip.start || i >= skip.end) && phrase.iter().zip(&tokens[i..end]).all(|(p, t)| *p == t.norm)
            };
            match self.by_first.get(&tokens[i].norm).and_then(|ids| ids.iter().find(|id| fits(id))) {
                Some(&id) => {
                    let end = i + self.triggers[id].tokens.len();
                    out.push(Match { trigger: id, tokens: i..end });
                    i = end;
                }
                None => i += 1,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cue_that_opens_a_statement_governs_it() {
        let text = "ASSESSMENT:\n1. No evidence of kidney stone.\n2. Kidney stone, left, 4 mm.";
        let at = |s: &str| {
            let i = text.find(s).unwrap();
            i..i + s.len()
        };
        assert_eq!(assert_statement(text, at("No evidence of kidney stone")), Assertion::Negated);
        assert_eq!(assert_mention(text, at("No evidence of kidney stone")), Assertion::Present, "a mention's own words are not its cue");
        assert_eq!(assert_statement(text, at("Kidney stone, left, 4 mm")), Assertion::Present);
        let text = "INDICATION: Screening for colon cancer.";
        assert_eq!(assert_statement(text, 12..text.len() - 1), Assertion::Present, "the screening is the encounter");
    }

    #[test]
    fn a_cue_that_closes_a_statement_s_head_governs_it() {
        let text = "ASSESSMENT:\n1. Septic arthritis excluded by negative Gram stain and culture.\n2. Gout flare, septic joint not excluded.\n3. Chest pain, MI ruled out.";
        let at = |s: &str| {
            let i = text.find(s).unwrap();
            i..i + s.len()
        };
        assert_eq!(assert_statement(text, at("Septic arthritis excluded by negative Gram stain and culture")), Assertion::Negated);
        assert_eq!(assert_statement(text, at("Chest pain, MI ruled out")), Assertion::Present, "not past a comma");
    }

    /// The assertion and trigger text of the first occurrence of `mention` in `text`.
    fn judge<'t>(text: &'t str, mention: &str) -> (Assertion, Option<&'t str>) {
        let start = text.find(mention).expect("mention in text");
        let a = assert_mention_with_trigger(text, start..start + mention.len());
        (a.assertion, a.trigger.map(|r| &text[r]))
    }

    #[test]
    fn shipped_triggers_parse() {
        let parsed = Lexicon::parse(SHIPPED_TRIGGERS).unwrap_or_else(|e| panic!("{e}"));
        assert!(parsed.triggers.len() > 300);
        // The same file through the OnceLock (the `expect` path).
        assert_eq!(lexicon().triggers.len(), parsed.triggers.len());
        let lexicon = parsed;
        for kind in [Kind::Pseudo, Kind::Termination] {
            assert!(lexicon.triggers.iter().any(|t| t.kind == kind));
        }
        for a in Assertion::ALL.into_iter().filter(|&a| a != Assertion::Present) {
            assert!(lexicon.triggers.iter().any(|t| t.kind == Kind::Cue(a)), "no {a:?} cue");
        }
    }

    #[test]
    fn parse_errors_name_the_line() {
        let err = |text: &str| Lexicon::parse(text).unwrap_err();
        assert_eq!(err("# comment\nno\tnegated\n"), TriggerError::Columns { line: 2, found: 2 });
        assert_eq!(err("no\tnegated\tforward\textra\n"), TriggerError::Columns { line: 1, found: 4 });
        assert_eq!(err("\n\nno\tnegative\tforward\n"), TriggerError::Category { line: 3, found: "negative".into() });
        assert_eq!(err("fine\tpresent\tforward\n"), TriggerError::Category { line: 1, found: "present".into() });
        assert_eq!(err("no\tnegated\tforwards\n"), TriggerError::Direction { line: 1, found: "forwards".into() });
        assert_eq!(err("--\tnegated\tforward\n"), TriggerError::EmptyPhrase { line: 1 });
        assert_eq!(err("no;\tnegated\tforward\n"), TriggerError::ClauseEnd { line: 1, phrase: "no;".into(), found: ';' });
        assert_eq!(err("no change\tpseudo\tforward\n"), TriggerError::PseudoDirection { line: 1, found: "forward".into() });
        assert_eq!(
            err("Status post\thistorical\tforward\n# x\nstatus-post\thistorical\tforward\n"),
            TriggerError::Duplicate { line: 3, phrase: "status-post".into(), first: 1 }
        );
        let message = err("ok\tnegated\tforward\nbad row\n").to_string();
        assert!(message.contains("line 2") && message.contains("3 tab-separated columns"), "{message}");
    }

    #[test]
    fn parse_skips_header_comments_and_blank_lines() {
        let lexicon = Lexicon::parse("phrase\tcategory\tdirection\n# c\n\r\n No \tnegated\tforward\r\nnot only\tpseudo\tboth\n").unwrap();
        assert_eq!(lexicon.triggers.len(), 2);
        assert_eq!(lexicon.triggers[0].tokens, ["no"]);
        assert_eq!(lexicon.by_first["not"], [1]);
    }

    #[test]
    fn tokens_slice_the_text() {
        let text = "Pt’s s/p CABG, pain-free; 2.5 cm Café";
        let tokens = tokenize(text, 0..text.len());
        let norms: Vec<&str> = tokens.iter().map(|t| t.norm.as_str()).collect();
        assert_eq!(norms, ["pt", "'", "s", "s", "/", "p", "cabg", ",", "pain", "free", ";", "2", ".", "5", "cm", "café"]);
        for t in &tokens {
            assert_eq!(text[t.span.clone()].to_lowercase().replace('’', "'"), t.norm);
        }
    }

    #[test]
    fn clauses_end_at_punctuation_headers_blank_lines_and_list_items() {
        let text = "No fever. Cough vs. cold; ok\nwrapped line\n\nnew para\n- item one\nASSESSMENT: x";
        let sections = sections::detect(text);
        let clause = |m: &str| {
            let s = text.find(m).unwrap();
            &text[clause_around(text, &sections, &(s..s + m.len()))]
        };
        assert_eq!(clause("fever"), "No fever.");
        assert_eq!(clause("cold"), " Cough vs. cold;");
        assert_eq!(clause("wrapped"), " ok\nwrapped line");
        assert_eq!(clause("para"), "new para");
        assert_eq!(clause("item"), "- item one");
        assert_eq!(clause("x"), "ASSESSMENT: x");
        assert!(starts_list_item("12) x") && starts_list_item("b) x") && starts_list_item("• x"));
        assert!(!starts_list_item("-x") && !starts_list_item("1234. x") && !starts_list_item("ab) x") && !starts_list_item("b. x"));
    }

    #[test]
    fn evidence_is_the_deciding_phrase() {
        assert_eq!(judge("She denies chest pain.", "chest pain"), (Assertion::Negated, Some("denies")));
        assert_eq!(judge("Pneumonia was ruled out.", "Pneumonia"), (Assertion::Negated, Some("ruled out")));
        assert_eq!(judge("No history of asthma.", "asthma"), (Assertion::Negated, Some("No history of")));
        assert_eq!(judge("FAMILY HISTORY:\nNo diabetes.", "diabetes"), (Assertion::Family, Some("FAMILY HISTORY")));
        assert_eq!(judge("Cough for 3 days.", "Cough"), (Assertion::Present, None));
        // The nearest cue of the winning assertion.
        assert_eq!(judge("Denies fever, no cough.", "cough"), (Assertion::Negated, Some("no")));
    }

    #[test]
    fn a_treatment_s_risks_and_side_effects_are_hypothetical() {
        let consent = "We reviewed the regimen and its expected side effects, including risks of neutropenia, infection, neuropathy and blood clots.";
        for mention in ["neutropenia", "neuropathy", "blood clots"] {
            assert_eq!(judge(consent, mention).0, Assertion::Hypothetical, "{mention}");
        }
        assert_eq!(judge("Complications such as bleeding and infection were discussed.", "infection").0, Assertion::Hypothetical);
        assert_eq!(judge("Neuropathy from prior chemotherapy.", "Neuropathy").0, Assertion::Present);
    }

    #[test]
    fn word_cap_applies_to_negation_not_to_history() {
        let far = "Denies one two three four five six seven eight asthma.";
        assert_eq!(judge(far, "asthma").0, Assertion::Present);
        let near = "Denies one two three four five six seven asthma.";
        assert_eq!(judge(near, "asthma").0, Assertion::Negated);
        assert_eq!(judge("Negative for: one two three four five six seven eight asthma.", "asthma").0, Assertion::Negated);
        assert_eq!(judge("History of one two three four five six seven eight asthma.", "asthma").0, Assertion::Historical);
    }

    #[test]
    fn odd_ranges_do_not_panic() {
        let text = "No café fever";
        assert_eq!(assert_mention(text, 7..8), Assertion::Negated); // cuts "é" (bytes 6..8)
                                                                    // Past the end: the empty mention at the end, still in the scope of "No".
        assert_eq!(assert_mention(text, 100..200), Assertion::Negated);
        // A reversed range reads as the empty mention at its start ("fever").
        assert_eq!(assert_mention(text, Range { start: 9, end: 3 }), Assertion::Negated);
        assert_eq!(assert_mention("", 0..0), Assertion::Present);
        assert_eq!(assert_mention(text, 0..text.len()), Assertion::Present);
    }

    #[test]
    fn names_round_trip() {
        for a in Assertion::ALL {
            assert_eq!(Assertion::from_name(a.name()), Some(a));
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{}\"", a.name()));
        }
        assert_eq!(Assertion::from_name("Present"), None);
    }
}
