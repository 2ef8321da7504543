//! `diff`: the migration that takes one schema to another, on SQLite.
//!
//! Both sides are built in memory (a schema file's `CREATE` statements, a
//! database's schema, or a migration set replayed), and the plan is made by
//! running it: every statement is executed on the in-memory copy of the
//! source as it is chosen, and the plan is only given out when the copy
//! then reads, property by property, as the target does. So a change that
//! `ALTER TABLE` can make is made that way only when SQLite, asked, makes
//! exactly it; anything else rebuilds the table (create the new table, copy
//! the rows, drop the old one, rename the new one into place), with its
//! indexes, triggers and every view and trigger that names it made again.
//!
//! ```
//! use migrate_core::diff::{diff, Side};
//! let from = Side::Sql { text: "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);" };
//! let to = Side::Sql {
//!     text: "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);",
//! };
//! let d = diff(&from, &to, &Default::default())?;
//! // NOT NULL cannot be added in place: the table is rebuilt, with foreign
//! // keys off and checked before commit.
//! assert!(d.up.starts_with("-- migrate:foreign-keys-off"));
//! assert!(d.up.contains("INSERT INTO \"_migrate_new_users\" (\"id\", \"email\") SELECT \"id\", \"email\" FROM \"users\";"));
//! // The same schema on both sides: nothing to do.
//! assert!(diff(&to, &to, &Default::default())?.is_empty());
//! # Ok::<(), migrate_core::diff::DiffError>(())
//! ```

use std::collections::BTreeSet;

use rusqlite::Connection;

use crate::error::DatabaseFailure;
use crate::history::Table as History;
use crate::introspect::{Difference, Schema};
use crate::source::Migrations;
use crate::sql::{self, definition, quote_identifier as quote};

/// One side of a diff.
#[derive(Clone, Copy)]
pub enum Side<'a> {
    /// A schema file's text: `CREATE` statements, in any order, with
    /// `-- migrate:renamed-from OLD` directives (read on the target side);
    /// `PRAGMA` statements (a `migrate-cli schema` dump heads with them)
    /// are passed over.
    Sql {
        /// The text.
        text: &'a str,
    },
    /// A live database; only its schema is read.
    Database(&'a Connection),
    /// A migration set, replayed into an empty in-memory database.
    Set(&'a Migrations),
}

/// How to diff.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The history table, never part of a diff (nor are other tools'
    /// history tables, `sqlite_sequence` or `sqlite_stat*`).
    pub history: History,
    /// Drop the indexes that applied index sets declare when the target
    /// leaves them out (by default they are kept, and said so).
    pub drop_set_indexes: bool,
}

/// A diff: the up migration, the down migration, and what they do to data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// The up migration: from the source to the target. Empty when the two
    /// are the same.
    pub up: String,
    /// The down migration: from the target back to the source.
    pub down: String,
    /// The tables the up migration rebuilds.
    pub rebuilt: Vec<String>,
    /// What the up migration loses (a dropped table or column), one line
    /// each; also written as a comment at the statement.
    pub losses: Vec<String>,
    /// Indexes that applied index sets declare, which the target leaves
    /// out and the diff keeps (see [`Options::drop_set_indexes`]).
    pub kept_indexes: Vec<String>,
    /// When the source is a database: what the up migration would do to
    /// its rows (see [`check_data`]).
    pub data: Vec<DataProblem>,
}

impl Diff {
    /// No difference: nothing to write.
    pub fn is_empty(&self) -> bool {
        self.up.is_empty()
    }
}

/// What the up migration would do to rows a database holds: fail on them,
/// lose them, or change them on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataProblem {
    /// The migration would fail on these rows (and change nothing).
    pub fails: bool,
    /// The table, as the database names it now.
    pub table: String,
    /// What happens, with how many rows and the first of them.
    pub message: String,
}

impl std::fmt::Display for DataProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What the up migration from `from` to `to` would do to the rows of
/// `data`, a database with the source's schema: each change that would
/// fail on them (NOT NULL on NULLs, a new UNIQUE on duplicates, a CHECK or
/// a foreign key the rows break, a type that cannot hold a value), and
/// each value it loses (a dropped table or column) or changes (a value
/// stored under another type). Only reads `data`.
pub fn check_data(
    from: &Side,
    to: &Side,
    options: &Options,
    data: &Connection,
) -> Result<Vec<DataProblem>, DiffError> {
    let (renames, kept) = stated(from, to, options)?;
    let target = replica(to, &options.history)?;
    let want = Schema::read(&target, Some(&options.history))?;
    let plan = Planner::new(
        replica(from, &options.history)?,
        &target,
        &options.history,
        &kept,
        false,
    )?
    .plan(&renames)?;
    let mut found = Vec::new();
    for fact in &plan.facts {
        match fact {
            Fact::DroppedTable { table } => {
                let n = count(data, &format!("SELECT count(*) FROM {}", quote(table)))?;
                if n > 0 {
                    found.push(DataProblem {
                        fails: false,
                        table: table.clone(),
                        message: format!("drops {} with its {n} rows", quote(table)),
                    });
                }
            }
            Fact::DroppedColumn { table, column } => {
                let n = count(
                    data,
                    &format!(
                        "SELECT count(*) FROM {} WHERE {} IS NOT NULL",
                        quote(table),
                        quote(column)
                    ),
                )?;
                if n > 0 {
                    found.push(DataProblem {
                        fails: false,
                        table: table.clone(),
                        message: format!(
                            "drops the column {} of {}, which holds {n} values",
                            quote(column),
                            quote(table)
                        ),
                    });
                }
            }
            Fact::Rebuilt {
                table,
                target,
                copied,
            } => {
                if let Some(w) = want.table(target) {
                    let parent = |t: &str| plan_data_table(&plan, t);
                    let mut problems = Vec::new();
                    rebuilt_rows(data, &want, table, w, copied, &parent, &mut problems)?;
                    found.extend(problems.into_iter().map(|(_, p)| p));
                }
            }
        }
    }
    Ok(found)
}

