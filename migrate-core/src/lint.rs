//! `lint`: what a migration will do, said before it runs (SQLite).
//!
//! The migrations are replayed, in order, into an empty in-memory database;
//! each one linted is read statement by statement against the schema the
//! ones before it left, and each statement is tried there before it is
//! run: SQLite's own refusals, asked on a copy that holds a row where a
//! refusal depends on rows, are the findings, named by rule. What the
//! scanner refuses is a `load` finding, and nothing the runner already does
//! (transactions, foreign keys off for a marked rebuild) is asked for.
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! # std::fs::write(dir.path().join("0001_t.sql"), "CREATE TABLE t (id INTEGER PRIMARY KEY);").unwrap();
//! # std::fs::write(dir.path().join("0002_c.sql"), "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;").unwrap();
//! let set = migrate_core::Migrations::from_dir(dir.path())?;
//! let findings = migrate_core::lint::lint(&set, |_| true);
//! assert_eq!(findings[0].rule, "adding-not-nullable-field");
//! assert_eq!(findings[0].file, "0002_c.sql");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use rusqlite::Connection;

pub mod postgres;

use crate::error::DatabaseFailure;
use crate::naming::Kind;
use crate::source::{Migration, Migrations};
use crate::sql::{self, definition, quote_identifier as quote};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; the migration runs.
    Warning,
    /// The migration fails (or would do what no one wants).
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One thing lint found in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The migration file.
    pub file: String,
    /// The statement's first line.
    pub line: u32,
    /// The rule's id (`adding-not-nullable-field`).
    pub rule: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// What happens, and the safe way.
    pub message: String,
    /// Silenced by `-- migrate:allow RULE` on the line before it.
    pub allowed: bool,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed = if self.allowed { " (allowed)" } else { "" };
        write!(
            f,
            "{}:{}: {} {}{allowed}: {}",
            self.file, self.line, self.severity, self.rule, self.message
        )
    }
}

/// Every SQLite rule: its id and what it catches (the README lists them
/// with the safe way).
pub const RULES: &[(&str, &str)] = &[
    (
        "load",
        "the file does not load: the scanner refuses it (for a reason no rule below names)",
    ),
    (
        "pragma-in-transaction",
        "a PRAGMA that fails or is silently not applied inside the migration's transaction (journal_mode, page_size, auto_vacuum, …)",
    ),
    (
        "vacuum-in-transaction",
        "VACUUM in a file the runner wraps in a transaction: SQLite refuses it",
    ),
    (
        "needs-no-transaction",
        "another statement that cannot run inside a transaction (ATTACH, DETACH, a checkpoint)",
    ),
    (
        "journal-mode-without-rollback",
        "journal_mode OFF or MEMORY: takes rollback away from every migration after it",
    ),
    (
        "ban-uncommitted-transaction",
        "BEGIN with no COMMIT at the end of the file",
    ),
    (
        "transaction-control",
        "BEGIN, COMMIT or ROLLBACK inside a file the runner already wraps in a transaction",
    ),
    (
        "statement-fails",
        "SQLite refuses the statement on the schema the migrations before it make",
    ),
    (
        "adding-not-nullable-field",
        "ADD COLUMN … NOT NULL with no default: refused on a table with rows",
    ),
    (
        "adding-field-with-volatile-default",
        "ADD COLUMN with a default that is not a constant: refused on a table with rows",
    ),
    (
        "adding-stored-generated-field",
        "ADD COLUMN … STORED: refused on a table with rows",
    ),
    (
        "adding-foreign-key-with-default",
        "ADD COLUMN … REFERENCES with a default: refused on a table with rows while foreign keys are on",
    ),
    (
        "dropping-referenced-column",
        "DROP COLUMN of a column an index, a key, a view or a trigger uses: refused",
    ),
    ("ban-drop-column", "DROP COLUMN: its values are gone"),
    ("ban-drop-table", "DROP TABLE: its rows are gone"),
    (
        "dropping-referenced-table",
        "DROP TABLE of a table a view or a trigger names, which then fails when used",
    ),
    (
        "rebuild-without-marker",
        "DROP TABLE of a parent whose children's ON DELETE would fire, in a file not marked `-- migrate:foreign-keys-off`",
    ),
    (
        "new-unique-index",
        "CREATE UNIQUE INDEX on a table made before this migration: fails on duplicate values",
    ),
    (
        "renaming-with-legacy-alter-table",
        "a rename while the connection profile turns legacy_alter_table on: the views and triggers that name the old name are not rewritten",
    ),
    ("update-without-where", "UPDATE with no WHERE: every row"),
    ("delete-without-where", "DELETE with no WHERE: every row"),
];

