//! The history table: which migrations ran, when, and with what checksum.
//!
//! This module and the runner are the only places that talk to the database
//! about migrations; a second backend replaces these few functions.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Error;
use crate::plan::HistoryRow;
use crate::source::Migration;

/// The default name of the history table.
pub const DEFAULT_TABLE: &str = "schema_migrations";

/// A validated history table name: an identifier, never pasted raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    name: String,
    quoted: String,
}

impl Table {
    /// Validates `name`: ASCII letters, digits and `_`, not starting with a
    /// digit, at most 64 characters, and not SQLite's reserved `sqlite_` prefix.
    ///
    /// ```
    /// use migrate_core::history::Table;
    /// assert!(Table::new("app_migrations").is_ok());
    /// assert!(Table::new("x; DROP TABLE users").is_err());
    /// ```
    pub fn new(name: &str) -> Result<Table, Error> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.to_ascii_lowercase().starts_with("sqlite_");
        if !valid {
            return Err(Error::InvalidTableName {
                name: name.to_owned(),
            });
        }
        Ok(Table {
            name: name.to_owned(),
            quoted: format!("\"{name}\""),
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::new(DEFAULT_TABLE).expect("the default name is valid")
    }
}

/// The table that keeps the fingerprint of the history (see
/// [`crate::Migrations::fingerprint`]): one row, refreshed after every run
/// that changed something, so the startup check reads one value.
impl Table {
    /// The fingerprint table's name: `<history>_fingerprint`.
    pub fn fingerprint_table(&self) -> String {
        format!("{}_fingerprint", self.name)
    }
}

/// The stored fingerprint of the applied history, if there is one.
pub(crate) fn stored_fingerprint(conn: &Connection, table: &Table) -> Option<String> {
    let sql = format!(
        "SELECT fingerprint FROM \"{}\" WHERE id = 1",
        table.fingerprint_table()
    );
    // No table yet, or an older database: the full check runs instead.
    let mut stmt = conn.prepare_cached(&sql).ok()?;
    stmt.query_row([], |r| r.get(0)).ok()
}

/// Recomputes the fingerprint from the history rows and stores it when it
/// differs, in one short IMMEDIATE transaction.
pub(crate) fn refresh_fingerprint(conn: &Connection, table: &Table) -> Result<(), Error> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = store_fingerprint(conn, table);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.execute_batch(end)?;
    Ok(result?)
}

/// Recomputes the fingerprint from the history rows as this transaction
/// sees them and stores it when it differs. Call inside a write
/// transaction: the runner calls it in the last migration's, so that a run
/// commits once per migration and not once more for the fingerprint.
pub(crate) fn store_fingerprint(conn: &Connection, table: &Table) -> rusqlite::Result<()> {
    let rows = rows(&mut *conn.prepare_cached(&select_all(table))?)?;
    let now = crate::checksum::fingerprint(rows.iter().map(|r| (r.version, r.checksum.as_str())));
    if stored_fingerprint(conn, table).as_deref() == Some(now.as_str()) {
        return Ok(());
    }
    let fp = format!("\"{}\"", table.fingerprint_table());
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {fp} (id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT NOT NULL)"
    ))?;
    conn.execute(
        &format!("INSERT OR REPLACE INTO {fp} (id, fingerprint) VALUES (1, ?1)"),
        [now],
    )?;
    Ok(())
}

/// Whether the table exists.
pub(crate) fn exists(conn: &Connection, table: &Table) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .exists([table.name()])?)
}

/// Creates the table if it is not there. Call inside a write transaction.
pub(crate) fn create(conn: &Connection, table: &Table) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {} (
  version     INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL,
  kind        TEXT    NOT NULL,
  checksum    TEXT    NOT NULL,
  applied_at  TEXT    NOT NULL,
  duration_ms INTEGER NOT NULL
)",
        table.quoted
    ))?;
    Ok(())
}

/// Every row, in version order; empty when the table does not exist.
pub(crate) fn read(conn: &Connection, table: &Table) -> Result<Vec<HistoryRow>, Error> {
    let sql = select_all(table);
    let mut stmt = match conn.prepare_cached(&sql) {
        Ok(stmt) => stmt,
        Err(_) if !exists(conn, table)? => return Ok(Vec::new()),
        // Another process may have created it since the first attempt.
        Err(_) => match conn.prepare_cached(&sql) {
            Ok(stmt) => stmt,
            Err(e) => return Err(foreign_table(conn, table)?.unwrap_or(e.into())),
        },
    };
    Ok(rows(&mut stmt)?)
}

/// The query behind [`read`]: every row, in version order.
fn select_all(table: &Table) -> String {
    format!(
        "SELECT version, name, kind, checksum, applied_at, duration_ms FROM {} ORDER BY version",
        table.quoted
    )
}

/// The rows of [`select_all`]'s statement.
fn rows(stmt: &mut rusqlite::Statement<'_>) -> rusqlite::Result<Vec<HistoryRow>> {
    stmt.query_map([], |r| {
        Ok(HistoryRow {
            version: r.get::<_, i64>(0)? as u64,
            name: r.get(1)?,
            kind: r.get(2)?,
            checksum: r.get(3)?,
            applied_at: r.get(4)?,
            duration_ms: r.get::<_, i64>(5)?.max(0) as u64,
        })
    })?
    .collect()
}

/// The checksum recorded for `version`, if it is applied.
pub(crate) fn checksum_of(
    conn: &Connection,
    table: &Table,
    version: u64,
) -> rusqlite::Result<Option<String>> {
    let sql = format!("SELECT checksum FROM {} WHERE version = ?1", table.quoted);
    conn.prepare_cached(&sql)?
        .query_row([version as i64], |r| r.get(0))
        .optional()
}

/// Records `m` as applied now.
pub(crate) fn insert(
    conn: &Connection,
    table: &Table,
    m: &Migration,
    duration_ms: u64,
) -> rusqlite::Result<()> {
    let sql = format!(
        "INSERT INTO {} (version, name, kind, checksum, applied_at, duration_ms)
         VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?5)",
        table.quoted
    );
    conn.prepare_cached(&sql)?.execute(params![
        m.version as i64,
        m.name.as_ref(),
        m.kind.as_str(),
        m.checksum.as_ref(),
        duration_ms as i64
    ])?;
    Ok(())
}

/// The columns every history table of ours has.
const COLUMNS: [&str; 6] = [
    "version",
    "name",
    "kind",
    "checksum",
    "applied_at",
    "duration_ms",
];

/// An error for a table of that name that another tool made (golang-migrate
/// and dbmate also use `schema_migrations`), if it is one.
fn foreign_table(conn: &Connection, table: &Table) -> Result<Option<Error>, Error> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let columns = stmt
        .query_map([table.name()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if COLUMNS.iter().all(|c| columns.iter().any(|have| have == c)) {
        return Ok(None);
    }
    Ok(Some(Error::ForeignHistory {
        table: table.name().to_owned(),
        columns,
    }))
}
