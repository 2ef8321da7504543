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
use crate::sql::definition;

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
    /// A view's result columns, named as SQLite names them (empty for the
    /// other kinds, and for a view that no longer resolves).
    pub columns: Vec<String>,
}

/// A table and every property of it that changes what the database
/// accepts or returns. Together with its automatic indexes (in
/// [`Schema::indexes`], which hold its PRIMARY KEY and UNIQUE constraints
/// as SQLite resolved them) this is the whole table: two tables that agree
/// on all of it behave alike, however their SQL is written.
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
    /// A virtual table (`CREATE VIRTUAL TABLE … USING …`): its module and
    /// arguments are in its SQL, which is what is compared.
    pub is_virtual: bool,
    /// `WITHOUT ROWID`.
    pub without_rowid: bool,
    /// `STRICT`.
    pub strict: bool,
    /// `AUTOINCREMENT` on its primary key.
    pub autoincrement: bool,
    /// Its CHECK constraints, column and table ones alike, sorted.
    pub checks: Vec<Check>,
    /// Its constraints' `ON CONFLICT` clauses other than the default, sorted.
    pub conflicts: Vec<Conflict>,
}

/// A CHECK constraint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Check {
    /// Its `CONSTRAINT` name, which SQLite's error message gives.
    pub name: Option<String>,
    /// Its expression, normalised: spacing, case outside strings, quotes
    /// of plain names and enclosing parentheses do not count.
    pub expression: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "CONSTRAINT {name} ")?;
        }
        write!(f, "CHECK ({})", self.expression)
    }
}

/// A constraint's `ON CONFLICT` clause.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Conflict {
    /// `NOT NULL`, `PRIMARY KEY` or `UNIQUE`.
    pub constraint: &'static str,
    /// The columns it constrains, lowercased.
    pub columns: Vec<String>,
    /// `rollback`, `fail`, `ignore` or `replace` (`abort`, the default, is
    /// not listed).
    pub resolution: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) ON CONFLICT {}",
            self.constraint,
            self.columns.join(", "),
            self.resolution.to_ascii_uppercase()
        )
    }
}

/// A column: what `table_xinfo` reports, with its collation and generating
/// expression read from the table's SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name as declared (matched without ASCII case, as SQLite does,
    /// but a change of case is a change: result columns are named so).
    pub name: String,
    /// Its declared type, uppercased, spacing normalised (`VARCHAR(10)`).
    pub declared_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// Its default, as SQLite reports it (one pair of parentheses around
    /// the whole removed).
    pub default: Option<String>,
    /// Its position in the primary key (1-based), or 0.
    pub primary_key: u32,
    /// 0 for a plain column; 2 generated `VIRTUAL`, 3 generated `STORED`.
    pub hidden: i64,
    /// Its collation, lowercased (`binary` unless declared).
    pub collation: String,
    /// A generated column's expression, normalised.
    pub generated: Option<String>,
}

impl Column {
    /// Whether two columns are alike in every property, their defaults
    /// compared as expressions (spacing, case and quoting aside).
    fn same_as(&self, other: &Column) -> bool {
        let default = |c: &Column| {
            c.default
                .as_deref()
                .map(|d| definition::normal(&crate::sql::tokens(d)))
        };
        Column {
            default: None,
            ..self.clone()
        } == Column {
            default: None,
            ..other.clone()
        } && default(self) == default(other)
    }
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
        if self.collation != "binary" {
            write!(f, " COLLATE {}", self.collation)?;
        }
        if let Some(g) = &self.generated {
            let how = if self.hidden == 3 {
                "STORED"
            } else {
                "VIRTUAL"
            };
            write!(f, " AS ({g}) {how}")?;
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
    /// `DEFERRABLE INITIALLY DEFERRED`: checked at commit, not at each
    /// statement.
    pub deferred: bool,
}

impl ForeignKey {
    /// The key with its names lowercased (SQLite compares them without
    /// ASCII case) and, where it names no parent columns, the parent's
    /// primary key in `schema` named, for comparisons.
    fn normalised(&self, schema: &Schema) -> ForeignKey {
        let lower = |s: &String| s.to_ascii_lowercase();
        let mut to: Vec<Option<String>> = self.to.iter().map(|t| t.as_ref().map(lower)).collect();
        if to.iter().all(Option::is_none)
            && let Some(parent) = schema.table(&self.parent)
        {
            let mut key: Vec<&Column> = parent
                .columns
                .iter()
                .filter(|c| c.primary_key > 0)
                .collect();
            key.sort_by_key(|c| c.primary_key);
            if key.len() == to.len() {
                to = key
                    .iter()
                    .map(|c| Some(c.name.to_ascii_lowercase()))
                    .collect();
            }
        }
        ForeignKey {
            child: lower(&self.child),
            parent: lower(&self.parent),
            from: self.from.iter().map(lower).collect(),
            to,
            on_update: self.on_update.clone(),
            on_delete: self.on_delete.clone(),
            deferred: self.deferred,
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
    /// A partial index's condition, normalised.
    pub condition: Option<String>,
}

/// One key column of an index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The column's name, lowercased; empty for an expression.
    pub column: String,
    /// The expression, normalised, for a key on one.
    pub expression: Option<String>,
    /// Descending.
    pub desc: bool,
    /// The collation, lowercased.
    pub collation: String,
}

impl Index {
    /// What makes two indexes the same: table, uniqueness, key columns
    /// (with direction and collation) and condition, whatever the text.
    fn same_as(&self, other: &Index) -> bool {
        self.table.eq_ignore_ascii_case(&other.table)
            && self.unique == other.unique
            && self.keys == other.keys
            && self.condition == other.condition
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
                    columns: Vec::new(),
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
                "view" => {
                    // A view whose tables are gone does not resolve: its
                    // SQL alone is compared.
                    let columns = table_columns(conn, &o.name).unwrap_or_default();
                    schema.views.push(Object { columns, ..o });
                }
                "trigger" => schema.triggers.push(o),
                _ => {}
            }
        }
        Ok(schema)
    }

