//! The statement scanner: splits a SQL migration into statements with their
//! line numbers, reads its directives, and finds what cannot run where the
//! runner would run it.
//!
//! Pure: no SQLite. Boundaries follow SQLite's own `sqlite3_complete()`:
//! strings, quoted identifiers, both comment forms, and its state machine for
//! `CREATE TRIGGER … BEGIN … END;` bodies, whose inner semicolons do not end
//! the statement. The tests compare this scanner with SQLite itself.

#[cfg(feature = "sqlite")]
pub(crate) mod definition;
mod postgres;
mod text;
#[cfg(feature = "postgres")]
pub(crate) use postgres::{Replay as PgReplay, replay_form as pg_replay_form};
use text::{Directive, Item, Section, directive, line_end, space_end, trim_end_by};
pub use text::{SqlError, SqlErrorKind, Statement};

/// The SQL dialect a migrations folder is written in: where its statements
/// end, and which of them cannot run inside the runner's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite: boundaries as `sqlite3_complete()` finds them.
    #[default]
    Sqlite,
    /// PostgreSQL: boundaries as psql finds them (dollar quoting, nested
    /// comments, `E''` strings).
    Postgres,
}

/// A scanned SQL migration: what the runner executes, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// The statements to execute, in order, as byte ranges of the file text.
    /// A `BEGIN … COMMIT` wrapper, in-file `PRAGMA foreign_keys` statements
    /// and any down section are already left out.
    pub statements: Vec<Statement>,
    /// Run outside a transaction (`-- migrate:no-transaction`, sqlx's
    /// `-- no-transaction`, goose's `NO TRANSACTION`, dbmate's
    /// `transaction:false`).
    pub no_transaction: bool,
    /// Run with foreign keys off and check them before commit
    /// (`-- migrate:foreign-keys-off`, or `PRAGMA foreign_keys = OFF` in the file).
    pub foreign_keys_off: bool,
    /// The file wrapped its body in its own `BEGIN … COMMIT`.
    pub wrapped: bool,
}

/// Scans a SQL migration file.
///
/// ```
/// use migrate_core::sql::scan;
/// let text = "BEGIN;\nCREATE TABLE t (x);\nINSERT INTO t VALUES (';')\n;COMMIT;";
/// let script = scan(text).unwrap();
/// assert!(script.wrapped);
/// let lines: Vec<u32> = script.statements.iter().map(|s| s.line).collect();
/// assert_eq!(lines, [2, 3]);
/// ```
pub fn scan(text: &str) -> Result<Script, SqlError> {
    scan_as(text, false)
}

/// [`scan`], for a file that runs outside a transaction whatever it says
/// (diesel's `run_in_transaction = false` in the folder's `metadata.toml`).
pub fn scan_as(text: &str, outside_transaction: bool) -> Result<Script, SqlError> {
    let script = scan_part(text, Section::Up, outside_transaction)?;
    Ok(script.expect("the up part of a file always scans to a script"))
}

/// Scans the reverse of a SQL migration written in one file: dbmate's
/// `-- migrate:down` or goose's `-- +goose Down` section, under the same
/// rules as the up part. `None` when the file has no down section (an
/// empty one scans to a script without statements).
///
/// ```
/// use migrate_core::sql::scan_down;
/// let text = "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n";
/// let down = scan_down(text).unwrap().unwrap();
/// assert_eq!(down.statements[0].text(text), "DROP TABLE t;");
/// assert_eq!(scan_down("CREATE TABLE t (x);").unwrap(), None);
/// let empty = scan_down("-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\n").unwrap();
/// assert!(empty.unwrap().statements.is_empty());
/// ```
pub fn scan_down(text: &str) -> Result<Option<Script>, SqlError> {
    scan_down_as(text, false)
}

/// [`scan_down`], for a file that runs outside a transaction whatever it
/// says.
pub fn scan_down_as(text: &str, outside_transaction: bool) -> Result<Option<Script>, SqlError> {
    scan_part(text, Section::Down, outside_transaction)
}

/// Every problem of a SQL migration file, in line order: its up part and
/// its down section (dbmate, goose), each statement that cannot run where
/// it is, not only the first (a build reports them all at once).
pub fn problems_as(text: &str, outside_transaction: bool) -> Vec<SqlError> {
    problems_in(Dialect::Sqlite, text, outside_transaction)
}

/// [`problems_as`], in `dialect`.
pub fn problems_in(dialect: Dialect, text: &str, outside_transaction: bool) -> Vec<SqlError> {
    let mut found = match scan_part_all(text, Section::Up, outside_transaction, dialect) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    if (text.contains("migrate:down") || text.contains("+goose"))
        && let Err(errors) = scan_part_all(text, Section::Down, outside_transaction, dialect)
    {
        // Problems of the whole file (an empty one, a bad directive) are
        // found by both parts: said once.
        for e in errors {
            if !found.contains(&e) {
                found.push(e);
            }
        }
    }
    found.sort_by_key(|e| e.line);
    found
}

/// Scans the `part` of a file: `Section::Up` is the migration (the whole
/// file when it has no sections), `Section::Down` its down section. The
/// first problem (see [`scan_part_all`]).
fn scan_part(text: &str, part: Section, outside: bool) -> Result<Option<Script>, SqlError> {
    scan_part_all(text, part, outside, Dialect::Sqlite).map_err(|mut errors| errors.swap_remove(0))
}

/// [`scan_as`], in `dialect`.
pub fn scan_in(
    dialect: Dialect,
    text: &str,
    outside_transaction: bool,
) -> Result<Script, SqlError> {
    let script = scan_part_all(text, Section::Up, outside_transaction, dialect)
        .map_err(|mut errors| errors.swap_remove(0))?;
    Ok(script.expect("the up part of a file always scans to a script"))
}

/// [`scan_down_as`], in `dialect`.
pub fn scan_down_in(
    dialect: Dialect,
    text: &str,
    outside_transaction: bool,
) -> Result<Option<Script>, SqlError> {
    scan_part_all(text, Section::Down, outside_transaction, dialect)
        .map_err(|mut errors| errors.swap_remove(0))
}

