//! Applying pragma sets and index sets the way SQLite needs, and the
//! connection profile that per-connection pragmas form.

use std::borrow::Cow;

use rusqlite::Connection;

use crate::db::{execute, execute_waiting, read_pragma};
use crate::dsl::catalogue::Scope;
use crate::dsl::indexes::{Expect, Index, IndexSet};
use crate::dsl::pragmas::{self, PragmaSet, Setting};
use crate::error::Failure;
use crate::introspect::{index_shape, same_sql};
use crate::naming::Kind;
use crate::source::{Migration, Migrations};
use crate::sql::quote_identifier as quote;

pub(crate) use crate::backend::StepError;

fn sql_error(line: Option<u32>, statement: &str) -> impl Fn(rusqlite::Error) -> StepError + '_ {
    move |e| (line, Some(statement.to_owned()), Failure::Sql(e))
}

/// Whether SQLite reports `setting`'s value back.
pub(crate) fn check_setting(conn: &Connection, setting: &Setting) -> Result<(), Failure> {
    let found = read_pragma(conn, setting.pragma.name).map_err(Failure::Sql)?;
    let asked = setting.value.reported(setting.pragma);
    if found == asked {
        return Ok(());
    }
    let note = match setting.pragma.name {
        "journal_mode" if found == "memory" => {
            " (WAL needs a database file; an in-memory or temporary database keeps journal_mode = memory)"
        }
        "mmap_size" => " (SQLite caps mmap_size at its compile-time SQLITE_MAX_MMAP_SIZE)",
        "max_page_count" => " (it cannot be set below the database's current page count)",
        _ => "",
    };
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
pub(crate) fn apply_pragmas(conn: &Connection, set: &PragmaSet) -> Result<Vec<String>, StepError> {
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
        notes.push(format!(
            "ran VACUUM so that {} took effect",
            vacuum_for.join(" and ")
        ));
    }
    for s in set.settings.iter().filter(|s| !s.pragma.needs_vacuum) {
        execute_waiting(conn, &s.sql()).map_err(sql_error(Some(s.line), &s.sql()))?;
    }
    for s in &set.settings {
        check_setting(conn, s).map_err(|f| (Some(s.line), Some(s.sql()), f))?;
    }
    Ok(notes)
}

/// The per-connection pragmas of every pragma set of a migration set (later
/// sets override earlier keys). [`Migrations::open`] and the CLI apply it to
/// every connection they open, since these pragmas do not persist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The settings, each with the file that set it.
    pub settings: Vec<(Cow<'static, str>, Setting)>,
}

impl Profile {
    /// Applies every setting to `conn`, `busy_timeout` first so that the
    /// others wait for locks. Does not read them back (see [`Profile::check`]).
    pub fn apply(&self, conn: &Connection) -> rusqlite::Result<()> {
        let (first, rest): (Vec<_>, Vec<_>) = self
            .settings
            .iter()
            .partition(|(_, s)| s.pragma.name == "busy_timeout");
        for (_, s) in first.into_iter().chain(rest) {
            execute(conn, &s.sql())?;
        }
        Ok(())
    }

    /// Each setting that `conn` does not report back, with its file.
    pub fn check(&self, conn: &Connection) -> Vec<(String, u32, Failure)> {
        self.settings
            .iter()
            .filter_map(|(file, s)| {
                check_setting(conn, s)
                    .err()
                    .map(|f| (file.to_string(), s.line, f))
            })
            .collect()
    }

    /// True when there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }
}

impl Migrations {
    /// The connection profile: the per-connection settings of every pragma
    /// set, later sets overriding earlier ones. Parsed once per set.
    pub fn profile(&self) -> &Profile {
        self.profile.get_or_init(|| self.parse_profile())
    }

    fn parse_profile(&self) -> Profile {
        Profile {
            settings: settings_of(self.iter(), Scope::Connection)
                .into_iter()
                .map(|(m, s)| (m.file.clone(), s))
                .collect(),
        }
    }
}

/// The settings of `scope` that the pragma sets among `migrations` leave in
/// force, a later set overriding an earlier one's key, each with its set.
pub(crate) fn settings_of<'a>(
    migrations: impl Iterator<Item = &'a Migration>,
    scope: Scope,
) -> Vec<(&'a Migration, Setting)> {
    let mut settings: Vec<(&Migration, Setting)> = Vec::new();
    for m in migrations.filter(|m| m.kind == Kind::Pragmas) {
        // Validated when the set was built; a bad set adds nothing here.
        let Ok(set) = pragmas::parse(&m.text) else {
            continue;
        };
        for s in set.settings.into_iter().filter(|s| s.scope() == scope) {
            settings.retain(|(_, old)| old.pragma.name != s.pragma.name);
            settings.push((m, s));
        }
    }
    settings
}

