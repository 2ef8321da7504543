//! The SQLite backend of the step pipeline: a user's `rusqlite::Connection`
//! behind the [`Backend`] seam.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use crate::adopt::Adoption;
use crate::backend::Catalog;
use crate::backend::{Backend, StepError, Tally};
use crate::bookkeeping::{Bookkeeping, Books, Marks, Mismatch, history_failed};
use crate::dsl::catalogue::Scope;
use crate::error::{Cascade, Error, Failure, Violation};
use crate::history::{self, Table};
use crate::introspect;
use crate::introspect::{Difference, Schema};
use crate::pipeline::Set;
use crate::plan::{self, DownTarget, HistoryRow, StatusRow};
use crate::runner::{NoteKind, Report, Runner};
use crate::sets;
use crate::source::Migration;
use crate::source::Migrations;
use crate::sql::{self, quote_identifier as quote};
use crate::sqlite_history;
use crate::vocabulary::Tool;

/// A connection being migrated, and what the run has learnt about it.
pub(crate) struct Sqlite<'c> {
    conn: &'c Connection,
    table: &'c Table,
    /// Replaying files into an in-memory database for `verify`: pragma sets
    /// are skipped, `ATTACH` attaches memory, `VACUUM` is left out.
    replay: bool,
    /// The history table is known to exist (`rollback` forgets it: the
    /// table may have been created in the transaction it undid).
    history_ready: bool,
    /// The history table exists and has every later column (`origin`,
    /// `down_checksum`).
    columns_ready: bool,
    /// An earlier build's fingerprint table was looked for (and dropped).
    legacy_done: bool,
    /// Whether the connection enforces foreign keys; `None` until asked,
    /// and again after a pragma set (which may change it on purpose).
    foreign_keys: Option<bool>,
    /// Foreign keys were switched off for a step: switch them back on.
    restore_foreign_keys: bool,
    /// A transaction of ours is open.
    open: bool,
    /// The journal mode `check_can_run` found: what a no-transaction file
    /// that switched rollback off is put back to.
    journal_mode: Option<String>,
    /// Whether a trigger or foreign key could change the history table
    /// (`sqlite_history::reachable_by_triggers`); `None` until asked, and again
    /// after a file that may have made a trigger.
    history_triggers: Option<bool>,
    /// The run mark, held while a step runs outside a transaction.
    mark: Option<crate::runmark::Held>,
    /// The tally read with a step's history row (`recorded`), for the
    /// `tally` that follows it under the same lock with nothing written
    /// in between: one statement instead of two, each prepared again after
    /// every step's DDL. Taken by `tally`; dropped by every write.
    tally_read: Option<(u64, Tally)>,
}

impl<'c> Sqlite<'c> {
    /// The backend for `conn`, with the history in `table`.
    pub fn new(conn: &'c Connection, table: &'c Table, replay: bool) -> Sqlite<'c> {
        Sqlite {
            conn,
            table,
            replay,
            history_ready: false,
            columns_ready: false,
            legacy_done: false,
            foreign_keys: None,
            restore_foreign_keys: false,
            open: false,
            journal_mode: None,
            history_triggers: None,
            tally_read: None,
            mark: None,
        }
    }

    /// After a no-transaction file: the connection must still keep a
    /// rollback journal, whatever the file ran (the scanner refuses the
    /// statements it can see; this is what the connection says). A mode
    /// without one is put back to what `check_can_run` found.
    fn keep_rollback(&mut self) -> Result<(), Failure> {
        let mode = journal_mode(self.conn).map_err(crate::db::failure)?;
        if !without_rollback(self.conn, &mode) {
            return Ok(());
        }
        let restored = self.journal_mode.clone().unwrap_or_else(|| "delete".into());
        self.conn
            .query_row(&format!("PRAGMA journal_mode = {restored}"), [], |_| Ok(()))
            .map_err(crate::db::failure)?;
        Err(Failure::RollbackLost { mode, restored })
    }

    fn foreign_keys_on(&mut self) -> rusqlite::Result<bool> {
        if let Some(on) = self.foreign_keys {
            return Ok(on);
        }
        let on = foreign_keys_on(self.conn)?;
        self.foreign_keys = Some(on);
        Ok(on)
    }
}