/// [`scan_part`], with every problem of the statements that cannot run
/// where they are, in line order (never an empty list).
fn scan_part_all(
    text: &str,
    part: Section,
    outside: bool,
    dialect: Dialect,
) -> Result<Option<Script>, Vec<SqlError>> {
    let one = |e: SqlError| vec![e];
    let items = split_in(dialect, text).map_err(one)?;
    if items.is_empty() && !has_comment(text) {
        return Err(one(SqlError {
            line: 1,
            kind: SqlErrorKind::Empty,
        }));
    }

    // Directives before the first statement apply to both parts; a
    // section marker's own (`transaction:false`) to its part only.
    let mut no_transaction = false;
    let mut down_no_transaction = false;
    let mut foreign_keys_off = false;
    let mut seen_statement = false;
    let mut section = Section::None;
    let mut marker = None;
    let mut statements = Vec::new();
    let mut down = Vec::new();
    let mut has_down = false;
    let mut unsectioned = Vec::new();
    for item in items {
        match item {
            Item::Directive { line, directive } => {
                let late = |d: &str| SqlError {
                    line,
                    kind: SqlErrorKind::LateDirective {
                        directive: d.trim().to_owned(),
                    },
                };
                match directive {
                    Directive::NoTransaction(_) if seen_statement => {
                        return Err(one(late(text_line(text, line))));
                    }
                    Directive::ForeignKeysOff if seen_statement => {
                        return Err(one(late(text_line(text, line))));
                    }
                    Directive::NoTransaction(_) => no_transaction = true,
                    Directive::ForeignKeysOff => foreign_keys_off = true,
                    Directive::Up {
                        marker: m,
                        transaction,
                    } => {
                        section = Section::Up;
                        marker = Some(m);
                        no_transaction |= !transaction;
                    }
                    Directive::Down { transaction } => {
                        if marker.is_none() {
                            return Err(one(SqlError {
                                line,
                                kind: SqlErrorKind::DownWithoutUp,
                            }));
                        }
                        section = Section::Down;
                        has_down = true;
                        down_no_transaction |= !transaction;
                    }
                    Directive::Unknown(d) => {
                        return Err(one(SqlError {
                            line,
                            kind: SqlErrorKind::UnknownDirective { directive: d },
                        }));
                    }
                    Directive::Ignored => {}
                }
            }
            Item::Statement(s) => {
                seen_statement = true;
                match section {
                    Section::None => unsectioned.push(s),
                    Section::Up => statements.push(s),
                    Section::Down => down.push(s),
                }
            }
        }
    }
    match marker {
        Some(marker) => {
            if let Some(s) = unsectioned.first() {
                return Err(one(SqlError {
                    line: s.line,
                    kind: SqlErrorKind::OutsideSection { marker },
                }));
            }
        }
        None => statements = unsectioned,
    }
    if part == Section::Down {
        if !has_down {
            return Ok(None);
        }
        statements = down;
        no_transaction |= down_no_transaction;
    }

    let mut script = Script {
        statements,
        no_transaction: no_transaction || outside,
        foreign_keys_off,
        wrapped: false,
    };
    if script.no_transaction && script.foreign_keys_off {
        return Err(one(SqlError {
            line: 1,
            kind: SqlErrorKind::ForeignKeysOffWithoutTransaction,
        }));
    }
    let mut errors = Vec::new();
    match dialect {
        Dialect::Sqlite => {
            if !script.no_transaction {
                errors = fit_to_transaction(text, &mut script);
            }
            errors.extend(refuse_rollback_loss(text, &script));
        }
        Dialect::Postgres => {
            if script.foreign_keys_off {
                return Err(one(SqlError {
                    line: 1,
                    kind: SqlErrorKind::ForeignKeysOffOnPostgres,
                }));
            }
            if !script.no_transaction {
                errors = fit_to_transaction_postgres(text, &mut script);
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(errors);
    }
    Ok(Some(script))
}

/// Leaves out what the runner does itself (foreign-key switching, the
/// transaction); returns a problem for each statement that cannot run
/// inside a transaction.
fn fit_to_transaction(text: &str, script: &mut Script) -> Vec<SqlError> {
    let mut classified: Vec<(Statement, Class)> = script
        .statements
        .drain(..)
        .map(|s| {
            let class = classify(s.text(text));
            (s, class)
        })
        .collect();
    // drizzle's way out of the transaction its runner holds, to switch
    // foreign keys off for a table rebuild: `COMMIT; PRAGMA foreign_keys=OFF;
    // BEGIN; … COMMIT; PRAGMA foreign_keys=ON; BEGIN;`. Its intent is a
    // foreign-keys-off migration, which is how it runs here.
    let classes: Vec<&Class> = classified.iter().map(|(_, c)| c).collect();
    if let [
        Class::Commit,
        Class::ForeignKeys { on: false },
        Class::Begin,
        ..,
        Class::Commit,
        Class::ForeignKeys { on: true },
        Class::Begin,
    ] = classes.as_slice()
    {
        let n = classified.len();
        classified.drain(n - 3..);
        classified.drain(..3);
        script.foreign_keys_off = true;
    }
    let mut kept = Vec::with_capacity(classified.len());
    let mut dropped = Vec::new();
    let mut renamed_to = Vec::new();
    for (s, class) in classified {
        match class {
            Class::ForeignKeys { on: false } => script.foreign_keys_off = true,
            Class::ForeignKeys { on: true } => {}
            class => {
                match &class {
                    Class::DropTable { name, .. } => dropped.push(name.clone()),
                    Class::RenameTable { to } => renamed_to.push(to.clone()),
                    _ => {}
                }
                kept.push((s, class));
            }
        }
    }
    // A table dropped and another renamed to its name: the 12-step rebuild,
    // written without the pragma. Its intent is the same, so it runs the
    // same way (a DROP TABLE with foreign keys on would fire ON DELETE
    // actions on every child row).
    if dropped.iter().any(|d| renamed_to.contains(d)) {
        script.foreign_keys_off = true;
    }
    let fits = kept
        .into_iter()
        .map(|(s, class)| {
            let fit = match class {
                Class::Begin => Fit::Begin,
                Class::Commit => Fit::Commit,
                Class::Rollback => Fit::Control,
                Class::Refused(advice) => Fit::Refuse(advice),
                _ => Fit::Keep,
            };
            (s, fit)
        })
        .collect();
    fit_statements(text, script, fits)
}

/// What a transactional file may hold, statement by statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// Opens a transaction: fine only as the file's first statement, of a
    /// whole-file wrapper.
    Begin,
    /// Commits: fine only as the wrapper's last statement.
    Commit,
    /// Any other transaction control.
    Control,
    /// Cannot run inside a transaction; what to do instead.
    Refuse(&'static str),
    /// Runs in the migration's transaction.
    Keep,
}

/// Leaves out a whole-file `BEGIN … COMMIT` wrapper (the runner's
/// transaction takes its place) and returns a problem for each statement
/// that cannot stay; the statements left are the script's.
fn fit_statements(
    text: &str,
    script: &mut Script,
    mut kept: Vec<(Statement, Fit)>,
) -> Vec<SqlError> {
    let mut errors = Vec::new();
    if matches!(kept.first(), Some((_, Fit::Begin))) {
        if matches!(kept.last(), Some((_, Fit::Commit)) if kept.len() > 1) {
            kept.pop();
            kept.remove(0);
            script.wrapped = true;
        } else {
            errors.push(SqlError {
                line: kept[0].0.line,
                kind: SqlErrorKind::UnmatchedBegin,
            });
            kept.remove(0);
        }
    }
    for (s, fit) in &kept {
        let statement = || shorten(s.text(text));
        let kind = match fit {
            Fit::Begin | Fit::Commit | Fit::Control => SqlErrorKind::TransactionControl {
                statement: statement(),
            },
            Fit::Refuse(advice) => SqlErrorKind::NotInTransaction {
                statement: statement(),
                advice,
            },
            Fit::Keep => continue,
        };
        errors.push(SqlError { line: s.line, kind });
    }
    script.statements = kept.into_iter().map(|(s, _)| s).collect();
    errors
}

/// [`fit_to_transaction`] for PostgreSQL: leaves out a whole-file `BEGIN …
/// COMMIT` wrapper; returns a problem for each statement PostgreSQL refuses
/// inside a transaction block, and for other transaction control.
fn fit_to_transaction_postgres(text: &str, script: &mut Script) -> Vec<SqlError> {
    use postgres::Class;
    let fits = script
        .statements
        .drain(..)
        .map(|s| {
            let fit = match postgres::classify(s.text(text)) {
                Class::Begin => Fit::Begin,
                Class::Commit => Fit::Commit,
                Class::Control => Fit::Control,
                Class::NoTransaction => Fit::Refuse(postgres::USE_NO_TRANSACTION),
                Class::Other => Fit::Keep,
            };
            (s, fit)
        })
        .collect();
    fit_statements(text, script, fits)
}

/// Refuses, in a file of any kind, what would take rollback away from
/// every migration after it: a journal mode that keeps no rollback journal
/// on disk (`off`, or `memory`, which a crash cannot roll back).
fn refuse_rollback_loss(text: &str, script: &Script) -> Vec<SqlError> {
    let mut errors = Vec::new();
    for s in &script.statements {
        if let Class::JournalModeWithoutRollback(mode) = classify(s.text(text)) {
            errors.push(SqlError {
                line: s.line,
                kind: SqlErrorKind::NoRollback {
                    statement: shorten(s.text(text)),
                    mode,
                },
            });
        }
    }
    errors
}

/// A statement's first words, as far as the runner cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Class {
    Begin,
    Commit,
    Rollback,
    ForeignKeys {
        on: bool,
    },
    /// `PRAGMA journal_mode = off | memory`.
    JournalModeWithoutRollback(&'static str),
    Refused(&'static str),
    /// `DROP TABLE`, with the table's name as SQLite reads it (lowercase).
    DropTable {
        /// The schema, when one is written (`temp`, an attached name).
        schema: Option<String>,
        /// The table.
        name: String,
    },
    /// `ALTER TABLE … RENAME TO name`.
    RenameTable {
        to: String,
    },
    Other,
}

const USE_PRAGMA_SET: &str = "set it in a `.pragmas` set, which runs outside transactions and checks that \
     SQLite took the value, or put `-- migrate:no-transaction` at the top of this file";
/// For a pragma that lasts only for the connection that sets it: a
/// no-transaction file would set it for the migrating connection alone.
const USE_PRAGMA_SET_FOR_CONNECTIONS: &str = "it lasts only for the connection that sets it, so no migration \
     can set it for the app; set it in a `.pragmas` set, whose per-connection pragmas `open` applies to every \
     connection (and `Profile::apply` to the app's own)";
pub(crate) const USE_NO_TRANSACTION: &str =
    "put it in its own file that starts with `-- migrate:no-transaction`";
/// [`USE_NO_TRANSACTION`], said the way of a diesel folder.
pub(crate) const USE_DIESEL_METADATA: &str = "put it in its own migration folder whose `metadata.toml` says \
     `run_in_transaction = false` (or start the file with `-- migrate:no-transaction`)";

/// One token as SQLite's parser reads it: a name or keyword with its quotes
/// removed (doubled quotes undoubled), or a punctuation character.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    /// The text, ASCII-lowercased (SQLite compares names and keywords so).
    text: String,
    /// It was quoted: a name or a string, never a keyword.
    quoted: bool,
}

impl Word {
    fn is(&self, keyword: &str) -> bool {
        !self.quoted && self.text == keyword
    }
}

/// Up to `n` words of a statement, comments and spaces skipped.
fn words(statement: &str, n: usize) -> Vec<Word> {
    let b = statement.as_bytes();
    let mut out: Vec<Word> = Vec::with_capacity(n.min(16));
    let mut i = 0;
    // Where the last quoted token ended, and its opening quote: `'o''n'`
    // lexes as two adjacent tokens and reads as one string.
    let mut last_quote: Option<(usize, u8)> = None;
    while i < b.len() {
        let Ok(t) = lex(b, i) else { break };
        i = t.end;
        let raw = &statement[t.start..t.end];
        match t.kind {
            Tok::Space | Tok::LineComment | Tok::BlockComment => {
                last_quote = None;
                continue;
            }
            Tok::Quoted => {
                let open = b[t.start];
                let inner = raw[1..raw.len() - 1].to_ascii_lowercase();
                if last_quote == Some((t.start, open)) && open != b'[' {
                    let w = out.last_mut().expect("a quoted word before");
                    w.text.push(open as char);
                    w.text.push_str(&inner);
                } else {
                    if out.len() == n {
                        break;
                    }
                    out.push(Word {
                        text: inner,
                        quoted: true,
                    });
                }
                last_quote = Some((t.end, open));
            }
            _ => {
                last_quote = None;
                if out.len() == n {
                    break;
                }
                out.push(Word {
                    text: raw.to_ascii_lowercase(),
                    quoted: false,
                });
            }
        }
    }
    out
}

fn classify(statement: &str) -> Class {
    // Most statements (CREATE, INSERT, …) are told by their first word.
    const FIRST: [&str; 11] = [
        "begin", "commit", "end", "rollback", "vacuum", "attach", "detach", "pragma", "drop",
        "alter", "explain",
    ];
    let first = words(statement, 1);
    if !first.first().is_some_and(|w| FIRST.iter().any(|k| w.is(k))) {
        return Class::Other;
    }
    let mut words = words(statement, 12);
    // `EXPLAIN PRAGMA foreign_keys = OFF` switches them off all the same:
    // SQLite applies that pragma while it prepares the statement.
    if words.first().is_some_and(|w| w.is("explain")) {
        let skip = if words.get(1).is_some_and(|w| w.is("query")) {
            3
        } else {
            1
        };
        words.drain(..skip.min(words.len()));
    }
    let word = |i: usize| words.get(i).filter(|w| !w.quoted).map(|w| w.text.as_str());
    match word(0).unwrap_or_default() {
        "begin" => Class::Begin,
        "commit" | "end" => Class::Commit,
        "rollback" if word(1) != Some("to") => Class::Rollback,
        "vacuum" => Class::Refused(USE_NO_TRANSACTION),
        "attach" | "detach" => Class::Refused(USE_NO_TRANSACTION),
        "pragma" => pragma_class(&words[1..]),
        "drop" if word(1) == Some("table") => {
            let rest = if word(2) == Some("if") { 4 } else { 2 };
            match qualified_name(&words[rest.min(words.len())..]) {
                Some((schema, name, _)) => Class::DropTable { schema, name },
                None => Class::Other,
            }
        }
        "alter" if word(1) == Some("table") => {
            // ALTER TABLE [schema.]name RENAME TO new
            let Some((_, _, used)) = qualified_name(&words[2.min(words.len())..]) else {
                return Class::Other;
            };
            let after = 2 + used;
            let is = |i: usize, k: &str| words.get(i).is_some_and(|w| w.is(k));
            match words.get(after + 2) {
                Some(to) if is(after, "rename") && is(after + 1, "to") => Class::RenameTable {
                    to: to.text.clone(),
                },
                _ => Class::Other,
            }
        }
        _ => Class::Other,
    }
}

/// `[schema .] name` at the start of `words`: the schema (if written), the
/// name, and how many words they took.
fn qualified_name(words: &[Word]) -> Option<(Option<String>, String, usize)> {
    match words {
        [schema, dot, name, ..] if dot.is(".") => {
            Some((Some(schema.text.clone()), name.text.clone(), 3))
        }
        [name, ..] if !name.is(";") => Some((None, name.text.clone(), 1)),
        _ => None,
    }
}

/// `PRAGMA [schema.]name [= value | (value)]`, from the word after PRAGMA.
fn pragma_class(words: &[Word]) -> Class {
    let (name, rest) = match words {
        [_, dot, name, rest @ ..] if dot.is(".") => (name, rest),
        [name, rest @ ..] => (name, rest),
        [] => return Class::Other,
    };
    // The value: `= v`, `= -v`, `= +v`, `(v)`; SQLite removes a value's quotes.
    let value = match rest {
        [op, sign, v, ..] if (op.is("=") || op.is("(")) && (sign.is("-") || sign.is("+")) => {
            Some(if sign.is("-") {
                format!("-{}", v.text)
            } else {
                v.text.clone()
            })
        }
        [op, v, ..] if (op.is("=") || op.is("(")) && !v.is(")") => Some(v.text.clone()),
        _ => None,
    };
    let Some(value) = value else {
        return Class::Other; // reading a pragma changes nothing
    };
    use crate::dsl::catalogue;
    match name.text.as_str() {
        "foreign_keys" => Class::ForeignKeys {
            on: catalogue::boolean(&value),
        },
        "wal_checkpoint" | "incremental_vacuum" => Class::Refused(USE_NO_TRANSACTION),
        // The catalogue says which values take rollback away, and which
        // pragmas fail inside a transaction or are silently not applied
        // there (page_size, auto_vacuum without VACUUM); a value is read
        // as SQLite reads it (`journal_mode = of` is OFF).
        name => {
            let Some(p) = catalogue::find(name) else {
                return Class::Other;
            };
            let taken = p.resolve(&value);
            match taken {
                Some(v) if p.breaks_rollback(v) => Class::JournalModeWithoutRollback(v),
                _ if !p.in_transaction => {
                    Class::Refused(match p.scope_of(taken.unwrap_or(&value)) {
                        catalogue::Scope::Connection => USE_PRAGMA_SET_FOR_CONNECTIONS,
                        _ => USE_PRAGMA_SET,
                    })
                }
                _ => Class::Other,
            }
        }
    }
}

/// How a statement runs when the applied files are replayed into an empty
/// in-memory database (`verify`'s drift check), which must touch no file.
#[cfg(feature = "sqlite")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Replay {
    /// As written.
    Run,
    /// Not at all: `VACUUM` (`INTO` would write a file) changes no schema.
    Skip,
    /// `ATTACH … AS name`: an empty in-memory database under that name.
    AttachMemory(String),
}

/// See [`Replay`].
#[cfg(feature = "sqlite")]
pub(crate) fn replay_form(statement: &str) -> Replay {
    let words = words(statement, usize::MAX);
    let first = words.first().filter(|w| !w.quoted).map(|w| w.text.as_str());
    match first {
        Some("vacuum") => Replay::Skip,
        Some("attach") => match words.iter().rposition(|w| w.is("as")) {
            Some(i) => match words.get(i + 1) {
                Some(name) => Replay::AttachMemory(name.text.clone()),
                None => Replay::Skip,
            },
            None => Replay::Skip,
        },
        _ => Replay::Run,
    }
}

/// The table of the main database that a `DROP TABLE` statement may drop
/// (its name lowercased, as SQLite compares names), and whether the
/// statement names no schema (then SQLite drops a temp table of that name
/// first, if there is one); `None` for any other statement and for a
/// table of another schema (`temp.x`, an attached one).
#[cfg(feature = "sqlite")]
pub(crate) fn dropped_table(statement: &str) -> Option<(String, bool)> {
    match classify(statement) {
        Class::DropTable { schema, name } if schema.as_deref().is_none_or(|s| s == "main") => {
            Some((name, schema.is_none()))
        }
        _ => None,
    }
}

/// What a statement does to indexes, as far as telling which indexes a
/// migration made: names lowercased, schemas left out.
#[cfg(feature = "sqlite")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IndexEffect {
    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON
    /// [ONLY] table`.
    Create {
        /// The index.
        name: String,
        /// Its table.
        table: String,
    },
    /// `DROP INDEX [CONCURRENTLY] [IF EXISTS] name [, name …]`.
    Drop(Vec<String>),
    /// `DROP TABLE [IF EXISTS] name [, name …]`: its indexes go with it.
    DropTable(Vec<String>),
    /// `ALTER TABLE [IF EXISTS] [ONLY] from RENAME TO to`.
    RenameTable {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
}

/// See [`IndexEffect`]; `None` for every other statement. The words are
/// read as SQLite's tokenizer reads them (PostgreSQL's index and table
/// statements start with the same tokens).
#[cfg(feature = "sqlite")]
pub(crate) fn index_effect(statement: &str) -> Option<IndexEffect> {
    let words = words(statement, 32);
    let mut i: usize;
    let at = |i: usize, k: &str| words.get(i).is_some_and(|w| w.is(k));
    let skip = |i: &mut usize, ks: &[&str]| {
        if ks.iter().enumerate().all(|(j, k)| at(*i + j, k)) {
            *i += ks.len();
        }
    };
    // A list of `[schema .] name`, separated by commas.
    let names = |mut i: usize| {
        let mut out = Vec::new();
        while let Some((_, name, used)) = qualified_name(&words[i.min(words.len())..]) {
            out.push(name);
            i += used;
            if !at(i, ",") {
                break;
            }
            i += 1;
        }
        out
    };
    if at(0, "create") {
        i = 1;
        skip(&mut i, &["unique"]);
        if !at(i, "index") {
            return None;
        }
        i += 1;
        skip(&mut i, &["concurrently"]);
        skip(&mut i, &["if", "not", "exists"]);
        let (_, name, used) = qualified_name(&words[i.min(words.len())..])?;
        i += used;
        if !at(i, "on") {
            return None;
        }
        i += 1;
        skip(&mut i, &["only"]);
        let (_, table, _) = qualified_name(&words[i.min(words.len())..])?;
        return Some(IndexEffect::Create { name, table });
    }
    if at(0, "drop") && (at(1, "index") || at(1, "table")) {
        let index = at(1, "index");
        i = 2;
        skip(&mut i, &["concurrently"]);
        skip(&mut i, &["if", "exists"]);
        let list = names(i);
        return Some(if index {
            IndexEffect::Drop(list)
        } else {
            IndexEffect::DropTable(list)
        });
    }
    if at(0, "alter") && at(1, "table") {
        i = 2;
        skip(&mut i, &["if", "exists"]);
        skip(&mut i, &["only"]);
        let (_, from, used) = qualified_name(&words[i.min(words.len())..])?;
        i += used;
        if at(i, "rename") && at(i + 1, "to") {
            let (_, to, _) = qualified_name(&words[(i + 2).min(words.len())..])?;
            return Some(IndexEffect::RenameTable { from, to });
        }
    }
    None
}

/// The `-- migrate:NAME ARGUMENT` comments of `text`: each comment's byte
/// range and its argument. Found by the scanner's own lexer (a string, a
/// quoted name or a block comment holding the words is none) and read by
/// the scanner's own directive rule (`--migrate:NAME`, any spacing after
/// `--`), so whatever the scanner takes for that directive, this finds.
#[cfg(feature = "sqlite")]
pub(crate) fn directive_comments(text: &str, name: &str) -> Vec<(std::ops::Range<usize>, String)> {
    directive_comments_in(Dialect::Sqlite, text, name)
}

/// [`directive_comments`], with `dialect`'s lexer (PostgreSQL's dollar
/// quotes, nested comments and `E'…'` strings hide a comment as its
/// scanner reads them).
#[cfg(feature = "sqlite")]
pub(crate) fn directive_comments_in(
    dialect: Dialect,
    text: &str,
    name: &str,
) -> Vec<(std::ops::Range<usize>, String)> {
    let comments = match dialect {
        Dialect::Sqlite => line_comments(text),
        Dialect::Postgres => postgres::line_comments(text),
    };
    comments
        .into_iter()
        .filter_map(|r| {
            let (n, argument) = text::migrate_directive(&text[r.clone()])?;
            (n == name).then(|| (r, argument.trim().to_owned()))
        })
        .collect()
}

/// The byte ranges of the `--` comments of `text`, as SQLite's lexer
/// finds them (an unterminated string ends the text, as it ends the scan).
#[cfg(feature = "sqlite")]
fn line_comments(text: &str) -> Vec<std::ops::Range<usize>> {
    text::walk(text, usize::MAX, text::Seen::LineComment, seen)
}

/// [`text::walk`]'s view of SQLite's lexer.
#[cfg(feature = "sqlite")]
fn seen(b: &[u8], i: usize) -> Option<(text::Seen, usize)> {
    let t = lex(b, i).ok()?;
    let seen = match t.kind {
        Tok::LineComment => text::Seen::LineComment,
        Tok::Space | Tok::BlockComment => text::Seen::Blank,
        _ => text::Seen::Significant,
    };
    Some((seen, t.end))
}

/// A value a column of `declared` type takes in a STRICT table too: `''`
/// for text, `x''` for a blob, 0 for the rest (SQLite's affinity rules,
/// by the same substrings).
#[cfg(feature = "sqlite")]
pub(crate) fn zero_of(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "''"
    } else if t.contains("BLOB") {
        "x''"
    } else {
        "0"
    }
}

