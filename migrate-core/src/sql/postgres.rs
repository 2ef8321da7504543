//! The PostgreSQL dialect of the statement scanner: the same files, split
//! where PostgreSQL's own client (`psql`) splits them, and the statements
//! PostgreSQL refuses inside a transaction block found before anything
//! runs.
//!
//! What differs from SQLite's lexer:
//! - dollar quoting (`$$ … $$`, `$body$ … $body$`): a function body's `;`
//!   and `BEGIN … END` are text;
//! - nested block comments (`/* a /* b */ c */`);
//! - `E'…'` strings, where a backslash escapes the next character;
//! - `$1` parameters, and `$` inside identifiers (`a$b`);
//! - no `[…]` or backtick quoting;
//! - `;` inside parentheses (a rule's `DO (…; …)`) or inside a SQL-standard
//!   function body (`BEGIN ATOMIC … END`) does not end the statement, as in
//!   psql.

#[cfg(feature = "sqlite")]
use super::text::Seen;
use super::text::{
    Item, SqlError, SqlErrorKind, Statement, directive, line_end, space_end, trim_end_by,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Space,
    LineComment,
    BlockComment,
    Word,
    Quoted,
    Semi,
    Open,
    Close,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

/// Why a token does not end: its opening, for the message.
enum Open {
    Quote(u8),
    Dollar,
    Comment,
}

/// PostgreSQL's identifier characters after the first: letters, digits,
/// `_`, `$` and every non-ASCII byte.
fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

/// The end of a quoted run that starts at `i` (on its opening `q`), with
/// `q` doubled inside it; `backslash` when a backslash escapes the next
/// byte (`E'…'`).
fn quoted_end(b: &[u8], i: usize, q: u8, backslash: bool) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' if backslash => j += 2,
            c if c == q => {
                if b.get(j + 1) == Some(&q) {
                    j += 2;
                } else {
                    return Some(j + 1);
                }
            }
            _ => j += 1,
        }
    }
    None
}

/// The tag of a dollar quote opening at `i` (`$$` or `$name$`), its length
/// with both `$`.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j) == Some(&b'$') {
        return Some(2);
    }
    if !b.get(j).is_some_and(|&c| is_ident_start(c)) {
        return None;
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

/// The token starting at `i`, or where an unterminated one opened.
fn lex(b: &[u8], i: usize) -> Result<Token, (usize, Open)> {
    let tok = |kind, end| {
        Ok(Token {
            kind,
            start: i,
            end,
        })
    };
    let c = b[i];
    match c {
        b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => tok(Tok::Space, space_end(b, i)),
        b'-' if b.get(i + 1) == Some(&b'-') => tok(Tok::LineComment, line_end(b, i)),
        b'/' if b.get(i + 1) == Some(&b'*') => {
            // Comments nest in PostgreSQL.
            let mut depth = 0usize;
            let mut j = i;
            while j + 1 < b.len() {
                if b[j] == b'/' && b[j + 1] == b'*' {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b[j + 1] == b'/' {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        return tok(Tok::BlockComment, j);
                    }
                } else {
                    j += 1;
                }
            }
            Err((i, Open::Comment))
        }
        b'\'' | b'"' => match quoted_end(b, i, c, false) {
            Some(end) => tok(Tok::Quoted, end),
            None => Err((i, Open::Quote(c))),
        },
        b'$' => {
            if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let end = (i + 1..b.len())
                    .find(|&j| !b[j].is_ascii_digit())
                    .unwrap_or(b.len());
                return tok(Tok::Other, end);
            }
            let Some(len) = dollar_tag(b, i) else {
                return tok(Tok::Other, i + 1);
            };
            let tag = &b[i..i + len];
            match b[i + len..].windows(len).position(|w| w == tag) {
                Some(k) => tok(Tok::Quoted, i + len + k + len),
                None => Err((i, Open::Dollar)),
            }
        }
        b';' => tok(Tok::Semi, i + 1),
        b'(' => tok(Tok::Open, i + 1),
        b')' => tok(Tok::Close, i + 1),
        c if is_ident_start(c) => {
            // `E'…'`: an escape string, where `\'` does not close it.
            if matches!(c, b'e' | b'E') && b.get(i + 1) == Some(&b'\'') {
                return match quoted_end(b, i + 1, b'\'', true) {
                    Some(end) => tok(Tok::Quoted, end),
                    None => Err((i + 1, Open::Quote(b'\''))),
                };
            }
            let end = (i..b.len())
                .find(|&j| !is_ident_char(b[j]))
                .unwrap_or(b.len());
            tok(Tok::Word, end)
        }
        c if c.is_ascii_digit() => {
            let end = (i..b.len())
                .find(|&j| !(b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'_'))
                .unwrap_or(b.len());
            tok(Tok::Other, end)
        }
        _ => tok(Tok::Other, i + 1),
    }
}