/// A count from `sql` on `data`.
fn count(data: &Connection, sql: &str) -> Result<u64, DiffError> {
    Ok(data.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
}

/// A query that counts the values of `keys` more than one row of `from`
/// holds, as a UNIQUE index over them would refuse: rows with a NULL key
/// left out, and those outside a partial index's `condition`.
pub(crate) fn duplicates(from: &str, keys: &[String], condition: Option<&str>) -> String {
    let mut filter: Vec<String> = keys.iter().map(|k| format!("({k}) IS NOT NULL")).collect();
    filter.extend(condition.map(|c| format!("({c})")));
    format!(
        "SELECT count(*) FROM (SELECT 1 FROM {from} WHERE {} GROUP BY {} HAVING count(*) > 1)",
        filter.join(" AND "),
        keys.join(", ")
    )
}

/// The first rowids (or keys) `sql` gives, for a message.
fn first_rows(data: &Connection, sql: &str) -> String {
    let Ok(mut stmt) = data.prepare(sql) else {
        return String::new();
    };
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get::<_, rusqlite::types::Value>(0))
        .map(|rows| {
            rows.flatten()
                .map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(s) => format!("'{s}'"),
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .unwrap_or_default();
    if rows.is_empty() {
        String::new()
    } else {
        format!(" (first: {})", rows.join(", "))
    }
}

/// What a row problem of a rebuild is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Broken {
    /// NOT NULL, UNIQUE, CHECK, a foreign key.
    Constraint,
    /// A value stored under another type, or refused by a STRICT table.
    Type,
}

/// The rows of `table` in `data` against the rebuilt table `want` (of
/// `schema`, which holds its indexes): what its copy would refuse, and what
/// it would store differently. `copied` pairs a column of `table` with the
/// column of `want` it is copied into; `parent_in_data` names, for a
/// parent table of `schema`, the table of `data` that holds its rows.
pub(crate) fn rebuilt_rows(
    data: &Connection,
    schema: &Schema,
    table: &str,
    want: &crate::introspect::Table,
    copied: &[(String, String)],
    parent_in_data: &dyn Fn(&str) -> String,
    found: &mut Vec<(Broken, DataProblem)>,
) -> Result<(), DiffError> {
    // The rows as the new table would see them: copied columns under their
    // new names, new ones at their default.
    let source_of = |column: &str| {
        copied
            .iter()
            .find(|(_, to)| to.eq_ignore_ascii_case(column))
            .map(|(from, _)| from.clone())
    };
    let key = if want.without_rowid { "NULL" } else { "rowid" };
    let mut select = vec![format!("{key} AS migrate_rowid")];
    for c in want.columns.iter().filter(|c| c.hidden == 0) {
        let value = match source_of(&c.name) {
            Some(from) => quote(&from),
            None => c.default.clone().unwrap_or_else(|| "NULL".into()),
        };
        select.push(format!("{value} AS {}", quote(&c.name)));
    }
    // Named for itself, seen under the new table's name (a CTE of the
    // table's own name would read itself).
    let rows = format!(
        "WITH migrate_rows AS (SELECT {} FROM {}) ",
        select.join(", "),
        quote(table)
    );
    let fail = |message: String| {
        (
            Broken::Constraint,
            DataProblem {
                fails: true,
                table: table.to_owned(),
                message,
            },
        )
    };
    let name = quote(&want.name);
    let from_rows = format!("migrate_rows AS {name}");
    // The rows `q` (`FROM … WHERE …` over the copied rows) picks: how many,
    // and the first of them for the message; `None` when it picks none.
    let broken = |q: &str| -> Result<Option<(u64, String)>, DiffError> {
        let n = count(data, &format!("{rows}SELECT count(*) {q}"))?;
        Ok((n > 0).then(|| {
            let first = first_rows(data, &format!("{rows}SELECT migrate_rowid {q} LIMIT 3"));
            (n, first)
        }))
    };
    // NOT NULL.
    for c in want.columns.iter().filter(|c| c.hidden == 0 && c.not_null) {
        let q = format!("FROM {from_rows} WHERE {} IS NULL", quote(&c.name));
        if let Some((n, first)) = broken(&q)? {
            found.push(fail(match source_of(&c.name) {
                Some(from) => format!(
                    "{} becomes NOT NULL, and {n} rows of {} hold NULL in {}{first}",
                    quote(&c.name),
                    quote(table),
                    quote(&from)
                ),
                None => format!(
                    "the new column {} is NOT NULL with no default, and {} holds {n} rows",
                    quote(&c.name),
                    quote(table)
                ),
            }));
        }
    }
    // UNIQUE (and PRIMARY KEY): its constraints' indexes (columns with
    // their collations) and its unique ones (keys and condition as written).
    for index in schema.indexes_of(&want.name).filter(|i| i.unique) {
        let written = index.sql.as_deref().and_then(definition::index_keys);
        let (keys, condition): (Vec<String>, Option<&str>) = match &written {
            Some((keys, condition)) => (keys.iter().map(|k| k.to_string()).collect(), *condition),
            None if !index.partial && index.keys.iter().all(|k| k.expression.is_none()) => (
                index
                    .keys
                    .iter()
                    .map(|k| format!("{} COLLATE {}", quote(&k.column), k.collation))
                    .collect(),
                None,
            ),
            None => continue,
        };
        let Ok(n) = count(
            data,
            &format!("{rows}{}", duplicates(&from_rows, &keys, condition)),
        ) else {
            continue;
        };
        if n > 0 {
            let said: Vec<&str> = match written {
                Some((keys, _)) => keys,
                None => index.keys.iter().map(|k| k.column.as_str()).collect(),
            };
            found.push(fail(format!(
                "({}) becomes UNIQUE, and {n} values of it are held by more than one row of {}",
                said.join(", "),
                quote(table)
            )));
        }
    }
    // CHECK.
    for check in &want.checks {
        let q = format!("FROM {from_rows} WHERE NOT ({})", check.expression);
        if let Ok(Some((n, first))) = broken(&q) {
            found.push(fail(format!(
                "{n} rows of {} break the new {check}{first}",
                quote(table)
            )));
        }
    }
    // Foreign keys: checked before the rebuild commits.
    for fk in &want.foreign_keys {
        let parent_data = parent_in_data(&fk.parent);
        let Some(parent) = schema.table(&fk.parent) else {
            continue;
        };
        let parent_key: Vec<String> = if fk.to.iter().all(Option::is_none) {
            let mut key: Vec<&crate::introspect::Column> = parent
                .columns
                .iter()
                .filter(|c| c.primary_key > 0)
                .collect();
            key.sort_by_key(|c| c.primary_key);
            key.iter().map(|c| c.name.clone()).collect()
        } else {
            fk.to
                .iter()
                .map(|c| c.clone().unwrap_or_default())
                .collect()
        };
        if parent_key.len() != fk.from.len() {
            continue;
        }
        let set: Vec<String> = fk
            .from
            .iter()
            .map(|c| format!("{name}.{} IS NOT NULL", quote(c)))
            .collect();
        let matched: Vec<String> = fk
            .from
            .iter()
            .zip(&parent_key)
            .map(|(c, p)| format!("p.{} = {name}.{}", quote(p), quote(c)))
            .collect();
        let q = format!(
            "FROM {from_rows} WHERE {} AND NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})",
            set.join(" AND "),
            quote(&parent_data),
            matched.join(" AND ")
        );
        if let Ok(Some((n, first))) = broken(&q) {
            found.push(fail(format!(
                "{n} rows of {} name a {} row that is not there ({}){first}",
                quote(table),
                quote(&fk.parent),
                fk.from.join(", ")
            )));
        }
    }
    // Values stored under another type, or refused by a STRICT table:
    // each copied value put through a one-column table of the new type.
    let probe = Connection::open_in_memory()?;
    for c in want.columns.iter().filter(|c| c.hidden == 0) {
        let Some(from) = source_of(&c.name) else {
            continue;
        };
        let strict = if want.strict { " STRICT" } else { "" };
        let declared = if c.declared_type.is_empty() {
            "ANY"
        } else {
            &c.declared_type
        };
        if probe
            .execute_batch(&format!(
                "DROP TABLE IF EXISTS p; CREATE TABLE p (v {declared}){strict}"
            ))
            .is_err()
        {
            continue;
        }
        let mut read = data.prepare(&format!(
            "SELECT {key}, {} FROM {}",
            quote(&from),
            quote(table)
        ))?;
        let mut rows = read.query([])?;
        let mut insert =
            probe.prepare("INSERT INTO p (v) VALUES (?1) RETURNING quote(v), typeof(v)")?;
        let (mut refused, mut changed) = (0u64, 0u64);
        let (mut first_refused, mut first_changed) = (Vec::new(), Vec::new());
        while let Some(row) = rows.next()? {
            let value: rusqlite::types::Value = row.get(1)?;
            let before: (String, String) =
                probe.query_row("SELECT quote(?1), typeof(?1)", [&value], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            match insert.query_row([&value], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            }) {
                Err(_) => {
                    refused += 1;
                    if first_refused.len() < 3 {
                        first_refused.push(before.0.clone());
                    }
                }
                Ok(after) if after != before => {
                    changed += 1;
                    if first_changed.len() < 3 {
                        first_changed.push(format!("{} becomes {}", before.0, after.0));
                    }
                }
                Ok(_) => {}
            }
        }
        if refused > 0 {
            let (_, problem) = fail(format!(
                "{refused} values of {}.{} do not fit {} {}{} (first: {})",
                quote(table),
                quote(&from),
                quote(&c.name),
                declared,
                strict,
                first_refused.join(", ")
            ));
            found.push((Broken::Type, problem));
        } else if changed > 0 {
            found.push((Broken::Type, DataProblem {
                fails: false,
                table: table.to_owned(),
                message: format!(
                    "{changed} values of {}.{} are stored differently as {} {declared} (first: {})",
                    quote(table),
                    quote(&from),
                    quote(&c.name),
                    first_changed.join(", ")
                ),
            }));
        }
    }
    Ok(())
}

/// The data's name for the copy's table `table` in `plan`.
fn plan_data_table(plan: &Plan, table: &str) -> String {
    plan.facts
        .iter()
        .find_map(|f| match f {
            Fact::Rebuilt {
                table: data,
                target,
                ..
            } if target.eq_ignore_ascii_case(table) => Some(data.clone()),
            _ => None,
        })
        .unwrap_or_else(|| table.to_owned())
}

/// Why no diff was made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// A statement of a schema file that SQLite refused (after every other
    /// statement was tried first, so order does not matter).
    #[error("line {line}: {message}: `{statement}`")]
    Schema {
        /// Its first line.
        line: u32,
        /// The statement, shortened.
        statement: String,
        /// SQLite's message.
        message: String,
    },
    /// A statement of a schema file that is not a `CREATE`.
    #[error(
        "line {line}: a schema file holds CREATE statements (tables, indexes, views, triggers) and PRAGMA lines only; found `{statement}`"
    )]
    NotCreate {
        /// Its first line.
        line: u32,
        /// The statement, shortened.
        statement: String,
    },
    /// A `CREATE TEMP` statement: an object of one connection, not of the
    /// database a migration changes.
    #[error(
        "line {line}: `{statement}` makes a TEMP object, which lives in one connection, not in the database; write it without TEMP, or leave it to the app"
    )]
    Temporary {
        /// Its first line.
        line: u32,
        /// The statement, shortened.
        statement: String,
    },
    /// The schema file does not split into statements.
    #[error("{0}")]
    Scan(#[from] crate::sql::SqlError),
    /// A `-- migrate:renamed-from` directive that cannot be followed.
    #[error("line {line}: {message}")]
    Rename {
        /// The directive's line.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// The migration set did not replay.
    #[error("the migrations do not replay into an empty database: {0}")]
    Replay(String),
    /// The plan did not reach the target: a defect of this tool, reported
    /// rather than written.
    #[error(
        "the generated migration does not make the target schema ({}); nothing was written. Please report it",
        .0.join("; ")
    )]
    Unreached(Vec<String>),
    /// SQLite refused something else.
    #[error("{0}")]
    Sqlite(#[from] DatabaseFailure),
}