/// Whether `text` holds `word`, ASCII case folded as SQLite folds names
/// (no copy of `text`).
#[cfg(feature = "sqlite")]
pub(crate) fn contains_ignoring_ascii_case(text: &str, word: &str) -> bool {
    let (text, word) = (text.as_bytes(), word.as_bytes());
    let Some(&first) = word.first() else {
        return true;
    };
    let first = first.to_ascii_lowercase();
    // Compared in full only where the first byte matches.
    (0..(text.len() + 1).saturating_sub(word.len())).any(|i| {
        text[i].to_ascii_lowercase() == first && text[i..i + word.len()].eq_ignore_ascii_case(word)
    })
}

/// `name` as a quoted SQL identifier (`"a""b"`): the one way this crate
/// writes a name into SQL.
///
/// ```
/// assert_eq!(migrate_core::sql::quote_identifier("my \"t\""), "\"my \"\"t\"\"\"");
/// ```
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The statement shortened for an error message: one line, at most 80 chars.
pub(crate) fn shorten(statement: &str) -> String {
    let one_line: String = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 80 {
        one_line
    } else {
        let cut: String = one_line.chars().take(77).collect();
        format!("{cut}...")
    }
}

fn text_line(text: &str, line: u32) -> &str {
    text.lines().nth(line as usize - 1).unwrap_or("")
}