impl Backend for Sqlite<'_> {
    fn check_can_run(&mut self, backup_to: Option<&Path>) -> Result<(), Error> {
        let conn = self.conn;
        let mode = journal_mode(conn)?;
        if without_rollback(conn, &mode) {
            return Err(Error::NoRollback { mode });
        }
        self.journal_mode = Some(mode);
        if conn.query_row("PRAGMA query_only", [], |r| r.get::<_, i64>(0))? != 0 {
            return Err(Error::QueryOnly);
        }
        if let Some(dest) = backup_to {
            // Refused early; the backup itself is taken under the write
            // lock, just before the first change.
            crate::backup::check_dest(conn, dest, false)?;
        }
        Ok(())
    }

    fn is_current(&mut self, set: &[Migration], tidy: bool) -> Result<bool, Error> {
        if !sqlite_history::matches(self.conn, self.table, set)? {
            return Ok(false);
        }
        if tidy && sqlite_history::has_legacy(self.conn, self.table) {
            // Upgrade a database of an earlier build in place, in a short
            // write transaction of its own (`begin` drops the old table); a
            // read-only database simply keeps it.
            if self.begin().is_ok() {
                let _ = self.commit();
            }
            self.rollback();
        }
        Ok(true)
    }

    fn history(&mut self) -> Result<Vec<HistoryRow>, Error> {
        let rows = sqlite_history::read(self.conn, self.table)?;
        self.history_ready = !rows.is_empty();
        Ok(rows)
    }

    fn managed_by(&mut self, set: &[Migration]) -> Result<Option<crate::adopt::Tool>, Error> {
        crate::adopt::managed_by(&mut self.conn, set, self.table.name())
    }

    fn begin(&mut self) -> Result<(), Failure> {
        self.tally_read = None;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(crate::db::failure)?;
        self.open = true;
        if !self.legacy_done {
            if sqlite_history::has_legacy(self.conn, self.table) {
                sqlite_history::drop_legacy(self.conn, self.table).map_err(crate::db::failure)?;
            }
            self.legacy_done = true;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Failure> {
        self.tally_read = None;
        self.conn
            .execute_batch("COMMIT")
            .map_err(crate::db::failure)?;
        self.open = false;
        Ok(())
    }

    fn rollback(&mut self) {
        self.tally_read = None;
        if self.open && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
            // A history table created (or a column added) in it is gone
            // with it.
            self.history_ready = false;
            self.columns_ready = false;
        }
        self.open = false;
        if std::mem::take(&mut self.restore_foreign_keys) {
            let _ = self.conn.execute_batch("PRAGMA foreign_keys = ON");
        }
    }

    fn recorded(&mut self, version: u64) -> Result<Option<String>, Failure> {
        self.tally_read = None;
        if !self.history_ready {
            if !sqlite_history::exists(self.conn, self.table).map_err(crate::db::failure)? {
                return Ok(None);
            }
            self.history_ready = true;
        }
        let (checksum, tally) = sqlite_history::checksum_and_tally(self.conn, self.table, version)
            .map_err(crate::db::failure)?;
        self.tally_read = Some((version, tally));
        Ok(checksum)
    }

    fn hold_outside_transaction(&mut self) -> Result<(), Failure> {
        // A replay runs in memory, where nothing else looks.
        if !self.replay {
            self.mark = crate::runmark::hold(self.conn);
        }
        Ok(())
    }

    fn release_outside_transaction(&mut self) {
        self.mark = None;
    }

    fn restore_indexes(
        &mut self,
        declared: &[crate::pipeline::Declared],
    ) -> Result<Vec<NoteKind>, Failure> {
        sets::restore_indexes(self.conn, declared)
    }

    fn tally(&mut self, version: u64, with_sum: bool) -> Result<Tally, Failure> {
        match self.tally_read.take() {
            Some((read, tally)) if read == version && !with_sum => return Ok(tally),
            _ => {}
        }
        if !self.history_ready {
            if !sqlite_history::exists(self.conn, self.table).map_err(crate::db::failure)? {
                return Ok(Tally::default());
            }
            self.history_ready = true;
        }
        sqlite_history::tally(self.conn, self.table, version, with_sum).map_err(crate::db::failure)
    }

    fn may_touch_history(&mut self, text: &str) -> Result<bool, Failure> {
        let reachable = match self.history_triggers {
            _ if history::named_in(text, self.table) => true,
            Some(known) => known,
            None => {
                let found = sqlite_history::reachable_by_triggers(self.conn, self.table)
                    .map_err(crate::db::failure)?;
                self.history_triggers = Some(found);
                found
            }
        };
        // Only a statement with the word can make a trigger: after such a
        // file, whatever it was asked for, ask the database again.
        if sql::contains_ignoring_ascii_case(text, "trigger") {
            self.history_triggers = None;
        }
        Ok(reachable)
    }

    fn record(&mut self, m: &Migration, duration: Duration) -> Result<(), Failure> {
        self.tally_read = None;
        // Created with the first row, in its transaction: a failed first
        // run leaves no empty history table behind.
        if !self.history_ready {
            sqlite_history::create(self.conn, self.table).map_err(crate::db::failure)?;
            self.history_ready = true;
        }
        // A down file's checksum needs the column a table of an earlier
        // build lacks.
        if m.down.is_some() && !self.columns_ready {
            sqlite_history::add_columns(self.conn, self.table).map_err(crate::db::failure)?;
            self.columns_ready = true;
        }
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        if sqlite_history::insert(self.conn, self.table, m, millis).map_err(crate::db::failure)? {
            return Ok(());
        }
        Err(self.not_written())
    }

    fn remove(&mut self, version: u64) -> Result<(), Failure> {
        self.tally_read = None;
        if sqlite_history::delete(self.conn, self.table, version).map_err(crate::db::failure)? {
            return Ok(());
        }
        Err(self.not_written())
    }

    fn execute(&mut self, written: &str, line: u32) -> Result<(), StepError> {
        self.tally_read = None;
        let attach;
        let text = match self.replay.then(|| sql::replay_form(written)) {
            Some(sql::Replay::Skip) => return Ok(()),
            Some(sql::Replay::AttachMemory(name)) => {
                attach = format!("ATTACH ':memory:' AS {}", quote(&name));
                attach.as_str()
            }
            _ => written,
        };
        if let Some((table, unqualified)) = sql::dropped_table(text) {
            guard_drop(self.conn, &table, unqualified)
                .map_err(|cause| (Some(line), Some(sql::shorten(text)), cause))?;
        }
        crate::db::execute(self.conn, text).map_err(|e| {
            let line = match &e {
                rusqlite::Error::SqlInputError { offset, .. } if *offset > 0 => {
                    let offset = (*offset as usize).min(text.len());
                    line + text.as_bytes()[..offset]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count() as u32
                }
                _ => line,
            };
            (Some(line), Some(sql::shorten(text)), crate::db::failure(e))
        })
    }

    fn apply_set(&mut self, set: &Set) -> Result<Vec<NoteKind>, StepError> {
        self.tally_read = None;
        match set {
            Set::Pragmas(_) if self.replay => Ok(Vec::new()),
            Set::Pragmas(set) => sets::apply_pragmas(self.conn, set),
            Set::Indexes(set) => sets::create_indexes(self.conn, set).map(|()| Vec::new()),
            Set::DropIndexes(set) => sets::drop_indexes(self.conn, set).map(|()| Vec::new()),
        }
    }

    fn prepare(&mut self, foreign_keys_off: bool) -> Result<(), Failure> {
        // Inside a transaction the pragma is a silent no-op, so this runs
        // before `BEGIN`; `rollback` switches them back on.
        // The setting is learnt here (once: it is cached) so that `settle`
        // can put it back after a step outside a transaction.
        let on = self.foreign_keys_on().map_err(crate::db::failure)?;
        if foreign_keys_off && on {
            self.conn
                .execute_batch("PRAGMA foreign_keys = OFF")
                .map_err(crate::db::failure)?;
            self.restore_foreign_keys = true;
        }
        Ok(())
    }

    fn settle(&mut self, sql: bool) -> Result<(), Failure> {
        if sql {
            self.keep_rollback()?;
        }
        let Some(before) = self.foreign_keys.filter(|_| sql) else {
            // A pragma set's per-connection pragmas are the connection
            // profile: what it set stays, and is asked again when needed.
            self.foreign_keys = None;
            return Ok(());
        };
        // A no-transaction file does not get to change the foreign-key
        // setting of the steps after it.
        if foreign_keys_on(self.conn).map_err(crate::db::failure)? != before {
            self.conn
                .execute_batch(if before {
                    "PRAGMA foreign_keys = ON"
                } else {
                    "PRAGMA foreign_keys = OFF"
                })
                .map_err(crate::db::failure)?;
        }
        Ok(())
    }

    fn check(&mut self, foreign_keys_off: bool) -> Result<(), Failure> {
        if foreign_keys_off
            || self.restore_foreign_keys
            || self.foreign_keys_on().map_err(crate::db::failure)?
        {
            check_foreign_keys(self.conn)?;
        }
        Ok(())
    }

    fn backup(&mut self, dest: &Path) -> Result<(), Error> {
        crate::backup::backup_locked(self.conn, dest)?;
        Ok(())
    }
}