/// The rule, its severity, for SQLite's message when it refuses an `ADD
/// COLUMN` on a table with a row (`sqlite3ErrorIfNotEmpty` in alter.c).
fn add_column_rule(message: &str) -> Option<(&'static str, &'static str)> {
    let m = message.to_ascii_lowercase();
    Some(if m.contains("not null column with default value null") {
        (
            "adding-not-nullable-field",
            "give it a default (`NOT NULL DEFAULT …`), or add it nullable, fill it, and make it NOT NULL in a rebuild",
        )
    } else if m.contains("non-constant default") {
        (
            "adding-field-with-volatile-default",
            "add it with a constant default (or none) and UPDATE the rows after",
        )
    } else if m.contains("stored column") {
        (
            "adding-stored-generated-field",
            "add it VIRTUAL, or rebuild the table with the column (`migrate-cli diff` writes the rebuild)",
        )
    } else if m.contains("references column with non-null default") {
        (
            "adding-foreign-key-with-default",
            "add it with no default (NULL), then fill it",
        )
    } else {
        return None;
    })
}

/// The rule of a file the scanner refuses to load, in either dialect:
/// named by why it refuses (`pragma-in-transaction`,
/// `ban-uncommitted-transaction`, …), else `load`.
pub fn load_rule(kind: &crate::source::LoadErrorKind) -> &'static str {
    match kind {
        crate::source::LoadErrorKind::Sql(e) => scan_rule(&e.kind),
        _ => "load",
    }
}

/// [`load_rule`] of the scanner's own refusal.
pub fn scan_rule(kind: &sql::SqlErrorKind) -> &'static str {
    use sql::SqlErrorKind as K;
    match kind {
        K::NotInTransaction { statement, .. } => {
            let w = sql::tokens(statement);
            let w: &[&str] = match w.first() {
                Some(e) if e.eq_ignore_ascii_case("explain") => &w[1..],
                _ => &w,
            };
            if w.iter().any(|x| x.eq_ignore_ascii_case("concurrently")) {
                "ban-concurrent-index-creation-in-transaction"
            } else if w.first().is_some_and(|x| x.eq_ignore_ascii_case("pragma")) {
                "pragma-in-transaction"
            } else if w.first().is_some_and(|x| x.eq_ignore_ascii_case("vacuum")) {
                "vacuum-in-transaction"
            } else {
                "needs-no-transaction"
            }
        }
        K::NoRollback { .. } => "journal-mode-without-rollback",
        K::UnmatchedBegin => "ban-uncommitted-transaction",
        K::TransactionControl { .. } => "transaction-control",
        _ => "load",
    }
}

/// Lints the SQL migrations of `set` that `chosen` picks, each against the
/// schema of every migration before it (all of them replayed in order).
pub fn lint(set: &Migrations, chosen: impl Fn(&Migration) -> bool) -> Vec<Finding> {
    lint_with(set, chosen, None)
}

/// [`lint`], with the rows of `data` (the database the migrations will run
/// on, read only): what depends on rows is counted there, and a finding
/// that would certainly fail on them (a NOT NULL column added to a table
/// with rows, a UNIQUE index over duplicates) becomes an error.
pub fn lint_with(
    set: &Migrations,
    chosen: impl Fn(&Migration) -> bool,
    data: Option<&Connection>,
) -> Vec<Finding> {
    let mut found = Vec::new();
    let Ok(work) = Connection::open_in_memory() else {
        return found;
    };
    // The runner's connections take the set's profile: with
    // legacy_alter_table on, a rename leaves the names in views and
    // triggers as they were.
    let legacy = set.profile().settings.iter().any(|(_, s)| {
        s.pragma.name == "legacy_alter_table" && s.value == crate::dsl::pragmas::Value::Bool(true)
    });
    for m in set.iter() {
        if !chosen(m) {
            replay(&work, m);
            continue;
        }
        found.extend(lint_one(&work, m, data, legacy));
    }
    found
}

