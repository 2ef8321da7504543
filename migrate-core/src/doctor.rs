//! `doctor`: an audit of a live database, with the fix for each problem.
//!
//! It only reads (and tries a write lock it gives straight back). It never
//! deletes or edits `-wal`, `-shm` or journal files: deleting them to "fix" a
//! locked database, as some guides suggest, can corrupt it
//! (<https://sqlite.org/howtocorrupt.html>, section 1.3).

use std::path::Path;

use rusqlite::{Connection, ErrorCode};

use crate::dsl::catalogue::Scope;
use crate::dsl::pragmas;
use crate::schema::{Column, ForeignKey, Index, Schema, TableSchema};
use crate::sets;
use crate::source::Migrations;
use crate::sql::quote_identifier as quote;

/// Everything `doctor` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkup {
    /// Problems: each fails the checkup.
    pub problems: Vec<Finding>,
    /// Advice: worth knowing, not a failure.
    pub advice: Vec<String>,
    /// File and page sizes.
    pub sizes: Sizes,
    /// The journal mode.
    pub journal_mode: String,
}

/// One problem, with the statement that fixes it where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Which check found it.
    pub check: Check,
    /// What is wrong.
    pub message: String,
    /// SQL that fixes it.
    pub fix: Option<String>,
}

/// The checks whose findings fail a checkup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// `quick_check` / `integrity_check`, or a file SQLite cannot read.
    Integrity,
    /// `foreign_key_check`: rows whose parent is missing.
    ForeignKeys,
    /// A pragma without the value its migrations (or profile) give it.
    Pragmas,
    /// A foreign key whose columns lead no index.
    UnindexedForeignKey,
    /// An index whose columns lead another index of its table.
    RedundantIndex,
}

impl Check {
    /// Whether a finding of this check fails a checkup (exit 1): a
    /// damaged file, broken foreign keys, a pragma without its value.
    /// Indexes to add or drop are advice.
    pub fn fails(self) -> bool {
        matches!(self, Check::Integrity | Check::ForeignKeys | Check::Pragmas)
    }

    /// Its name in reports and JSON (`redundant_index`).
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Integrity => "integrity",
            Check::ForeignKeys => "foreign_keys",
            Check::Pragmas => "pragmas",
            Check::UnindexedForeignKey => "unindexed_foreign_key",
            Check::RedundantIndex => "redundant_index",
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sizes of the database and its WAL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    /// The page size, in bytes.
    pub page_size: u64,
    /// Pages in the database.
    pub page_count: u64,
    /// Pages on the freelist.
    pub freelist_count: u64,
    /// The database file, in bytes (page_count × page_size).
    pub database_bytes: u64,
    /// The `-wal` file, in bytes (0 when there is none).
    pub wal_bytes: u64,
    /// Free pages, in bytes.
    pub freelist_bytes: u64,
}

const MIB: u64 = 1 << 20;

/// Audits the database at `path` through `conn`. `set` gives the pragmas
/// expected (its persistent pragmas and its connection profile, which the
/// caller has applied to `conn`). `full` runs `integrity_check` instead of
/// `quick_check`.
pub fn doctor(
    conn: &Connection,
    path: &Path,
    set: &Migrations,
    full: bool,
) -> rusqlite::Result<Checkup> {
    let mut c = Checkup::default();
    // A damaged file is the finding, not a reason to stop.
    match examine(conn, path, set, full, &mut c) {
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
            ) =>
        {
            c.problems.push(Finding {
                check: Check::Integrity,
                message: format!(
                    "{e}: the file is damaged; restore it from a backup (`.recover` in the sqlite3 shell can salvage rows)"
                ),
                fix: None,
            });
            Ok(c)
        }
        Err(e) => Err(e),
        Ok(()) => Ok(c),
    }
}

fn examine(
    conn: &Connection,
    path: &Path,
    set: &Migrations,
    full: bool,
    c: &mut Checkup,
) -> rusqlite::Result<()> {
    c.journal_mode = crate::db::read_pragma(conn, "journal_mode")?;
    integrity(conn, full, c)?;
    if !c.problems.is_empty() {
        // The other checks would read a damaged file; the integrity report is what matters.
        return sizes(conn, path, c);
    }
    foreign_keys(conn, c)?;
    pragmas_of(conn, set, c)?;
    let schema = Schema::read(conn, None)?;
    for table in &schema.tables {
        unindexed_foreign_keys(&schema, table, c);
        redundant_indexes(&schema, &table.name, c);
    }
    sizes(conn, path, c)?;
    advise(conn, set, c)
}

