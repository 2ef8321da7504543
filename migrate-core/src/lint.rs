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
mod server;

use crate::error::DatabaseFailure;
use crate::introspect::Schema;
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
    /// The rows of the database make the statement fail, for certain: a
    /// data rule counted them, and nothing that runs before it writes to
    /// that table. `up` refuses to start on such a finding (not allowed).
    pub fails_on_data: bool,
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
        "changing-column-type",
        "a rebuild that changes a column's type (its affinity, or a STRICT table's type): values are stored differently, or refused",
    ),
    (
        "rebuild-adds-constraint",
        "a rebuild whose new table adds NOT NULL, UNIQUE, CHECK or a foreign key: the copy fails on a row that breaks it",
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

/// The findings of a folder that does not load: one per file at fault,
/// named by [`load_rule`].
pub fn load_findings(errors: &crate::source::LoadErrors) -> Vec<Finding> {
    errors
        .0
        .iter()
        .map(|e| Finding {
            file: e.file.display().to_string(),
            line: e.line.unwrap_or(1),
            rule: load_rule(&e.kind),
            severity: Severity::Error,
            message: e.kind.to_string(),
            allowed: false,
            fails_on_data: false,
        })
        .collect()
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
    let Ok(mut work) = Connection::open_in_memory() else {
        return found;
    };
    let mut data = data.map(|conn| Data {
        conn,
        writes: Writes::watch(&mut work),
        written: Default::default(),
    });
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
        found.extend(lint_one(&work, m, data.as_mut(), legacy));
    }
    found
}

/// The database the migrations will run on (read only), and what the
/// linted statements before the one at hand write to.
struct Data<'c> {
    conn: &'c Connection,
    writes: Writes,
    /// The tables (lowercased) that a linted statement already replayed
    /// writes to: rows counted in `conn` may differ by the time a later
    /// statement runs.
    written: std::collections::HashSet<String>,
}

impl Data<'_> {
    /// Whether rows of `table` counted now are the rows a statement sees.
    fn as_counted(&self, table: &str) -> bool {
        !self.written.contains(&table.to_ascii_lowercase())
    }
}

/// The tables the statements prepared on a connection write rows of
/// (insert, update, delete, drop), as SQLite's authorizer reports them,
/// triggers' statements included.
#[derive(Clone, Default)]
struct Writes(std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>);

