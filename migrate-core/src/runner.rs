//! The runner: validates the whole plan, then applies each migration in its
//! own `BEGIN IMMEDIATE` transaction and records it in the history table.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use crate::dsl::indexes::{self, IndexSet};
use crate::dsl::pragmas::{self, PragmaSet};
use crate::error::{Cascade, Error, Failure, MigrationError, Undone, Violation};
use crate::history::{self, Table};
use crate::naming::Kind;
use crate::plan::{self, PlanOptions, StatusRow};
use crate::sets::{self, StepError};
use crate::source::{LoadError, LoadErrorKind, Migration, Migrations};
use crate::sql::{self, Script, quote_identifier as quote};

/// The busy timeout [`Migrations::open`] sets: how long a connection waits
/// for another's write lock before failing.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

impl Migrations {
    /// A runner for this set, with default options.
    pub fn runner(&self) -> Runner<'_> {
        Runner::new(self)
    }

    /// Opens (or creates) the database at `path`, sets a busy timeout of
    /// 5 s, applies the connection profile (the per-connection pragmas of
    /// every pragma set, whose `busy_timeout` wins), and applies every
    /// pending migration.
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
        self.profile().apply(&conn)?;
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
    backup_to: Option<std::path::PathBuf>,
    schema_only: bool,
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
    /// Things the user should know (`file: ran VACUUM so that page_size took effect`).
    pub notes: Vec<String>,
    /// Query-plan assertions that did not hold (`up` warns; `verify` fails).
    pub warnings: Vec<String>,
    /// Where the backup taken before the first change went.
    pub backup: Option<std::path::PathBuf>,
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
            backup_to: None,
            schema_only: false,
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

    /// Takes an online backup to `path` before the first change (only when
    /// something is pending; an existing file is refused).
    pub fn backup_to(mut self, path: Option<std::path::PathBuf>) -> Self {
        self.backup_to = path;
        self
    }

    /// Skips pragma sets: for replaying the schema into an in-memory
    /// database, which cannot hold persistent pragmas.
    pub(crate) fn schema_only(mut self) -> Self {
        self.schema_only = true;
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
        // The startup check: the history is exactly the set. (A target
        // short of the last version takes the full check, which says
        // whether it is below what is applied.)
        let to_the_end = self
            .options
            .target
            .is_none_or(|t| self.set.as_slice().last().is_some_and(|m| m.version == t));
        if to_the_end && history::matches(conn, &self.table, self.set.as_slice())? {
            if !self.dry_run && history::has_legacy(conn, &self.table) {
                // Upgrade a database of an earlier build in place; a
                // read-only database simply keeps the old table.
                let _ = upgrade_legacy(conn, &self.table);
            }
            return Ok(Report::default());
        }
        let state = RunState::default();
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
        check_can_roll_back(conn)?;
        if let Some(dest) = &self.backup_to {
            // Refused early; the backup itself is taken under the write
            // lock, just before the first change (see `backup_before`).
            crate::backup::check_dest(conn, dest, false)?;
        }
        // Validated at load time; parsed again only for what runs now, on
        // every core.
        let work = crate::source::par_map(plan.pending.clone(), |m| Work::of(m).map(|w| (m, w)))
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        state.history_ready.set(!history.is_empty());
        if self.atomic {
            self.run_atomic(conn, &work, &mut report, &state)?;
        } else {
            for (m, w) in &work {
                self.apply(conn, m, w, &mut report, &state)?;
            }
        }
        // A plan can depend on data, so `up` only warns; verify fails.
        for (m, w) in &work {
            let Work::Indexes(set) = w else { continue };
            if !report.applied.iter().any(|s| s.version == m.version) {
                continue;
            }
            for e in &set.expects {
                if let Err(plan) = sets::check_expect(conn, e) {
                    report.warnings.push(format!(
                        "{}:{}: the plan of \"{}\" does not use {}: {plan}",
                        m.file, e.line, e.query, e.index
                    ));
                }
            }
        }
        Ok(report)
    }

    fn apply(
        &self,
        conn: &Connection,
        m: &Migration,
        work: &Work,
        report: &mut Report,
        state: &RunState,
    ) -> Result<(), Error> {
        let before = applied_versions(report);
        let undone = if work.transactional() {
            Undone::Migration
        } else {
            Undone::Nothing
        };
        let fail = |(line, statement, cause): StepError| {
            failure(m, line, statement, cause, &before, undone)
        };
        let sql = |e| fail((None, None, Failure::Sql(e)));
        if !work.transactional() {
            let recorded = history::exists(conn, &self.table)?
                && history::checksum_of(conn, &self.table, m.version)
                    .map_err(sql)?
                    .is_some();
            if recorded {
                report.skipped.push(m.version);
                return Ok(());
            }
            if self.backup_to.is_some() && report.backup.is_none() {
                // Under the lock, so that no other process changes the
                // database between the copy and this step's start.
                let tx = Tx::begin(conn, &self.table, state).map_err(sql)?;
                self.backup_before(conn, report)?;
                drop(tx);
            }
            let foreign_keys = match work {
                Work::Sql(_) => Some(foreign_keys_on(conn).map_err(sql)?),
                _ => None,
            };
            let start = Instant::now();
            let executed = work.execute(conn, m, self.schema_only);
            // A no-transaction file does not get to change the foreign-key
            // setting of the migrations after it (a pragma set may: its
            // per-connection pragmas are the connection profile).
            if let Some(on) = foreign_keys
                && foreign_keys_on(conn).map_err(sql)? != on
            {
                conn.execute_batch(if on {
                    "PRAGMA foreign_keys = ON"
                } else {
                    "PRAGMA foreign_keys = OFF"
                })
                .map_err(sql)?;
            }
            state.foreign_keys.set(None);
            let notes = executed.map_err(fail)?;
            let duration = start.elapsed();
            let tx = Tx::begin(conn, &self.table, state).map_err(sql)?;
            if history::checksum_of(conn, &self.table, m.version)
                .map_err(sql)?
                .is_none()
            {
                self.record(conn, m, duration)
                    .map_err(|cause| fail((None, None, cause)))?;
            }
            tx.commit().map_err(sql)?;
            report.applied.push(step(m, duration));
            report
                .notes
                .extend(notes.into_iter().map(|n| format!("{}: {n}", m.file)));
            return Ok(());
        }

        // Declared before the transaction, so it is restored after it ends.
        let fk = ForeignKeys::switch_off_if(conn, work.foreign_keys_off()).map_err(sql)?;
        let tx = Tx::begin(conn, &self.table, state).map_err(sql)?;
        if let Some(applied) = history::checksum_of(conn, &self.table, m.version).map_err(sql)? {
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
        self.backup_before(conn, report)?;
        let start = Instant::now();
        let notes = work.execute(conn, m, self.schema_only).map_err(fail)?;
        if work.foreign_keys_off() || fk.restore || state.foreign_keys_on(conn).map_err(sql)? {
            check_foreign_keys(conn).map_err(|cause| fail((None, None, cause)))?;
        }
        let duration = start.elapsed();
        self.record(conn, m, duration)
            .map_err(|cause| fail((None, None, cause)))?;
        tx.commit().map_err(sql)?;
        drop(fk);
        report.applied.push(step(m, duration));
        report
            .notes
            .extend(notes.into_iter().map(|n| format!("{}: {n}", m.file)));
        Ok(())
    }

    fn run_atomic(
        &self,
        conn: &Connection,
        work: &[(&Migration, Work)],
        report: &mut Report,
        state: &RunState,
    ) -> Result<(), Error> {
        if let Some((m, _)) = work.iter().find(|(_, w)| !w.transactional()) {
            return Err(failure(
                m,
                None,
                None,
                Failure::NotAtomic,
                &[],
                Undone::NothingStarted,
            ));
        }
        let fk_off = work.iter().any(|(_, w)| w.foreign_keys_off());
        let first = work[0].0;
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
        let tx = Tx::begin(conn, &self.table, state).map_err(not_started)?;
        // The lock is held for the whole run: read what is applied once.
        let applied: std::collections::HashSet<u64> = history::read(conn, &self.table)?
            .into_iter()
            .map(|r| r.version)
            .collect();
        if work.iter().any(|(m, _)| !applied.contains(&m.version)) {
            self.backup_before(conn, report)?;
        }
        let mut last = first;
        let mut notes = Vec::new();
        let mut recorded: Vec<(&Migration, Duration)> = Vec::with_capacity(work.len());
        for (m, w) in work {
            if applied.contains(&m.version) {
                report.skipped.push(m.version);
                continue;
            }
            let start = Instant::now();
            match w.execute(conn, m, self.schema_only) {
                Ok(n) => notes.extend(n.into_iter().map(|n| format!("{}: {n}", m.file))),
                Err((line, stmt, cause)) => {
                    let before: Vec<u64> = recorded.iter().map(|(m, _)| m.version).collect();
                    return Err(failure(m, line, stmt, cause, &before, Undone::Run));
                }
            }
            recorded.push((*m, start.elapsed()));
            last = m;
        }
        // The history rows go in after the last migration, one statement
        // prepared once: a row after each migration's DDL would have its
        // statement prepared again each time (the schema changed under it).
        for &(m, duration) in &recorded {
            if let Err(cause) = self.record(conn, m, duration) {
                let before = applied_versions(report);
                return Err(failure(m, None, None, cause, &before, Undone::Run));
            }
            report.applied.push(step(m, duration));
        }
        let before = applied_versions(report);
        let fail = |cause| failure(last, None, None, cause, &before, Undone::Run);
        if fk_off
            || fk.restore
            || state
                .foreign_keys_on(conn)
                .map_err(|e| fail(Failure::Sql(e)))?
        {
            check_foreign_keys(conn).map_err(fail)?;
        }
        tx.commit().map_err(|e| fail(Failure::Sql(e)))?;
        report.notes.extend(notes);
        Ok(())
    }
}