/// The connection's journal mode, lowercase.
fn journal_mode(conn: &Connection) -> rusqlite::Result<String> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    Ok(mode.to_ascii_lowercase())
}

/// Whether `mode` keeps no rollback journal that survives a crash: OFF,
/// or MEMORY on a file (an in-memory database has nothing to survive).
fn without_rollback(conn: &Connection, mode: &str) -> bool {
    let in_memory = conn.path().is_none_or(str::is_empty);
    mode == "off" || (mode == "memory" && !in_memory)
}

/// Whatever way a run ends (a panic in a caller's code included), the
/// connection goes back to the caller with no transaction of ours open and
/// its foreign-key setting as it was.
impl Drop for Sqlite<'_> {
    fn drop(&mut self) {
        self.rollback();
    }
}

impl<'c> Sqlite<'c> {
    /// The connection, as `adopt` reads other tools' tables through it.
    pub(crate) fn connection(&mut self) -> &mut &'c Connection {
        &mut self.conn
    }

    /// Writes `checksum` into `version`'s history row in the open
    /// transaction, checked like [`Backend::record`].
    pub(crate) fn set_checksum(&mut self, version: u64, checksum: &str) -> Result<(), Failure> {
        if sqlite_history::set_checksum(self.conn, self.table, version, checksum)
            .map_err(crate::db::failure)?
        {
            return Ok(());
        }
        Err(self.not_written())
    }

    /// Writes the down file's checksum into `version`'s row.
    pub(crate) fn set_down_checksum(
        &mut self,
        version: u64,
        checksum: Option<&str>,
    ) -> Result<(), Failure> {
        let written = sqlite_history::set_down_checksum(self.conn, self.table, version, checksum);
        if written.map_err(crate::db::failure)? {
            return Ok(());
        }
        Err(self.not_written())
    }

    /// Records `m` as applied without running it, marked with `origin`
    /// (`baseline`, or the tool it was adopted from), at `applied_at` when
    /// the other tool kept the time. Creates the history table, or adds the
    /// `origin` column to one of an earlier build, in the open transaction.
    pub(crate) fn record_marked(
        &mut self,
        m: &Migration,
        origin: &str,
        applied_at: Option<&str>,
    ) -> Result<(), Failure> {
        if !self.columns_ready {
            sqlite_history::create(self.conn, self.table).map_err(crate::db::failure)?;
            sqlite_history::add_columns(self.conn, self.table).map_err(crate::db::failure)?;
            self.history_ready = true;
            self.columns_ready = true;
        }
        let written = sqlite_history::insert_marked(self.conn, self.table, m, origin, applied_at);
        if written.map_err(crate::db::failure)? {
            return Ok(());
        }
        Err(self.not_written())
    }

    /// A history write that did not go in as written: a trigger on the
    /// history table changed it.
    fn not_written(&self) -> Failure {
        Failure::HistoryNotWritten {
            table: self.table.name().to_owned(),
            triggers: sqlite_history::triggers(self.conn, self.table).unwrap_or_default(),
        }
    }
}

