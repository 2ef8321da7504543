//! Reading a schema as SQLite resolved it: an index's key columns,
//! direction, collation and condition; a table's columns and foreign keys.
//! Index sets, verify's drift check and doctor compare through it.

use rusqlite::Connection;

/// Whether two statements are the same but for spacing, case outside
/// quotes, and comments.
pub(crate) fn same_sql(a: &str, b: &str) -> bool {
    sql_tokens(a) == sql_tokens(b)
}

/// What makes two indexes the same, as SQLite resolved them: the table,
/// uniqueness, and each key column's name, direction and collation.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    table: String,
    unique: bool,
    keys: Vec<(String, bool, String)>,
    /// A partial index's condition, as tokens.
    condition: Vec<String>,
}

/// The shape of the index called `name` (and its condition's tokens).
pub(crate) fn index_shape(conn: &Connection, name: &str) -> rusqlite::Result<Shape> {
    let (table, sql): (String, String) = conn.query_row(
        "SELECT tbl_name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND name = ?1 COLLATE NOCASE",
        [name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let keys = index_keys(conn, name)?;
    let tokens = sql_tokens(&sql);
    let unique = tokens.get(1).is_some_and(|w| w == "unique");
    let condition = match tokens.iter().rposition(|t| t == "where") {
        Some(i) => tokens[i + 1..].to_vec(),
        None => Vec::new(),
    };
    Ok(Shape {
        table: table.to_ascii_lowercase(),
        unique,
        keys,
        condition,
    })
}

/// An index's key columns as SQLite resolved them: name, descending,
/// collation (names lowercased).
pub(crate) fn index_keys(
    conn: &Connection,
    index: &str,
) -> rusqlite::Result<Vec<(String, bool, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, \"desc\", coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
    )?;
    let keys = stmt.query_map([index], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?
                .unwrap_or_default()
                .to_ascii_lowercase(),
            r.get::<_, i64>(1)? != 0,
            r.get::<_, String>(2)?.to_ascii_lowercase(),
        ))
    })?;
    keys.collect()
}

/// A statement's tokens, lowercased outside quotes, for comparisons that
/// ignore spacing and case.
fn sql_tokens(sql: &str) -> Vec<String> {
    crate::sql::tokens(sql)
        .into_iter()
        .map(|t| {
            if t.starts_with(['\'', '"', '`', '[']) {
                t.to_owned()
            } else {
                t.to_ascii_lowercase()
            }
        })
        .collect()
}

/// A column as `table_xinfo` reports it: name, type, not null, default,
/// primary-key position, hidden.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ColumnShape(
    pub(crate) String,
    pub(crate) String,
    pub(crate) bool,
    pub(crate) Option<String>,
    pub(crate) i64,
    pub(crate) i64,
);

impl ColumnShape {
    pub(crate) fn describe(&self) -> String {
        let mut s = self.1.clone();
        if self.2 {
            s.push_str(" NOT NULL");
        }
        if let Some(d) = &self.3 {
            s.push_str(&format!(" DEFAULT {d}"));
        }
        if self.4 > 0 {
            s.push_str(" PRIMARY KEY");
        }
        s
    }
}

/// A table's columns and foreign keys (child column, parent table, parent
/// column, actions).
pub(crate) type TableShape = (
    Vec<ColumnShape>,
    Vec<(String, String, String, String, String)>,
);

pub(crate) fn table_shape(conn: &Connection, table: &str) -> rusqlite::Result<TableShape> {
    let mut stmt = conn.prepare("SELECT name, upper(type), \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid")?;
    let columns = stmt
        .query_map([table], |r| {
            Ok(ColumnShape(
                r.get::<_, String>(0)?.to_ascii_lowercase(),
                r.get(1)?,
                r.get::<_, i64>(2)? != 0,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare(
        "SELECT lower(\"from\"), lower(\"table\"), lower(coalesce(\"to\", '')), on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let keys = stmt
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((columns, keys))
}