impl Writes {
    fn watch(work: &mut Connection) -> Writes {
        use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
        let writes = Writes::default();
        let log = writes.0.clone();
        let _ = work.authorizer(Some(move |ctx: AuthContext<'_>| {
            let table = match ctx.action {
                AuthAction::Insert { table_name }
                | AuthAction::Delete { table_name }
                | AuthAction::Update { table_name, .. }
                | AuthAction::DropTable { table_name } => Some((table_name, false)),
                AuthAction::AlterTable { table_name, .. } => Some((table_name, true)),
                _ => None,
            };
            if let (Some((table, alter)), Ok(mut log)) = (table, log.lock()) {
                log.push((table.to_ascii_lowercase(), alter));
            }
            Authorization::Allow
        }));
        writes
    }

    fn clear(&self) {
        if let Ok(mut log) = self.0.lock() {
            log.clear();
        }
    }

    /// The tables written since [`Writes::clear`] by `statement` (its
    /// words `w`). An ALTER TABLE counts only as a rename: adding or
    /// dropping a column changes neither how many rows there are nor the
    /// other columns' values, but after a rename a name means another
    /// column (or table) than the database's.
    fn take(&self, w: &[String]) -> Vec<String> {
        let renames = has_word(w, "rename");
        self.0
            .lock()
            .map(|mut log| std::mem::take(&mut *log))
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, alter)| !alter || renames)
            .map(|(t, _)| t)
            .collect()
    }
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
    mut data: Option<&mut Data>,
    legacy: bool,
) -> Vec<Finding> {
    let mut found = Vec::new();
    if m.kind == Kind::Indexes {
        found.extend(index_set(work, m, data.as_deref()));
    }
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
                fails_on_data: false,
            });
            return found;
        }
    };
    let allowances = allowances(sql::Dialect::Sqlite, &m.text);
    if let Some(line) = uncommitted(m.dialect, &m.text, &script) {
        found.push(uncommitted_finding(&file, line, &m.text, &allowances));
    }
    let tables_before = table_names(work);
    // The schema at the file's start, read when the file makes a UNIQUE
    // index (to tell one a rebuild makes again).
    let makes_unique = script.statements.iter().any(|s| {
        let w = sql::tokens(s.text(&m.text));
        w.len() > 2 && w[0].eq_ignore_ascii_case("create") && w[1].eq_ignore_ascii_case("unique")
    });
    let schema_before = makes_unique.then(|| Schema::read(work, None).unwrap_or_default());
    // Tables this file renames another table into: a drop of one of those
    // is a rebuild (create, copy, drop, rename), not a loss.
    let renamed_into: Vec<String> = script
        .statements
        .iter()
        .filter_map(|s| renamed_to(&words(s.text(&m.text))))
        .collect();
    // Each table of a rebuild: the schema just before its drop, and what
    // the statements before the drop wrote.
    let mut before_drop: Vec<(String, Schema, bool)> = Vec::new();
    // Each rebuild finished by a rename: its table, statement and line.
    let mut rebuilt: Vec<(String, String, u32, &str)> = Vec::new();
    for s in &script.statements {
        let text = s.text(&m.text);
        let w = words(text);
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
        if let Some((table, _)) = sql::dropped_table(text)
            && renamed_into.contains(&table)
        {
            let counted = data.as_ref().is_none_or(|d| d.as_counted(&table));
            before_drop.push((table, Schema::read(work, None).unwrap_or_default(), counted));
        }
        if let Some(to) = renamed_to(&w)
            && before_drop.iter().any(|(t, _, _)| *t == to)
        {
            let from = subject(&w).unwrap_or_default();
            rebuilt.push((to, from, s.line, text));
        }
        // Only for a new UNIQUE index: the ones there before it.
        let unique_before = here
            .iter()
            .any(|(rule, _, _)| *rule == "new-unique-index")
            .then(|| unique_index_names(work));
        // A refusal a rule already named is not said twice.
        let named = here
            .iter()
            .any(|(_, severity, _)| *severity == Severity::Error);
        if let Some(d) = data.as_deref() {
            d.writes.clear();
        }
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
        // A UNIQUE index that a rebuild makes again, as its table had it,
        // is not new.
        if let (Some(unique_before), Some(start)) = (unique_before, &schema_before)
            && unique_index_kept(work, &unique_before, start, &before_drop)
        {
            here.retain(|(rule, _, _)| *rule != "new-unique-index");
        }
        for (rule, severity, message) in here {
            let (severity, message, fails_on_data) = match data.as_deref() {
                Some(d) => with_data(d, rule, text, severity, message),
                None => (severity, message, false),
            };
            let mut f = finding(&file, s.line, text, &allowances, rule, severity, message);
            f.fails_on_data = fails_on_data;
            found.push(f);
        }
        if let Some(d) = data.as_deref_mut() {
            let writes = d.writes.take(&w);
            d.written.extend(writes);
        }
    }
    if !rebuilt.is_empty() {
        let after = Schema::read(work, None).unwrap_or_default();
        let texts: Vec<&str> = script.statements.iter().map(|s| s.text(&m.text)).collect();
        for (table, from, line, text) in rebuilt {
            let Some((_, old, counted)) = before_drop.iter().find(|(t, _, _)| *t == table) else {
                continue;
            };
            let data = data.as_deref().map(|d| d.conn).filter(|_| *counted);
            let copy = match (old.table(&table), after.table(&table)) {
                (Some(was), Some(is_now)) => copy_of(&texts, &from, &table, was, is_now),
                _ => None,
            };
            for (rule, severity, message, fails_on_data) in
                rebuild_findings(old, &after, &table, data, copy)
            {
                let mut f = finding(&file, line, text, &allowances, rule, severity, message);
                f.fails_on_data = fails_on_data;
                found.push(f);
            }
        }
    }
    found
}

