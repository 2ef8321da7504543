//! A database's schema: read into a structured model ([`Schema`]), and
//! dumped deterministically, for snapshots and diffs.

use rusqlite::Connection;

use crate::history::Table;

/// The persistent pragmas a dump starts with, in this order.
pub const PERSISTENT_PRAGMAS: [&str; 5] = crate::dsl::catalogue::PERSISTENT;

pub use crate::introspect::{
    Change, Check, Column, Conflict, Difference, ForeignKey, Index, Key, Object, Schema,
    Table as TableSchema,
};

/// The objects of `conn`'s main database, tables first, then indexes, views
/// and triggers, each sorted by name. SQLite's internal objects (`sqlite_%`)
/// and automatic indexes (which have no SQL) are left out, and so are the
/// history table `history` and its fingerprint table when given.
pub fn objects(conn: &Connection, history: Option<&Table>) -> rusqlite::Result<Vec<Object>> {
    Ok(Schema::read(conn, history)?.objects())
}

/// The schema as SQL, one object a paragraph (see [`objects`]), without the
/// history table `table`.
///
/// ```
/// let conn = rusqlite::Connection::open_in_memory()?;
/// conn.execute_batch("CREATE TABLE b (x); CREATE TABLE a (y); CREATE INDEX i ON a (y);")?;
/// let dump = migrate_core::schema::dump(&conn, &Default::default())?;
/// assert_eq!(dump, "CREATE TABLE a (y);\n\nCREATE TABLE b (x);\n\nCREATE INDEX i ON a (y);\n");
/// # Ok::<(), rusqlite::Error>(())
/// ```
pub fn dump(conn: &Connection, table: &Table) -> rusqlite::Result<String> {
    Ok(paragraphs(&objects(conn, Some(table))?))
}

/// [`dump`] headed by the persistent pragmas as `PRAGMA name = value;`
/// lines; with `history`, the history table is kept.
pub fn dump_with_pragmas(
    conn: &Connection,
    table: &Table,
    history: bool,
) -> rusqlite::Result<String> {
    let mut out = String::new();
    for name in PERSISTENT_PRAGMAS {
        let value = crate::db::read_pragma(conn, name)?;
        // auto_vacuum reports 0/1/2: show the name a pragma set would use.
        let value = match crate::dsl::catalogue::find(name).map(|p| p.value) {
            Some(crate::dsl::catalogue::ValueType::Enum(names)) => value
                .parse::<usize>()
                .ok()
                .and_then(|i| names.get(i))
                .map_or(value, |n| (*n).to_owned()),
            _ => value,
        };
        out.push_str(&format!("PRAGMA {name} = {value};\n"));
    }
    let objects = objects(conn, (!history).then_some(table))?;
    if !objects.is_empty() {
        out.push('\n');
        out.push_str(&paragraphs(&objects));
    }
    Ok(out)
}

pub(crate) fn paragraphs(objects: &[Object]) -> String {
    objects
        .iter()
        .map(|o| format!("{};\n", o.sql))
        .collect::<Vec<_>>()
        .join("\n")
}