/// Runs `m` on `work` as the replay of `verify` would (sets through their
/// statements; errors left to the linted files' own findings).
fn replay(work: &Connection, m: &Migration) {
    match m.kind {
        Kind::Pragmas => {}
        Kind::Indexes => {
            if let Ok(set) = crate::dsl::indexes::parse(&m.text) {
                for index in &set.indexes {
                    let _ = work.execute_batch(&index.sql());
                }
            }
        }
        _ => {
            if let Ok(script) = m.script() {
                for s in &script.statements {
                    let _ = replayed(work, s.text(&m.text));
                }
            }
        }
    }
}

/// Runs `statement` on `work` as `verify`'s replay does, touching no file:
/// `VACUUM` (whose `INTO` writes one) is left out, and `ATTACH` gets an
/// in-memory database.
fn replayed(work: &Connection, statement: &str) -> rusqlite::Result<()> {
    match sql::replay_form(statement) {
        sql::Replay::Skip => Ok(()),
        sql::Replay::AttachMemory(name) => {
            work.execute_batch(&format!("ATTACH ':memory:' AS {}", quote(&name)))
        }
        sql::Replay::Run => work.execute_batch(statement),
    }
}

/// The findings of one migration, run on `work` statement by statement.
fn lint_one(
    work: &Connection,
    m: &Migration,
    data: Option<&Connection>,
    legacy: bool,
) -> Vec<Finding> {
    let mut found = Vec::new();
    if m.kind != Kind::Sql {
        replay(work, m);
        return found;
    }
    let file = m.file.to_string();
    let script = match m.script() {
        Ok(script) => script,
        Err(e) => {
            found.push(Finding {
                file,
                line: e.line,
                rule: scan_rule(&e.kind),
                severity: Severity::Error,
                message: e.to_string(),
                allowed: false,
            });
            return found;
        }
    };
    let allowances = allowances(sql::Dialect::Sqlite, &m.text);
    if let Some(line) = uncommitted(m.dialect, &m.text, &script) {
        found.push(uncommitted_finding(&file, line, &m.text, &allowances));
    }
    let tables_before = table_names(work);
    // Tables this file renames another table into: a drop of one of those
    // is a rebuild (create, copy, drop, rename), not a loss.
    let renamed_into: Vec<String> = script
        .statements
        .iter()
        .filter_map(|s| {
            let w = words(s.text(&m.text));
            let to = w.iter().position(|x| x.eq_ignore_ascii_case("to"))?;
            (is(w.first(), "alter") && is(w.get(to.checked_sub(1)?), "rename"))
                .then(|| {
                    w.get(to + 1)
                        .map(|n| definition::unquote(n).to_ascii_lowercase())
                })
                .flatten()
        })
        .collect();
    for s in &script.statements {
        let text = s.text(&m.text);
        let mut here = Vec::new();
        check(
            work,
            text,
            script.foreign_keys_off,
            &tables_before,
            &renamed_into,
            &mut here,
        );
        if legacy {
            legacy_rename(work, text, &mut here);
        }
        // A refusal a rule already named is not said twice.
        let named = here
            .iter()
            .any(|(_, severity, _)| *severity == Severity::Error);
        if let Err(e) = replayed(work, text)
            && !named
        {
            here.push((
                "statement-fails",
                Severity::Error,
                format!(
                    "SQLite refuses it after the migrations before it: {}",
                    DatabaseFailure::from(e).message()
                ),
            ));
        }
        for (rule, severity, message) in here {
            let (severity, message) = match data {
                Some(data) => with_data(data, rule, text, severity, message),
                None => (severity, message),
            };
            found.push(finding(
                &file,
                s.line,
                text,
                &allowances,
                rule,
                severity,
                message,
            ));
        }
    }
    found
}