/// The findings of an index set: each UNIQUE index it makes on a table
/// there before it (one it already holds, as declared, is not made again)
/// fails on duplicates, as `CREATE UNIQUE INDEX` does.
fn index_set(work: &Connection, m: &Migration, data: Option<&Data>) -> Vec<Finding> {
    let Ok(set) = crate::dsl::indexes::parse(&m.text) else {
        return Vec::new();
    };
    let allowances = allowances(sql::Dialect::Sqlite, &m.text);
    let tables = table_names(work);
    let held = |name: &str| -> Option<String> {
        work.query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1 COLLATE NOCASE",
            [name],
            |r| r.get(0),
        )
        .ok()
    };
    let mut found = Vec::new();
    for index in set.indexes.iter().filter(|i| i.unique) {
        let sql = index.sql();
        if !tables.contains(&index.table.to_ascii_lowercase())
            || held(&index.name).is_some_and(|h| crate::introspect::same_sql(&h, &sql))
        {
            continue;
        }
        let message = format!(
            "fails if {} holds duplicates of its key; with --database, lint counts them",
            quote(&index.table)
        );
        let (severity, message, fails_on_data) = match data {
            Some(d) => with_data(d, "new-unique-index", &sql, Severity::Warning, message),
            None => (Severity::Warning, message, false),
        };
        let mut f = finding(
            m.file.as_ref(),
            index.line,
            &sql,
            &allowances,
            "new-unique-index",
            severity,
            message,
        );
        f.fails_on_data = fails_on_data;
        found.push(f);
    }
    found
}

/// The table `ALTER TABLE … RENAME TO name` renames into (lowercased).
fn renamed_to(w: &[String]) -> Option<String> {
    let to = w.iter().position(|x| x.eq_ignore_ascii_case("to"))?;
    (is(w.first(), "alter") && is(w.get(to.checked_sub(1)?), "rename"))
        .then(|| {
            w.get(to + 1)
                .map(|n| definition::unquote(n).to_ascii_lowercase())
        })
        .flatten()
}

/// The columns the copy of a rebuild copies, each `(column of the old
/// table, column of the new)`: read from the file's one `INSERT INTO new
/// [(columns)] SELECT items FROM old` whose items are plain columns (or
/// `*`) and that neither filters nor joins. `None` when there is no such
/// statement: then what the copy does is not known.
fn copy_of(
    texts: &[&str],
    new_name: &str,
    old_name: &str,
    was: &crate::introspect::Table,
    is_now: &crate::introspect::Table,
) -> Option<Vec<(String, String)>> {
    let named = |w: &[String], at: usize| -> Option<(String, usize)> {
        if is(w.get(at + 1), ".") {
            Some((
                definition::unquote(w.get(at + 2)?).to_ascii_lowercase(),
                at + 3,
            ))
        } else {
            Some((definition::unquote(w.get(at)?).to_ascii_lowercase(), at + 1))
        }
    };
    let mut copies = texts.iter().filter_map(|text| {
        let w = words(text);
        if !(is(w.first(), "insert") || is(w.first(), "replace")) {
            return None;
        }
        let into = w.iter().position(|x| x.eq_ignore_ascii_case("into"))?;
        let (target, after) = named(&w, into + 1)?;
        (target == new_name.to_ascii_lowercase()).then_some((w, after))
    });
    let (w, mut at) = copies.next()?;
    if copies.next().is_some() {
        return None;
    }
    // The columns filled: a list, or every column of the new table.
    let targets: Vec<String> = if is(w.get(at), "(") {
        let close = (at..w.len()).find(|&i| w[i] == ")")?;
        let list: Vec<String> = w[at + 1..close]
            .iter()
            .filter(|x| *x != ",")
            .map(|x| definition::unquote(x))
            .collect();
        at = close + 1;
        list
    } else {
        is_now
            .columns
            .iter()
            .filter(|c| c.hidden == 0)
            .map(|c| c.name.clone())
            .collect()
    };
    if !is(w.get(at), "select") {
        return None;
    }
    let from = (at..w.len()).find(|&i| w[i].eq_ignore_ascii_case("from"))?;
    let (source, end) = named(&w, from + 1)?;
    if source != old_name.to_ascii_lowercase() || w[end..].iter().any(|x| x != ";") {
        return None;
    }
    let items: Vec<&[String]> = w[at + 1..from].split(|x| x == ",").collect();
    let sources: Vec<String> = match items.as_slice() {
        [[star]] if star == "*" => was
            .columns
            .iter()
            .filter(|c| c.hidden == 0)
            .map(|c| c.name.clone())
            .collect(),
        _ => items
            .iter()
            .map(|item| match item {
                [c] | [c, _, _] if item.len() == 1 || is(item.get(1), "as") => {
                    Some(definition::unquote(c))
                }
                [_, dot, c] | [_, dot, c, _, _]
                    if dot == "." && (item.len() == 3 || is(item.get(3), "as")) =>
                {
                    Some(definition::unquote(c))
                }
                _ => None,
            })
            .collect::<Option<Vec<String>>>()?,
    };
    if sources.len() != targets.len() {
        return None;
    }
    sources
        .into_iter()
        .zip(targets)
        .map(|(from, to)| {
            let old = was
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&from))?;
            let new = is_now
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&to))?;
            Some((old.name.clone(), new.name.clone()))
        })
        .collect()
}