/// Stops a `DROP TABLE` that would delete or change rows of other tables:
/// with foreign keys on, SQLite deletes every row of the table first, and
/// that fires the `ON DELETE CASCADE`, `SET NULL` and `SET DEFAULT` actions
/// of the tables that reference it (a silent loss in a table rebuild
/// written without `PRAGMA foreign_keys = OFF`). Counts, before the drop,
/// the child rows that reference a row of the table.
fn guard_drop(conn: &Connection, table: &str, unqualified: bool) -> Result<(), Failure> {
    let sql = |e| crate::db::failure(e);
    if !foreign_keys_on(conn).map_err(sql)? {
        return Ok(());
    }
    // SQLite finds a name without a schema in temp first: a temp table of
    // that name is the one dropped, and main's keeps its rows.
    if unqualified
        && conn
            .prepare_cached(
                "SELECT 1 FROM temp.sqlite_schema WHERE type = 'table' AND lower(name) = ?1",
            )
            .and_then(|mut s| s.exists([table]))
            .map_err(sql)?
    {
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
    let keys: Vec<introspect::ForeignKey> = introspect::foreign_keys_to(conn, &parent)
        .map_err(sql)?
        .into_iter()
        .filter(|k| matches!(k.on_delete.as_str(), "CASCADE" | "SET NULL" | "SET DEFAULT"))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let primary_key = introspect::primary_key(conn, &parent).map_err(sql)?;
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
    .map_err(crate::db::failure)?;
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
            .map_err(crate::db::failure)?
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

fn foreign_keys_on(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("PRAGMA foreign_keys", [], |r| r.get::<_, i64>(0))
        .map(|v| v != 0)
}

/// The SQLite entry points of the runner: the engine's work on this
/// backend (the PostgreSQL ones are in `postgres`).
impl Runner<'_> {
    /// Every version of the set and of the history, with its state.
    pub fn status(&self, conn: &Connection) -> Result<Vec<StatusRow>, Error> {
        self.set().check_dialect(crate::sql::Dialect::Sqlite)?;
        self.history_table().check_sqlite()?;
        let history = sqlite_history::read(conn, self.history_table())?;
        Ok(plan::status(self.set().as_slice(), &history))
    }

    /// Validates the plan, then applies what is pending.
    pub fn run(&self, conn: &mut Connection) -> Result<Report, Error> {
        let conn = &*conn;
        self.check_connection(conn)?;
        let mut db = Sqlite::new(conn, self.history_table(), self.is_schema_only());
        let report = self.up(&mut db)?;
        // A plan can depend on data, so `up` only warns; verify fails.
        let mut report = report;
        self.plan_warnings(&mut report, |e| introspect::check_expect(conn, e));
        Ok(report)
    }

    /// Reverts applied migrations, highest version first, each in its own
    /// transaction (or all in one, with [`Runner::atomic`]) that also
    /// deletes its history row. Refused, before anything changes, when one
    /// of them cannot be reverted: no down migration, a pragma set, or a
    /// file edited since it ran.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("0001_users.up.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);").unwrap();
    /// # std::fs::write(dir.path().join("0001_users.down.sql"), "DROP TABLE users;").unwrap();
    /// use migrate_core::plan::DownTarget;
    /// let set = migrate_core::Migrations::from_dir(dir.path())?;
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// set.runner().run(&mut conn)?;
    /// let report = set.runner().down(&mut conn, DownTarget::Steps(1))?;
    /// assert_eq!(report.reverted[0].version, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn down(&self, conn: &mut Connection, target: DownTarget) -> Result<Report, Error> {
        let conn = &*conn;
        self.check_connection(conn)?;
        let mut db = Sqlite::new(conn, self.history_table(), self.is_schema_only());
        self.revert(&mut db, target)
    }

    /// Reverts the last applied migration and applies it again (to try an
    /// edited down and up of the migration in progress).
    pub fn redo(&self, conn: &mut Connection) -> Result<Report, Error> {
        self.redo_with(|runner, down| match down {
            Some(target) => runner.down(conn, target),
            None => runner.run(conn),
        })
    }
}

