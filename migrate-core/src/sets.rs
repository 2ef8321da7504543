//! Applying pragma sets and index sets the way SQLite needs.

use rusqlite::Connection;

use crate::db::{execute, execute_waiting, read_pragma};
use crate::dsl::indexes::{Index, IndexSet};
use crate::dsl::pragmas::{PragmaSet, Setting};
use crate::error::Failure;
use crate::introspect::{same_index, table_columns, tables};
use crate::profile::Profile;
use crate::runner::NoteKind;
use crate::sql::quote_identifier as quote;

pub(crate) use crate::backend::StepError;

fn sql_error(line: Option<u32>, statement: &str) -> impl Fn(rusqlite::Error) -> StepError + '_ {
    move |e| (line, Some(statement.to_owned()), crate::db::failure(e))
}

/// The pragmas that only a database file can take: an in-memory or
/// temporary database keeps its journal in memory (`journal_mode` reads
/// back `memory` or `delete` whatever is set) and has no file to map
/// (`mmap_size` reads back nothing).
const FILE_ONLY: [&str; 2] = ["journal_mode", "mmap_size"];

/// Whether `setting` cannot apply to `conn`'s database because it has no
/// file: the pragma sets of an app then still run on the in-memory
/// databases of its tests, the setting noted as skipped.
pub(crate) fn not_applicable(conn: &Connection, setting: &Setting) -> bool {
    FILE_ONLY.contains(&setting.pragma.name) && conn.path().is_none_or(str::is_empty)
}

/// Whether SQLite reports `setting`'s value back (a setting that does not
/// apply to a database without a file passes).
pub(crate) fn check_setting(conn: &Connection, setting: &Setting) -> Result<(), Failure> {
    if not_applicable(conn, setting) {
        return Ok(());
    }
    let found = read_pragma(conn, setting.pragma.name).map_err(crate::db::failure)?;
    let asked = setting.value.reported(setting.pragma);
    if found == asked {
        return Ok(());
    }
    let note = setting.pragma.not_taken;
    Err(Failure::PragmaNotTaken {
        pragma: setting.pragma.name,
        asked: setting.value.to_string(),
        found,
        note,
    })
}

/// Applies a pragma set outside any transaction: `page_size` and
/// `auto_vacuum` first (with the VACUUM they need on a database that has
/// pages, out of WAL mode while it runs), then the rest in file order; every
/// value is read back. Returns notes for the report.
pub(crate) fn apply_pragmas(
    conn: &Connection,
    set: &PragmaSet,
) -> Result<Vec<NoteKind>, StepError> {
    let mut notes = Vec::new();
    let get = |name: &str| set.settings.iter().find(|s| s.pragma.name == name);
    let read =
        |s: &Setting| read_pragma(conn, s.pragma.name).map_err(sql_error(Some(s.line), "PRAGMA"));

    let mut vacuum_for = Vec::new();
    let mut page_size_changes = false;
    if let Some(s) = get("page_size")
        && read(s)? != s.value.reported(s.pragma)
    {
        execute_waiting(conn, &s.sql()).map_err(sql_error(Some(s.line), &s.sql()))?;
        vacuum_for.push("page_size");
        page_size_changes = true;
    }
    if let Some(s) = get("auto_vacuum") {
        let now = read(s)?;
        let wanted = s.value.reported(s.pragma);
        if now != wanted {
            execute_waiting(conn, &s.sql()).map_err(sql_error(Some(s.line), &s.sql()))?;
            // Between full and incremental no VACUUM is needed; from or to none it is.
            if (now == "0") != (wanted == "0") {
                vacuum_for.push("auto_vacuum");
            }
        }
    }
    let has_pages = conn
        .query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
        .map_err(sql_error(None, "PRAGMA page_count"))?
        > 0;
    if !vacuum_for.is_empty() && has_pages {
        let line = vacuum_for.first().and_then(|n| get(n)).map(|s| s.line);
        let wal = read_pragma(conn, "journal_mode")
            .map_err(sql_error(line, "PRAGMA journal_mode"))?
            == "wal";
        if wal && page_size_changes {
            // VACUUM cannot change the page size of a WAL database.
            execute_waiting(conn, "PRAGMA journal_mode = delete")
                .map_err(sql_error(line, "PRAGMA journal_mode = delete"))?;
        }
        execute_waiting(conn, "VACUUM").map_err(sql_error(line, "VACUUM"))?;
        if wal && page_size_changes && get("journal_mode").is_none() {
            execute_waiting(conn, "PRAGMA journal_mode = wal")
                .map_err(sql_error(line, "PRAGMA journal_mode = wal"))?;
        }
        notes.push(NoteKind::Vacuumed {
            pragmas: vacuum_for,
        });
    }
    for s in set.settings.iter().filter(|s| !s.pragma.needs_vacuum) {
        execute_waiting(conn, &s.sql()).map_err(sql_error(Some(s.line), &s.sql()))?;
    }
    for s in &set.settings {
        if not_applicable(conn, s) {
            notes.push(NoteKind::NotApplicable { setting: s.sql() });
        }
        check_setting(conn, s).map_err(|f| (Some(s.line), Some(s.sql()), f))?;
    }
    Ok(notes)
}

