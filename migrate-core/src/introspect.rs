//! Reading a schema as SQLite resolved it, into one structured model:
//! tables with their columns, primary and foreign keys; indexes with their
//! key columns, direction, collation and condition; views and triggers.
//!
//! The schema dump, verify's drift check, doctor and the index sets all
//! read through it, and drift is a list of [`Difference`] values (what a
//! later `diff` would turn into SQL), not text.

use std::fmt;

use rusqlite::Connection;

use crate::db::execute;
use crate::dsl::indexes::{Expect, Index as WantedIndex};
use crate::history::{self, Table as History};

/// A database's main schema. SQLite's internal objects (`sqlite_%`) are
/// left out, and so is the history table when asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Tables, by name.
    pub tables: Vec<Table>,
    /// Indexes, by name; automatic ones (of `UNIQUE` and `PRIMARY KEY`
    /// constraints, named `sqlite_autoindex_…`) included, with no SQL.
    pub indexes: Vec<Index>,
    /// Views, by name.
    pub views: Vec<Object>,
    /// Triggers, by name.
    pub triggers: Vec<Object>,
}

/// A schema object as stored: its kind, name, table and SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// `table`, `index`, `view` or `trigger`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The table it belongs to (its own name for tables and views).
    pub table: String,
    /// Its `CREATE` statement, trailing whitespace trimmed.
    pub sql: String,
}

/// A table and what SQLite resolved of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its `CREATE TABLE` statement.
    pub sql: String,
    /// Its columns, in order, hidden (generated) ones included.
    pub columns: Vec<Column>,
    /// Its foreign keys, in declaration order.
    pub foreign_keys: Vec<ForeignKey>,
}

/// A column as `table_xinfo` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name, lowercased (SQLite compares names without ASCII case).
    pub name: String,
    /// Its declared type, uppercased.
    pub declared_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// Its default, as written.
    pub default: Option<String>,
    /// Its position in the primary key (1-based), or 0.
    pub primary_key: u32,
    /// 0 for a plain column; otherwise hidden or generated.
    pub hidden: i64,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.declared_type)?;
        if self.not_null {
            f.write_str(" NOT NULL")?;
        }
        if let Some(d) = &self.default {
            write!(f, " DEFAULT {d}")?;
        }
        if self.primary_key > 0 {
            f.write_str(" PRIMARY KEY")?;
        }
        Ok(())
    }
}

/// One foreign key constraint, its columns grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The table that holds the key.
    pub child: String,
    /// The table it references, as written.
    pub parent: String,
    /// The child's columns, in key order.
    pub from: Vec<String>,
    /// The parent's columns; `None` where the key names none (the parent's
    /// primary key).
    pub to: Vec<Option<String>>,
    /// `ON UPDATE`, uppercase (`NO ACTION`, `CASCADE`, …).
    pub on_update: String,
    /// `ON DELETE`, uppercase (`NO ACTION`, `CASCADE`, `SET NULL`, …).
    pub on_delete: String,
}

impl ForeignKey {
    /// The key with its names lowercased (SQLite compares them without
    /// ASCII case), for comparisons.
    fn normalised(&self) -> ForeignKey {
        let lower = |s: &String| s.to_ascii_lowercase();
        ForeignKey {
            child: lower(&self.child),
            parent: lower(&self.parent),
            from: self.from.iter().map(lower).collect(),
            to: self.to.iter().map(|t| t.as_ref().map(lower)).collect(),
            on_update: self.on_update.clone(),
            on_delete: self.on_delete.clone(),
        }
    }
}

/// An index as SQLite resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// Its table.
    pub table: String,
    /// Its `CREATE INDEX` statement; `None` for an automatic index.
    pub sql: Option<String>,
    /// `UNIQUE`.
    pub unique: bool,
    /// Made by `CREATE INDEX` (not by a constraint).
    pub created: bool,
    /// A partial index (`WHERE …`).
    pub partial: bool,
    /// Its key columns.
    pub keys: Vec<Key>,
}

/// One key column of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The column's name, lowercased; empty for an expression.
    pub column: String,
    /// Descending.
    pub desc: bool,
    /// The collation, lowercased.
    pub collation: String,
}

impl Index {
    /// What makes two indexes the same: table, uniqueness, key columns
    /// (with direction and collation) and condition, whatever the text.
    fn same_as(&self, other: &Index) -> bool {
        let condition = |i: &Index| {
            let tokens = sql_tokens(i.sql.as_deref().unwrap_or(""));
            match tokens.iter().rposition(|t| t == "where") {
                Some(at) => tokens[at + 1..].to_vec(),
                None => Vec::new(),
            }
        };
        self.table.eq_ignore_ascii_case(&other.table)
            && self.unique == other.unique
            && self.keys == other.keys
            && condition(self) == condition(other)
    }
}

