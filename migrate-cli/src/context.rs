//! What every command that works on a database gets: the database, its
//! history table, the migrations (if any), and how to open it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use migrate_core::Migrations;
use migrate_core::history::Table;
use migrate_core::rusqlite::{Connection, OpenFlags};

use crate::{Failure, Global, style, usage};

/// A command's database and migrations.
pub(crate) struct Context {
    /// The database file.
    pub(crate) database: PathBuf,
    /// The history table.
    pub(crate) table: Table,
    /// The migrations: the folder's for the migration commands, the given
    /// folder's (or none) for the operations.
    pub(crate) set: Migrations,
    /// `--busy-timeout`, when given: it wins over the sets' busy_timeout.
    busy_timeout: Option<u64>,
    verbose: bool,
    /// The database, opened and its schema read on another thread while the
    /// folder loaded; the first `open` takes it.
    warm: Option<Connection>,
}

impl Context {
    /// For `up`, `status` and `verify`: the migrations folder is required,
    /// and is read while the database is opened on another thread (reading
    /// a large folder and a large schema are the two slow halves of these
    /// commands).
    pub(crate) fn migrating(g: &Global) -> Result<Context, Failure> {
        let (database, table) = database_and_table(g)?;
        let (set, warm) = std::thread::scope(|s| {
            let warm = s.spawn(|| warm_up(&database));
            (Migrations::from_dir(g.dir()), warm.join().ok().flatten())
        });
        Ok(Context {
            database,
            table,
            set: set?,
            busy_timeout: g.busy_timeout,
            verbose: g.verbose,
            warm,
        })
    }

    /// For the operations, which work on any SQLite file: a migrations
    /// folder is read only when one is given, for its connection profile
    /// and expected pragmas.
    pub(crate) fn operating(g: &Global) -> Result<Context, Failure> {
        let (database, table) = database_and_table(g)?;
        Ok(Context {
            database,
            table,
            set: g
                .dir
                .as_deref()
                .map_or_else(Migrations::default, optional_set),
            busy_timeout: g.busy_timeout,
            verbose: g.verbose,
            warm: None,
        })
    }

    /// Opens the database with the busy timeout and the set's connection
    /// profile. An explicit `--busy-timeout` wins over the profile's
    /// busy_timeout; without it the profile's applies (else the default).
    pub(crate) fn open(&mut self, create: bool) -> Result<Connection, Failure> {
        let path = &self.database;
        let conn = match self.warm.take() {
            Some(conn) => conn,
            None => {
                let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                if create {
                    flags |= OpenFlags::SQLITE_OPEN_CREATE;
                }
                Connection::open_with_flags(path, flags).map_err(|e| Failure {
                    code: 1,
                    error: format!("cannot open database {}: {e}", path.display()).into(),
                })?
            }
        };
        let default = migrate_core::runner::DEFAULT_BUSY_TIMEOUT.as_millis() as u64;
        conn.busy_timeout(Duration::from_millis(self.busy_timeout.unwrap_or(default)))?;
        if self.verbose {
            conn.trace_v2(
                rusqlite::trace::TraceEventCodes::SQLITE_TRACE_PROFILE,
                Some(log_statement),
            );
        }
        self.set
            .profile()
            .apply(&conn)
            .map_err(|e| self.in_database(e.into()))?;
        if let Some(ms) = self.busy_timeout {
            conn.busy_timeout(Duration::from_millis(ms))?;
        }
        Ok(conn)
    }

    /// Opens a database that must exist already (inspection commands never
    /// create one).
    pub(crate) fn open_existing(&mut self) -> Result<Connection, Failure> {
        if !self.database.exists() {
            return Err(Failure {
                code: 1,
                error: format!("{}: no such database", self.database.display()).into(),
            });
        }
        self.open(false)
    }

    /// A runner for the set, keeping its history in the chosen table.
    pub(crate) fn runner(&self) -> migrate_core::Runner<'_> {
        self.set.runner().table(self.table.clone())
    }

    /// A database error says which database.
    pub(crate) fn in_database(&self, e: migrate_core::Error) -> Failure {
        let database = self.database.display();
        match e {
            migrate_core::Error::Sqlite(e) => Failure {
                code: 1,
                error: format!("{database}: {e}").into(),
            },
            migrate_core::Error::Migration(e) => Failure {
                code: 1,
                error: format!("{database}: {e}").into(),
            },
            other => other.into(),
        }
    }
}