fn newlines(b: &[u8]) -> u32 {
    b.iter().filter(|&&c| c == b'\n').count() as u32
}

/// The error for a token that does not end.
fn unterminated(b: &[u8], at: usize, open: Open) -> SqlError {
    let line = 1 + newlines(&b[..at]);
    let kind = match open {
        Open::Quote(q) => SqlErrorKind::UnterminatedQuote {
            quote: q as char,
            close: q as char,
        },
        Open::Dollar => {
            let len = dollar_tag(b, at).unwrap_or(2);
            let tag = String::from_utf8_lossy(&b[at..at + len]).into_owned();
            SqlErrorKind::UnterminatedDollarQuote { tag }
        }
        Open::Comment => SqlErrorKind::UnterminatedComment,
    };
    SqlError { line, kind }
}

/// The end of `text[start..end]` with trailing whitespace and comments cut.
fn trim_end(text: &str, start: usize, end: usize) -> usize {
    trim_end_by(text, start, end, |b, i| {
        let t = lex(b, i).ok()?;
        Some((
            t.end,
            matches!(t.kind, Tok::Space | Tok::LineComment | Tok::BlockComment),
        ))
    })
}

/// Whether the first words of a statement make it a function or procedure
/// definition, whose SQL-standard body (`BEGIN ATOMIC … END`) holds `;`.
fn defines_routine(words: &[String]) -> bool {
    let routine = |w: Option<&String>| w.is_some_and(|w| w == "function" || w == "procedure");
    words.first().is_some_and(|w| w == "create")
        && (routine(words.get(1))
            || (words.get(1).is_some_and(|w| w == "or")
                && words.get(2).is_some_and(|w| w == "replace")
                && routine(words.get(3))))
}

/// Splits a file into statements and directive comments, as psql does.
pub(super) fn split(text: &str) -> Result<Vec<Item>, SqlError> {
    let b = text.as_bytes();
    let mut items = Vec::new();
    let mut current: Option<(usize, u32)> = None;
    let mut words: Vec<String> = Vec::new();
    let mut parens = 0u32;
    let mut begins = 0u32;
    let mut line = 1u32;
    let mut i = 0;
    while i < b.len() {
        let t = lex(b, i).map_err(|(at, open)| unterminated(b, at, open))?;
        match t.kind {
            Tok::Space | Tok::BlockComment => {}
            Tok::LineComment => {
                if let Some(directive) = directive(&text[t.start..t.end]) {
                    // A marker ends an open statement, as on SQLite.
                    if let Some((start, l)) = current.take() {
                        items.push(Item::Statement(Statement {
                            span: start..trim_end(text, start, t.start),
                            line: l,
                        }));
                        words.clear();
                        parens = 0;
                        begins = 0;
                    }
                    items.push(Item::Directive { line, directive });
                }
            }
            Tok::Semi if parens == 0 && begins == 0 => {
                if let Some((start, l)) = current.take() {
                    items.push(Item::Statement(Statement {
                        span: start..t.end,
                        line: l,
                    }));
                }
                words.clear();
            }
            kind => {
                if current.is_none() {
                    current = Some((t.start, line));
                }
                match kind {
                    Tok::Open => parens += 1,
                    Tok::Close => parens = parens.saturating_sub(1),
                    Tok::Word => {
                        let word = text[t.start..t.end].to_ascii_lowercase();
                        if defines_routine(&words) {
                            match word.as_str() {
                                "begin" | "case" => begins += 1,
                                "end" => begins = begins.saturating_sub(1),
                                _ => {}
                            }
                        }
                        if words.len() < 4 {
                            words.push(word);
                        }
                    }
                    _ => {}
                }
            }
        }
        line += newlines(&b[t.start..t.end]);
        i = t.end;
    }
    if let Some((start, l)) = current {
        items.push(Item::Statement(Statement {
            span: start..trim_end(text, start, b.len()),
            line: l,
        }));
    }
    Ok(items)
}

/// Every significant token of a statement (no spaces, no comments), as
/// PostgreSQL's lexer reads them; an unterminated one ends the list.
#[cfg(feature = "sqlite")]
pub(super) fn tokens(statement: &str) -> Vec<&str> {
    super::text::walk(statement, usize::MAX, Seen::Significant, seen)
        .into_iter()
        .map(|r| &statement[r])
        .collect()
}

/// The byte ranges of the `--` comments of `text`, as PostgreSQL's lexer
/// finds them (not inside a dollar quote, a nested block comment or an
/// `E'…'` string).
#[cfg(feature = "sqlite")]
pub(super) fn line_comments(text: &str) -> Vec<std::ops::Range<usize>> {
    super::text::walk(text, usize::MAX, Seen::LineComment, seen)
}