/// The shadow tables of the main database's virtual tables, by name, as
/// SQLite marks them (`PRAGMA table_list`, SQLite 3.37 and later).
fn shadow_tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")?
        .query_map([], |r| r.get(0))?
        .collect()
}

impl Schema {
    /// Reads the main schema of `conn`. With `history`, the bookkeeping is
    /// left out: that history table, the fingerprint table of earlier
    /// builds, and the history tables of other migration tools (which a
    /// switch from them leaves in place).
    pub fn read(conn: &Connection, history: Option<&History>) -> rusqlite::Result<Schema> {
        let mut stmt = conn.prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_master
             WHERE (name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                    OR (type = 'index' AND name LIKE 'sqlite\\_autoindex\\_%' ESCAPE '\\'))
               AND tbl_name NOT IN (?1, ?2)
               AND (sql IS NOT NULL OR type = 'index')
             ORDER BY name",
        )?;
        let skip = history.map_or((String::new(), String::new()), |t| {
            (t.name().to_owned(), t.legacy_fingerprint_table())
        });
        let rows = stmt
            .query_map([&skip.0, &skip.1], |r| {
                Ok(Object {
                    kind: r.get(0)?,
                    name: r.get(1)?,
                    table: r.get(2)?,
                    sql: r
                        .get::<_, Option<String>>(3)?
                        .unwrap_or_default()
                        .trim_end()
                        .to_owned(),
                })
            })?
            .collect::<rusqlite::Result<Vec<Object>>>()?;
        let mut schema = Schema::default();
        let bookkeeping = |table: &str| history.is_some() && history::is_other_tools(table);
        // The shadow tables of virtual tables (FTS5's `docs_data`, …) are
        // the module's storage: its `CREATE VIRTUAL TABLE` says them all.
        let shadow = shadow_tables(conn)?;
        let is_shadow = |table: &str| shadow.iter().any(|s| s.eq_ignore_ascii_case(table));
        for o in rows
            .into_iter()
            .filter(|o| !bookkeeping(&o.table) && !is_shadow(&o.table))
        {
            match o.kind.as_str() {
                "table" => schema.tables.push(read_table(conn, o.name, o.sql)?),
                // An index whose table does not list it (a damaged schema)
                // is left out rather than trusted.
                "index" => schema.indexes.extend(read_index(conn, &o.name)?),
                "view" => schema.views.push(o),
                "trigger" => schema.triggers.push(o),
                _ => {}
            }
        }
        Ok(schema)
    }

    /// The table called `name` (ASCII case aside).
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// The indexes of `table`, by name.
    pub fn indexes_of<'s>(&'s self, table: &'s str) -> impl Iterator<Item = &'s Index> + 's {
        self.indexes
            .iter()
            .filter(move |i| i.table.eq_ignore_ascii_case(table))
    }

    /// Every object with SQL: tables, then indexes, views and triggers, each
    /// sorted by name (automatic indexes, which have no SQL, left out).
    pub fn objects(&self) -> Vec<Object> {
        let tables = self.tables.iter().map(|t| Object {
            kind: "table".into(),
            name: t.name.clone(),
            table: t.name.clone(),
            sql: t.sql.clone(),
        });
        let indexes = self.indexes.iter().filter_map(|i| {
            Some(Object {
                kind: "index".into(),
                name: i.name.clone(),
                table: i.table.clone(),
                sql: i.sql.clone()?,
            })
        });
        tables
            .chain(indexes)
            .chain(self.views.iter().cloned())
            .chain(self.triggers.iter().cloned())
            .collect()
    }

    /// How this (live) schema differs from `want` (the schema the migrations
    /// make), object by object; objects whose text differs are compared by
    /// structure before they are called changed. `skip_index` leaves out
    /// indexes checked another way (those of index sets).
    pub fn differences(&self, want: &Schema, skip_index: impl Fn(&str) -> bool) -> Vec<Difference> {
        let (live, files) = (self.objects(), want.objects());
        let key = |o: &Object| (o.kind.clone(), o.name.to_ascii_lowercase());
        let skipped = |o: &Object| o.kind == "index" && skip_index(&o.name);
        let mut found = Vec::new();
        for w in files.iter().filter(|o| !skipped(o)) {
            match live.iter().find(|o| key(o) == key(w)) {
                None => found.push(Difference::Missing {
                    kind: w.kind.clone(),
                    name: w.name.clone(),
                }),
                Some(h) => {
                    if let Some(changes) = self.changes(h, want, w) {
                        found.push(Difference::Changed {
                            kind: w.kind.clone(),
                            name: w.name.clone(),
                            changes,
                            live: h.sql.clone(),
                            want: w.sql.clone(),
                        });
                    }
                }
            }
        }
        for h in live
            .iter()
            .filter(|o| !files.iter().any(|w| key(w) == key(o)))
        {
            found.push(Difference::Extra {
                kind: h.kind.clone(),
                name: h.name.clone(),
            });
        }
        found
    }

    /// What changed between `have` (here) and `want` (in `files`), or
    /// `None` when they are the same.
    fn changes(&self, have: &Object, files: &Schema, want: &Object) -> Option<Vec<Change>> {
        if same_sql(&have.sql, &want.sql) {
            return None;
        }
        match want.kind.as_str() {
            "table" => {
                let (h, w) = (self.table(&have.name)?, files.table(&want.name)?);
                let same_keys = h
                    .foreign_keys
                    .iter()
                    .map(ForeignKey::normalised)
                    .eq(w.foreign_keys.iter().map(ForeignKey::normalised));
                if h.columns == w.columns && same_keys {
                    return None;
                }
                let mut changes = Vec::new();
                for c in w
                    .columns
                    .iter()
                    .filter(|c| !h.columns.iter().any(|x| x.name == c.name))
                {
                    changes.push(Change::ColumnMissing(c.name.clone()));
                }
                for c in h
                    .columns
                    .iter()
                    .filter(|c| !w.columns.iter().any(|x| x.name == c.name))
                {
                    changes.push(Change::ColumnAdded(c.name.clone()));
                }
                for c in &w.columns {
                    if let Some(x) = h.columns.iter().find(|x| x.name == c.name && *x != c) {
                        changes.push(Change::Column {
                            name: c.name.clone(),
                            live: x.to_string(),
                            want: c.to_string(),
                        });
                    }
                }
                if !same_keys {
                    changes.push(Change::ForeignKeys);
                }
                if changes.is_empty() {
                    changes.push(Change::Constraints);
                }
                Some(changes)
            }
            "index" => {
                let find = |s: &'_ Schema, name: &str| {
                    s.indexes
                        .iter()
                        .find(|i| i.name.eq_ignore_ascii_case(name))
                        .cloned()
                };
                let (h, w) = (find(self, &have.name)?, find(files, &want.name)?);
                (!h.same_as(&w)).then(|| vec![Change::Definition])
            }
            _ => Some(vec![Change::Definition]),
        }
    }
}