impl Runner<'_> {
    /// Writes `m`'s history row, checked: a row that did not go in as
    /// written fails the migration (it is rolled back with it).
    fn record(&self, conn: &Connection, m: &Migration, duration: Duration) -> Result<(), Failure> {
        if history::insert(conn, &self.table, m, millis(duration)).map_err(Failure::Sql)? {
            return Ok(());
        }
        Err(Failure::HistoryNotWritten {
            table: self.table.name().to_owned(),
            triggers: history::triggers(conn, &self.table).unwrap_or_default(),
        })
    }

    /// Takes the backup asked for, once, while this connection holds the
    /// write lock: the copy is the database exactly as this run's first
    /// change finds it (another process may have migrated it since the
    /// plan was made).
    fn backup_before(&self, conn: &Connection, report: &mut Report) -> Result<(), Error> {
        let Some(dest) = &self.backup_to else {
            return Ok(());
        };
        if report.backup.is_some() {
            return Ok(());
        }
        crate::backup::backup_locked(conn, dest)?;
        report.backup = Some(dest.clone());
        Ok(())
    }
}

/// Refuses a connection on which a failed migration could not be undone:
/// no rollback journal (`journal_mode = off`; `memory` on a file, which a
/// crash cannot roll back), or `query_only` on.
fn check_can_roll_back(conn: &Connection) -> Result<(), Error> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    let mode = mode.to_ascii_lowercase();
    let in_memory = conn.path().is_none_or(str::is_empty);
    if mode == "off" || (mode == "memory" && !in_memory) {
        return Err(Error::NoRollback { mode });
    }
    if conn.query_row("PRAGMA query_only", [], |r| r.get::<_, i64>(0))? != 0 {
        return Err(Error::QueryOnly);
    }
    Ok(())
}