impl From<rusqlite::Error> for DiffError {
    fn from(e: rusqlite::Error) -> DiffError {
        DiffError::Sqlite(e.into())
    }
}

/// The migration from `from` to `to`, and back.
pub fn diff(from: &Side, to: &Side, options: &Options) -> Result<Diff, DiffError> {
    let (renames, kept) = stated(from, to, options)?;
    let source = replica(from, &options.history)?;
    let target = replica(to, &options.history)?;
    let up =
        Planner::new(copy(&source)?, &target, &options.history, &kept, false)?.plan(&renames)?;
    let down = Planner::new(copy(&target)?, &source, &options.history, &[], true)?
        .plan(&renames.reversed())?;
    Ok(Diff {
        up: up.render(),
        down: if up.statements.is_empty() {
            String::new()
        } else {
            down.render()
        },
        data: match from {
            Side::Database(conn) if !up.statements.is_empty() => {
                check_data(from, to, options, conn)?
            }
            _ => Vec::new(),
        },
        rebuilt: up.rebuilt,
        losses: up.losses,
        kept_indexes: up.kept,
    })
}

/// What the two sides state beyond their schemas: the target's renames,
/// and the source set's indexes that stay unless dropping them is asked.
fn stated(from: &Side, to: &Side, options: &Options) -> Result<(Renames, Vec<String>), DiffError> {
    let renames = match to {
        Side::Sql { text } => Renames::read(text)?,
        _ => Renames::default(),
    };
    let kept = match (from, options.drop_set_indexes) {
        (Side::Set(set), false) => set_indexes(set),
        _ => Vec::new(),
    };
    Ok((renames, kept))
}

/// The indexes the index sets of `set` declare, lowercased.
fn set_indexes(set: &Migrations) -> Vec<String> {
    set.iter()
        .filter(|m| m.kind == crate::naming::Kind::Indexes)
        .filter_map(|m| crate::dsl::indexes::parse(&m.text).ok())
        .flat_map(|s| s.indexes)
        .map(|i| i.name.to_ascii_lowercase())
        .collect()
}