fn has_comment(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match lex(b, i) {
            Ok(t) if matches!(t.kind, Tok::LineComment | Tok::BlockComment) => return true,
            Ok(t) => i = t.end,
            Err(_) => return false,
        }
    }
    false
}

/// Every significant token of a statement (no spaces, no comments).
#[cfg(feature = "sqlite")]
pub(crate) fn tokens(statement: &str) -> Vec<&str> {
    significant_tokens(statement, usize::MAX)
}

/// [`tokens`], as `dialect`'s lexer reads them (a PostgreSQL dollar-quoted
/// body is one token).
#[cfg(feature = "sqlite")]
pub(crate) fn tokens_in(dialect: Dialect, statement: &str) -> Vec<&str> {
    match dialect {
        Dialect::Sqlite => significant_tokens(statement, usize::MAX),
        Dialect::Postgres => postgres::tokens(statement),
    }
}

/// Up to `n` significant tokens (words, quoted text, punctuation) of a statement.
#[cfg(feature = "sqlite")]
fn significant_tokens(statement: &str, n: usize) -> Vec<&str> {
    text::walk(statement, n, text::Seen::Significant, seen)
        .into_iter()
        .map(|r| &statement[r])
        .collect()
}

/// Token kinds of the lexer; the splitter maps them onto `sqlite3_complete`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Space,
    LineComment,
    BlockComment,
    Word,
    Quoted,
    Semi,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

