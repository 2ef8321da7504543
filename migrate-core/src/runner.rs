//! The runner: validates the whole plan, then applies each migration in its
//! own `BEGIN IMMEDIATE` transaction and records it in the history table.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::{Error, Failure, MigrationError, Undone, Violation};
use crate::history::{self, Table};
use crate::naming::Kind;
use crate::plan::{self, PlanOptions, StatusRow};
use crate::source::{Migration, Migrations};
use crate::sql::{self, Script};

/// The busy timeout [`Migrations::open`] sets: how long a connection waits
/// for another's write lock before failing.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

impl Migrations {
    /// A runner for this set, with default options.
    pub fn runner(&self) -> Runner<'_> {
        Runner::new(self)
    }

    /// Opens (or creates) the database at `path`, sets a busy timeout, and
    /// applies every pending migration.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);").unwrap();
    /// # let set = migrate_core::Migrations::from_dir(dir.path()).unwrap();
    /// let conn = set.open(dir.path().join("app.db"))?;
    /// conn.execute("INSERT INTO users (id) VALUES (1)", [])?;
    /// # Ok::<(), migrate_core::Error>(())
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Connection, Error> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)?;
        self.runner().run(&mut conn)?;
        Ok(conn)
    }
}

/// Applies a [`Migrations`] set to a connection.
#[derive(Debug, Clone)]
pub struct Runner<'m> {
    set: &'m Migrations,
    table: Table,
    options: PlanOptions,
    dry_run: bool,
    atomic: bool,
}

/// One migration of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its version.
    pub version: u64,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its file, relative to the migrations folder.
    pub file: String,
    /// How long it took (zero in a dry run).
    pub duration: Duration,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Migrations applied, in order (empty in a dry run).
    pub applied: Vec<Step>,
    /// A dry run: the migrations a real run would apply.
    pub planned: Vec<Step>,
    /// Versions another process applied while this run waited for the lock.
    pub skipped: Vec<u64>,
}