/// The names of the UNIQUE indexes of `work`.
fn unique_index_names(work: &Connection) -> Vec<String> {
    work.prepare(
        "SELECT m.name FROM sqlite_master AS m, pragma_index_list(m.tbl_name) AS i \
         WHERE m.type = 'index' AND i.name = m.name AND i.\"unique\"",
    )
    .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
    .unwrap_or_default()
}

/// Whether each UNIQUE index made since `unique_before` has the keys of one
/// its table had before: at the start of the file, or just before a
/// rebuild dropped the table.
fn unique_index_kept(
    work: &Connection,
    unique_before: &[String],
    start: &Schema,
    before_drop: &[(String, Schema, bool)],
) -> bool {
    let now = Schema::read(work, None).unwrap_or_default();
    let made: Vec<&crate::introspect::Index> = now
        .indexes
        .iter()
        .filter(|i| i.unique && !unique_before.contains(&i.name))
        .collect();
    // Nothing made (IF NOT EXISTS of an index already there): nothing new.
    made.iter().all(|new| {
        std::iter::once(start)
            .chain(before_drop.iter().map(|(_, s, _)| s))
            .any(|old| {
                old.indexes_of(&new.table)
                    .any(|i| i.unique && i.keys == new.keys && i.condition == new.condition)
            })
    })
}