/// SQLite's `IdChar`: letters, digits, `_`, `$` and every non-ASCII byte.
fn is_id_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The token starting at `i`, or the opening quote of an unterminated one.
fn lex(b: &[u8], i: usize) -> Result<Token, (usize, u8)> {
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
            // An unterminated block comment runs to the end, as in SQLite.
            let end = (i + 2..b.len().saturating_sub(1))
                .find(|&j| b[j] == b'*' && b[j + 1] == b'/')
                .map_or(b.len(), |j| j + 2);
            tok(Tok::BlockComment, end)
        }
        b'\'' | b'"' | b'`' | b'[' => {
            let close = if c == b'[' { b']' } else { c };
            match (i + 1..b.len()).find(|&j| b[j] == close) {
                Some(j) => tok(Tok::Quoted, j + 1),
                None => Err((i, c)),
            }
        }
        b';' => tok(Tok::Semi, i + 1),
        c if is_id_char(c) => {
            let end = (i..b.len()).find(|&j| !is_id_char(b[j])).unwrap_or(b.len());
            tok(Tok::Word, end)
        }
        _ => {
            // One whole UTF-8 character is never split: bytes >= 0x80 are id chars.
            tok(Tok::Other, i + 1)
        }
    }
}

/// `sqlite3_complete()`'s token classes.
#[derive(Clone, Copy)]
enum Class8 {
    Semi = 0,
    Ws = 1,
    Other = 2,
    Explain = 3,
    Create = 4,
    Temp = 5,
    Trigger = 6,
    End = 7,
}