/// [`super::text::walk`]'s view of PostgreSQL's lexer.
#[cfg(feature = "sqlite")]
fn seen(b: &[u8], i: usize) -> Option<(Seen, usize)> {
    let t = lex(b, i).ok()?;
    let seen = match t.kind {
        Tok::LineComment => Seen::LineComment,
        Tok::Space | Tok::BlockComment => Seen::Blank,
        _ => Seen::Significant,
    };
    Some((seen, t.end))
}

/// Up to `n` words of a statement, lowercase, comments, quotes and
/// punctuation passed over.
fn words(statement: &str, n: usize) -> Vec<String> {
    let b = statement.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < n {
        let Ok(t) = lex(b, i) else { break };
        if t.kind == Tok::Word {
            out.push(statement[t.start..t.end].to_ascii_lowercase());
        }
        i = t.end;
    }
    out
}

/// What the runner needs to know of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// Any other transaction control: `ROLLBACK`, `SAVEPOINT`, `PREPARE
    /// TRANSACTION`, …
    Control,
    /// PostgreSQL refuses it inside a transaction block.
    NoTransaction,
    Other,
}

/// Classifies a statement. The statements PostgreSQL 15 refuses inside a
/// transaction block (SQLSTATE 25001), as its tests confirm: `CREATE
/// INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX …
/// CONCURRENTLY` and `REINDEX SYSTEM|DATABASE`, `VACUUM`, `CREATE|DROP
/// DATABASE`, `ALTER SYSTEM`, `CREATE|DROP TABLESPACE`, `ALTER DATABASE …
/// SET TABLESPACE`, a bare `CLUSTER`, `DISCARD ALL`.
pub(super) fn classify(statement: &str) -> Class {
    let w = words(statement, 8);
    let at = |k: usize| w.get(k).map_or("", String::as_str);
    let has = |word: &str| w.iter().any(|x| x == word);
    match at(0) {
        "begin" => Class::Begin,
        "start" if at(1) == "transaction" => Class::Begin,
        "commit" if at(1) != "prepared" => Class::Commit,
        "end" => Class::Commit,
        "rollback" | "abort" | "savepoint" | "release" | "commit" => Class::Control,
        "prepare" if at(1) == "transaction" => Class::Control,
        "create" if at(1) == "index" && at(2) == "concurrently" => Class::NoTransaction,
        "create" if at(1) == "unique" && at(2) == "index" && at(3) == "concurrently" => {
            Class::NoTransaction
        }
        "drop" if at(1) == "index" && at(2) == "concurrently" => Class::NoTransaction,
        "reindex" if has("concurrently") || has("system") || has("database") => {
            Class::NoTransaction
        }
        "vacuum" => Class::NoTransaction,
        "create" | "drop" if matches!(at(1), "database" | "tablespace") => Class::NoTransaction,
        "alter" if at(1) == "system" => Class::NoTransaction,
        "alter" if at(1) == "database" && has("set") && has("tablespace") => Class::NoTransaction,
        "cluster" if w.len() == 1 => Class::NoTransaction,
        "discard" if at(1) == "all" => Class::NoTransaction,
        _ => Class::Other,
    }
}

/// How a statement runs when the applied files are replayed inside one
/// transaction (`verify`'s drift check, `baseline`, `repair`), which is
/// rolled back afterwards.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Replay<'a> {
    /// This text (a no-transaction index statement without its
    /// `CONCURRENTLY`, which only changes how it locks).
    Run(std::borrow::Cow<'a, str>),
    /// Not at all: maintenance (`VACUUM`, `REINDEX`, `CLUSTER`, `DISCARD`)
    /// changes no schema.
    Skip,
    /// It acts outside the database's schema (a database, a tablespace,
    /// the server's settings), so a replay cannot make it.
    Refuse,
}

/// See [`Replay`].
#[cfg(feature = "postgres")]
pub(crate) fn replay_form(statement: &str) -> Replay<'_> {
    if classify(statement) != Class::NoTransaction {
        return Replay::Run(statement.into());
    }
    let first = words(statement, 1);
    match first.first().map(String::as_str) {
        Some("create" | "drop") => {
            let b = statement.as_bytes();
            let mut i = 0;
            while i < b.len() {
                let Ok(t) = lex(b, i) else { break };
                if t.kind == Tok::Word
                    && statement[t.start..t.end].eq_ignore_ascii_case("concurrently")
                {
                    let mut text = String::with_capacity(statement.len());
                    text.push_str(&statement[..t.start]);
                    text.push_str(&statement[t.end..]);
                    return Replay::Run(text.into());
                }
                i = t.end;
            }
            Replay::Refuse
        }
        Some("vacuum" | "reindex" | "cluster" | "discard") => Replay::Skip,
        _ => Replay::Refuse,
    }
}

/// What to do with a statement PostgreSQL refuses inside a transaction.
pub(super) const USE_NO_TRANSACTION: &str = "PostgreSQL refuses it inside a transaction block; put it in its own \
     file that starts with `-- migrate:no-transaction`";