fn integrity(conn: &Connection, full: bool, c: &mut Checkup) -> rusqlite::Result<()> {
    let pragma = if full {
        "integrity_check(20)"
    } else {
        "quick_check(20)"
    };
    let mut stmt = conn.prepare(&format!("PRAGMA {pragma}"))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for row in rows.into_iter().filter(|r| r != "ok") {
        c.problems.push(Finding {
            check: Check::Integrity,
            message: format!(
                "{row} (restore from a backup; `.recover` in the sqlite3 shell can salvage rows)"
            ),
            fix: None,
        });
    }
    Ok(())
}

fn foreign_keys(conn: &Connection, c: &mut Checkup) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check LIMIT 21")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for (i, row) in rows.enumerate() {
        let (table, rowid, parent) = row?;
        if i == 20 {
            c.problems.push(Finding {
                check: Check::ForeignKeys,
                message: "more foreign key violations than shown".into(),
                fix: None,
            });
            break;
        }
        let at = rowid.map_or(String::new(), |id| format!(" rowid {id}"));
        c.problems.push(Finding {
            check: Check::ForeignKeys,
            message: format!("{table}{at} references a row missing from {parent}"),
            fix: None,
        });
    }
    Ok(())
}

fn pragmas_of(conn: &Connection, set: &Migrations, c: &mut Checkup) -> rusqlite::Result<()> {
    let persistent: Vec<(String, pragmas::Setting)> =
        crate::source::settings_of(set.iter(), Scope::Persistent)
            .into_iter()
            .map(|(m, s)| (m.file.to_string(), s))
            .collect();
    let profile = set.profile().check(conn);
    // A persistent pragma is the database's: a value other than the set's
    // is drift. A connection pragma is this connection's.
    let persistent = persistent.iter().filter_map(|(file, s)| {
        sets::check_setting(conn, s).err().map(|f| {
            let f = format!("the database drifted from the set: {f}");
            (file.clone(), s.line, f)
        })
    });
    let profile = profile
        .into_iter()
        .map(|(file, line, f)| (file, line, f.to_string()));
    for (file, line, failure) in persistent.chain(profile) {
        c.problems.push(Finding {
            check: Check::Pragmas,
            message: format!("{failure} ({file}:{line})"),
            fix: None,
        });
    }
    Ok(())
}

/// Foreign keys whose child columns lead no index: every parent delete or
/// key update scans the child table.
fn unindexed_foreign_keys(schema: &Schema, table: &TableSchema, c: &mut Checkup) {
    let name = table.name.as_str();
    // A single INTEGER PRIMARY KEY is the rowid: the table's own index.
    let key: Vec<&Column> = table.columns.iter().filter(|c| c.primary_key > 0).collect();
    let rowid_alias = match key.as_slice() {
        [only] if only.declared_type == "INTEGER" => Some(only.name.as_str()),
        _ => None,
    };
    for ForeignKey {
        from: cols, parent, ..
    } in &table.foreign_keys
    {
        let lower: Vec<String> = cols.iter().map(|c| c.to_ascii_lowercase()).collect();
        let covered = schema.indexes_of(name).filter(|i| !i.partial).any(|i| {
            i.keys.len() >= lower.len()
                && i.keys[..lower.len()]
                    .iter()
                    .all(|k| lower.contains(&k.column))
        }) || (lower.len() == 1 && rowid_alias == Some(lower[0].as_str()));
        if !covered {
            let index = format!("idx_{name}_{}", cols.join("_"));
            let quoted: Vec<String> = cols.iter().map(|c| quote(c)).collect();
            c.problems.push(Finding {
                check: Check::UnindexedForeignKey,
                message: format!(
                    "{name} ({}) references {parent} but no index starts with those columns: every delete or key change in {parent} scans {name}",
                    cols.join(", ")
                ),
                fix: Some(format!("CREATE INDEX {} ON {} ({});", quote(&index), quote(name), quoted.join(", "))),
            });
        }
    }
}