/// In a no-transaction file (which manages its own transactions), the
/// line of a `BEGIN` that no `COMMIT`, `END` or `ROLLBACK` closes before
/// the file ends. (In a wrapped file the scanner refuses it.)
fn uncommitted(dialect: sql::Dialect, text: &str, script: &sql::Script) -> Option<u32> {
    if !script.no_transaction {
        return None;
    }
    let mut open = None;
    for s in &script.statements {
        let w = sql::tokens_in(dialect, s.text(text));
        let word = |i: usize| w.get(i).map(|x| x.to_ascii_lowercase()).unwrap_or_default();
        match word(0).as_str() {
            "begin" => open = Some(s.line),
            "start" if word(1) == "transaction" => open = Some(s.line),
            "commit" | "end" | "abort" => open = None,
            "rollback" if word(1) != "to" => open = None,
            _ => {}
        }
    }
    open
}

/// The `ban-uncommitted-transaction` finding of the `BEGIN` at `line`.
fn uncommitted_finding(
    file: &str,
    line: u32,
    text: &str,
    allowances: &[(u32, Vec<String>)],
) -> Finding {
    let statement = text.lines().nth(line as usize - 1).unwrap_or_default();
    finding(
        file,
        line,
        statement,
        allowances,
        "ban-uncommitted-transaction",
        Severity::Error,
        "this transaction is never committed: the file ends with it open, and what it did is rolled back when the connection closes (or holds its locks until then); end it with COMMIT".into(),
    )
}

/// The finding of `rule` at the statement `text` (first line `line`) of
/// `file`, allowed when a `-- migrate:allow` on the line before names it.
fn finding(
    file: &str,
    line: u32,
    text: &str,
    allowances: &[(u32, Vec<String>)],
    rule: &'static str,
    severity: Severity,
    message: String,
) -> Finding {
    let allowed = allowances
        .iter()
        .any(|(at, rules)| *at + 1 == line && rules.iter().any(|r| r == rule || r == "all"));
    Finding {
        file: file.to_owned(),
        line,
        rule,
        severity,
        message: format!("{message}\n  statement: {}", sql::shorten(text)),
        allowed,
    }
}

/// The `-- migrate:allow RULE[, RULE]` comments of `text`: each line and
/// its rules.
fn allowances(dialect: sql::Dialect, text: &str) -> Vec<(u32, Vec<String>)> {
    sql::directive_comments_in(dialect, text, "allow")
        .into_iter()
        .map(|(r, argument)| {
            let line = text[..r.start].matches('\n').count() as u32 + 1;
            let rules = argument
                .split([',', ' ', '\t'])
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            (line, rules)
        })
        .collect()
}

