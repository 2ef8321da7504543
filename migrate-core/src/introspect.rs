//! Reading a schema as SQLite resolved it: an index's key columns,
//! direction, collation and condition; a table's columns and foreign keys.
//! Index sets, verify's drift check and doctor compare through it.

use rusqlite::Connection;

use crate::db::execute;
use crate::dsl::indexes::{Expect, Index};

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

/// One foreign key constraint, its columns grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForeignKey {
    /// The table that holds the key.
    pub(crate) child: String,
    /// The table it references, as written.
    pub(crate) parent: String,
    /// The child's columns, in key order.
    pub(crate) from: Vec<String>,
    /// The parent's columns; `None` where the key names none (the parent's
    /// primary key).
    pub(crate) to: Vec<Option<String>>,
    /// `ON DELETE`, uppercase (`NO ACTION`, `CASCADE`, `SET NULL`, …).
    pub(crate) on_delete: String,
}

/// The foreign keys that `table` holds.
pub(crate) fn foreign_keys(conn: &Connection, table: &str) -> rusqlite::Result<Vec<ForeignKey>> {
    read_foreign_keys(conn, "m.name = ?1", table)
}

/// The foreign keys of every other table of the main schema that reference
/// `parent` (names compared as SQLite does, ASCII case aside).
pub(crate) fn foreign_keys_to(
    conn: &Connection,
    parent: &str,
) -> rusqlite::Result<Vec<ForeignKey>> {
    read_foreign_keys(
        conn,
        "m.name <> ?1 AND lower(f.\"table\") = lower(?1)",
        parent,
    )
}

fn read_foreign_keys(
    conn: &Connection,
    condition: &str,
    name: &str,
) -> rusqlite::Result<Vec<ForeignKey>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT m.name, f.id, f.\"from\", f.\"to\", f.\"table\", upper(f.on_delete)
         FROM main.sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f
         WHERE m.type = 'table' AND {condition}
         ORDER BY m.name, f.id, f.seq"
    ))?;
    let mut rows = stmt.query([name])?;
    let mut keys: Vec<(i64, ForeignKey)> = Vec::new();
    while let Some(r) = rows.next()? {
        let (child, id): (String, i64) = (r.get(0)?, r.get(1)?);
        let (from, to): (String, Option<String>) = (r.get(2)?, r.get(3)?);
        match keys.last_mut() {
            Some((last, key)) if *last == id && key.child == child => {
                key.from.push(from);
                key.to.push(to);
            }
            _ => keys.push((
                id,
                ForeignKey {
                    child,
                    parent: r.get(4)?,
                    from: vec![from],
                    to: vec![to],
                    on_delete: r.get(5)?,
                },
            )),
        }
    }
    Ok(keys.into_iter().map(|(_, key)| key).collect())
}

/// The columns of `table`'s primary key, in key order (empty for a table
/// whose only key is its rowid).
pub(crate) fn primary_key(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?
        .query_map([table], |r| r.get(0))?
        .collect()
}

/// The names of `table`'s columns, hidden ones included.
pub(crate) fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1)")?;
    let rows = stmt.query_map([table], |r| r.get(0))?;
    rows.collect()
}

/// The names of every table.
pub(crate) fn tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// The SQL of the index called `name`, if there is one.
pub(crate) fn existing_index(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
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
pub(crate) fn same_definition(
    conn: &Connection,
    index: &Index,
    existing_sql: &str,
) -> rusqlite::Result<bool> {
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

/// Checks an `expect` line: the query's plan must use the index. On failure,
/// the plan as SQLite reported it.
pub(crate) fn check_expect(conn: &Connection, expect: &Expect) -> Result<(), String> {
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