/// Indexes whose columns lead another index of the same table: the longer one
/// serves every lookup the shorter one does, and each costs every write.
fn redundant_indexes(schema: &Schema, table: &str, c: &mut Checkup) {
    let indexes: Vec<&Index> = schema.indexes_of(table).collect();
    for a in indexes
        .iter()
        .filter(|a| a.created && !a.partial && !a.unique)
    {
        let covering = indexes.iter().find(|b| {
            b.name != a.name
                && !b.partial
                && b.keys.len() >= a.keys.len()
                && b.keys[..a.keys.len()] == a.keys[..]
                // Of two identical non-unique indexes, keep the first by name.
                && (b.keys.len() > a.keys.len() || b.unique || b.name < a.name)
        });
        if let Some(b) = covering {
            c.problems.push(Finding {
                check: Check::RedundantIndex,
                message: format!(
                    "index {} on {table} is redundant: its columns lead index {}, which serves the same lookups",
                    a.name, b.name
                ),
                fix: Some(format!("DROP INDEX {};", quote(&a.name))),
            });
        }
    }
}

fn sizes(conn: &Connection, path: &Path, c: &mut Checkup) -> rusqlite::Result<()> {
    let int = |sql: &str| {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|v| v.max(0) as u64)
    };
    let page_size = int("PRAGMA page_size")?;
    let page_count = int("PRAGMA page_count")?;
    let freelist_count = int("PRAGMA freelist_count")?;
    let wal = crate::db::companion(path, "-wal");
    c.sizes = Sizes {
        page_size,
        page_count,
        freelist_count,
        database_bytes: page_size * page_count,
        wal_bytes: std::fs::metadata(&wal).map_or(0, |m| m.len()),
        freelist_bytes: page_size * freelist_count,
    };
    Ok(())
}

fn advise(conn: &Connection, set: &Migrations, c: &mut Checkup) -> rusqlite::Result<()> {
    let s = c.sizes;
    // A set that says the journal mode has had its say: a database that
    // differs from it is a pragma problem (drift), not advice.
    let set_says = crate::source::settings_of(set.iter(), Scope::Persistent)
        .iter()
        .any(|(_, setting)| setting.pragma.name == "journal_mode");
    if c.journal_mode != "wal" && !set_says {
        c.advice.push(format!(
            "journal_mode is {}: with WAL, readers keep working while one connection writes; add `journal_mode = wal` to a pragma set",
            c.journal_mode
        ));
    }
    if s.freelist_bytes > MIB && s.freelist_count * 4 > s.page_count {
        c.advice.push(format!(
            "{} MiB of the file is free pages: `migrate-cli vacuum` returns them to the disk (or set auto_vacuum = incremental and use `vacuum --incremental`)",
            s.freelist_bytes / MIB
        ));
    }
    if s.wal_bytes > 64 * MIB {
        c.advice.push(format!(
            "the WAL is {} MiB: `migrate-cli checkpoint --mode truncate` folds it into the database; a WAL that keeps growing means a connection holds a read transaction open",
            s.wal_bytes / MIB
        ));
    }
    let has_stats = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")?
        .exists([])?;
    if !has_stats && s.page_count > 100 {
        c.advice
            .push("the query planner has no statistics: run `migrate-cli optimize`".into());
    }
    // Is a writer holding the lock right now? Try, and give it straight back.
    let timeout = int_pragma(conn, "busy_timeout")?;
    conn.busy_timeout(std::time::Duration::ZERO)?;
    let attempt = conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;");
    conn.busy_timeout(std::time::Duration::from_millis(timeout.max(0) as u64))?;
    let locked = match attempt {
        Ok(()) => false,
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DatabaseBusy => true,
        Err(e) => return Err(e),
    };
    if locked {
        c.advice.push(
            "another connection holds the write lock right now. If writers fail with \"database is locked\": raise busy_timeout \
             (a pragma set's `busy_timeout`), keep write transactions short, start them with BEGIN IMMEDIATE, and find the holder \
             with `fuser` or `lsof`. Never delete the -wal or -shm files to clear a lock: that can lose committed data or corrupt \
             the database."
                .into(),
        );
    }
    Ok(())
}

fn int_pragma(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
}
