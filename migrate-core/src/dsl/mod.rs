//! The two small languages of migration sets: pragma sets (`.pragmas`) and
//! index sets (`.indexes`), with the pragma catalogue.
//!
//! Pure: no SQLite. The proc macro parses every set at compile time with
//! these parsers, and the runner parses them again when it applies them.

pub mod catalogue;
pub mod indexes;
pub mod pragmas;

/// The two shapes of an index-set line, for messages.
pub(crate) const SHAPE: &str = "expected `[unique] index [name] on table (column [asc|desc], ...) [where condition]` \
     or `expect \"query\" uses index`";

/// A problem on one line of a pragma set or an index set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DslError {
    /// 1-based line in the file.
    pub line: u32,
    /// What is wrong, to match on.
    pub kind: DslErrorKind,
    /// What is wrong, what was expected, and a fix where there is one: the
    /// kind, as text.
    pub message: String,
}

/// What is wrong on a line of a pragma set or an index set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DslErrorKind {
    /// A line of neither shape the file allows, or a shape cut short.
    #[error("{0}")]
    Syntax(String),
    /// `preset NAME` with a name that is not a preset.
    #[error(
        "unknown preset `{name}`{}; the presets are `safety`, `balanced` and `speed`",
        did_you_mean(*.suggestion)
    )]
    UnknownPreset {
        /// The name as written.
        name: String,
        /// The preset it is closest to.
        suggestion: Option<&'static str>,
    },
    /// A pragma that is not in the catalogue.
    #[error("unknown pragma `{name}`{}", did_you_mean(*.suggestion))]
    UnknownPragma {
        /// The name as written.
        name: String,
        /// The pragma it is closest to.
        suggestion: Option<&'static str>,
    },
    /// A pragma that only reports (`page_count`).
    #[error("`{name}` only reports; it cannot be set in a pragma set")]
    ReadOnlyPragma {
        /// The name as written.
        name: String,
    },
    /// A value the pragma does not take.
    #[error("bad value `{value}` for `{pragma}`: expected {expected}")]
    BadValue {
        /// The pragma.
        pragma: &'static str,
        /// The value as written.
        value: String,
        /// What it takes.
        expected: String,
    },
    /// A setting that would take rollback away (`journal_mode = off`).
    #[error(
        "`{pragma} = {value}` is refused: without a rollback journal on disk a failed migration cannot be \
         undone (it stays half-applied) and a crash can corrupt the file; use `wal`, or `delete`, `truncate` \
         or `persist`"
    )]
    NoRollback {
        /// The pragma.
        pragma: &'static str,
        /// The value asked for.
        value: String,
    },
    /// A word an index set does not know where a line starts.
    #[error("unknown word `{word}`{}; {}", did_you_mean(*.suggestion), SHAPE)]
    UnknownWord {
        /// The word.
        word: String,
        /// The keyword it is closest to.
        suggestion: Option<&'static str>,
    },
    /// A column direction that is not `asc` or `desc`.
    #[error(
        "unknown direction `{word}` after column `{column}`; expected `asc` or `desc`{}",
        did_you_mean(*.suggestion)
    )]
    UnknownDirection {
        /// The column.
        column: String,
        /// The word after it.
        word: String,
        /// The keyword it is closest to.
        suggestion: Option<&'static str>,
    },
    /// An index with no columns.
    #[error("the column list of `{table}` is empty; name at least one column")]
    EmptyColumnList {
        /// The table.
        table: String,
    },
    /// Two indexes of one set with the same name.
    #[error(
        "the index name `{name}` is already used on line {first_line}; give one of them another name"
    )]
    DuplicateIndexName {
        /// The name.
        name: String,
        /// The line that used it first.
        first_line: u32,
    },
}

impl DslError {
    pub(crate) fn new(line: u32, kind: DslErrorKind) -> DslError {
        DslError {
            line,
            message: kind.to_string(),
            kind,
        }
    }
}

/// The candidate closest to `word`, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&word, c), c))
        .filter(|&(d, _)| d <= limit)
        // On a tie, the candidate that starts like the word (`dsc`: `desc`).
        .min_by_key(|&(d, c)| (d, c.chars().next() != word.chars().next()))
        .map(|(_, c)| c)
}

/// " (did you mean `x`?)" or nothing.
pub(crate) fn did_you_mean(s: Option<&str>) -> String {
    s.map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// Edit distance by characters, a swap of two neighbours counting as one
/// edit (optimal string alignment), so `itmes` is one edit from `items`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Cuts a `--` comment off a line, outside quotes.
pub(crate) fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let bytes = line.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'-' && bytes.get(i + 1) == Some(&b'-') => return &line[..i],
            None => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["journal_mode", "synchronous", "cache_size"];
        assert_eq!(suggest("jornal_mode", names), Some("journal_mode"));
        assert_eq!(suggest("SYNCHRONOS", names), Some("synchronous"));
        assert_eq!(suggest("frobnicate", names), None);
        assert_eq!(suggest("dsc", ["asc", "desc"]), Some("desc"));
        assert_eq!(suggest("itmes", ["items", "users"]), Some("items"));
        assert_eq!(suggest("é", ["a"]), Some("a"));
    }

    #[test]
    fn errors_have_kinds_to_match_on() {
        let e = &pragmas::parse("jornal_mode = wal\njournal_mode = off\n").unwrap_err();
        assert_eq!(
            e[0].kind,
            DslErrorKind::UnknownPragma {
                name: "jornal_mode".into(),
                suggestion: Some("journal_mode")
            }
        );
        assert!(matches!(
            e[1].kind,
            DslErrorKind::NoRollback {
                pragma: "journal_mode",
                ..
            }
        ));
        assert_eq!(e[1].line, 2);
        let e = &indexes::parse("index on t (a dsc)\nindex on t ()\n").unwrap_err();
        assert!(matches!(&e[0].kind, DslErrorKind::UnknownDirection { word, .. } if word == "dsc"));
        assert!(matches!(&e[1].kind, DslErrorKind::EmptyColumnList { table } if table == "t"));
        // The message is the kind's text.
        assert_eq!(e[0].message, e[0].kind.to_string());
    }

    #[test]
    fn strips_comments_outside_quotes() {
        assert_eq!(strip_comment("a = 1 -- note"), "a = 1 ");
        assert_eq!(
            strip_comment("expect \"SELECT '--'\" uses i"),
            "expect \"SELECT '--'\" uses i"
        );
    }
}