fn database_and_table(g: &Global) -> Result<(PathBuf, Table), Failure> {
    let table = Table::new(&g.table).map_err(|e| usage(e.to_string()))?;
    table.check_sqlite().map_err(|e| usage(e.to_string()))?;
    let given = g.database.as_deref().ok_or_else(|| {
        usage(
            "no database given; pass --database PATH, or set MIGRATE_DATABASE or DATABASE_URL (in the \
             environment or a .env file)"
                .into(),
        )
    })?;
    let from = g.database_from.unwrap_or("--database");
    Ok((database_path(given, from).map_err(usage)?, table))
}

/// What `--database` names, as a plain path. Accepted: a path; the URL
/// forms sqlx and dbmate users bring (`sqlite:PATH`, `sqlite://PATH`,
/// `sqlite3:`), and SQLite's `file:` URIs, each with no query but
/// `mode=rwc` or `mode=rw` (what this tool does anyway). Refused, because
/// nothing would persist or the tool could not do its job: `:memory:`,
/// `mode=memory`, `mode=ro`, `immutable`, `vfs` and any other parameter.
pub(crate) fn database_path(given: &str, from: &str) -> Result<PathBuf, String> {
    plain_path(given)
        .map(PathBuf::from)
        .map_err(|why| format!("{from} {given:?}: {why}"))
}

/// [`database_path`]'s reading of `given`: the path, or why it is refused.
fn plain_path(given: &str) -> Result<&str, String> {
    let refuse = |why: &str| Err(why.to_owned());
    if given.is_empty() {
        return refuse("empty; pass the path of the database file");
    }
    let lower = given.to_ascii_lowercase();
    // Another database's URL (a `.env` written for sqlx or dbmate often
    // holds one): never a file name.
    if let Some((scheme, _)) = lower.split_once("://")
        && !matches!(scheme, "sqlite" | "sqlite3" | "file")
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+')
    {
        let why = format!(
            "a `{scheme}://` URL; pass the path of a SQLite database file, or a `sqlite:` URL"
        );
        return refuse(&why);
    }
    let url = [
        "sqlite3://",
        "sqlite://",
        "sqlite3:",
        "sqlite:",
        "file://",
        "file:",
    ]
    .iter()
    .find(|p| lower.starts_with(**p));
    let (path, query) = match url {
        // `file:///abs/path` and `sqlite:///abs/path` keep their leading `/`.
        Some(prefix) => {
            let mut rest = &given[prefix.len()..];
            if prefix.starts_with("file") {
                // SQLite's URI: an authority of nothing or `localhost`
                // only, and a fragment that is not part of the name.
                if prefix.ends_with("//") && !rest.starts_with('/') {
                    match rest.split_once('/') {
                        Some((host, _)) if host.eq_ignore_ascii_case("localhost") => {
                            rest = &rest[host.len()..];
                        }
                        _ => {
                            return refuse(
                                "a `file://` URI names a host; pass a path on this machine",
                            );
                        }
                    }
                }
                rest = rest.split_once('#').map_or(rest, |(r, _)| r);
            }
            let rest = if prefix.ends_with("//") && rest.starts_with('/') {
                rest
            } else {
                rest.trim_start_matches("//")
            };
            match rest.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (rest, None),
            }
        }
        None => (given, None),
    };
    for param in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        match param.to_ascii_lowercase().as_str() {
            "mode=rwc" | "mode=rw" => {}
            "mode=memory" => return refuse("an in-memory database keeps nothing; pass a file"),
            "mode=ro" | "immutable=1" => {
                return refuse(
                    "a read-only database cannot be migrated or maintained; drop the parameter",
                );
            }
            _ => {
                return refuse(&format!(
                    "the parameter `{param}` is not supported; pass a plain path (only mode=rwc and mode=rw are accepted)"
                ));
            }
        }
    }
    if path.is_empty() || path == ":memory:" || lower.contains("mode=memory") {
        return refuse("an in-memory database keeps nothing; pass a file");
    }
    if path.contains('%') && url.is_some() {
        return refuse("percent-encoded paths are not supported; pass a plain path");
    }
    // SQLite reads a name that starts with `file:` as a URI of its own
    // (`sqlite:file::memory:` is an in-memory database): read it again
    // by the same rules, so that the path returned is the file SQLite
    // opens, never a URI.
    if path.starts_with("file:") {
        return plain_path(path);
    }
    Ok(path)
}