impl crate::source::Migrations {
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
    pub fn open(&self, path: impl AsRef<Path>) -> Result<rusqlite::Connection, crate::Error> {
        let mut conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(crate::runner::DEFAULT_BUSY_TIMEOUT)?;
        self.profile().apply(&conn)?;
        self.runner().run(&mut conn)?;
        Ok(conn)
    }
}

/// The SQLite side of baseline, repair and adopt: their entry points, the
/// history writes they make, and the replay they compare with.
impl Runner<'_> {
    /// Records every migration up to and including `version` as applied,
    /// without running them: for a database whose schema was made by hand
    /// or by scripts. Refused, with nothing written, when the database
    /// already has a history, or when its schema (and the persistent
    /// pragmas of the pragma sets up to `version`) is not the one those
    /// files make.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);").unwrap();
    /// let set = migrate_core::Migrations::from_dir(dir.path())?;
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY)")?;
    /// let done = set.runner().baseline(&mut conn, 1)?;
    /// assert_eq!(done.recorded.len(), 1);
    /// assert!(set.runner().run(&mut conn)?.applied.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn baseline(&self, conn: &mut Connection, version: u64) -> Result<Bookkeeping, Error> {
        self.check_connection(conn)?;
        self.baseline_in(&mut SqliteBooks(conn), version)
    }

    /// Re-records the checksums of applied files edited without changing
    /// the schema they make (comments, spacing), and removes the rows of
    /// applied versions whose files are gone. Refused, with nothing
    /// written, when the applied files no longer make the live schema, or
    /// when an edited file is a pragma set (its effect is not in the
    /// schema).
    pub fn repair(&self, conn: &mut Connection) -> Result<Bookkeeping, Error> {
        self.check_connection(conn)?;
        self.repair_in(&mut SqliteBooks(conn))
    }

    /// Takes over a database that another migration tool manages: records
    /// the migrations it applied as applied here, marked as adopted from
    /// it, with the times it kept. `from` names the tool; `None` detects it
    /// by its table's name and columns (or `PRAGMA user_version`).
    ///
    /// Refused, with nothing changed, when the database already has a
    /// history of this tool, when an applied version has no file, when the
    /// other tool left a migration half-done, or when the files do not make
    /// the live schema (every difference listed).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);").unwrap();
    /// # std::fs::write(dir.path().join("0002_posts.sql"), "CREATE TABLE posts (id INTEGER PRIMARY KEY);").unwrap();
    /// use migrate_core::adopt::{Kept, Tool};
    ///
    /// // A database that rusqlite_migration brought to its first migration.
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY); PRAGMA user_version = 1;")?;
    ///
    /// let set = migrate_core::Migrations::from_dir(dir.path())?;
    /// let adopted = set.runner().adopt(&mut conn, None)?;
    /// assert_eq!(adopted.tool, Tool::UserVersion);
    /// assert_eq!(adopted.recorded.len(), 1);
    /// assert_eq!(adopted.kept, Kept::UserVersion(1));
    /// // From here on, this tool runs what is new.
    /// assert_eq!(set.runner().run(&mut conn)?.applied.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn adopt(&self, conn: &mut Connection, from: Option<Tool>) -> Result<Adoption, Error> {
        self.check_connection(conn)?;
        self.adopt_in(&mut SqliteBooks(conn), from)
    }

    /// Runs `write` in one `BEGIN IMMEDIATE` transaction of the SQLite
    /// backend (checked first, rolled back on any error) and commits it.
    pub(crate) fn write(
        &self,
        conn: &Connection,
        write: impl FnOnce(&mut Sqlite) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut db = Sqlite::new(conn, self.history_table(), false);
        db.check_can_run(None)?;
        db.begin().map_err(|cause| history_failed(None, cause))?;
        write(&mut db)?;
        db.commit().map_err(|cause| history_failed(None, cause))
    }
}