    /// Only the table `name` and its indexes of `conn` (empty when there is
    /// no such table): what a change to one table is checked against
    /// without reading the whole schema again.
    pub(crate) fn read_table(conn: &Connection, name: &str) -> rusqlite::Result<Schema> {
        let mut schema = Schema::default();
        let found: Option<(String, String)> = conn
            .prepare_cached(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
            )?
            .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?
            .next()
            .transpose()?;
        let Some((name, sql)) = found else {
            return Ok(schema);
        };
        let indexes: Vec<String> = conn
            .prepare_cached("SELECT name FROM pragma_index_list(?1)")?
            .query_map([&name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for index in indexes {
            schema.indexes.extend(read_index(conn, &index)?);
        }
        schema.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        schema
            .tables
            .push(read_table(conn, name, sql.trim_end().to_owned())?);
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
            columns: Vec::new(),
        });
        let indexes = self.indexes.iter().filter_map(|i| {
            Some(Object {
                kind: "index".into(),
                name: i.name.clone(),
                table: i.table.clone(),
                sql: i.sql.clone()?,
                columns: Vec::new(),
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
        // By kind and name, looked up once each (schemas of thousands of
        // objects are compared).
        let live_by_key: std::collections::HashMap<(String, String), &Object> =
            live.iter().map(|o| (key(o), o)).collect();
        let files_keys: std::collections::HashSet<(String, String)> =
            files.iter().map(key).collect();
        let mut found = Vec::new();
        for w in files.iter().filter(|o| !skipped(o)) {
            match live_by_key.get(&key(w)).copied() {
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
        for h in live.iter().filter(|o| !files_keys.contains(&key(o))) {
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
        // Case is compared for tables (by structure) and views (by their
        // result columns): both name the columns a query returns.
        if want.kind != "table" && same_sql(&have.sql, &want.sql) && have.columns == want.columns {
            return None;
        }
        match want.kind.as_str() {
            "table" => {
                let (h, w) = (self.table(&have.name)?, files.table(&want.name)?);
                let changes = self.table_changes(h, files, w);
                (!changes.is_empty()).then_some(changes)
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

impl Schema {
    /// What differs between table `h` (here) and `w` (in `files`),
    /// property by property; empty when they behave alike.
    fn table_changes(&self, h: &Table, files: &Schema, w: &Table) -> Vec<Change> {
        let mut changes = Vec::new();
        if h.is_virtual || w.is_virtual {
            // A virtual table is its module and arguments, all in its SQL.
            if h.is_virtual != w.is_virtual || !same_sql(&h.sql, &w.sql) {
                changes.push(Change::Definition);
            }
            return changes;
        }
        let named = |c: &Column, of: &Table| {
            of.columns
                .iter()
                .position(|x| x.name.eq_ignore_ascii_case(&c.name))
        };
        for c in w.columns.iter().filter(|c| named(c, h).is_none()) {
            changes.push(Change::ColumnMissing(c.name.clone()));
        }
        for c in h.columns.iter().filter(|c| named(c, w).is_none()) {
            changes.push(Change::ColumnAdded(c.name.clone()));
        }
        for c in &w.columns {
            if let Some(x) = named(c, h)
                .map(|at| &h.columns[at])
                .filter(|x| !x.same_as(c))
            {
                let say = |col: &Column| {
                    if x.name == c.name {
                        col.to_string()
                    } else {
                        format!("{} {col}", col.name)
                    }
                };
                changes.push(Change::Column {
                    name: c.name.clone(),
                    live: say(x),
                    want: say(c),
                });
            }
        }
        let order = |t: &Table, of: &Table| -> Vec<usize> {
            t.columns.iter().filter_map(|c| named(c, of)).collect()
        };
        if changes.is_empty() && order(w, h) != (0..h.columns.len()).collect::<Vec<_>>() {
            changes.push(Change::ColumnOrder);
        }
        let keys = |s: &Schema, t: &Table| {
            let mut keys: Vec<ForeignKey> =
                t.foreign_keys.iter().map(|k| k.normalised(s)).collect();
            keys.sort_by(|a, b| (&a.from, &a.parent, &a.to).cmp(&(&b.from, &b.parent, &b.to)));
            keys
        };
        if keys(self, h) != keys(files, w) {
            changes.push(Change::ForeignKeys);
        }
        let automatic = |s: &Schema, t: &Table| {
            let mut found: Vec<(bool, Vec<Key>)> = s
                .indexes_of(&t.name)
                .filter(|i| !i.created)
                .map(|i| (i.unique, i.keys.clone()))
                .collect();
            found.sort();
            found
        };
        if automatic(self, h) != automatic(files, w) {
            changes.push(Change::Keys);
        }
        if h.checks != w.checks {
            changes.push(Change::Checks {
                live: h.checks.iter().map(Check::to_string).collect(),
                want: w.checks.iter().map(Check::to_string).collect(),
            });
        }
        if h.conflicts != w.conflicts {
            changes.push(Change::Conflicts {
                live: h.conflicts.iter().map(Conflict::to_string).collect(),
                want: w.conflicts.iter().map(Conflict::to_string).collect(),
            });
        }
        for (option, live, want) in [
            ("STRICT", h.strict, w.strict),
            ("WITHOUT ROWID", h.without_rowid, w.without_rowid),
            ("AUTOINCREMENT", h.autoincrement, w.autoincrement),
        ] {
            if live != want {
                changes.push(Change::Option { option, live });
            }
        }
        changes
    }
}

pub use crate::differences::{Change, Difference};

/// Reads the table `name` whose SQL is `sql`: what the pragmas report,
/// and from its SQL what they do not.
fn read_table(conn: &Connection, name: String, sql: String) -> rusqlite::Result<Table> {
    let text = definition::table(&sql).unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid",
    )?;
    let columns = stmt
        .query_map([&name], |r| {
            let name: String = r.get(0)?;
            let declared = text
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&name));
            Ok(Column {
                declared_type: definition::normal_type(&r.get::<_, String>(1)?),
                not_null: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                primary_key: r.get(4)?,
                hidden: r.get(5)?,
                collation: declared
                    .and_then(|c| c.collation.clone())
                    .unwrap_or_else(|| "binary".to_owned()),
                generated: declared.and_then(|c| c.generated.clone()),
                name,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut foreign_keys = foreign_keys(conn, &name)?;
    // SQLite numbers a table's keys from the last declared; the SQL says
    // which of them are deferred, in declaration order.
    foreign_keys.reverse();
    if text.deferred.len() == foreign_keys.len() {
        for (key, deferred) in foreign_keys.iter_mut().zip(&text.deferred) {
            key.deferred = *deferred;
        }
    }
    let (kind, without_rowid, strict) = conn
        .prepare_cached("SELECT type, wr, strict FROM pragma_table_list(?1) WHERE schema = 'main'")?
        .query_row([&name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? != 0,
                r.get::<_, i64>(2)? != 0,
            ))
        })?;
    Ok(Table {
        name,
        sql,
        columns,
        foreign_keys,
        is_virtual: kind == "virtual",
        without_rowid,
        strict,
        autoincrement: text.autoincrement,
        checks: text
            .checks
            .into_iter()
            .map(|(name, expression)| Check { name, expression })
            .collect(),
        conflicts: text
            .conflicts
            .into_iter()
            .map(|(constraint, columns, resolution)| Conflict {
                constraint,
                columns,
                resolution,
            })
            .collect(),
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
        condition: None,
        name,
    };
    let text = index.sql.as_deref().and_then(definition::index);
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
                expression: None,
                desc: r.get::<_, i64>(1)? != 0,
                collation: r.get::<_, String>(2)?.to_ascii_lowercase(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if let Some(text) = text {
        for (key, expression) in index.keys.iter_mut().zip(text.expressions) {
            if key.column.is_empty() {
                key.expression = expression;
            }
        }
        index.condition = text.condition;
    }
    Ok(Some(index))
}

/// Whether two statements are the same but for spacing, case outside
/// strings, the quoting of plain names, and comments.
pub(crate) fn same_sql(a: &str, b: &str) -> bool {
    let normal = |s| definition::normal(&crate::sql::tokens(s));
    normal(a) == normal(b)
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
                    deferred: false,
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