/// `sqlite3_complete()`'s transition table (SQLite's `complete.c`): states
/// 0 invalid, 1 start, 2 normal, 3 explain, 4 create, 5 trigger, 6 semi, 7 end.
const TRANS: [[u8; 8]; 8] = [
    [1, 0, 2, 3, 4, 2, 2, 2],
    [1, 1, 2, 3, 4, 2, 2, 2],
    [1, 2, 2, 2, 2, 2, 2, 2],
    [1, 3, 3, 2, 4, 2, 2, 2],
    [1, 4, 2, 2, 2, 4, 5, 2],
    [6, 5, 5, 5, 5, 5, 5, 5],
    [6, 6, 5, 5, 5, 5, 5, 7],
    [1, 7, 5, 5, 5, 5, 5, 5],
];

fn class8(text: &str, t: &Token) -> Class8 {
    match t.kind {
        Tok::Space | Tok::LineComment | Tok::BlockComment => Class8::Ws,
        Tok::Semi => Class8::Semi,
        Tok::Quoted | Tok::Other => Class8::Other,
        Tok::Word => {
            let w = &text[t.start..t.end];
            let is = |k: &str| w.eq_ignore_ascii_case(k);
            if is("create") {
                Class8::Create
            } else if is("trigger") {
                Class8::Trigger
            } else if is("temp") || is("temporary") {
                Class8::Temp
            } else if is("end") {
                Class8::End
            } else if is("explain") {
                Class8::Explain
            } else {
                Class8::Other
            }
        }
    }
}

/// Splits a file into statements and directive comments.
fn split(text: &str) -> Result<Vec<Item>, SqlError> {
    split_with(text, true)
}

/// [`split`], in `dialect`.
fn split_in(dialect: Dialect, text: &str) -> Result<Vec<Item>, SqlError> {
    match dialect {
        Dialect::Sqlite => split(text),
        Dialect::Postgres => postgres::split(text),
    }
}