/// What creating an index set asks of a database.
pub(crate) trait IndexTarget {
    /// The columns of `table`; empty when there is no such table.
    fn columns(&mut self, table: &str) -> Result<Vec<String>, Failure>;
    /// Every table, for a suggestion.
    fn tables(&mut self) -> Result<Vec<String>, Failure>;
    /// An index of `index`'s name: whether it is `index` as written, and
    /// its definition.
    fn existing(&mut self, index: &Index) -> Result<Option<(bool, String)>, Failure>;
    /// Of `names`, those that no index has: a cheap look-up, for after
    /// every step (`existing` may build a copy to compare definitions).
    fn missing(&mut self, names: &[&str]) -> Result<Vec<String>, Failure>;
    /// Runs one statement.
    fn execute(&mut self, sql: &str) -> Result<(), Failure>;
}

/// A SQLite connection, as an [`IndexTarget`].
struct SqliteTarget<'c>(&'c Connection);

impl IndexTarget for SqliteTarget<'_> {
    fn columns(&mut self, table: &str) -> Result<Vec<String>, Failure> {
        table_columns(self.0, table).map_err(crate::db::failure)
    }
    fn tables(&mut self) -> Result<Vec<String>, Failure> {
        tables(self.0).map_err(crate::db::failure)
    }
    fn existing(&mut self, index: &Index) -> Result<Option<(bool, String)>, Failure> {
        same_index(self.0, index).map_err(crate::db::failure)
    }
    fn missing(&mut self, names: &[&str]) -> Result<Vec<String>, Failure> {
        // Names compare as SQLite compares them: ASCII case folded.
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT 1 FROM main.sqlite_schema WHERE type = 'index' AND name = ?1 COLLATE NOCASE",
            )
            .map_err(crate::db::failure)?;
        let mut out = Vec::new();
        for name in names {
            if !stmt.exists([name]).map_err(crate::db::failure)? {
                out.push((*name).to_owned());
            }
        }
        Ok(out)
    }
    fn execute(&mut self, sql: &str) -> Result<(), Failure> {
        execute(self.0, sql).map_err(crate::db::failure)
    }
}

/// Checks every table and column of `set` against the live schema, then
/// creates its indexes (an existing one must have the same definition) and
/// analyses the tables. Call inside the migration's transaction.
pub(crate) fn create_indexes(conn: &Connection, set: &IndexSet) -> Result<(), StepError> {
    create_indexes_on(&mut SqliteTarget(conn), set)
}

/// [`create_indexes`] on any database.
pub(crate) fn create_indexes_on(
    target: &mut impl IndexTarget,
    set: &IndexSet,
) -> Result<(), StepError> {
    // Every unknown table and column of the set at once, not the first.
    let mut unknown: Vec<(u32, Failure)> = Vec::new();
    for index in &set.indexes {
        let found = check_columns(target, index).map_err(|f| (Some(index.line), None, f))?;
        unknown.extend(found.into_iter().map(|f| (index.line, f)));
    }
    if unknown.len() == 1 {
        let (line, f) = unknown.remove(0);
        return Err((Some(line), None, f));
    }
    if let Some(&(line, _)) = unknown.first() {
        return Err((Some(line), None, Failure::IndexSetNames(unknown)));
    }
    let mut tables: Vec<&str> = Vec::new();
    for index in &set.indexes {
        let sql = index.sql();
        let at = |f| (Some(index.line), Some(sql.clone()), f);
        match target.existing(index).map_err(at)? {
            Some((true, _)) => {}
            Some((false, existing)) => {
                return Err((
                    Some(index.line),
                    None,
                    Failure::IndexConflict {
                        index: index.name.clone(),
                        existing,
                        wanted: sql,
                    },
                ));
            }
            None => target.execute(&sql).map_err(at)?,
        }
        if !tables.iter().any(|t| t.eq_ignore_ascii_case(&index.table)) {
            tables.push(&index.table);
        }
    }
    for table in tables {
        let sql = format!("ANALYZE {}", quote(table));
        target
            .execute(&sql)
            .map_err(|f| (None, Some(sql.clone()), f))?;
    }
    Ok(())
}