/// Checks every table and column of `set` against the live schema, then
/// creates its indexes (an existing one must have the same definition) and
/// analyses the tables. Call inside the migration's transaction.
pub(crate) fn create_indexes(conn: &Connection, set: &IndexSet) -> Result<(), StepError> {
    for index in &set.indexes {
        check_columns(conn, index).map_err(|f| (Some(index.line), None, f))?;
    }
    let mut tables: Vec<&str> = Vec::new();
    for index in &set.indexes {
        let sql = index.sql();
        match existing_index(conn, &index.name).map_err(sql_error(Some(index.line), &sql))? {
            Some(existing) => {
                if !same_definition(conn, index, &existing)
                    .map_err(sql_error(Some(index.line), &sql))?
                {
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
            }
            None => execute(conn, &sql).map_err(sql_error(Some(index.line), &sql))?,
        }
        if !tables.iter().any(|t| t.eq_ignore_ascii_case(&index.table)) {
            tables.push(&index.table);
        }
    }
    for table in tables {
        let sql = format!("ANALYZE {}", quote(table));
        execute(conn, &sql).map_err(sql_error(None, &sql))?;
    }
    Ok(())
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

fn check_columns(conn: &Connection, index: &Index) -> Result<(), Failure> {
    let columns = table_columns(conn, &index.table).map_err(Failure::Sql)?;
    if columns.is_empty() {
        let tables = crate::sets::tables(conn).map_err(Failure::Sql)?;
        let suggestion =
            crate::dsl::suggest(&index.table, tables.iter().map(String::as_str)).map(str::to_owned);
        return Err(Failure::NoSuchTable {
            table: index.table.clone(),
            suggestion,
        });
    }
    for c in &index.columns {
        if !columns
            .iter()
            .any(|have| have.eq_ignore_ascii_case(&c.name))
        {
            return Err(Failure::NoSuchColumn {
                table: index.table.clone(),
                column: c.name.clone(),
                columns,
            });
        }
    }
    Ok(())
}

fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1)")?;
    let rows = stmt.query_map([table], |r| r.get(0))?;
    rows.collect()
}

fn tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// The SQL of the index called `name`, if there is one.
fn existing_index(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare("SELECT coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND name = ?1 COLLATE NOCASE")?;
    let mut rows = stmt.query([name])?;
    Ok(match rows.next()? {
        Some(r) => Some(r.get(0)?),
        None => None,
    })
}

/// Whether the existing index `index.name` is `index`: same table,
/// uniqueness, key columns (as SQLite resolved them, defaults included) and
/// condition.
fn same_definition(conn: &Connection, index: &Index, existing_sql: &str) -> rusqlite::Result<bool> {
    if same_sql(existing_sql, &index.sql()) {
        return Ok(true);
    }
    // The wanted index is built on an empty copy of its table in memory:
    // nothing is written to the database, and no rows are indexed.
    let table: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
        [&index.table],
        |r| r.get(0),
    )?;
    let scratch = Connection::open_in_memory()?;
    execute(&scratch, &table)?;
    execute(&scratch, &index.sql())?;
    Ok(index_shape(&scratch, &index.name)? == index_shape(conn, &index.name)?)
}

/// For `verify`: `None` when the index exists with its definition, else
/// what is wrong. Only reads the database (a definition that differs in
/// text is compared with one built in memory).
pub(crate) fn verify_index(conn: &Connection, index: &Index) -> rusqlite::Result<Option<String>> {
    let Some(existing) = existing_index(conn, &index.name)? else {
        return Ok(Some(format!(
            "index `{}` is missing; wanted: {}",
            index.name,
            index.sql()
        )));
    };
    if same_sql(&existing, &index.sql()) {
        return Ok(None);
    }
    let same = same_definition(conn, index, &existing)?;
    Ok((!same).then(|| {
        format!(
            "index `{}` has another definition\n  existing: {existing}\n  wanted:   {}",
            index.name,
            index.sql()
        )
    }))
}

/// Checks an `expect` line: the query's plan must use the index. On failure,
/// the plan as SQLite reported it.
pub fn check_expect(conn: &Connection, expect: &Expect) -> Result<(), String> {
    let plan =
        query_plan(conn, &expect.query).map_err(|e| format!("cannot plan the query: {e}"))?;
    let uses = plan.iter().any(|detail| {
        let words: Vec<&str> = detail.split([' ', '(']).collect();
        words
            .windows(2)
            .any(|w| w[0] == "INDEX" && w[1].eq_ignore_ascii_case(&expect.index))
    });
    if uses { Ok(()) } else { Err(plan.join("; ")) }
}

/// The plan's detail lines. Parameters stay unbound (NULL): planning does
/// not depend on their values.
fn query_plan(conn: &Connection, query: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {query}"))?;
    let mut rows = stmt.raw_query();
    let mut details = Vec::new();
    while let Some(row) = rows.next()? {
        details.push(row.get::<_, String>(3)?);
    }
    Ok(details)
}