/// An in-memory database holding the schema of `side`.
fn replica(side: &Side, history: &History) -> Result<Connection, DiffError> {
    let conn = Connection::open_in_memory()?;
    match side {
        Side::Sql { text } => {
            let mut pending = Vec::new();
            for (line, statement) in sql::statements(text)? {
                let first = sql::tokens(statement);
                let first = first.first().copied().unwrap_or_default();
                // A dump (`migrate-cli schema`) heads its tables with the
                // persistent pragmas: the pragma sets' business, not a diff's.
                if first.eq_ignore_ascii_case("pragma") {
                    continue;
                }
                if !first.eq_ignore_ascii_case("create") {
                    return Err(DiffError::NotCreate {
                        line,
                        statement: sql::shorten(statement),
                    });
                }
                pending.push((line, statement));
            }
            create_in_any_order(&conn, pending)?;
        }
        Side::Database(db) => {
            let shadow: Vec<String> = db
                .prepare(
                    "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt = db.prepare(
                "SELECT type, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid",
            )?;
            let rows: Vec<(String, String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let skipped = |table: &str| {
                let lower = table.to_ascii_lowercase();
                lower.starts_with("sqlite_")
                    || table.eq_ignore_ascii_case(history.name())
                    || table.eq_ignore_ascii_case(&history.legacy_fingerprint_table())
                    || crate::history::is_other_tools(table)
                    || shadow.iter().any(|s| s.eq_ignore_ascii_case(table))
            };
            let statements: Vec<(u32, &str)> = rows
                .iter()
                .filter(|(_, table, _)| !skipped(table))
                .map(|(_, _, sql)| (0, sql.as_str()))
                .collect();
            create_in_any_order(&conn, statements)?;
        }
        Side::Set(set) => {
            let mut conn = conn;
            set.runner()
                .table(history.clone())
                .schema_only()
                .allow_out_of_order(true)
                .run(&mut conn)
                .map_err(|e| DiffError::Replay(e.to_string()))?;
            // The replay's history is no part of the schema.
            conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", history.quoted()))?;
            return Ok(conn);
        }
    }
    Ok(conn)
}

/// An in-memory copy of `conn` (SQLite's backup API, page by page).
fn copy(conn: &Connection) -> Result<Connection, DiffError> {
    let mut to = Connection::open_in_memory()?;
    // Every page in one step (rusqlite wants a positive count).
    rusqlite::backup::Backup::new(conn, &mut to)?.run_to_completion(
        i32::MAX,
        std::time::Duration::ZERO,
        None,
    )?;
    Ok(to)
}

/// Runs `statements` on `conn`, each as soon as what it needs is there:
/// in passes, until every one ran or a pass runs none.
fn create_in_any_order(conn: &Connection, mut pending: Vec<(u32, &str)>) -> Result<(), DiffError> {
    loop {
        let mut failed = Vec::new();
        let before = pending.len();
        for (line, statement) in pending {
            if let Err(e) = conn.execute_batch(statement) {
                failed.push((line, statement, e));
                continue;
            }
            // SQLite's own answer to "is it a TEMP object": `CREATE TEMP`,
            // `TEMPORARY`, a `temp.` name, a trigger on a temp table.
            let temporary: i64 =
                conn.query_row("SELECT count(*) FROM temp.sqlite_master", [], |r| r.get(0))?;
            if temporary > 0 {
                return Err(DiffError::Temporary {
                    line,
                    statement: sql::shorten(statement),
                });
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        if failed.len() == before {
            let (line, statement, e) = failed.swap_remove(0);
            return Err(DiffError::Schema {
                line,
                statement: sql::shorten(statement),
                message: DatabaseFailure::from(e).message().to_owned(),
            });
        }
        pending = failed.into_iter().map(|(l, s, _)| (l, s)).collect();
    }
}

/// The renames a target schema states.
#[derive(Debug, Clone, Default)]
struct Renames {
    /// `(old, new, line)` table renames.
    tables: Vec<(String, String, u32)>,
    /// `(table, old, new, line)` column renames, the table by its new name.
    columns: Vec<(String, String, String, u32)>,
}

const RENAMED_FROM: &str = "-- migrate:renamed-from";

impl Renames {
    /// The `-- migrate:renamed-from OLD` directives of a schema file: at
    /// the end of the line that starts a table (a table rename) or one of
    /// its columns (a column rename), or an index (which SQLite cannot
    /// rename: it is made again, as it would be anyway).
    fn read(text: &str) -> Result<Renames, DiffError> {
        let mut renames = Renames::default();
        let statements = sql::statements(text)?;
        for (d, old) in sql::directive_comments(text, "renamed-from") {
            let n = text[..d.start].matches('\n').count() as u32 + 1;
            let old = old.as_str();
            let words = sql::tokens(old);
            let [old] = words.as_slice() else {
                return Err(DiffError::Rename {
                    line: n,
                    message: format!("`{RENAMED_FROM}` takes one name; found `{old}`"),
                });
            };
            let old = definition::unquote(old);
            // The statement that starts on this line, or holds it.
            let holder = statements.iter().find(|(start, s)| {
                let end = start + s.matches('\n').count() as u32;
                *start <= n && n <= end
            });
            let starts_here = statements.iter().find(|(start, _)| *start == n);
            let Some((start, statement)) = starts_here.or(holder) else {
                return Err(DiffError::Rename {
                    line: n,
                    message: format!("`{RENAMED_FROM} {old}` is on no statement's line"),
                });
            };
            let tokens = sql::tokens(statement);
            let kind = tokens
                .iter()
                .skip(1)
                .find(|w| {
                    !["temp", "temporary", "unique", "virtual"]
                        .iter()
                        .any(|k| w.eq_ignore_ascii_case(k))
                })
                .map(|w| w.to_ascii_lowercase())
                .unwrap_or_default();
            let name = definition::name_span(statement).map(|r| definition::unquote(&statement[r]));
            if *start == n {
                match (kind.as_str(), name) {
                    ("table", Some(new)) => renames.tables.push((old, new, n)),
                    ("index", Some(_)) => {}
                    _ => {
                        return Err(DiffError::Rename {
                            line: n,
                            message: format!(
                                "`{RENAMED_FROM}` renames a table, a column or an index; this line starts a {kind}"
                            ),
                        });
                    }
                }
                continue;
            }
            // A column whose definition starts on this line.
            let column = (kind == "table")
                .then(|| definition::table(statement))
                .flatten()
                .and_then(|def| {
                    def.columns.into_iter().find(|c| {
                        let Some(offset) = statement.find(&c.definition) else {
                            return false;
                        };
                        start + statement[..offset].matches('\n').count() as u32 == n
                    })
                });
            match (column, name) {
                (Some(c), Some(table)) => renames.columns.push((table, old, c.name, n)),
                _ => {
                    return Err(DiffError::Rename {
                        line: n,
                        message: format!(
                            "`{RENAMED_FROM} {old}` must end the line that starts a table, a column or an index"
                        ),
                    });
                }
            }
        }
        Ok(renames)
    }

    /// The same renames, the other way round (for the down migration).
    fn reversed(&self) -> Renames {
        Renames {
            tables: self
                .tables
                .iter()
                .map(|(old, new, line)| (new.clone(), old.clone(), *line))
                .collect(),
            columns: self
                .columns
                .iter()
                .map(|(table, old, new, line)| {
                    // The table by the name it has on the other side.
                    let table = self
                        .tables
                        .iter()
                        .find(|(_, t, _)| t.eq_ignore_ascii_case(table))
                        .map_or_else(|| table.clone(), |(o, _, _)| o.clone());
                    (table, new.clone(), old.clone(), *line)
                })
                .collect(),
        }
    }
}

/// One statement of a plan, with a comment to write above it.
#[derive(Debug, Clone)]
struct Planned {
    sql: String,
    comment: Option<String>,
}

/// A plan: the statements, and what they say about data.
#[derive(Debug, Default)]
struct Plan {
    statements: Vec<Planned>,
    foreign_keys_off: bool,
    rebuilt: Vec<String>,
    losses: Vec<String>,
    kept: Vec<String>,
    /// What it does to tables, by the names the data has before it runs.
    facts: Vec<Fact>,
}

/// A change to a table's rows, named as the data before the migration
/// names them: what [`check_data`] looks at.
#[derive(Debug, Clone)]
enum Fact {
    /// The table goes, with its rows.
    DroppedTable { table: String },
    /// The column goes, with its values.
    DroppedColumn { table: String, column: String },
    /// The table is rebuilt as the target's `target`, copying each
    /// `(data's column, target's column)`.
    Rebuilt {
        table: String,
        target: String,
        copied: Vec<(String, String)>,
    },
}

impl Plan {
    fn render(&self) -> String {
        if self.statements.is_empty() {
            return String::new();
        }
        let mut out = String::new();
        if self.foreign_keys_off {
            out.push_str(
                "-- migrate:foreign-keys-off\n-- (a table is rebuilt or dropped: foreign keys are off while it runs, so that no\n-- ON DELETE action touches another table's rows, and checked before it commits)\n\n",
            );
        }
        for s in &self.statements {
            if let Some(c) = &s.comment {
                for line in c.lines() {
                    out.push_str("-- ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out.push_str(s.sql.trim_end_matches(';'));
            out.push_str(";\n");
        }
        out
    }
}

/// Makes a plan by running it on the source's copy.
struct Planner<'a> {
    work: Connection,
    target: &'a Connection,
    history: &'a History,
    keep: &'a [String],
    /// Making a down migration: what it re-creates holds no data.
    down: bool,
    plan: Plan,
    /// Tables renamed by the plan: `(new, old)`.
    renamed_tables: Vec<(String, String)>,
    /// Columns renamed by the plan: `(table's new name, new, old)`.
    renamed_columns: Vec<(String, String, String)>,
}

impl<'a> Planner<'a> {
    fn new(
        work: Connection,
        target: &'a Connection,
        history: &'a History,
        keep: &'a [String],
        down: bool,
    ) -> Result<Planner<'a>, DiffError> {
        // Foreign keys are off while a plan runs, as the runner runs it.
        work.execute_batch("PRAGMA foreign_keys = OFF")?;
        Ok(Planner {
            work,
            target,
            history,
            keep,
            down,
            plan: Plan::default(),
            renamed_tables: Vec::new(),
            renamed_columns: Vec::new(),
        })
    }

    /// Runs `sql` on the copy and adds it to the plan.
    fn run(&mut self, sql: String, comment: Option<String>) -> Result<(), DiffError> {
        if let Err(e) = self.work.execute_batch(&sql) {
            return Err(DiffError::Unreached(vec![format!(
                "`{}` failed: {}",
                sql::shorten(&sql),
                DatabaseFailure::from(e).message()
            )]));
        }
        self.plan.statements.push(Planned { sql, comment });
        Ok(())
    }

    fn schema(&self, conn: &Connection) -> Result<Schema, DiffError> {
        Ok(Schema::read(conn, Some(self.history))?)
    }

    /// The target's objects in the order they were made: an order every
    /// one of them can be made in again.
    fn target_order(&self) -> Result<Vec<(String, String)>, DiffError> {
        let mut stmt = self
            .target
            .prepare("SELECT type, lower(name) FROM sqlite_master ORDER BY rowid")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// How `have` differs from `want`, the kept set indexes aside (on
    /// either side: one the source has and the target leaves out stays).
    fn differences(&self, have: &Schema, want: &Schema) -> Vec<Difference> {
        let kept = |name: &str| self.keep.iter().any(|k| k.eq_ignore_ascii_case(name));
        have.differences(want, kept)
            .into_iter()
            .filter(
                |d| !matches!(d, Difference::Extra { kind, name } if kind == "index" && kept(name)),
            )
            .collect()
    }

    fn plan(mut self, renames: &Renames) -> Result<Plan, DiffError> {
        self.renames(renames)?;
        let have = self.schema(&self.work)?;
        let want = self.schema(self.target)?;
        let differences = self.differences(&have, &want);
        if differences.is_empty() {
            self.plan.kept = self.kept(&have, &want);
            return Ok(self.plan);
        }
        let order = self.target_order()?;
        let key = |kind: &str, name: &str| (kind.to_owned(), name.to_ascii_lowercase());
        let mut missing = BTreeSet::new();
        let mut extra = BTreeSet::new();
        let mut changed = BTreeSet::new();
        for d in &differences {
            match d {
                Difference::Missing { kind, name } => missing.insert(key(kind, name)),
                Difference::Extra { kind, name } => extra.insert(key(kind, name)),
                Difference::Changed { kind, name, .. } => changed.insert(key(kind, name)),
            };
        }
        let of_kind = |set: &BTreeSet<(String, String)>, kind: &str| -> BTreeSet<String> {
            set.iter()
                .filter(|(k, _)| k == kind)
                .map(|(_, n)| n.clone())
                .collect()
        };
        let (tables_gone, tables_changed) = (of_kind(&extra, "table"), of_kind(&changed, "table"));
        // The tables whose dependents are dropped first and made again.
        let affected: BTreeSet<String> = tables_gone.union(&tables_changed).cloned().collect();
        let mut views_affected: BTreeSet<String> = of_kind(&extra, "view")
            .union(&of_kind(&changed, "view"))
            .cloned()
            .collect();
        loop {
            let more: Vec<String> = have
                .views
                .iter()
                .filter(|v| !views_affected.contains(&v.name.to_ascii_lowercase()))
                .filter(|v| {
                    affected
                        .iter()
                        .chain(views_affected.iter())
                        .any(|n| definition::names(&v.sql, n))
                })
                .map(|v| v.name.to_ascii_lowercase())
                .collect();
            if more.is_empty() {
                break;
            }
            views_affected.extend(more);
        }
        let mut triggers_affected: BTreeSet<String> = of_kind(&extra, "trigger")
            .union(&of_kind(&changed, "trigger"))
            .cloned()
            .collect();
        for t in &have.triggers {
            let on = affected.contains(&t.table.to_ascii_lowercase());
            let mentions = affected
                .iter()
                .chain(views_affected.iter())
                .any(|n| definition::names(&t.sql, n));
            if on || mentions {
                triggers_affected.insert(t.name.to_ascii_lowercase());
            }
        }
        // 1. What depends on what changes goes first.
        for t in have
            .triggers
            .iter()
            .filter(|t| triggers_affected.contains(&t.name.to_ascii_lowercase()))
        {
            self.run(format!("DROP TRIGGER {}", quote(&t.name)), None)?;
        }
        for v in have
            .views
            .iter()
            .rev()
            .filter(|v| views_affected.contains(&v.name.to_ascii_lowercase()))
        {
            self.run(format!("DROP VIEW {}", quote(&v.name)), None)?;
        }
        // 2. Indexes that go or change (those of dropped tables go with them).
        for i in have.indexes.iter().filter(|i| i.sql.is_some()) {
            let k = i.name.to_ascii_lowercase();
            let goes = extra.contains(&("index".to_owned(), k.clone()))
                || changed.contains(&("index".to_owned(), k.clone()));
            if goes && !tables_gone.contains(&i.table.to_ascii_lowercase()) {
                self.run(format!("DROP INDEX {}", quote(&i.name)), None)?;
            }
        }
        // 3. Tables that go.
        for t in have
            .tables
            .iter()
            .filter(|t| tables_gone.contains(&t.name.to_ascii_lowercase()))
        {
            self.plan.foreign_keys_off = true;
            let loss = format!("drops the table {} and every row in it", quote(&t.name));
            self.plan.losses.push(loss.clone());
            self.plan.facts.push(Fact::DroppedTable {
                table: self.data_table(&t.name),
            });
            self.run(format!("DROP TABLE {}", quote(&t.name)), Some(loss))?;
        }
        // 4. Tables that are new, and tables that change, in the target's order.
        let mut rebuilt = BTreeSet::new();
        for (kind, name) in order.iter().filter(|(k, _)| k == "table") {
            let Some(w) = want.table(name) else { continue };
            if missing.contains(&(kind.clone(), name.clone())) {
                let comment = self.down.then(|| {
                    format!(
                        "{} is made again; its rows are not restored",
                        quote(&w.name)
                    )
                });
                self.run(w.sql.clone(), comment)?;
            } else if tables_changed.contains(name) {
                let h = have
                    .table(name)
                    .expect("a changed table is on both sides")
                    .clone();
                if !self.alter(&h, w)? {
                    self.rebuild(&h, w)?;
                    rebuilt.insert(name.clone());
                }
            }
        }
        // 5. Indexes, views and triggers, new or made again, in the target's order.
        for (kind, name) in &order {
            let k = (kind.clone(), name.clone());
            let again = missing.contains(&k) || changed.contains(&k);
            match kind.as_str() {
                "index" => {
                    let Some(i) = want
                        .indexes
                        .iter()
                        .find(|i| i.name.eq_ignore_ascii_case(name))
                    else {
                        continue;
                    };
                    let Some(sql) = &i.sql else { continue };
                    if again || rebuilt.contains(&i.table.to_ascii_lowercase()) {
                        self.run(sql.clone(), None)?;
                    }
                }
                "view" => {
                    let Some(v) = want
                        .views
                        .iter()
                        .find(|v| v.name.eq_ignore_ascii_case(name))
                    else {
                        continue;
                    };
                    if again || views_affected.contains(name) {
                        self.run(v.sql.clone(), None)?;
                    }
                }
                "trigger" => {
                    let Some(t) = want
                        .triggers
                        .iter()
                        .find(|t| t.name.eq_ignore_ascii_case(name))
                    else {
                        continue;
                    };
                    let on_rebuilt = rebuilt.contains(&t.table.to_ascii_lowercase());
                    if again || triggers_affected.contains(name) || on_rebuilt {
                        self.run(t.sql.clone(), None)?;
                    }
                }
                _ => {}
            }
        }
        // A set's index on a rebuilt table, which the target leaves out, is
        // kept: made again as the source had it.
        for i in have
            .indexes
            .iter()
            .filter(|i| rebuilt.contains(&i.table.to_ascii_lowercase()))
        {
            let kept = self.keep.iter().any(|k| k.eq_ignore_ascii_case(&i.name));
            let wanted = want
                .indexes
                .iter()
                .any(|w| w.name.eq_ignore_ascii_case(&i.name));
            if let Some(sql) = i.sql.as_ref().filter(|_| kept && !wanted) {
                self.run(
                    sql.clone(),
                    Some(format!("{} is an index set's: kept", quote(&i.name))),
                )?;
            }
        }
        self.plan.rebuilt = rebuilt.into_iter().collect();
        // 6. The copy must now read as the target does.
        let now = self.schema(&self.work)?;
        let left = self.differences(&now, &want);
        if !left.is_empty() {
            return Err(DiffError::Unreached(
                left.iter().map(ToString::to_string).collect(),
            ));
        }
        self.plan.kept = self.kept(&now, &want);
        Ok(self.plan)
    }

    /// The set indexes the source has and the target leaves out (kept).
    fn kept(&self, have: &Schema, want: &Schema) -> Vec<String> {
        have.indexes
            .iter()
            .filter(|i| self.keep.iter().any(|k| k.eq_ignore_ascii_case(&i.name)))
            .filter(|i| {
                !want
                    .indexes
                    .iter()
                    .any(|w| w.name.eq_ignore_ascii_case(&i.name))
            })
            .map(|i| i.name.clone())
            .collect()
    }

    /// The name the data has, before the plan runs, for the table the
    /// copy calls `table`.
    fn data_table(&self, table: &str) -> String {
        self.renamed_tables
            .iter()
            .find(|(new, _)| new.eq_ignore_ascii_case(table))
            .map_or_else(|| table.to_owned(), |(_, old)| old.clone())
    }

    /// The name the data has for `column` of the copy's `table`.
    fn data_column(&self, table: &str, column: &str) -> String {
        self.renamed_columns
            .iter()
            .find(|(t, new, _)| t.eq_ignore_ascii_case(table) && new.eq_ignore_ascii_case(column))
            .map_or_else(|| column.to_owned(), |(_, _, old)| old.clone())
    }

    /// The renames the target states, where they are still to be done.
    fn renames(&mut self, renames: &Renames) -> Result<(), DiffError> {
        for (old, new, line) in &renames.tables {
            let have = self.schema(&self.work)?;
            match (have.table(old).is_some(), have.table(new).is_some()) {
                (true, false) => {
                    self.run(
                        format!("ALTER TABLE {} RENAME TO {}", quote(old), quote(new)),
                        None,
                    )?;
                    self.renamed_tables.push((new.clone(), old.clone()));
                }
                (true, true) if !old.eq_ignore_ascii_case(new) => {
                    return Err(DiffError::Rename {
                        line: *line,
                        message: format!(
                            "the source has both `{old}` and `{new}`: which one becomes `{new}`? Drop the directive, or the other table"
                        ),
                    });
                }
                // Done already, or nothing to rename: a new table.
                _ => {}
            }
        }
        for (table, old, new, line) in &renames.columns {
            let have = self.schema(&self.work)?;
            let Some(t) = have.table(table) else { continue };
            let has = |c: &str| t.columns.iter().any(|x| x.name.eq_ignore_ascii_case(c));
            match (has(old), has(new)) {
                (true, false) => {
                    self.run(
                        format!(
                            "ALTER TABLE {} RENAME COLUMN {} TO {}",
                            quote(&t.name),
                            quote(old),
                            quote(new)
                        ),
                        None,
                    )?;
                    self.renamed_columns
                        .push((t.name.clone(), new.clone(), old.clone()));
                }
                (true, true) if !old.eq_ignore_ascii_case(new) => {
                    return Err(DiffError::Rename {
                        line: *line,
                        message: format!(
                            "`{}` has both `{old}` and `{new}` in the source: which one becomes `{new}`?",
                            t.name
                        ),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Makes `want` from `have` with `ALTER TABLE … ADD COLUMN / DROP
    /// COLUMN` when SQLite can: tried on the copy, kept only when the table
    /// then reads as the target's. `false`: it cannot, nothing was changed.
    fn alter(
        &mut self,
        have: &crate::introspect::Table,
        want: &crate::introspect::Table,
    ) -> Result<bool, DiffError> {
        if have.is_virtual || want.is_virtual {
            return Ok(false);
        }
        let named = |c: &str, t: &crate::introspect::Table| {
            t.columns.iter().any(|x| x.name.eq_ignore_ascii_case(c))
        };
        let kept: Vec<&str> = have
            .columns
            .iter()
            .filter(|c| named(&c.name, want))
            .map(|c| c.name.as_str())
            .collect();
        // New columns can only go at the end, after the kept ones in order.
        let want_kept: Vec<&str> = want
            .columns
            .iter()
            .take(kept.len())
            .map(|c| c.name.as_str())
            .collect();
        if kept.len() != want_kept.len()
            || kept
                .iter()
                .zip(&want_kept)
                .any(|(a, b)| !a.eq_ignore_ascii_case(b))
        {
            return Ok(false);
        }
        let Some(text) = definition::table(&want.sql) else {
            return Ok(false);
        };
        let mut statements = Vec::new();
        for c in have.columns.iter().filter(|c| !named(&c.name, want)) {
            let loss = format!(
                "drops the column {} of {} and every value in it",
                quote(&c.name),
                quote(&have.name)
            );
            statements.push((
                format!(
                    "ALTER TABLE {} DROP COLUMN {}",
                    quote(&have.name),
                    quote(&c.name)
                ),
                Some(loss),
            ));
        }
        for c in want.columns.iter().skip(kept.len()) {
            // SQLite adds a NOT NULL column with no default only to a
            // table without rows (its check runs at apply time, on the
            // rows then): that is a rebuild's change, which says so.
            if c.not_null
                && c.default
                    .as_deref()
                    .is_none_or(|d| d.eq_ignore_ascii_case("null"))
            {
                return Ok(false);
            }
            let Some(def) = text
                .columns
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(&c.name))
            else {
                return Ok(false);
            };
            let comment = self.down.then(|| {
                format!(
                    "{} is added again; its values are not restored",
                    quote(&c.name)
                )
            });
            statements.push((
                format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    quote(&have.name),
                    def.definition
                ),
                comment,
            ));
        }
        if statements.is_empty() {
            return Ok(false);
        }
        // Tried on a table that holds a row, with foreign keys on (as a
        // file without a rebuild runs under an app's profile): SQLite
        // refuses some columns only then (`sqlite3ErrorIfNotEmpty` in its
        // alter.c: NOT NULL with no default, a non-constant default, a
        // STORED generated column, REFERENCES with a default), and a
        // migration must not work only on an empty table. The row breaks
        // no constraint SQLite would check here: CHECKs are ignored, and
        // foreign keys deferred to a commit that never comes.
        self.work.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA ignore_check_constraints = ON; \
             SAVEPOINT migrate_diff_alter; PRAGMA defer_foreign_keys = ON",
        )?;
        let probe: Vec<&crate::introspect::Column> =
            have.columns.iter().filter(|c| c.hidden == 0).collect();
        let row = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote(&have.name),
            probe
                .iter()
                .map(|c| quote(&c.name))
                .collect::<Vec<_>>()
                .join(", "),
            probe
                .iter()
                .map(|c| sql::zero_of(&c.declared_type))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let tried = std::iter::once(&row)
            .chain(statements.iter().map(|(sql, _)| sql))
            .try_for_each(|sql| self.work.execute_batch(sql));
        let same = tried.is_ok() && {
            // Only this table is read again: its own indexes (those of its
            // constraints) count; a CREATE INDEX is made, or not, on its
            // own account.
            let only = |mut s: Schema| {
                s.indexes.retain(|i| !i.created);
                s
            };
            let now = only(Schema::read_table(&self.work, &want.name)?);
            let wanted = only(Schema::read_table(self.target, &want.name)?);
            now.differences(&wanted, |_| false).is_empty()
        };
        if !same {
            self.work.execute_batch(
                "ROLLBACK TO SAVEPOINT migrate_diff_alter; RELEASE SAVEPOINT migrate_diff_alter; \
                 PRAGMA defer_foreign_keys = OFF; PRAGMA ignore_check_constraints = OFF; \
                 PRAGMA foreign_keys = OFF",
            )?;
            return Ok(false);
        }
        // Kept as tried, the probe row taken out (the copy holds no other):
        // SQLite reloads its whole schema after each ALTER, so it is not run
        // twice. Where a trigger refuses the delete, it is run again.
        // (A deferred key the probe broke can also refuse the release.)
        let kept = self
            .work
            .execute_batch(&format!(
                "DELETE FROM {}; RELEASE SAVEPOINT migrate_diff_alter",
                quote(&have.name)
            ))
            .is_ok();
        if !kept {
            self.work.execute_batch(
                "ROLLBACK TO SAVEPOINT migrate_diff_alter; RELEASE SAVEPOINT migrate_diff_alter",
            )?;
        }
        self.work.execute_batch(
            "PRAGMA defer_foreign_keys = OFF; PRAGMA ignore_check_constraints = OFF; \
             PRAGMA foreign_keys = OFF",
        )?;
        for c in have.columns.iter().filter(|c| !named(&c.name, want)) {
            self.plan.facts.push(Fact::DroppedColumn {
                table: self.data_table(&have.name),
                column: self.data_column(&have.name, &c.name),
            });
        }
        for (sql, comment) in statements {
            if let Some(loss) = comment.as_ref().filter(|c| c.starts_with("drops")) {
                self.plan.losses.push(loss.clone());
            }
            if kept {
                self.plan.statements.push(Planned { sql, comment });
            } else {
                self.run(sql, comment)?;
            }
        }
        Ok(true)
    }

    /// Rebuilds `have` as `want`: a new table made by the target's
    /// statement under a scratch name, every row copied (the columns both
    /// have; a new column takes its default), the old table dropped and the
    /// new one renamed into place; `sqlite_sequence` kept at least as high.
    fn rebuild(
        &mut self,
        have: &crate::introspect::Table,
        want: &crate::introspect::Table,
    ) -> Result<(), DiffError> {
        self.plan.foreign_keys_off = true;
        if have.is_virtual || want.is_virtual {
            let loss = format!(
                "{} is dropped and made again: its rows are not kept (a virtual table's module keeps them)",
                quote(&have.name)
            );
            self.plan.losses.push(loss.clone());
            self.plan.facts.push(Fact::DroppedTable {
                table: self.data_table(&have.name),
            });
            self.run(format!("DROP TABLE {}", quote(&have.name)), Some(loss))?;
            return self.run(want.sql.clone(), None);
        }
        let taken = |name: &str| -> Result<bool, DiffError> {
            Ok(self
                .work
                .prepare("SELECT 1 FROM sqlite_master WHERE name = ?1 COLLATE NOCASE")?
                .exists([name])?)
        };
        let mut scratch = format!("_migrate_new_{}", want.name);
        let mut n = 1;
        while taken(&scratch)? {
            n += 1;
            scratch = format!("_migrate_new{n}_{}", want.name);
        }
        let Some(span) = definition::name_span(&want.sql) else {
            return Err(DiffError::Unreached(vec![format!(
                "the name of `{}` could not be read from its statement",
                want.name
            )]));
        };
        let create = format!(
            "{}{}{}",
            &want.sql[..span.start],
            quote(&scratch),
            &want.sql[span.end..]
        );
        let mut comment = format!(
            "{} is rebuilt, since SQLite cannot make these changes in place: {}. Every row is copied.",
            quote(&want.name),
            self.rebuild_reason(have, want)
        );
        for c in have.columns.iter().filter(|h| {
            h.hidden == 0
                && !want
                    .columns
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&h.name))
        }) {
            let loss = format!(
                "drops the column {} of {} and every value in it",
                quote(&c.name),
                quote(&have.name)
            );
            comment.push('\n');
            comment.push_str(&loss);
            self.plan.losses.push(loss);
        }
        self.run(create, Some(comment))?;
        let copied: Vec<String> = want
            .columns
            .iter()
            .filter(|c| c.hidden == 0)
            .filter(|c| {
                have.columns
                    .iter()
                    .any(|h| h.hidden == 0 && h.name.eq_ignore_ascii_case(&c.name))
            })
            .map(|c| quote(&c.name))
            .collect();
        let data_table = self.data_table(&have.name);
        for h in have.columns.iter().filter(|h| {
            h.hidden == 0
                && !want
                    .columns
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&h.name))
        }) {
            self.plan.facts.push(Fact::DroppedColumn {
                table: data_table.clone(),
                column: self.data_column(&have.name, &h.name),
            });
        }
        self.plan.facts.push(Fact::Rebuilt {
            table: data_table,
            target: want.name.clone(),
            copied: want
                .columns
                .iter()
                .filter(|c| c.hidden == 0)
                .filter(|c| {
                    have.columns
                        .iter()
                        .any(|h| h.hidden == 0 && h.name.eq_ignore_ascii_case(&c.name))
                })
                .map(|c| (self.data_column(&have.name, &c.name), c.name.clone()))
                .collect(),
        });
        if !copied.is_empty() {
            let list = copied.join(", ");
            self.run(
                format!(
                    "INSERT INTO {} ({list}) SELECT {list} FROM {}",
                    quote(&scratch),
                    quote(&have.name)
                ),
                None,
            )?;
        }
        if want.autoincrement {
            let (new, old) = (sql_text(&scratch), sql_text(&have.name));
            self.run(
                format!(
                    "UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = {old}) \
                     WHERE name = {new} AND seq < (SELECT seq FROM sqlite_sequence WHERE name = {old})"
                ),
                Some("the AUTOINCREMENT counter stays where it was: no id is given out twice".into()),
            )?;
            self.run(
                format!(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT {new}, seq FROM sqlite_sequence \
                     WHERE name = {old} AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = {new})"
                ),
                None,
            )?;
        }
        self.run(format!("DROP TABLE {}", quote(&have.name)), None)?;
        self.run(
            format!(
                "ALTER TABLE {} RENAME TO {}",
                quote(&scratch),
                quote(&want.name)
            ),
            None,
        )
    }

    /// What a rebuild changes, in words, for its comment.
    fn rebuild_reason(
        &self,
        have: &crate::introspect::Table,
        want: &crate::introspect::Table,
    ) -> String {
        use crate::introspect::Change;
        let h = Schema {
            tables: vec![have.clone()],
            ..Schema::default()
        };
        let w = Schema {
            tables: vec![want.clone()],
            ..Schema::default()
        };
        let mut said = Vec::new();
        for d in h.differences(&w, |_| false) {
            let Difference::Changed { changes, .. } = d else {
                continue;
            };
            for c in changes {
                said.push(match c {
                    Change::ColumnMissing(name) => format!("a new column `{name}`"),
                    Change::ColumnAdded(name) => format!("the column `{name}` dropped"),
                    Change::Column { name, live, want } => {
                        format!("the column `{name}` from `{live}` to `{want}`")
                    }
                    Change::ColumnOrder => "the order of the columns".into(),
                    Change::ForeignKeys => "its foreign keys".into(),
                    Change::Keys => "its PRIMARY KEY or UNIQUE constraints".into(),
                    Change::Checks { .. } => "its CHECK constraints".into(),
                    Change::Conflicts { .. } => "its ON CONFLICT clauses".into(),
                    Change::Option { option, live } => {
                        format!("{option} {}", if live { "off" } else { "on" })
                    }
                    _ => "its definition".into(),
                });
            }
        }
        if said.is_empty() {
            said.push("its definition".into());
        }
        said.join(", ")
    }
}

/// `text` as a SQL string literal.
fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_comments_are_directives() {
        let text = "CREATE TABLE t (a TEXT DEFAULT '-- migrate:renamed-from x', -- migrate:renamed-from b\n\
                    \"-- migrate:renamed-from y\" INT /* -- migrate:renamed-from z */, --migrate:renamed-from c\n\
                    d INT --   migrate:renamed-from e\n);";
        let found: Vec<String> = sql::directive_comments(text, "renamed-from")
            .into_iter()
            .map(|(_, old)| old)
            .collect();
        // Every spelling the scanner reads as the directive, and no other.
        assert_eq!(found, ["b", "c", "e"]);
        // The scanner keeps the statement whole around them.
        assert_eq!(sql::statements(text).unwrap().len(), 1);
        // Unclosed quotes end the text, not the search.
        assert!(sql::directive_comments("'-- migrate:renamed-from a", "renamed-from").is_empty());
    }

    #[test]
    fn renames_are_read_from_their_lines() {
        let text = "CREATE TABLE members ( -- migrate:renamed-from people\n  id INTEGER PRIMARY KEY,\n  email TEXT -- migrate:renamed-from mail\n);";
        let r = Renames::read(text).unwrap();
        assert_eq!(r.tables, [("people".to_owned(), "members".to_owned(), 1)]);
        assert_eq!(
            r.columns,
            [(
                "members".to_owned(),
                "mail".to_owned(),
                "email".to_owned(),
                3
            )]
        );
    }
}