/// [`restore_indexes_on`] on a SQLite connection.
pub(crate) fn restore_indexes(
    conn: &Connection,
    declared: &[crate::pipeline::Declared],
) -> Result<Vec<crate::runner::NoteKind>, Failure> {
    restore_indexes_on(&mut SqliteTarget(conn), declared)
}

/// [`crate::backend::Backend::restore_indexes`] on any database: each
/// declared index that is missing, and whose table and columns exist, is
/// created again. One whose table or column is gone is left for `verify`
/// to report.
pub(crate) fn restore_indexes_on(
    target: &mut impl IndexTarget,
    declared: &[crate::pipeline::Declared],
) -> Result<Vec<crate::runner::NoteKind>, Failure> {
    let names: Vec<&str> = declared
        .iter()
        .flat_map(|(_, _, set)| set.indexes.iter().map(|i| i.name.as_str()))
        .collect();
    let missing = target.missing(&names)?;
    let mut notes = Vec::new();
    for (_, file, set) in declared {
        for index in set.indexes.iter().filter(|i| missing.contains(&i.name)) {
            if !check_columns(target, index)?.is_empty() {
                continue;
            }
            target.execute(&index.sql())?;
            notes.push(crate::runner::NoteKind::IndexRestored {
                index: index.name.clone(),
                set: file.clone(),
            });
        }
    }
    Ok(notes)
}

/// Reverts an index set: drops each of its indexes (those already gone
/// are passed over). Call inside the revert's transaction.
pub(crate) fn drop_indexes(conn: &Connection, set: &IndexSet) -> Result<(), StepError> {
    for index in &set.indexes {
        let sql = format!("DROP INDEX IF EXISTS main.{}", quote(&index.name));
        execute(conn, &sql).map_err(sql_error(Some(index.line), &sql))?;
    }
    Ok(())
}

/// The tables and columns of `index` the live schema does not have.
fn check_columns(target: &mut impl IndexTarget, index: &Index) -> Result<Vec<Failure>, Failure> {
    let columns = target.columns(&index.table)?;
    if columns.is_empty() {
        let tables = target.tables()?;
        let suggestion =
            crate::dsl::suggest(&index.table, tables.iter().map(String::as_str)).map(str::to_owned);
        return Ok(vec![Failure::NoSuchTable {
            table: index.table.clone(),
            suggestion,
        }]);
    }
    Ok(index
        .columns
        .iter()
        .filter(|c| {
            !columns
                .iter()
                .any(|have| have.eq_ignore_ascii_case(&c.name))
        })
        .map(|c| Failure::NoSuchColumn {
            table: index.table.clone(),
            column: c.name.clone(),
            columns: columns.clone(),
        })
        .collect())
}

/// Applying and checking a connection profile: its pragmas on a
/// connection (the SQLite backend's side of the model's [`Profile`]).
impl Profile {
    /// Applies every setting to `conn`, `busy_timeout` first so that the
    /// others wait for locks. Does not read them back (see [`Profile::check`]).
    pub fn apply(&self, conn: &rusqlite::Connection) -> rusqlite::Result<()> {
        let (first, rest): (Vec<_>, Vec<_>) = self
            .settings
            .iter()
            .partition(|(_, s)| s.pragma.name == "busy_timeout");
        for (_, s) in first.into_iter().chain(rest) {
            crate::db::execute(conn, &s.sql())?;
        }
        Ok(())
    }

    /// Each setting that `conn` does not report back, with its file.
    pub fn check(&self, conn: &rusqlite::Connection) -> Vec<(String, u32, crate::error::Failure)> {
        self.settings
            .iter()
            .filter_map(|(file, s)| {
                check_setting(conn, s)
                    .err()
                    .map(|f| (file.to_string(), s.line, f))
            })
            .collect()
    }
}
