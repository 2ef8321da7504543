//! Running statements on a connection: the few helpers the runner, the
//! sets, the maintenance commands and the audits share.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

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