/// One way a live schema differs from the schema its migrations make.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// The migrations create it; the database does not have it.
    Missing {
        /// `table`, `index`, `view` or `trigger`.
        kind: String,
        /// Its name.
        name: String,
    },
    /// The database has it; no migration creates it.
    Extra {
        /// `table`, `index`, `view` or `trigger`.
        kind: String,
        /// Its name.
        name: String,
    },
    /// Both have it, defined differently.
    Changed {
        /// `table`, `index`, `view` or `trigger`.
        kind: String,
        /// Its name.
        name: String,
        /// What differs.
        changes: Vec<Change>,
        /// Its SQL in the database.
        live: String,
        /// Its SQL as the migrations make it.
        want: String,
    },
}

/// What differs in an object both schemas have.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A column the migrations make is not there.
    ColumnMissing(String),
    /// A column no migration makes is there.
    ColumnAdded(String),
    /// A column is defined differently.
    Column {
        /// The column.
        name: String,
        /// Its definition in the database.
        live: String,
        /// Its definition as the migrations make it.
        want: String,
    },
    /// The table's foreign keys differ.
    ForeignKeys,
    /// The table's other constraints differ.
    Constraints,
    /// The definition differs (an index, a view, a trigger).
    Definition,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::ColumnMissing(c) => write!(f, "column `{c}` is missing"),
            Change::ColumnAdded(c) => write!(f, "column `{c}` was added"),
            Change::Column { name, live, want } => {
                write!(
                    f,
                    "column `{name}` is `{live}`, the migrations make it `{want}`"
                )
            }
            Change::ForeignKeys => f.write_str("its foreign keys differ"),
            Change::Constraints => f.write_str("its constraints differ"),
            Change::Definition => f.write_str("its definition differs"),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing { kind, name } => {
                write!(
                    f,
                    "drift: {kind} `{name}` is missing (the migrations create it)"
                )
            }
            Difference::Extra { kind, name } => {
                write!(f, "drift: {kind} `{name}` is not created by any migration")
            }
            Difference::Changed {
                kind,
                name,
                changes,
                live,
                want,
            } => {
                write!(
                    f,
                    "drift: {kind} `{name}` was changed outside the migrations: "
                )?;
                // A table says what differs; for the others the SQL does.
                if kind == "table" {
                    let notes: Vec<String> = changes.iter().map(Change::to_string).collect();
                    f.write_str(&notes.join("; "))?;
                }
                write!(f, "\n  live:  {live}\n  files: {want}")
            }
        }
    }
}