/// Drops the fingerprint table of an earlier build, in its own short
/// write transaction.
fn upgrade_legacy(conn: &Connection, table: &Table) -> rusqlite::Result<()> {
    // rusqlite's guard rolls back on drop, a failed COMMIT included.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    history::drop_legacy(&tx, table)?;
    tx.commit()
}

/// What one run learns once instead of asking SQLite per migration.
#[derive(Default)]
struct RunState {
    /// The history table exists (so `Tx::begin` need not create it).
    history_ready: std::cell::Cell<bool>,
    /// An earlier build's fingerprint table was looked for (and dropped).
    legacy_done: std::cell::Cell<bool>,
    /// Whether the connection enforces foreign keys; `None` until asked, and
    /// again after a step outside a transaction (which may change it).
    foreign_keys: std::cell::Cell<Option<bool>>,
}

impl RunState {
    fn foreign_keys_on(&self, conn: &Connection) -> rusqlite::Result<bool> {
        if let Some(on) = self.foreign_keys.get() {
            return Ok(on);
        }
        let on = foreign_keys_on(conn)?;
        self.foreign_keys.set(Some(on));
        Ok(on)
    }
}

/// What a pending migration does, parsed from its file.
enum Work {
    Sql(Script),
    Pragmas(PragmaSet),
    Indexes(IndexSet),
}