/// `split`, with the skip over plain tokens on or off (off: every token is
/// lexed; the tests compare the two).
fn split_with(text: &str, skip: bool) -> Result<Vec<Item>, SqlError> {
    let b = text.as_bytes();
    let mut items = Vec::new();
    let mut state = 0u8;
    let mut current: Option<(usize, u32)> = None; // start and line of the open statement
    let mut line = 1u32;
    let mut i = 0;
    while i < b.len() {
        // In the middle of a statement (NORMAL) or of a trigger body
        // (TRIGGER) every token but `;` leaves the state as it is, so the
        // tokens up to the next `;`, comment or unterminated quote are
        // skipped in one pass.
        if skip && matches!(state, 2 | 5) && current.is_some() {
            let (next, lines) = skip_plain(b, i);
            line += lines;
            if next > i {
                i = next;
                continue;
            }
        }
        let t = lex(b, i).map_err(|(at, q)| SqlError {
            line: line_of(b, at, i, line),
            kind: SqlErrorKind::UnterminatedQuote {
                quote: q as char,
                close: if q == b'[' { ']' } else { q as char },
            },
        })?;
        let class = class8(text, &t);
        if t.kind == Tok::LineComment {
            if let Some(directive) = directive(&text[t.start..t.end]) {
                // A marker ends an open statement (unless inside a trigger body).
                if let Some((start, l)) = current.take_if(|_| state < 5) {
                    items.push(Item::Statement(Statement {
                        span: start..trim_end(text, start, t.start),
                        line: l,
                    }));
                    state = 1;
                }
                items.push(Item::Directive { line, directive });
            }
        } else if !matches!(class, Class8::Ws)
            && current.is_none()
            && !matches!(class, Class8::Semi)
        {
            current = Some((t.start, line));
        }
        state = TRANS[state as usize][class as usize];
        if matches!(class, Class8::Semi)
            && state == 1
            && let Some((start, l)) = current.take()
        {
            items.push(Item::Statement(Statement {
                span: start..t.end,
                line: l,
            }));
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

/// From `i`, the first byte that starts a `;`, a comment or an
/// unterminated quote (or the end), and the newlines passed on the way.
fn skip_plain(b: &[u8], mut i: usize) -> (usize, u32) {
    // The bytes that may need a look; everything else is passed in a tight loop.
    const SPECIAL: [bool; 256] = {
        let mut t = [false; 256];
        let mut k = 0;
        let special = *b";-/'\"`[\n";
        while k < special.len() {
            t[special[k] as usize] = true;
            k += 1;
        }
        t
    };
    let mut lines = 0;
    while i < b.len() {
        if !SPECIAL[b[i] as usize] {
            i += 1;
            continue;
        }
        match b[i] {
            b';' => break,
            b'-' if b.get(i + 1) == Some(&b'-') => break,
            b'/' if b.get(i + 1) == Some(&b'*') => break,
            q @ (b'\'' | b'"' | b'`' | b'[') => {
                let close = if q == b'[' { b']' } else { q };
                let Some(k) = b[i + 1..].iter().position(|&c| c == close) else {
                    break; // the lexer reports it
                };
                lines += newlines(&b[i + 1..i + 1 + k]);
                i += k + 2;
            }
            b'\n' => {
                lines += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    (i, lines)
}

fn newlines(b: &[u8]) -> u32 {
    b.iter().filter(|&&c| c == b'\n').count() as u32
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

fn line_of(b: &[u8], at: usize, from: usize, line: u32) -> u32 {
    line + b[from..at].iter().filter(|&&c| c == b'\n').count() as u32
}

/// Splits `text` into statement texts exactly as the runner would see them,
/// ignoring directives. For tests and tools that compare with SQLite.
pub fn statements(text: &str) -> Result<Vec<(u32, &str)>, SqlError> {
    statements_in(Dialect::Sqlite, text)
}

/// [`statements`], in `dialect`.
///
/// ```
/// use migrate_core::sql::{Dialect, statements_in};
/// let text = "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;\nSELECT f();";
/// let found: Vec<u32> = statements_in(Dialect::Postgres, text).unwrap().iter().map(|s| s.0).collect();
/// assert_eq!(found, [1, 2]);
/// ```
pub fn statements_in(dialect: Dialect, text: &str) -> Result<Vec<(u32, &str)>, SqlError> {
    Ok(split_in(dialect, text)?
        .into_iter()
        .filter_map(|item| match item {
            Item::Statement(s) => Some((s.line, s.text(text))),
            Item::Directive { .. } => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "sqlite")]
    fn contains_ignoring_ascii_case_finds_the_word_anywhere() {
        let yes = [
            ("CREATE TRIGGER t", "trigger"),
            ("x trigger", "trigger"),
            ("TrIgGeR", "trigger"),
            ("anything", ""),
            ("", ""),
        ];
        for (text, word) in yes {
            assert!(
                contains_ignoring_ascii_case(text, word),
                "{text:?} {word:?}"
            );
        }
        let no = [
            ("trigge", "trigger"),
            ("", "t"),
            ("tr igger", "trigger"),
            ("é", "e"),
        ];
        for (text, word) in no {
            assert!(
                !contains_ignoring_ascii_case(text, word),
                "{text:?} {word:?}"
            );
        }
    }

    #[test]
    fn every_statement_that_cannot_run_is_a_problem_of_its_own() {
        let text = "CREATE TABLE t (a);\nVACUUM;\nPRAGMA journal_mode = WAL;\nBEGIN;\nPRAGMA journal_mode = off;\n\
                    -- migrate:down\nVACUUM;\n";
        let text = format!("-- migrate:up\n{text}");
        let lines: Vec<u32> = problems_as(&text, false).iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 8]);
        // `scan` still gives the first.
        assert_eq!(scan(&text).unwrap_err().line, 3);
        assert!(problems_as("CREATE TABLE t (a);", false).is_empty());
    }

    #[test]
    fn skipping_plain_tokens_changes_nothing() {
        // Random texts from fragments that open and close every construct
        // the skip has to respect, some of them unterminated.
        const PARTS: &[&str] = &[
            "CREATE ",
            "TABLE ",
            "TRIGGER ",
            "TEMP ",
            "END",
            "EXPLAIN ",
            "BEGIN ",
            "x",
            "1",
            "(",
            ")",
            ",",
            " ",
            "\n",
            "\t",
            ";",
            "'",
            "'a;\nb'",
            "\"",
            "\"q;\"",
            "`",
            "[",
            "]",
            "[i;d]",
            "-",
            "--",
            "-- migrate:up\n",
            "-- +goose Down\n",
            "-- c;\n",
            "/",
            "/*",
            "*/",
            "/* c;\n */",
            "*",
            "ü",
            "$",
            "x'3b'",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let len = 1 + next(40);
            let text: String = (0..len).map(|_| PARTS[next(PARTS.len())]).collect();
            assert_eq!(
                split_with(&text, true),
                split_with(&text, false),
                "{text:?}"
            );
        }
    }

    fn texts(text: &str) -> Vec<String> {
        let script = scan(text).unwrap();
        script
            .statements
            .iter()
            .map(|s| s.text(text).to_owned())
            .collect()
    }

    #[test]
    fn splits_on_semicolons_outside_strings_and_comments() {
        let text = "CREATE TABLE t (a TEXT DEFAULT ';');\n-- a ; comment\nINSERT INTO \"t;\" VALUES ('x;y'); /* ; */ SELECT [a;b]";
        assert_eq!(
            texts(text),
            [
                "CREATE TABLE t (a TEXT DEFAULT ';');",
                "INSERT INTO \"t;\" VALUES ('x;y');",
                "SELECT [a;b]"
            ]
        );
    }

    #[test]
    fn keeps_trigger_bodies_whole() {
        let text = "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE u SET n = n + 1;\n  DELETE FROM v;\nEND;\nSELECT 1;";
        let s = texts(text);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].ends_with("END;"));
    }

    #[test]
    fn reports_lines_of_statements() {
        let script = scan("\n\nSELECT 1;\n\n  SELECT\n2;").unwrap();
        let lines: Vec<u32> = script.statements.iter().map(|s| s.line).collect();
        assert_eq!(lines, [3, 5]);
    }

    #[test]
    fn empty_is_an_error_but_comments_only_is_a_no_op() {
        assert_eq!(scan("  \n\t").unwrap_err().kind, SqlErrorKind::Empty);
        assert_eq!(scan("").unwrap_err().kind, SqlErrorKind::Empty);
        assert!(scan("-- nothing yet\n").unwrap().statements.is_empty());
    }

    #[test]
    fn strips_a_whole_file_wrapper() {
        let script = scan("BEGIN TRANSACTION;\nCREATE TABLE t (x);\nCOMMIT;\n").unwrap();
        assert!(script.wrapped);
        assert_eq!(script.statements.len(), 1);
        let e = scan("BEGIN;\nCREATE TABLE t (x);\n").unwrap_err();
        assert_eq!((e.line, e.kind), (1, SqlErrorKind::UnmatchedBegin));
        let e = scan("CREATE TABLE t (x);\nCOMMIT;\nCREATE TABLE u (x);").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(matches!(e.kind, SqlErrorKind::TransactionControl { .. }));
    }

    #[test]
    fn twelve_step_rebuild_becomes_foreign_keys_off() {
        let text = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE n (x);\nINSERT INTO n SELECT x FROM o;\nDROP TABLE o;\nALTER TABLE n RENAME TO o;\nPRAGMA foreign_key_check;\nCOMMIT;\nPRAGMA foreign_keys=ON;\n";
        let script = scan(text).unwrap();
        assert!(script.foreign_keys_off && script.wrapped);
        assert_eq!(script.statements.len(), 5);
    }

    #[test]
    fn refuses_what_cannot_run_in_a_transaction() {
        for (text, line) in [
            ("CREATE TABLE t (x);\nPRAGMA journal_mode = WAL;", 2),
            ("\n\nPRAGMA main.synchronous=NORMAL;", 3),
            ("VACUUM;", 1),
            ("PRAGMA page_size(8192);", 1),
        ] {
            let e = scan(text).unwrap_err();
            assert_eq!(e.line, line, "{text}");
            assert!(
                matches!(e.kind, SqlErrorKind::NotInTransaction { .. }),
                "{text}"
            );
        }
        // A per-connection pragma is sent to a pragma set alone: a
        // no-transaction file would set it for the migrating connection.
        let advice = |text: &str| match scan(text).unwrap_err().kind {
            SqlErrorKind::NotInTransaction { advice, .. } => advice,
            other => panic!("{other:?}"),
        };
        for connection_only in ["PRAGMA synchronous = NORMAL;", "PRAGMA main.synchronous=1;"] {
            let advice = advice(connection_only);
            assert!(
                advice.contains("`.pragmas` set") && !advice.contains("no-transaction"),
                "{advice}"
            );
        }
        assert!(advice("PRAGMA journal_mode = WAL;").contains("no-transaction"));
        // Reading a pragma is fine; so is anything under no-transaction.
        assert!(scan("PRAGMA journal_mode;").is_ok());
        assert!(
            scan("-- migrate:no-transaction\nVACUUM;")
                .unwrap()
                .no_transaction
        );
    }

    #[test]
    fn reads_directives_of_other_tools() {
        assert!(scan("-- no-transaction\nVACUUM;").unwrap().no_transaction);
        assert!(
            scan("-- +goose NO TRANSACTION\n-- +goose Up\nVACUUM;")
                .unwrap()
                .no_transaction
        );
        let dbmate = "-- migrate:up\nCREATE TABLE t (x);\n\n-- migrate:down\nDROP TABLE t;\n";
        assert_eq!(texts(dbmate), ["CREATE TABLE t (x);"]);
        let goose = "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE t (x);\n-- +goose StatementEnd\n-- +goose Down\nDROP TABLE t;\n";
        assert_eq!(texts(goose), ["CREATE TABLE t (x);"]);
        let no_semi = "-- migrate:up\nCREATE TABLE t (x)\n-- migrate:down\nDROP TABLE t\n";
        assert_eq!(texts(no_semi), ["CREATE TABLE t (x)"]);
    }

    #[test]
    fn rejects_misplaced_and_unknown_directives() {
        let e = scan("SELECT 1;\n-- migrate:no-transaction\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(matches!(e.kind, SqlErrorKind::LateDirective { .. }));
        let e = scan("-- migrate:no-transactions\nSELECT 1;").unwrap_err();
        assert!(matches!(e.kind, SqlErrorKind::UnknownDirective { .. }));
        let e = scan("SELECT 1;\n-- migrate:up\nSELECT 2;").unwrap_err();
        assert_eq!(
            (e.line, e.kind),
            (
                1,
                SqlErrorKind::OutsideSection {
                    marker: "-- migrate:up"
                }
            )
        );
        // Prose that merely mentions the word is not a directive.
        assert!(scan("-- migrate: users table\nSELECT 1;").is_ok());
    }

    #[test]
    fn dropped_tables_of_the_main_schema_only() {
        assert_eq!(
            dropped_table("DROP TABLE users;"),
            Some(("users".into(), true))
        );
        assert_eq!(
            dropped_table("drop table if exists \"Main\".[Users]")
                .map(|(n, _)| n)
                .as_deref(),
            Some("users")
        );
        assert_eq!(dropped_table("DROP TABLE temp.users"), None);
        assert_eq!(dropped_table("DROP TABLE IF EXISTS aux . users"), None);
        assert_eq!(dropped_table("DROP INDEX users"), None);
    }

    #[test]
    fn foreign_keys_off_needs_a_transaction() {
        let e = scan("-- migrate:no-transaction\n-- migrate:foreign-keys-off\nDROP TABLE t;")
            .unwrap_err();
        assert_eq!(e.kind, SqlErrorKind::ForeignKeysOffWithoutTransaction);
    }

    #[test]
    fn unterminated_string_names_its_line() {
        let e = scan("SELECT 1;\nSELECT 'oops;\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("unterminated '"));
    }
}