/// An existing database opened (never created: the folder is not validated
/// yet) and its schema read, or nothing if that did not go at once (a lock,
/// no file, not a database): `open` then does it the ordinary way and
/// reports what is wrong.
fn warm_up(path: &Path) -> Option<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).ok()?;
    // SQLite falls back to read-only when the read-write open fails, and
    // without CREATE it fails on a file that does not exist yet: if another
    // process creates the file between SQLite's two `open` calls, the
    // connection is read-only, and the first migration write fails with
    // "attempt to write a readonly database" (the 8-process suite's rare
    // failure). `open` then opens the file the ordinary way.
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
        return None;
    }
    // Preparing a statement that names a table reads the whole schema.
    conn.prepare("SELECT 1 FROM sqlite_schema").ok()?;
    Some(conn)
}

/// The migrations folder for commands that work without one: missing means
/// empty; invalid is reported and treated as empty, so that a backup or an
/// audit is never blocked by a bad migration file.
fn optional_set(dir: &Path) -> Migrations {
    if !dir.exists() {
        return Migrations::default();
    }
    Migrations::from_dir(dir).unwrap_or_else(|e| {
        eprintln!(
            "{} ignoring the migrations folder (its connection profile is not applied):\n{e}",
            style::warning()
        );
        Migrations::default()
    })
}

/// `-v`: every statement SQLite ran, when it finished, with its duration:
/// the whole statement, on one line (control characters escaped).
///
/// SQLite reports a statement twice when its first attempt stopped because
/// the schema had changed since it was prepared (a cached statement after
/// a migration's `CREATE TABLE`): it re-prepares it and runs it again. So
/// each report waits for the next one, and is dropped when the next is the
/// same statement, re-prepared once more: the attempt that did not run.
fn log_statement(event: rusqlite::trace::TraceEvent<'_>) {
    if let rusqlite::trace::TraceEvent::Profile(stmt, took) = event {
        let sql = stmt.sql().split_whitespace().collect::<Vec<_>>().join(" ");
        let reprepared = stmt.get_status(rusqlite::StatementStatus::RePrepare);
        PENDING.with(|pending| {
            let mut pending = pending.borrow_mut();
            let retried = pending
                .as_ref()
                .is_some_and(|p| p.sql == sql && p.reprepared + 1 == reprepared);
            if let Some(before) = pending.take().filter(|_| !retried) {
                before.print();
            }
            *pending = Some(Logged {
                sql,
                reprepared,
                took,
            });
        });
    }
}

/// `-v` on PostgreSQL: every statement sent to the server, when its answer
/// came, with how long that took, as SQLite's are shown.
pub(crate) fn log_postgres_statement(sql: &str, took: Duration) {
    Logged {
        sql: sql.split_whitespace().collect::<Vec<_>>().join(" "),
        reprepared: 0,
        took,
    }
    .print();
}

/// Prints the statement `-v` holds back (see [`log_statement`]); called
/// before the command's last words.
pub(crate) fn flush_log() {
    PENDING.with(|pending| {
        if let Some(last) = pending.borrow_mut().take() {
            last.print();
        }
    });
}

/// A statement `-v` reported, held back until the next one.
struct Logged {
    sql: String,
    reprepared: i32,
    took: Duration,
}

impl Logged {
    fn print(&self) {
        // SQLite measures in whole milliseconds.
        let ms = self.took.as_millis();
        let took = if ms == 0 {
            "<1".to_owned()
        } else {
            ms.to_string()
        };
        eprintln!(
            "{} {took:>4} ms  {}",
            style::dim("sql"),
            style::visible(&self.sql)
        );
    }
}

thread_local! {
    static PENDING: std::cell::RefCell<Option<Logged>> = const { std::cell::RefCell::new(None) };
}
