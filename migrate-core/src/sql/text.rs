//! What both dialects' splitters share: a statement and a problem at a
//! line, the items a splitter yields, the directives a comment can carry,
//! and where whitespace, a `--` comment and a statement's text end.

use std::ops::Range;

/// One statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Byte range in the file text, from the first token to the `;` (or the
    /// end of the file when the last statement has no semicolon).
    pub span: Range<usize>,
    /// 1-based line of the first token.
    pub line: u32,
}

impl Statement {
    /// The statement's text within `file`.
    pub fn text<'a>(&self, file: &'a str) -> &'a str {
        &file[self.span.clone()]
    }
}

/// A problem in a SQL file, at a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct SqlError {
    /// 1-based line in the file.
    pub line: u32,
    /// What is wrong.
    pub kind: SqlErrorKind,
}

/// What is wrong in a SQL file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlErrorKind {
    /// The file holds nothing but whitespace.
    #[error("the file has no statements; write SQL, or a comment to keep an intentional no-op")]
    Empty,
    /// A string or quoted identifier runs to the end of the file.
    #[error("unterminated {quote}…{close} starting here")]
    UnterminatedQuote {
        /// The opening character.
        quote: char,
        /// The character that would close it.
        close: char,
    },
    /// A statement that fails or silently does nothing inside a transaction.
    #[error("`{statement}` cannot run inside the migration's transaction; {advice}")]
    NotInTransaction {
        /// The statement, shortened.
        statement: String,
        /// What to do instead.
        advice: &'static str,
    },
    /// `BEGIN`, `COMMIT` or `ROLLBACK` anywhere but as a whole-file wrapper.
    #[error(
        "`{statement}` here would end or nest the runner's transaction; each migration already runs in one \
         transaction, so remove it (a whole-file `BEGIN … COMMIT` wrapper is fine), or put \
         `-- migrate:no-transaction` at the top of the file to manage transactions yourself"
    )]
    TransactionControl {
        /// The statement, shortened.
        statement: String,
    },
    /// `BEGIN` first without a `COMMIT` last.
    #[error("`BEGIN` has no matching `COMMIT` at the end of the file")]
    UnmatchedBegin,
    /// A directive after the first statement.
    #[error("the directive `{directive}` must come before the first statement")]
    LateDirective {
        /// The directive as written.
        directive: String,
    },
    /// `-- migrate:something` that is not a known directive.
    #[error(
        "unknown directive `{directive}`; known: `migrate:no-transaction`, `migrate:foreign-keys-off`, \
         `migrate:up`, `migrate:down`"
    )]
    UnknownDirective {
        /// The directive as written.
        directive: String,
    },
    /// A statement before the `up` marker of a sectioned file.
    #[error(
        "this statement comes before the `{marker}` marker, so it would never run; move it below the marker"
    )]
    OutsideSection {
        /// The marker the file uses (`-- migrate:up`, `-- +goose Up`).
        marker: &'static str,
    },
    /// `foreign-keys-off` needs the transaction it would roll back.
    #[error(
        "`migrate:foreign-keys-off` needs the migration's transaction (to roll back when the foreign key check fails), \
         so it cannot be combined with no-transaction; drop one of the two directives"
    )]
    ForeignKeysOffWithoutTransaction,
    /// `PRAGMA journal_mode = off` or `memory`, in any migration.
    #[error(
        "`{statement}` would take rollback away: with journal_mode {mode}, a failed or interrupted migration \
         cannot be undone and the database can be left half-changed or corrupt; migrations need a rollback \
         journal or WAL (`delete`, `truncate`, `persist` or `wal`)"
    )]
    NoRollback {
        /// The statement, shortened.
        statement: String,
        /// The journal mode asked for.
        mode: &'static str,
    },
    /// A dollar-quoted string (PostgreSQL) runs to the end of the file.
    #[error("unterminated dollar-quoted string starting here: no closing `{tag}`")]
    UnterminatedDollarQuote {
        /// The opening tag, `$$` or `$name$`.
        tag: String,
    },
    /// A block comment runs to the end of the file (PostgreSQL, whose
    /// comments nest, refuses it).
    #[error(
        "unterminated /* comment starting here (comments nest in PostgreSQL: each /* needs its */)"
    )]
    UnterminatedComment,
    /// `migrate:foreign-keys-off`, a SQLite directive, in a PostgreSQL set.
    #[error(
        "`migrate:foreign-keys-off` is for SQLite's table rebuilds; PostgreSQL alters tables in place, and checks \
         constraints at commit when they are `DEFERRABLE` (`SET CONSTRAINTS ALL DEFERRED`)"
    )]
    ForeignKeysOffOnPostgres,
    /// A down marker with no up marker.
    #[error(
        "the file has a down section but no up section; add `-- migrate:up` above the migration"
    )]
    DownWithoutUp,
}

