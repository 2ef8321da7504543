//! A deterministic dump of a database's schema, for snapshots and diffs.

use rusqlite::Connection;

use crate::history::Table;

/// The schema of `conn`'s main database as SQL, one object a paragraph:
/// tables, then indexes, views and triggers, each sorted by name. SQLite's
/// internal objects (`sqlite_%`) and the history table `table` are left out,
/// as are automatic indexes, which have no SQL.
///
/// ```
/// let conn = rusqlite::Connection::open_in_memory()?;
/// conn.execute_batch("CREATE TABLE b (x); CREATE TABLE a (y); CREATE INDEX i ON a (y);")?;
/// let dump = migrate_core::schema::dump(&conn, &Default::default())?;
/// assert_eq!(dump, "CREATE TABLE a (y);\n\nCREATE TABLE b (x);\n\nCREATE INDEX i ON a (y);\n");
/// # Ok::<(), rusqlite::Error>(())
/// ```
pub fn dump(conn: &Connection, table: &Table) -> rusqlite::Result<String> {
    let mut stmt = conn.prepare(
        "SELECT sql FROM sqlite_master
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND tbl_name <> ?1
         ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, name",
    )?;
    let objects = stmt
        .query_map([table.name()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(objects
        .iter()
        .map(|sql| format!("{};\n", sql.trim_end()))
        .collect::<Vec<_>>()
        .join("\n"))
}