impl Marks for Sqlite<'_> {
    fn catalog(&mut self) -> &mut dyn Catalog {
        self.connection()
    }
    fn rows(&mut self) -> Result<Vec<HistoryRow>, Error> {
        Backend::history(self)
    }
    fn record_marked(
        &mut self,
        m: &Migration,
        origin: &str,
        applied_at: Option<&str>,
    ) -> Result<(), Failure> {
        Sqlite::record_marked(self, m, origin, applied_at)
    }
    fn set_checksum(&mut self, version: u64, checksum: &str) -> Result<(), Failure> {
        Sqlite::set_checksum(self, version, checksum)
    }
    fn set_down_checksum(&mut self, version: u64, checksum: Option<&str>) -> Result<(), Failure> {
        Sqlite::set_down_checksum(self, version, checksum)
    }
}

/// A SQLite connection's history.
pub(crate) struct SqliteBooks<'c>(pub(crate) &'c Connection);

impl Books for SqliteBooks<'_> {
    fn catalog(&mut self) -> &mut dyn Catalog {
        &mut self.0
    }

    fn history(&mut self, runner: &Runner) -> Result<Vec<HistoryRow>, Error> {
        sqlite_history::read(self.0, runner.history_table())
    }

    fn mismatch(
        &mut self,
        runner: &Runner,
        chosen: &[&Migration],
        pragmas: bool,
    ) -> Result<Mismatch, Error> {
        let found =
            replay_differences(runner.set(), chosen, self.0, runner.history_table(), |_| {
                false
            })?;
        let mut mismatch = Mismatch {
            differences: found.map_err(Error::NotReplayed)?,
            pragmas: Vec::new(),
        };
        if pragmas {
            for (m, setting) in
                crate::source::settings_of(chosen.iter().copied(), Scope::Persistent)
            {
                if let Err(f) = crate::sets::check_setting(self.0, &setting) {
                    mismatch
                        .pragmas
                        .push(format!("{}:{}: {f}", m.file, setting.line));
                }
            }
        }
        Ok(mismatch)
    }

    fn write(
        &mut self,
        runner: &Runner,
        write: &mut dyn FnMut(&mut dyn Marks) -> Result<(), Error>,
    ) -> Result<(), Error> {
        runner.write(self.0, |db| write(db))
    }
}

