//! The shipped two-column knowledge tables (`core/data/*.tsv`: the statement synonyms, the
//! words that name a model code's condition): their rows, with the line each came from.

/// The rows of a `left<TAB>right` table, each with its 1-based line number; blank lines and
/// lines starting with `#` are skipped. A row without a tab is an error naming `file` and the
/// line, after `expected` (what the row should hold).
pub(crate) fn rows<'a>(file: &'a str, tsv: &'a str, expected: &'a str) -> impl Iterator<Item = Result<(usize, &'a str, &'a str), String>> + 'a {
    tsv.lines().enumerate().filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#')).map(move |(n, line)| {
        line.split_once('\t').map(|(left, right)| (n + 1, left, right)).ok_or_else(|| format!("{file} line {}: expected {expected}", n + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_skip_comments_and_blanks_and_name_the_bad_line() {
        let got: Vec<_> = rows("t.tsv", "# c\n\na\tb\nc d\n", "x<TAB>y").collect();
        assert_eq!(got[0], Ok((3, "a", "b")));
        assert_eq!(got[1], Err("t.tsv line 4: expected x<TAB>y".to_string()));
        assert_eq!(got.len(), 2);
    }
}