/// What the splitter found, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Item {
    Statement(Statement),
    Directive { line: u32, directive: Directive },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Directive {
    /// Carries which spelling was used, for messages.
    NoTransaction(&'static str),
    ForeignKeysOff,
    Up {
        marker: &'static str,
        transaction: bool,
    },
    Down {
        transaction: bool,
    },
    Unknown(String),
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    None,
    Up,
    Down,
}

/// A `-- migrate:NAME …` comment's name and the rest of it, as every
/// reader of this tool's directives reads them: `--`, any spacing, then
/// `migrate:` and a name that starts with a letter.
pub(crate) fn migrate_directive(comment: &str) -> Option<(&str, &str)> {
    let rest = comment
        .strip_prefix("--")?
        .trim()
        .strip_prefix("migrate:")
        .filter(|r| r.starts_with(|c: char| c.is_ascii_alphabetic()))?;
    let name = rest.split_whitespace().next()?;
    Some((name, &rest[name.len()..]))
}

/// Reads a line comment's text as a directive, if it is one.
pub(super) fn directive(comment: &str) -> Option<Directive> {
    let body = comment.strip_prefix("--")?.trim();
    if let Some((name, rest)) = migrate_directive(comment) {
        let mut words = rest.split_whitespace();
        return Some(match name {
            "no-transaction" => Directive::NoTransaction("migrate:no-transaction"),
            "foreign-keys-off" => Directive::ForeignKeysOff,
            // Lint's `-- migrate:allow RULE` and diff's `-- migrate:renamed-
            // from OLD`, read by them: plain comments to the scanner, so they
            // may stand anywhere, mid-statement too.
            "allow" | "renamed-from" => return None,
            // dbmate: `-- migrate:up transaction:false`
            "up" => Directive::Up {
                marker: "-- migrate:up",
                transaction: !words.any(|w| w == "transaction:false"),
            },
            "down" => Directive::Down {
                transaction: !words.any(|w| w == "transaction:false"),
            },
            _ => Directive::Unknown(format!("migrate:{name}")),
        });
    }
    if let Some(rest) = body.strip_prefix("+goose") {
        let rest = rest.trim().to_ascii_lowercase();
        return Some(match rest.as_str() {
            "up" => Directive::Up {
                marker: "-- +goose Up",
                transaction: true,
            },
            "down" => Directive::Down { transaction: true },
            "no transaction" => Directive::NoTransaction("+goose NO TRANSACTION"),
            _ => Directive::Ignored,
        });
    }
    // sqlx: a first line of `-- no-transaction`.
    (body == "no-transaction").then_some(Directive::NoTransaction("no-transaction"))
}

/// Where the run of whitespace at `i` ends (both dialects' whitespace).
pub(super) fn space_end(b: &[u8], i: usize) -> usize {
    (i..b.len())
        .find(|&j| !matches!(b[j], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'))
        .unwrap_or(b.len())
}

/// Where the `--` comment at `i` ends: at its newline, or the end.
pub(super) fn line_end(b: &[u8], i: usize) -> usize {
    (i..b.len()).find(|&j| b[j] == b'\n').unwrap_or(b.len())
}

/// `trim_end` with a dialect's lexer: `next(bytes, i)` gives the end of
/// the token at `i` and whether it is whitespace or a comment (`None`: it
/// does not end, and nothing is cut).
pub(super) fn trim_end_by(
    text: &str,
    start: usize,
    end: usize,
    next: impl Fn(&[u8], usize) -> Option<(usize, bool)>,
) -> usize {
    let b = &text.as_bytes()[..end];
    let mut last = start;
    let mut i = start;
    while i < end {
        let Some((token_end, trivia)) = next(b, i) else {
            return end;
        };
        if !trivia {
            last = token_end;
        }
        i = token_end;
    }
    last
}

/// What a dialect's lexer says of the token at a byte: its kind, as far as
/// walking a text cares, and where it ends.
#[cfg(feature = "sqlite")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// Spaces or a block comment.
    Blank,
    /// A `--` comment.
    LineComment,
    /// A word, quoted text or punctuation.
    Significant,
}

/// The tokens of `text` that `keep` picks, up to `n`, found by `next` (a
/// dialect's lexer: the token at a byte, `None` where one does not end,
/// which ends the walk as it ends the scan): each one's byte range.
#[cfg(feature = "sqlite")]
pub(super) fn walk(
    text: &str,
    n: usize,
    keep: Seen,
    next: impl Fn(&[u8], usize) -> Option<(Seen, usize)>,
) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < n {
        let Some((seen, end)) = next(b, i).filter(|&(_, end)| end > i) else {
            break;
        };
        if seen == keep {
            out.push(i..end);
        }
        i = end;
    }
    out
}