/// How the live schema of `conn` differs from the schema `migrations` (of
/// `set`, in order) make when replayed into an empty in-memory database,
/// their pragma sets left out and no file written. `Ok(Err(why))` when
/// they do not replay. `skip_index` leaves out indexes checked another way.
pub(crate) fn replay_differences(
    set: &Migrations,
    migrations: &[&Migration],
    conn: &Connection,
    table: &Table,
    skip_index: impl Fn(&str) -> bool,
) -> Result<Result<Vec<Difference>, String>, Error> {
    let versions: Vec<u64> = migrations.iter().map(|m| m.version).collect();
    let replay_set = set.subset(|v| versions.contains(&v));
    let mut memory = Connection::open_in_memory()?;
    if let Err(e) = replay_set
        .runner()
        .table(table.clone())
        .schema_only()
        .allow_out_of_order(true)
        .run(&mut memory)
    {
        return Ok(Err(e.to_string()));
    }
    let live = Schema::read(conn, Some(table))?;
    let files = Schema::read(&memory, Some(table))?;
    Ok(Ok(live.differences(&files, skip_index)))
}

impl Runner<'_> {
    /// What every run checks first: the build is current, and the
    /// connection is not inside a transaction of the caller's.
    pub(crate) fn check_connection(&self, conn: &Connection) -> Result<(), Error> {
        self.check_set(crate::sql::Dialect::Sqlite)?;
        self.history_table().check_sqlite()?;
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        Ok(())
    }

    /// Another migration tool whose history has applied migrations in the
    /// database of `conn`, while this tool has no history table there: what
    /// `up` refuses (`Error::ManagedBy`) until [`Runner::adopt`] takes it
    /// over. Once the table exists the database is this tool's, even with
    /// every row reverted (`down --to 0` after adopt). Only reads.
    pub fn managed_by(&self, conn: &Connection) -> Result<Option<Tool>, Error> {
        crate::adopt::managed_by(
            &mut &*conn,
            self.set().as_slice(),
            self.history_table().name(),
        )
    }
}

impl Catalog for &Connection {
    fn table_exists(&mut self, table: &str) -> Result<bool, Error> {
        Ok(self
            .prepare(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
            )?
            .exists([table])?)
    }

    fn columns_of(&mut self, table: &str) -> Result<Vec<String>, Error> {
        // A table: a view of that name and shape is nobody's history.
        if !self.table_exists(table)? {
            return Ok(Vec::new());
        }
        let mut stmt =
            self.prepare("SELECT lower(name) FROM pragma_table_info(?1, 'main') ORDER BY cid")?;
        Ok(stmt
            .query_map([table], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn user_version(&mut self) -> Result<i64, Error> {
        Ok(self.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, Error> {
        let mut stmt = self.prepare(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => None,
                    ValueRef::Integer(v) => Some(v.to_string()),
                    ValueRef::Real(v) => Some(v.to_string()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                });
            }
            out.push(row);
        }
        Ok(out)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), Failure> {
        let quote = crate::sql::quote_identifier;
        self.execute_batch(&format!(
            "ALTER TABLE {} RENAME TO {}",
            quote(from),
            quote(to)
        ))
        .map_err(crate::db::failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guard behind the scanner: whatever a no-transaction file ran, a
    /// connection left without a rollback journal is put back and the step
    /// fails, so no later migration runs without rollback.
    #[test]
    fn a_step_that_leaves_no_rollback_journal_fails_and_is_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("a.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        let table = Table::default();
        for mode in ["off", "memory"] {
            let mut db = Sqlite::new(&conn, &table, false);
            db.check_can_run(None).unwrap();
            conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |_| Ok(()))
                .unwrap();
            let e = db.settle(true).unwrap_err();
            assert!(
                matches!(&e, Failure::RollbackLost { mode: m, restored } if m == mode && restored == "delete"),
                "{e}"
            );
            assert_eq!(journal_mode(&conn).unwrap(), "delete");
        }
    }
}