fn table_names(conn: &Connection) -> Vec<String> {
    conn.prepare("SELECT lower(name) FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default()
}

/// The words of a statement, lowercased where they are keywords.
fn words(text: &str) -> Vec<String> {
    sql::tokens(text).iter().map(|w| w.to_string()).collect()
}

fn is(w: Option<&String>, k: &str) -> bool {
    w.is_some_and(|w| w.eq_ignore_ascii_case(k))
}

/// The rules one statement breaks on `work` (which it has not yet run on).
fn check(
    work: &Connection,
    text: &str,
    foreign_keys_off: bool,
    tables_before: &[String],
    renamed_into: &[String],
    found: &mut Vec<(&'static str, Severity, String)>,
) {
    let w = words(text);
    let first = w.first();
    // ALTER TABLE name …
    if is(first, "alter") && is(w.get(1), "table") {
        let (table, rest) = if is(w.get(3), ".") {
            (definition::unquote(&w[4]), 5)
        } else {
            (
                w.get(2).map(|t| definition::unquote(t)).unwrap_or_default(),
                3,
            )
        };
        let action = w.get(rest);
        if is(action, "add") {
            let refusal = tried(work, text, Some(&table));
            if let Some(message) = refusal
                && let Some((rule, safe)) = add_column_rule(&message)
            {
                found.push((
                    rule,
                    Severity::Warning,
                    format!("SQLite refuses it on a table that holds rows (\"{message}\"); {safe}"),
                ));
            }
        } else if is(action, "drop") {
            let column = w
                .get(rest + if is(w.get(rest + 1), "column") { 2 } else { 1 })
                .map(|c| definition::unquote(c))
                .unwrap_or_default();
            let exists = work
                .prepare("SELECT 1 FROM pragma_table_xinfo(?1) WHERE name = ?2 COLLATE NOCASE")
                .and_then(|mut s| s.exists([&table, &column]))
                .unwrap_or(false);
            if !exists {
                // No such column: the statement fails, said as such.
                return;
            }
            match tried(work, text, None) {
                Some(message) => found.push((
                    "dropping-referenced-column",
                    Severity::Error,
                    format!(
                        "SQLite refuses to drop {} of {}: {message}; drop or change what uses it first, or rebuild the table (`migrate-cli diff` writes the rebuild)",
                        quote(&column),
                        quote(&table)
                    ),
                )),
                None => found.push((
                    "ban-drop-column",
                    Severity::Warning,
                    format!(
                        "drops {} of {} and every value in it; the down cannot bring them back",
                        quote(&column),
                        quote(&table)
                    ),
                )),
            }
        }
        return;
    }
    // DROP TABLE [IF EXISTS] name
    if is(first, "drop") && is(w.get(1), "table") {
        let at = if is(w.get(2), "if") { 5 } else { 2 };
        let at = if is(w.get(at + 1), ".") { at + 2 } else { at };
        let Some(table) = w.get(at).map(|t| definition::unquote(t)) else {
            return;
        };
        if !renamed_into.contains(&table.to_ascii_lowercase()) {
            found.push((
                "ban-drop-table",
                Severity::Warning,
                format!(
                    "drops {} and every row in it; the down cannot bring them back",
                    quote(&table)
                ),
            ));
        }
        let users = users_of(work, &table, true);
        if !users.is_empty() {
            found.push((
                "dropping-referenced-table",
                Severity::Warning,
                format!(
                    "{} names {}, and fails when used once it is gone; drop or change {} first, or make the table again in this migration",
                    users.join(", "),
                    quote(&table),
                    if users.len() == 1 { "it" } else { "them" }
                ),
            ));
        }
        if !foreign_keys_off {
            let children: Vec<String> = work
                .prepare(
                    "SELECT DISTINCT m.name FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS k \
                     WHERE m.type = 'table' AND lower(k.\"table\") = lower(?1) AND lower(m.name) <> lower(?1) \
                     AND k.on_delete IN ('CASCADE', 'SET NULL', 'SET DEFAULT')",
                )
                .and_then(|mut s| s.query_map([&table], |r| r.get(0))?.collect())
                .unwrap_or_default();
            if !children.is_empty() {
                found.push((
                    "rebuild-without-marker",
                    Severity::Warning,
                    format!(
                        "dropping {} runs the ON DELETE actions of {} while foreign keys are on (the runner then refuses it when they would touch rows); if this rebuilds the table, put `-- migrate:foreign-keys-off` at the top of the file",
                        quote(&table),
                        children.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        return;
    }
    // CREATE UNIQUE INDEX … ON table
    if is(first, "create") && is(w.get(1), "unique") && is(w.get(2), "index") {
        let on = w.iter().position(|x| x.eq_ignore_ascii_case("on"));
        if let Some(table) = on
            .and_then(|i| w.get(i + 1))
            .map(|t| definition::unquote(t))
            && tables_before.contains(&table.to_ascii_lowercase())
        {
            found.push((
                "new-unique-index",
                Severity::Warning,
                format!(
                    "fails if {} holds duplicates of its key; with --database, lint counts them",
                    quote(&table)
                ),
            ));
        }
        return;
    }
    // UPDATE … / DELETE FROM … with no WHERE at the top level, after any
    // `WITH …` clause (SQLite's `with` prefix of UPDATE and DELETE).
    let body = &w[main_verb(&w)..];
    for (verb, rule) in [
        ("update", "update-without-where"),
        ("delete", "delete-without-where"),
    ] {
        if is(body.first(), verb) && !top_level_where(body) {
            found.push((
                rule,
                Severity::Warning,
                format!(
                    "{} every row; add a WHERE if that is not the point",
                    verb.to_ascii_uppercase()
                ),
            ));
        }
    }
}

/// Where a statement's own verb is: 0, or past a leading `WITH [RECURSIVE]
/// name [(…)] AS [NOT] [MATERIALIZED] (…), …` (the first word outside
/// parentheses after it that is not `,`, a CTE's name or its `AS` parts).
fn main_verb(w: &[String]) -> usize {
    if !is(w.first(), "with") {
        return 0;
    }
    let mut depth = 0usize;
    for (i, t) in w.iter().enumerate().skip(1) {
        match t.as_str() {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            _ if depth == 0
                && ["select", "insert", "replace", "update", "delete", "values"]
                    .iter()
                    .any(|k| t.eq_ignore_ascii_case(k))
                && w.get(i - 1).is_some_and(|p| p == ")") =>
            {
                return i;
            }
            _ => {}
        }
    }
    0
}

/// The table a statement works on, as its words name it (`ALTER TABLE t`,
/// `DROP TABLE [IF EXISTS] t`, `UPDATE t`, `DELETE FROM t`, `CREATE …
/// INDEX … ON t`), past a schema prefix.
fn subject(w: &[String]) -> Option<String> {
    let at = if is(w.first(), "alter") || is(w.first(), "update") {
        let or = if is(w.get(1), "or") { 2 } else { 0 };
        if is(w.first(), "alter") { 2 } else { 1 + or }
    } else if is(w.first(), "delete") {
        2
    } else if is(w.first(), "drop") {
        if is(w.get(2), "if") { 4 } else { 2 }
    } else {
        w.iter().position(|x| x.eq_ignore_ascii_case("on"))? + 1
    };
    let at = if is(w.get(at + 1), ".") { at + 2 } else { at };
    w.get(at).map(|t| definition::unquote(t))
}

/// A finding with the rows of `data` counted in, made an error where the
/// statement would certainly fail on them.
fn with_data(
    data: &Connection,
    rule: &'static str,
    text: &str,
    severity: Severity,
    message: String,
) -> (Severity, String) {
    let all = words(text);
    let w = &all[main_verb(&all)..];
    let Some(table) = subject(w) else {
        return (severity, message);
    };
    let count = |sql: String| -> Option<i64> { data.query_row(&sql, [], |r| r.get(0)).ok() };
    let rows = || count(format!("SELECT count(*) FROM {}", quote(&table)));
    match rule {
        "adding-not-nullable-field"
        | "adding-field-with-volatile-default"
        | "adding-stored-generated-field"
        | "adding-foreign-key-with-default" => match rows() {
            Some(n) if n > 0 => (
                Severity::Error,
                format!(
                    "{message}\n  the database holds {n} rows in {}: it fails",
                    quote(&table)
                ),
            ),
            Some(_) => (
                severity,
                format!(
                    "{message}\n  {} is empty in the database now",
                    quote(&table)
                ),
            ),
            None => (severity, message),
        },
        "ban-drop-table" | "update-without-where" | "delete-without-where" => match rows() {
            Some(n) => (
                severity,
                format!(
                    "{message}\n  the database holds {n} rows in {}",
                    quote(&table)
                ),
            ),
            None => (severity, message),
        },
        "ban-drop-column" => {
            let at = w.iter().position(|x| x.eq_ignore_ascii_case("drop"));
            let column = at
                .and_then(|i| w.get(i + if is(w.get(i + 1), "column") { 2 } else { 1 }))
                .map(|c| definition::unquote(c));
            match column.and_then(|c| {
                count(format!(
                    "SELECT count(*) FROM {} WHERE {} IS NOT NULL",
                    quote(&table),
                    quote(&c)
                ))
            }) {
                Some(n) => (
                    severity,
                    format!("{message}\n  the database holds {n} values in it"),
                ),
                None => (severity, message),
            }
        }
        "new-unique-index" => {
            // Plain column keys only; an expression is not counted here.
            let open = w.iter().position(|x| x == "(");
            let close = w.iter().rposition(|x| x == ")");
            let (Some(open), Some(close)) = (open, close) else {
                return (severity, message);
            };
            let items: Vec<&[String]> = w[open + 1..close].split(|x| x == ",").collect();
            let mut columns = Vec::new();
            for item in items {
                match item {
                    [c] | [c, _] if !c.starts_with('(') => columns.push(definition::unquote(c)),
                    _ => return (severity, message),
                }
            }
            let keys: Vec<String> = columns.iter().map(|c| quote(c)).collect();
            let not_null: Vec<String> = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect();
            match count(format!(
                "SELECT count(*) FROM (SELECT 1 FROM {} WHERE {} GROUP BY {} HAVING count(*) > 1)",
                quote(&table),
                not_null.join(" AND "),
                keys.join(", ")
            )) {
                Some(n) if n > 0 => (
                    Severity::Error,
                    format!(
                        "{message}\n  the database holds {n} values of ({}) in more than one row: it fails",
                        columns.join(", ")
                    ),
                ),
                Some(_) => (
                    severity,
                    format!("{message}\n  no duplicates in the database now"),
                ),
                None => (severity, message),
            }
        }
        _ => (severity, message),
    }
}

/// A rename (of a table or a column) while legacy_alter_table is on: the
/// views and triggers that name the table keep the old names.
fn legacy_rename(work: &Connection, text: &str, found: &mut Vec<(&'static str, Severity, String)>) {
    let w = words(text);
    if !(is(w.first(), "alter") && is(w.get(1), "table") && has_word(&w, "rename")) {
        return;
    }
    let Some(table) = subject(&w) else { return };
    let users = users_of(work, &table, false);
    if !users.is_empty() {
        found.push((
            "renaming-with-legacy-alter-table",
            Severity::Warning,
            format!(
                "the connection profile turns legacy_alter_table on, so SQLite does not rewrite {} to the new name; make them again after the rename, or turn legacy_alter_table off",
                users.join(", ")
            ),
        ));
    }
}

/// The views and triggers of `work` that name `table` (`view "v"`), those
/// on the table itself left out with `not_its_own`.
fn users_of(work: &Connection, table: &str, not_its_own: bool) -> Vec<String> {
    let Ok(mut stmt) = work.prepare(
        "SELECT type, name, sql, tbl_name FROM sqlite_master WHERE type IN ('view', 'trigger')",
    ) else {
        return Vec::new();
    };
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    });
    rows.map(|rows| {
        rows.flatten()
            .filter(|(_, _, _, on)| !(not_its_own && on.eq_ignore_ascii_case(table)))
            .filter(|(_, _, sql, _)| definition::names(sql, table))
            .map(|(kind, name, _, _)| format!("{kind} {}", quote(&name)))
            .collect()
    })
    .unwrap_or_default()
}

fn has_word(w: &[String], k: &str) -> bool {
    w.iter().any(|x| x.eq_ignore_ascii_case(k))
}

/// Whether a WHERE stands outside every parenthesis of the statement.
fn top_level_where(w: &[String]) -> bool {
    let mut depth = 0i32;
    w.iter().any(|t| {
        match t.as_str() {
            "(" => depth += 1,
            ")" => depth -= 1,
            _ => {}
        }
        depth == 0 && t.eq_ignore_ascii_case("where")
    })
}

/// Tries `statement` on `work` and undoes it: SQLite's message when it
/// refuses. With `probe_row`, the table first gets a row (CHECKs ignored,
/// foreign keys deferred), for the refusals that need one.
fn tried(work: &Connection, statement: &str, probe_row: Option<&str>) -> Option<String> {
    work.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA ignore_check_constraints = ON; \
         SAVEPOINT migrate_lint; PRAGMA defer_foreign_keys = ON",
    )
    .ok()?;
    let row = probe_row.and_then(|table| probe(work, table));
    let result = row
        .map_or(Ok(()), |r| work.execute_batch(&r))
        .and_then(|()| work.execute_batch(statement));
    let _ = work.execute_batch(
        "ROLLBACK TO SAVEPOINT migrate_lint; RELEASE SAVEPOINT migrate_lint; \
         PRAGMA defer_foreign_keys = OFF; PRAGMA ignore_check_constraints = OFF; \
         PRAGMA foreign_keys = OFF",
    );
    result
        .err()
        .map(|e| DatabaseFailure::from(e).message().to_owned())
}

/// An INSERT of one row into `table` that its types take (a STRICT table
/// too): `''` for text, `x''` for blobs, 0 for the rest.
fn probe(work: &Connection, table: &str) -> Option<String> {
    let columns: Vec<(String, String)> = work
        .prepare("SELECT name, type FROM pragma_table_xinfo(?1) WHERE hidden = 0")
        .ok()?
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
        .ok()?
        .collect::<rusqlite::Result<_>>()
        .ok()?;
    if columns.is_empty() {
        return None;
    }
    Some(format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote(table),
        columns
            .iter()
            .map(|(n, _)| quote(n))
            .collect::<Vec<_>>()
            .join(", "),
        columns
            .iter()
            .map(|(_, t)| sql::zero_of(t))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