/// Reads the table `name` whose SQL is `sql`.
fn read_table(conn: &Connection, name: String, sql: String) -> rusqlite::Result<Table> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, upper(type), \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid",
    )?;
    let columns = stmt
        .query_map([&name], |r| {
            Ok(Column {
                name: r.get::<_, String>(0)?.to_ascii_lowercase(),
                declared_type: r.get(1)?,
                not_null: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                primary_key: r.get(4)?,
                hidden: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let foreign_keys = foreign_keys(conn, &name)?;
    Ok(Table {
        name,
        sql,
        columns,
        foreign_keys,
    })
}

/// Reads the index called `name` (ASCII case aside), if there is one.
pub(crate) fn read_index(conn: &Connection, name: &str) -> rusqlite::Result<Option<Index>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.name, m.tbl_name, m.sql, l.\"unique\", l.origin = 'c', l.partial
         FROM sqlite_master AS m, pragma_index_list(m.tbl_name) AS l
         WHERE m.type = 'index' AND m.name = ?1 COLLATE NOCASE AND l.name = m.name",
    )?;
    let mut rows = stmt.query([name])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let name: String = r.get(0)?;
    let mut index = Index {
        table: r.get(1)?,
        sql: r
            .get::<_, Option<String>>(2)?
            .map(|s| s.trim_end().to_owned()),
        unique: r.get::<_, i64>(3)? != 0,
        created: r.get(4)?,
        partial: r.get::<_, i64>(5)? != 0,
        keys: Vec::new(),
        name,
    };
    let mut stmt = conn.prepare_cached(
        "SELECT name, \"desc\", coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
    )?;
    index.keys = stmt
        .query_map([&index.name], |r| {
            Ok(Key {
                column: r
                    .get::<_, Option<String>>(0)?
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                desc: r.get::<_, i64>(1)? != 0,
                collation: r.get::<_, String>(2)?.to_ascii_lowercase(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(index))
}

/// Whether two statements are the same but for spacing, case outside
/// quotes, and comments.
pub(crate) fn same_sql(a: &str, b: &str) -> bool {
    sql_tokens(a) == sql_tokens(b)
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
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT m.name, f.id, f.\"from\", f.\"to\", f.\"table\", upper(f.on_update), upper(f.on_delete)
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
                    on_update: r.get(5)?,
                    on_delete: r.get(6)?,
                },
            )),
        }
    }
    Ok(keys.into_iter().map(|(_, key)| key).collect())
}

/// The columns of `table`'s primary key, in key order (empty for a table
/// whose only key is its rowid).
pub(crate) fn primary_key(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?
        .query_map([table], |r| r.get(0))?
        .collect()
}

/// The names of `table`'s columns, hidden ones included (empty when there
/// is no such table).
pub(crate) fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT name FROM pragma_table_xinfo(?1)")?;
    let rows = stmt.query_map([table], |r| r.get(0))?;
    rows.collect()
}

/// The names of every table.
pub(crate) fn tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Whether the existing index `wanted.name` is `wanted`: same table,
/// uniqueness, key columns (as SQLite resolved them, defaults included) and
/// condition. `None` when there is no index of that name.
pub(crate) fn same_index(
    conn: &Connection,
    wanted: &WantedIndex,
) -> rusqlite::Result<Option<(bool, String)>> {
    let Some(existing) = read_index(conn, &wanted.name)? else {
        return Ok(None);
    };
    let existing_sql = existing.sql.clone().unwrap_or_default();
    if same_sql(&existing_sql, &wanted.sql()) {
        return Ok(Some((true, existing_sql)));
    }
    // The wanted index is built on an empty copy of its table in memory:
    // nothing is written to the database, and no rows are indexed.
    let table: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
        [&wanted.table],
        |r| r.get(0),
    )?;
    let scratch = Connection::open_in_memory()?;
    execute(&scratch, &table)?;
    execute(&scratch, &wanted.sql())?;
    let built = read_index(&scratch, &wanted.name)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    Ok(Some((built.same_as(&existing), existing_sql)))
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