impl<'m> Runner<'m> {
    /// A runner with the defaults: history in `schema_migrations`, apply
    /// everything, one transaction per migration, refuse missing and
    /// out-of-order versions.
    pub fn new(set: &'m Migrations) -> Runner<'m> {
        Runner {
            set,
            table: Table::default(),
            options: PlanOptions::default(),
            dry_run: false,
            atomic: false,
        }
    }

    /// Keeps the history in `table` instead of `schema_migrations`.
    pub fn table(mut self, table: Table) -> Self {
        self.table = table;
        self
    }

    /// Applies up to and including `version` only.
    pub fn target(mut self, version: Option<u64>) -> Self {
        self.options.target = version;
        self
    }

    /// Reports the plan without changing anything.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Applies all pending migrations in one transaction: all or nothing.
    pub fn atomic(mut self, yes: bool) -> Self {
        self.atomic = yes;
        self
    }

    /// Accepts applied versions that have no file.
    pub fn allow_missing(mut self, yes: bool) -> Self {
        self.options.allow_missing = yes;
        self
    }

    /// Accepts pending versions lower than the highest applied one.
    pub fn allow_out_of_order(mut self, yes: bool) -> Self {
        self.options.allow_out_of_order = yes;
        self
    }

    /// Every version of the set and of the history, with its state.
    pub fn status(&self, conn: &Connection) -> Result<Vec<StatusRow>, Error> {
        let history = history::read(conn, &self.table)?;
        Ok(plan::status(self.set.as_slice(), &history))
    }

    /// Validates the plan, then applies what is pending.
    pub fn run(&self, conn: &mut Connection) -> Result<Report, Error> {
        let conn = &*conn;
        let stale = self.set.stale_files();
        if !stale.is_empty() {
            return Err(Error::StaleBuild { files: stale });
        }
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        let history = history::read(conn, &self.table)?;
        let plan = plan::plan(self.set.as_slice(), &history, self.options)?;
        let mut report = Report::default();
        if plan.pending.is_empty() {
            return Ok(report);
        }
        if self.dry_run {
            report.planned = plan
                .pending
                .iter()
                .map(|m| step(m, Duration::ZERO))
                .collect();
            return Ok(report);
        }
        // Validated at load time; scanned again only for what runs now.
        let scripts = plan
            .pending
            .iter()
            .map(|&m| script_of(m).map(|s| (m, s)))
            .collect::<Result<Vec<_>, _>>()?;
        if self.atomic {
            self.run_atomic(conn, &scripts, &mut report)?;
        } else {
            for (m, script) in &scripts {
                self.apply(conn, m, script, &mut report)?;
            }
        }
        Ok(report)
    }

    fn apply(
        &self,
        conn: &Connection,
        m: &Migration,
        script: &Script,
        report: &mut Report,
    ) -> Result<(), Error> {
        let before = applied_versions(report);
        let undone = if script.no_transaction {
            Undone::Nothing
        } else {
            Undone::Migration
        };
        let fail = |line, statement, cause| failure(m, line, statement, cause, &before, undone);
        if script.no_transaction {
            let recorded = history::exists(conn, &self.table)?
                && history::checksum_of(conn, &self.table, m.version)?.is_some();
            if recorded {
                report.skipped.push(m.version);
                return Ok(());
            }
            let start = Instant::now();
            execute_all(conn, m, script)
                .map_err(|(line, stmt, e)| fail(Some(line), Some(stmt), Failure::Sql(e)))?;
            let duration = start.elapsed();
            let tx = Tx::begin(conn, &self.table).map_err(|e| fail(None, None, Failure::Sql(e)))?;
            if history::checksum_of(conn, &self.table, m.version)?.is_none() {
                history::insert(conn, &self.table, m, millis(duration))?;
            }
            tx.commit().map_err(|e| fail(None, None, Failure::Sql(e)))?;
            report.applied.push(step(m, duration));
            return Ok(());
        }

        // Declared before the transaction, so it is restored after it ends.
        let fk = ForeignKeys::switch_off_if(conn, script.foreign_keys_off)
            .map_err(|e| fail(None, None, Failure::Sql(e)))?;
        let tx = Tx::begin(conn, &self.table).map_err(|e| fail(None, None, Failure::Sql(e)))?;
        if let Some(applied) = history::checksum_of(conn, &self.table, m.version)? {
            // Another process applied it while we waited for the lock.
            if applied != *m.checksum {
                return Err(plan::PlanError::Modified(vec![plan::Modified {
                    version: m.version,
                    file: m.file.to_string(),
                    applied,
                    now: m.checksum.to_string(),
                }])
                .into());
            }
            report.skipped.push(m.version);
            return Ok(());
        }
        let start = Instant::now();
        execute_all(conn, m, script)
            .map_err(|(line, stmt, e)| fail(Some(line), Some(stmt), Failure::Sql(e)))?;
        if script.foreign_keys_off
            || fk
                .enforced(conn)
                .map_err(|e| fail(None, None, Failure::Sql(e)))?
        {
            check_foreign_keys(conn).map_err(|cause| fail(None, None, cause))?;
        }
        let duration = start.elapsed();
        history::insert(conn, &self.table, m, millis(duration))?;
        tx.commit().map_err(|e| fail(None, None, Failure::Sql(e)))?;
        drop(fk);
        report.applied.push(step(m, duration));
        Ok(())
    }

    fn run_atomic(
        &self,
        conn: &Connection,
        scripts: &[(&Migration, Script)],
        report: &mut Report,
    ) -> Result<(), Error> {
        if let Some((m, _)) = scripts.iter().find(|(_, s)| s.no_transaction) {
            return Err(failure(
                m,
                None,
                None,
                Failure::NotAtomic,
                &[],
                Undone::NothingStarted,
            ));
        }
        let fk_off = scripts.iter().any(|(_, s)| s.foreign_keys_off);
        let first = scripts[0].0;
        let not_started = |e| {
            failure(
                first,
                None,
                None,
                Failure::Sql(e),
                &[],
                Undone::NothingStarted,
            )
        };
        let fk = ForeignKeys::switch_off_if(conn, fk_off).map_err(not_started)?;
        let tx = Tx::begin(conn, &self.table).map_err(not_started)?;
        let mut done = Vec::new();
        for (m, script) in scripts {
            if history::checksum_of(conn, &self.table, m.version)?.is_some() {
                report.skipped.push(m.version);
                continue;
            }
            let start = Instant::now();
            if let Err((line, stmt, e)) = execute_all(conn, m, script) {
                let before = applied_versions(report);
                return Err(failure(
                    m,
                    Some(line),
                    Some(stmt),
                    Failure::Sql(e),
                    &before,
                    Undone::Run,
                ));
            }
            let duration = start.elapsed();
            history::insert(conn, &self.table, m, millis(duration))?;
            report.applied.push(step(m, duration));
            done.push(*m);
        }
        let last = done.last().copied().unwrap_or(first);
        let before = applied_versions(report);
        let fail = |cause| failure(last, None, None, cause, &before, Undone::Run);
        if fk_off || fk.enforced(conn).map_err(|e| fail(Failure::Sql(e)))? {
            check_foreign_keys(conn).map_err(fail)?;
        }
        tx.commit().map_err(|e| fail(Failure::Sql(e)))?;
        Ok(())
    }
}

fn script_of(m: &Migration) -> Result<Script, Error> {
    m.script().map_err(|e| {
        Error::Load(
            crate::source::LoadError {
                file: m.file.to_string().into(),
                line: Some(e.line),
                kind: crate::source::LoadErrorKind::Sql(e),
            }
            .into(),
        )
    })
}

fn step(m: &Migration, duration: Duration) -> Step {
    Step {
        version: m.version,
        name: m.name.to_string(),
        kind: m.kind,
        file: m.file.to_string(),
        duration,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn applied_versions(report: &Report) -> Vec<u64> {
    report.applied.iter().map(|s| s.version).collect()
}

/// Builds the error for a failed migration; `before` are the versions this
/// run applied before it (in atomic mode, rolled back with it).
fn failure(
    m: &Migration,
    line: Option<u32>,
    statement: Option<String>,
    cause: Failure,
    before: &[u64],
    undone: Undone,
) -> Error {
    Error::Migration(Box::new(MigrationError {
        version: m.version,
        name: m.name.to_string(),
        file: m.file.to_string(),
        line,
        statement,
        applied_before: before.to_vec(),
        undone,
        cause,
    }))
}

/// Runs a script's statements one by one; on failure, the line of the
/// failing token (or statement) and the statement, shortened.
fn execute_all(
    conn: &Connection,
    m: &Migration,
    script: &Script,
) -> Result<(), (u32, String, rusqlite::Error)> {
    for s in &script.statements {
        let text = s.text(&m.text);
        execute(conn, text).map_err(|e| {
            let line = match &e {
                rusqlite::Error::SqlInputError { offset, .. } if *offset > 0 => {
                    let offset = (*offset as usize).min(text.len());
                    s.line
                        + text.as_bytes()[..offset]
                            .iter()
                            .filter(|&&b| b == b'\n')
                            .count() as u32
                }
                _ => s.line,
            };
            (line, sql::shorten(text), e)
        })?;
    }
    Ok(())
}

/// Runs one statement to completion, stepping through any rows it returns.
fn execute(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    Ok(())
}

fn check_foreign_keys(conn: &Connection) -> Result<(), Failure> {
    let found = (|| {
        let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
        let rows = stmt.query_map([], |r| {
            Ok(Violation {
                table: r.get(0)?,
                rowid: r.get(1)?,
                parent: r.get(2)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    })()
    .map_err(Failure::Sql)?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(Failure::ForeignKeys(found))
    }
}

/// `BEGIN IMMEDIATE`, rolled back on drop unless committed. Immediate, so
/// concurrent runners queue on the write lock (busy_timeout applies) instead
/// of failing when a read transaction would be upgraded.
struct Tx<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Tx<'c> {
    /// Begins, and creates the history table if needed, so that a failed
    /// first run leaves no empty history table behind.
    fn begin(conn: &'c Connection, table: &Table) -> rusqlite::Result<Tx<'c>> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let tx = Tx { conn, open: true };
        history::create(conn, table)?;
        Ok(tx)
    }

    fn commit(mut self) -> rusqlite::Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Foreign keys switched off for a table rebuild, and switched back on drop,
/// whatever happened. Inside a transaction the pragma is a silent no-op, so
/// this runs before `BEGIN`.
struct ForeignKeys<'c> {
    conn: &'c Connection,
    restore: bool,
}

impl<'c> ForeignKeys<'c> {
    fn switch_off_if(conn: &'c Connection, off: bool) -> rusqlite::Result<ForeignKeys<'c>> {
        let mut guard = ForeignKeys {
            conn,
            restore: false,
        };
        if off && foreign_keys_on(conn)? {
            conn.execute_batch("PRAGMA foreign_keys = OFF")?;
            guard.restore = true;
        }
        Ok(guard)
    }

    /// Whether the connection enforces foreign keys outside this guard.
    fn enforced(&self, conn: &Connection) -> rusqlite::Result<bool> {
        Ok(self.restore || foreign_keys_on(conn)?)
    }
}

impl Drop for ForeignKeys<'_> {
    fn drop(&mut self) {
        if self.restore {
            let _ = self.conn.execute_batch("PRAGMA foreign_keys = ON");
        }
    }
}

fn foreign_keys_on(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("PRAGMA foreign_keys", [], |r| r.get::<_, i64>(0))
        .map(|v| v != 0)
}