impl Work {
    fn of(m: &Migration) -> Result<Work, Error> {
        let invalid = |line: u32, kind| {
            Error::Load(
                LoadError {
                    file: m.file.to_string().into(),
                    line: Some(line),
                    kind,
                }
                .into(),
            )
        };
        let first = |errors: Vec<crate::dsl::DslError>| {
            let e = errors.into_iter().next().expect("a parse error");
            invalid(e.line, LoadErrorKind::Dsl(e))
        };
        Ok(match m.kind {
            Kind::Pragmas => Work::Pragmas(pragmas::parse(&m.text).map_err(first)?),
            Kind::Indexes => Work::Indexes(indexes::parse(&m.text).map_err(first)?),
            _ => Work::Sql(
                m.script()
                    .map_err(|e| invalid(e.line, LoadErrorKind::Sql(e)))?,
            ),
        })
    }

    /// Runs inside the migration's transaction (else before recording it).
    fn transactional(&self) -> bool {
        match self {
            Work::Sql(s) => !s.no_transaction,
            Work::Pragmas(_) => false,
            Work::Indexes(_) => true,
        }
    }

    fn foreign_keys_off(&self) -> bool {
        matches!(self, Work::Sql(s) if s.foreign_keys_off)
    }

    /// Does the work; returns notes for the report. `schema_only` skips
    /// pragma sets (for a replay into memory, which cannot hold them).
    fn execute(
        &self,
        conn: &Connection,
        m: &Migration,
        schema_only: bool,
    ) -> Result<Vec<String>, StepError> {
        match self {
            Work::Pragmas(_) if schema_only => Ok(Vec::new()),
            Work::Sql(script) => execute_all(conn, m, script, schema_only).map(|()| Vec::new()),
            Work::Pragmas(set) => sets::apply_pragmas(conn, set),
            Work::Indexes(set) => sets::create_indexes(conn, set).map(|()| Vec::new()),
        }
    }
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
/// run applied before it.
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
///
/// `replay`: the run replays files into an in-memory database for `verify`,
/// which must write no file: `ATTACH` attaches an empty in-memory database
/// under the same name instead, and `VACUUM` (`INTO` writes a file) is left
/// out.
fn execute_all(
    conn: &Connection,
    m: &Migration,
    script: &Script,
    replay: bool,
) -> Result<(), StepError> {
    for s in &script.statements {
        let written = s.text(&m.text);
        let attach;
        let text = match replay.then(|| sql::replay_form(written)) {
            Some(sql::Replay::Skip) => continue,
            Some(sql::Replay::AttachMemory(name)) => {
                attach = format!("ATTACH ':memory:' AS {}", quote(&name));
                attach.as_str()
            }
            _ => written,
        };
        if let Some(table) = sql::dropped_table(text) {
            guard_drop(conn, &table)
                .map_err(|cause| (Some(s.line), Some(sql::shorten(text)), cause))?;
        }
        crate::db::execute(conn, text).map_err(|e| {
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
            (Some(line), Some(sql::shorten(text)), Failure::Sql(e))
        })?;
    }
    Ok(())
}

/// Stops a `DROP TABLE` that would delete or change rows of other tables:
/// with foreign keys on, SQLite deletes every row of the table first, and
/// that fires the `ON DELETE CASCADE`, `SET NULL` and `SET DEFAULT` actions
/// of the tables that reference it (a silent loss in a table rebuild
/// written without `PRAGMA foreign_keys = OFF`). Counts, before the drop,
/// the child rows that reference a row of the table.
fn guard_drop(conn: &Connection, table: &str) -> Result<(), Failure> {
    let sql = |e| Failure::Sql(e);
    if !foreign_keys_on(conn).map_err(sql)? {
        return Ok(());
    }
    let found: Option<String> = conn
        .query_row(
            "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND lower(name) = ?1",
            [table],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    let Some(parent) = found else {
        return Ok(()); // DROP TABLE IF EXISTS of nothing, or another schema's
    };
    let keys: Vec<crate::introspect::ForeignKey> =
        crate::introspect::foreign_keys_to(conn, &parent)
            .map_err(sql)?
            .into_iter()
            .filter(|k| matches!(k.on_delete.as_str(), "CASCADE" | "SET NULL" | "SET DEFAULT"))
            .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let primary_key = crate::introspect::primary_key(conn, &parent).map_err(sql)?;
    let mut children: Vec<Cascade> = Vec::new();
    for key in keys {
        let matches = key
            .from
            .iter()
            .zip(&key.to)
            .enumerate()
            .map(|(i, (from, to))| {
                let to = match to {
                    Some(to) => quote(to),
                    None => primary_key.get(i).map_or("rowid".into(), |c| quote(c)),
                };
                format!("p.{to} = c.{}", quote(from))
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let count = format!(
            "SELECT count(*) FROM main.{} AS c WHERE EXISTS (SELECT 1 FROM main.{} AS p WHERE {matches})",
            quote(&key.child),
            quote(&parent)
        );
        let rows: i64 = conn.query_row(&count, [], |r| r.get(0)).map_err(sql)?;
        if rows > 0 {
            match children
                .iter_mut()
                .find(|c| c.table == key.child && c.action == key.on_delete)
            {
                Some(c) => c.rows += rows as u64,
                None => children.push(Cascade {
                    table: key.child,
                    action: key.on_delete,
                    rows: rows as u64,
                }),
            }
        }
    }
    if children.is_empty() {
        return Ok(());
    }
    Err(Failure::CascadingDrop {
        table: parent,
        children,
    })
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
        return Ok(());
    }
    // Each parent once (a check can list thousands of rows), looked up in
    // SQLite's in-memory schema.
    let mut parents: Vec<&str> = found.iter().map(|v| v.parent.as_str()).collect();
    parents.sort_unstable();
    parents.dedup();
    let mut missing: Vec<String> = Vec::new();
    for parent in parents {
        if !conn
            .table_exists(Some("main"), parent)
            .map_err(Failure::Sql)?
        {
            missing.push(parent.to_owned());
        }
    }
    if missing.is_empty() {
        Err(Failure::ForeignKeys(found))
    } else {
        Err(Failure::MissingParent {
            violations: found,
            missing,
        })
    }
}

/// `BEGIN IMMEDIATE`, rolled back on drop unless committed. Immediate, so
/// concurrent runners queue on the write lock (busy_timeout applies) instead
/// of failing when a read transaction would be upgraded.
struct Tx<'c> {
    conn: &'c Connection,
    open: bool,
    state: &'c RunState,
}

impl<'c> Tx<'c> {
    /// Begins, and creates the history table if needed, so that a failed
    /// first run leaves no empty history table behind.
    fn begin(conn: &'c Connection, table: &Table, state: &'c RunState) -> rusqlite::Result<Tx<'c>> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let tx = Tx {
            conn,
            open: true,
            state,
        };
        if !state.history_ready.get() {
            history::create(conn, table)?;
        }
        if !state.legacy_done.get() {
            if history::has_legacy(conn, table) {
                history::drop_legacy(conn, table)?;
            }
            state.legacy_done.set(true);
        }
        Ok(tx)
    }

    fn commit(mut self) -> rusqlite::Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        // Committed: the history table exists from now on.
        self.state.history_ready.set(true);
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
