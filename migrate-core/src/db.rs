//! Running statements on a connection: the few helpers the runner, the
//! sets, the maintenance commands and the audits share.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use crate::error::{BackupError, DatabaseFailure, Error, Failure};

/// Runs `sql` to completion, stepping through any rows it returns.
pub(crate) fn execute(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    Ok(())
}

/// [`execute`], retried while SQLite reports the database busy, for up to
/// the connection's busy timeout. Changing the journal mode needs every other
/// connection out of the file, and SQLite returns SQLITE_BUSY for it at once
/// instead of calling the busy handler, so concurrent runners would fail
/// where they should wait.
pub(crate) fn execute_waiting(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    let timeout = conn.query_row("PRAGMA busy_timeout", [], |r| r.get::<_, i64>(0))?;
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_millis(timeout.max(0) as u64);
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match execute(conn, sql) {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// What `PRAGMA name` reports, as text.
pub(crate) fn read_pragma(conn: &Connection, name: &str) -> rusqlite::Result<String> {
    let value: SqlValue = conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?;
    Ok(match value {
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Text(s) => s.to_ascii_lowercase(),
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Null => "null".into(),
        SqlValue::Blob(_) => "blob".into(),
    })
}

/// The files SQLite keeps beside a database file, by suffix.
pub(crate) const COMPANIONS: [&str; 3] = ["-wal", "-journal", "-shm"];

/// `database` with `suffix` appended to its file name (`app.db-wal`).
pub(crate) fn companion(database: &Path, suffix: &str) -> PathBuf {
    let mut path = database.as_os_str().to_owned();
    path.push(suffix);
    PathBuf::from(path)
}

/// A statement SQLite refused, as the runner reports it: SQLite's
/// message and what an operator can do about it.
pub(crate) fn failure(e: rusqlite::Error) -> Failure {
    Failure::Sql(DatabaseFailure::new(
        format!("{}{}", message(&e), hint(&e)),
        code(&e),
        e,
    ))
}

/// SQLite's primary result code, as rusqlite names it (`DatabaseBusy`).
fn code(e: &rusqlite::Error) -> Option<String> {
    e.sqlite_error_code().map(|c| format!("{c:?}"))
}

/// Any other SQLite error (opening, reading the history): SQLite's message
/// as rusqlite gives it.
impl From<rusqlite::Error> for DatabaseFailure {
    fn from(e: rusqlite::Error) -> DatabaseFailure {
        DatabaseFailure::new(e.to_string(), code(&e), e)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Sqlite(e.into())
    }
}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> BackupError {
        BackupError::Sqlite(e.into())
    }
}

/// What an operator can do about the SQLite errors that are not the
/// migration's fault.
fn hint(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => {
            " (another connection held the lock for longer than the busy timeout; raise `Connection::busy_timeout` or a pragma \
             set's busy_timeout, keep other write transactions short, or find the holder with `fuser` or `lsof`)"
        }
        Some(ReadOnly) => {
            " (the connection cannot write: the database was opened read-only, or the file or the folder it is in \
             is not writable by this user (SQLite writes the file and creates its journal beside it), or \
             `PRAGMA query_only` is on)"
        }
        Some(CannotOpen) => {
            " (check that the folder exists and that this user may create files in it)"
        }
        Some(DiskFull) => " (the disk is full, or a max_page_count limit was reached)",
        _ if e.to_string().contains("already exists") => {
            " (if another migration tool, a script or a hand made it, take the database over with `Runner::adopt` \
             or record what it has with `Runner::baseline`, rather than run the files again)"
        }
        _ => "",
    }
}

/// SQLite's message. For an error at a token, the statement and its line are
/// reported beside it, so the offset rusqlite appends is left out.
fn message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(f, _) => match readonly_variant(f.extended_code) {
            Some(variant) => format!("{e} [{variant}]"),
            None => e.to_string(),
        },
        other => other.to_string(),
    }
}

/// The name of a SQLITE_READONLY variant: they share one message, and
/// tell apart a file moved under the connection, a WAL index that could
/// only be opened read-only, a folder that cannot hold the journal, ….
fn readonly_variant(extended_code: i32) -> Option<&'static str> {
    Some(match extended_code {
        264 => "SQLITE_READONLY_RECOVERY",
        520 => "SQLITE_READONLY_CANTLOCK",
        776 => "SQLITE_READONLY_ROLLBACK",
        1032 => "SQLITE_READONLY_DBMOVED",
        1288 => "SQLITE_READONLY_CANTINIT",
        1544 => "SQLITE_READONLY_DIRECTORY",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readonly_failure_names_its_variant() {
        let moved = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(1032), None);
        assert!(
            message(&moved).ends_with("[SQLITE_READONLY_DBMOVED]"),
            "{}",
            message(&moved)
        );
        let plain = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(8), None);
        assert_eq!(message(&plain), plain.to_string());
    }
}