/// SQLite's affinity of a declared type, by its rules (`sqlite3AffinityType`
/// in build.c, in that order): INT, then CHAR, CLOB or TEXT, then BLOB or
/// no type, then REAL, FLOA or DOUB, else NUMERIC.
fn affinity(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "INTEGER"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "TEXT"
    } else if t.contains("BLOB") || t.trim().is_empty() {
        "BLOB"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// What a rebuild of `table` does to its rows, from its definition in `old`
/// (just before the drop) to the one in `new` (the file's end): a column
/// whose type changes how values are stored, and constraints the old table
/// did not have. With `data`, each is counted on its rows (copied column
/// by column as `copy` copies them; without it (lint could not read the
/// copy), by name, and then no failure is certain).
fn rebuild_findings(
    old: &Schema,
    new: &Schema,
    table: &str,
    data: Option<&Connection>,
    copy: Option<Vec<(String, String)>>,
) -> Vec<(&'static str, Severity, String, bool)> {
    let mut found = Vec::new();
    let (Some(was), Some(is_now)) = (old.table(table), new.table(table)) else {
        return found;
    };
    let column = |t: &crate::introspect::Table, name: &str| {
        t.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .cloned()
    };
    let mut retyped = Vec::new();
    let mut added = Vec::new();
    for c in is_now.columns.iter().filter(|c| c.hidden == 0) {
        let Some(before) = column(was, &c.name) else {
            continue;
        };
        // What a column does with a value: its affinity, and in a STRICT
        // table its type (INT and INTEGER are one; ANY keeps every value
        // as given).
        let kind = |t: &crate::introspect::Table, d: &str| {
            (
                t.strict,
                if t.strict && d.eq_ignore_ascii_case("any") {
                    "ANY"
                } else {
                    affinity(d)
                },
            )
        };
        if kind(was, &before.declared_type) != kind(is_now, &c.declared_type) {
            retyped.push(format!(
                "{} {} → {}{}",
                quote(&c.name),
                if before.declared_type.is_empty() {
                    "(no type)"
                } else {
                    &before.declared_type
                },
                if c.declared_type.is_empty() {
                    "(no type)"
                } else {
                    &c.declared_type
                },
                if is_now.strict { " STRICT" } else { "" }
            ));
        }
        if c.not_null && !before.not_null {
            added.push(format!("NOT NULL on {}", quote(&c.name)));
        }
    }
    for check in &is_now.checks {
        if !was.checks.iter().any(|c| c.expression == check.expression) {
            added.push(check.to_string());
        }
    }
    for fk in &is_now.foreign_keys {
        if !was.foreign_keys.iter().any(|k| {
            k.parent.eq_ignore_ascii_case(&fk.parent) && k.from == fk.from && k.to == fk.to
        }) {
            added.push(format!(
                "FOREIGN KEY ({}) REFERENCES {}",
                fk.from.join(", "),
                quote(&fk.parent)
            ));
        }
    }
    // A UNIQUE or PRIMARY KEY of the new table's own (a `CREATE UNIQUE
    // INDEX` after the rebuild is linted as itself).
    for index in new.indexes_of(table).filter(|i| i.unique && !i.created) {
        if !old
            .indexes_of(table)
            .any(|i| i.unique && i.keys == index.keys && i.condition == index.condition)
        {
            let keys: Vec<&str> = index.keys.iter().map(|k| k.column.as_str()).collect();
            added.push(format!("UNIQUE ({})", keys.join(", ")));
        }
    }
    // The rows, as the copy would put them in the new table.
    let (mut type_rows, mut constraint_rows) = (Vec::new(), Vec::new());
    let read_the_copy = copy.is_some();
    if let Some(data) = data {
        let copied: Vec<(String, String)> = copy.unwrap_or_else(|| {
            is_now
                .columns
                .iter()
                .filter_map(|c| column(was, &c.name).map(|b| (b.name, c.name.clone())))
                .collect()
        });
        let mut problems = Vec::new();
        let same = |t: &str| t.to_owned();
        if crate::diff::rebuilt_rows(data, new, &was.name, is_now, &copied, &same, &mut problems)
            .is_ok()
        {
            for (kind, problem) in problems {
                match kind {
                    crate::diff::Broken::Type => type_rows.push(problem),
                    crate::diff::Broken::Constraint => constraint_rows.push(problem),
                }
            }
        }
    }
    let counted = |rows: &[crate::diff::DataProblem]| -> (Severity, String, bool) {
        let fails = rows.iter().any(|p| p.fails);
        let said: Vec<String> = rows.iter().map(|p| format!("\n  {p}")).collect();
        match data {
            None => (
                Severity::Warning,
                " with --database, lint counts them".into(),
                false,
            ),
            Some(_) if rows.is_empty() => (
                Severity::Warning,
                "\n  no row of the database breaks it now".into(),
                false,
            ),
            Some(_) if !read_the_copy => (
                Severity::Warning,
                format!(
                    "{}\n  (counted with the columns copied by name: lint could not read the copy, a single `INSERT INTO … SELECT` of plain columns, so the copy may not fail)",
                    said.concat()
                ),
                false,
            ),
            Some(_) => (
                if fails {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                format!(
                    "{}{}",
                    said.concat(),
                    if fails { "\n  it fails" } else { "" }
                ),
                fails,
            ),
        }
    };
    if !retyped.is_empty() || !type_rows.is_empty() {
        let (severity, rows, fails) = counted(&type_rows);
        found.push((
            "changing-column-type",
            severity,
            format!(
                "the rebuild of {} changes {}: the copy stores a value under the new type's affinity (text '1' becomes integer 1), and a STRICT table refuses one that does not fit;{rows}",
                quote(table),
                if retyped.is_empty() { "no declared type".into() } else { retyped.join(", ") }
            ),
            fails,
        ));
    }
    if !added.is_empty() || !constraint_rows.is_empty() {
        let (severity, rows, fails) = counted(&constraint_rows);
        found.push((
            "rebuild-adds-constraint",
            severity,
            format!(
                "the rebuild of {} adds {}: the copy fails on a row that breaks it;{rows}",
                quote(table),
                if added.is_empty() {
                    "no constraint, but its rows break one it has".into()
                } else {
                    added.join(", ")
                }
            ),
            fails,
        ));
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
    // The line that opened the transaction still open, and (SQLite) the
    // savepoint that opened it, whose RELEASE commits it.
    let mut open: Option<(u32, Option<String>)> = None;
    for s in &script.statements {
        let w = sql::tokens_in(dialect, s.text(text));
        let word = |i: usize| w.get(i).map(|x| x.to_ascii_lowercase()).unwrap_or_default();
        let has = |k: &str| w.iter().any(|x| x.eq_ignore_ascii_case(k));
        let name = || {
            w.iter()
                .rev()
                .find(|x| *x != &";")
                .map(|n| definition::unquote(n).to_ascii_lowercase())
        };
        // `COMMIT AND CHAIN` (PostgreSQL) starts the next one at once.
        let chained = has("chain") && !has("no");
        let sqlite = dialect == sql::Dialect::Sqlite;
        match word(0).as_str() {
            "begin" => {
                open.get_or_insert((s.line, None));
            }
            "start" if word(1) == "transaction" => {
                open.get_or_insert((s.line, None));
            }
            // Outside a transaction, SQLite's SAVEPOINT opens one.
            "savepoint" if sqlite && open.is_none() => open = Some((s.line, name())),
            "release"
                if sqlite
                    && open
                        .as_ref()
                        .is_some_and(|(_, outer)| outer.is_some() && *outer == name()) =>
            {
                open = None
            }
            "commit" | "end" if word(1) != "prepared" && !chained => open = None,
            "rollback" | "abort" if !has("to") && word(1) != "prepared" && !chained => open = None,
            "prepare" if word(1) == "transaction" => open = None,
            _ => {}
        }
    }
    open.map(|(line, _)| line)
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
        fails_on_data: false,
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
            let refusal =
                tried_alone(work, text, &table).unwrap_or_else(|| tried(work, text, Some(&table)));
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
        // The table as the scanner reads it (past IF EXISTS, `main.`, any
        // quotes); one of another schema, or none at all (IF EXISTS),
        // loses no row of the database.
        let Some((table, _)) = sql::dropped_table(text) else {
            return;
        };
        if !table_names(work).contains(&table) {
            return;
        }
        if !renamed_into.contains(&table) {
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
/// statement would certainly fail on them: the rows are counted now, so
/// only when no statement linted before it writes to the table. Whether it
/// is such an error is the third value.
fn with_data(
    data: &Data,
    rule: &'static str,
    text: &str,
    severity: Severity,
    message: String,
) -> (Severity, String, bool) {
    let all = words(text);
    let w = &all[main_verb(&all)..];
    let Some(table) = subject(w) else {
        return (severity, message, false);
    };
    let count = |sql: String| -> Option<i64> { data.conn.query_row(&sql, [], |r| r.get(0)).ok() };
    let rows = || count(format!("SELECT count(*) FROM {}", quote(&table)));
    // A failure the rows make certain, unless what runs before it writes
    // to the table.
    let fails = |said: String| {
        if data.as_counted(&table) {
            (
                Severity::Error,
                format!("{message}\n  {said}: it fails"),
                true,
            )
        } else {
            (
                severity,
                format!(
                    "{message}\n  {said} now; a statement that runs before it writes to {}, so it may not fail",
                    quote(&table)
                ),
                false,
            )
        }
    };
    let noted = |said: String| (severity, format!("{message}\n  {said}"), false);
    match rule {
        "adding-not-nullable-field"
        | "adding-field-with-volatile-default"
        | "adding-stored-generated-field"
        | "adding-foreign-key-with-default" => match rows() {
            Some(n) if n > 0 => fails(format!("the database holds {n} rows in {}", quote(&table))),
            Some(_) => noted(format!("{} is empty in the database now", quote(&table))),
            None => (severity, message, false),
        },
        "ban-drop-table" | "update-without-where" | "delete-without-where" => match rows() {
            Some(n) => noted(format!("the database holds {n} rows in {}", quote(&table))),
            None => (severity, message, false),
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
                Some(n) => noted(format!("the database holds {n} values in it")),
                None => (severity, message, false),
            }
        }
        "new-unique-index" => {
            let Some((keys, condition)) = definition::index_keys(text) else {
                return (severity, message, false);
            };
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            match count(crate::diff::duplicates(&quote(&table), &keys, condition)) {
                Some(n) if n > 0 => fails(format!(
                    "the database holds {n} values of ({}) in more than one row",
                    keys.join(", ")
                )),
                Some(_) => noted("no duplicates in the database now".into()),
                None => (severity, message, false),
            }
        }
        _ => (severity, message, false),
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

/// [`tried`] with a probe row, on a scratch database that holds `table`
/// alone (`ADD COLUMN`'s refusals look at nothing else): undoing a schema
/// change on `work` makes SQLite read its whole schema again, which made
/// lint quadratic in the number of tables. `None` when the table cannot
/// be set up there (then `tried` on `work` answers); else SQLite's message
/// when it refuses, inside the `Some`.
fn tried_alone(work: &Connection, statement: &str, table: &str) -> Option<Option<String>> {
    let create: String = work
        .query_row(
            "SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
            [table],
            |r| r.get(0),
        )
        .ok()?;
    let scratch = Connection::open_in_memory().ok()?;
    scratch.execute_batch(&create).ok()?;
    let row = probe(&scratch, table)?;
    scratch
        .execute_batch(&format!(
            "PRAGMA ignore_check_constraints = ON; {row}; PRAGMA foreign_keys = ON"
        ))
        .ok()?;
    Some(
        scratch
            .execute_batch(statement)
            .err()
            .map(|e| DatabaseFailure::from(e).message().to_owned()),
    )
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
