//! The database seam: everything the step pipeline asks of a database.
//!
//! Modelled on sqlx's `Migrate` trait. The pipeline (see `pipeline.rs`)
//! holds the rules (what runs in which transaction, what is re-read under
//! the lock, what is recorded when); a backend only knows how its database
//! does each of these things. SQLite (`sqlite.rs`) and PostgreSQL
//! (`postgres/`) implement it.

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Failure};
use crate::plan::HistoryRow;
use crate::source::Migration;
use crate::vocabulary::{Declared, NoteKind, Set, Tool};

/// A failed statement: the line at fault (if known), the statement as shown
/// to the user, and why.
pub(crate) type StepError = (Option<u32>, Option<String>, Failure);

/// Runs `statements` of `text` a statement at a time, the first failure
/// at its line.
pub(crate) fn execute_each<B: Backend + ?Sized>(
    db: &mut B,
    text: &str,
    statements: &[crate::sql::Statement],
) -> Result<(), StepError> {
    for s in statements {
        db.execute(s.text(text), s.line)?;
    }
    Ok(())
}

/// The history counted in the open transaction, as the pipeline checks it
/// around each step: the plan still holds under the lock (another process
/// reverted or applied nothing it depends on), and a step's statements
/// left the history as they found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Tally {
    /// Every row.
    pub total: u64,
    /// Rows of versions below the step's.
    pub below: u64,
    /// Rows of versions above the step's.
    pub above: u64,
    /// The sum of the versions modulo [`TALLY_MODULUS`]: a row replaced by
    /// another keeps the count, not the sum. Counted only when asked for
    /// (it reads every row); 0 otherwise.
    pub sum: u64,
}

/// See [`Tally::sum`]: a prime, so that sums of versions of up to 2^63
/// cannot overflow either database's integers over any real history.
pub(crate) const TALLY_MODULUS: u64 = 1_000_000_007;

/// What the step pipeline needs from a database.
pub(crate) trait Backend {
    /// Refuses, before any change, a run that could not be undone (no
    /// rollback journal, a read-only session) or whose backup could not be
    /// written to `backup_to`.
    fn check_can_run(&mut self, backup_to: Option<&Path>) -> Result<(), Error>;

    /// Whether the recorded history is exactly `set` (the startup check of
    /// a run with nothing to do). May tidy bookkeeping left by earlier
    /// builds.
    fn is_current(&mut self, set: &[Migration], tidy: bool) -> Result<bool, Error>;

    /// Every history row, in version order; empty when there is no history.
    fn history(&mut self) -> Result<Vec<HistoryRow>, Error>;

    /// Another migration tool whose history has applied migrations here:
    /// asked when this tool's history is empty, since running the files
    /// again would fail on the first `CREATE` or, worse, repeat them.
    fn managed_by(&mut self, set: &[Migration]) -> Result<Option<Tool>, Error>;

    /// Waits for the write lock and begins a transaction that holds it. The
    /// history table exists inside it (created by the first write).
    fn begin(&mut self) -> Result<(), Failure>;

    /// [`Backend::begin`], for a step that reads `version`'s history row
    /// first: a backend may fetch it with the lock, in the same round trip
    /// (PostgreSQL), for [`Backend::recorded`] to answer.
    fn begin_for(&mut self, version: u64) -> Result<(), Failure> {
        let _ = version;
        self.begin()
    }

    /// Commits the open transaction.
    fn commit(&mut self) -> Result<(), Failure>;

    /// Rolls back the open transaction, if any, and undoes what
    /// [`Backend::prepare`] set. Never fails: called on every way out of a
    /// step.
    fn rollback(&mut self);

    /// The checksum recorded for `version`, read in the open transaction.
    fn recorded(&mut self, version: u64) -> Result<Option<String>, Failure>;

    /// Builds again, in the open transaction, every index of `declared`
    /// (the index sets in force) that is missing while its table and
    /// columns are there; a note for each.
    fn restore_indexes(&mut self, declared: &[Declared]) -> Result<Vec<NoteKind>, Failure>;

    /// The history counted around `version`, in the open transaction
    /// (zeros when there is no history table), its [`Tally::sum`] only
    /// `with_sum`.
    fn tally(&mut self, version: u64, with_sum: bool) -> Result<Tally, Failure>;

    /// Whether running `text` (a migration's SQL) could change a row of
    /// the history table: it names the table, or a trigger (or a foreign
    /// key action) could reach it. A backend that cannot tell says true.
    fn may_touch_history(&mut self, text: &str) -> Result<bool, Failure>;

    /// Writes `m`'s history row in the open transaction, checked: a row
    /// that did not go in as written is a failure.
    fn record(&mut self, m: &Migration, duration: Duration) -> Result<(), Failure>;

    /// Deletes `version`'s history row in the open transaction, checked.
    fn remove(&mut self, version: u64) -> Result<(), Failure>;

    /// Runs one statement of a file; `line` is where it starts there.
    fn execute(&mut self, statement: &str, line: u32) -> Result<(), StepError>;

    /// Runs the `statements` of a file's `text` in order; `in_transaction`
    /// when they run inside the step's transaction. A failure names the
    /// statement and its line, as [`Backend::execute`] does. A backend may
    /// send them at once (PostgreSQL, inside a transaction).
    fn execute_all(
        &mut self,
        text: &str,
        statements: &[crate::sql::Statement],
        in_transaction: bool,
    ) -> Result<(), StepError> {
        let _ = in_transaction;
        execute_each(self, text, statements)
    }

    /// Applies a set (pragmas, indexes) the way the database needs.
    /// Returns notes for the report.
    fn apply_set(&mut self, set: &Set) -> Result<Vec<NoteKind>, StepError>;

    /// Outside any transaction, before a step: switches foreign-key
    /// enforcement off when `foreign_keys_off` (the table rebuild).
    fn prepare(&mut self, foreign_keys_off: bool) -> Result<(), Failure>;

    /// After a step that ran outside a transaction: puts back the session
    /// settings it must not change for the steps after it (`sql`), or
    /// learns them again (a pragma set may change them on purpose).
    fn settle(&mut self, sql: bool) -> Result<(), Failure>;

    /// After a step that ran outside a transaction, whose statements are
    /// `text`: the indexes it names must be usable (PostgreSQL's
    /// `CONCURRENTLY` leaves an INVALID one when it fails or is cancelled).
    fn check_outside(&mut self, _text: &str) -> Result<(), Failure> {
        Ok(())
    }

    /// Before commit: the integrity checks the step needs (foreign keys).
    fn check(&mut self, foreign_keys_off: bool) -> Result<(), Failure>;

    /// Copies the database to `dest` while this session holds the write
    /// lock.
    fn backup(&mut self, dest: &Path) -> Result<(), Error>;

    /// In the open transaction that re-read a no-transaction step's row:
    /// keeps the migration lock past its end, so that no other runner
    /// starts the step while it runs outside any transaction (PostgreSQL's
    /// session lock). SQLite has no such lock: such a step must be safe to
    /// run again, as DESIGN says; it holds its run mark instead, which
    /// tells `verify` that a step is under way.
    fn hold_outside_transaction(&mut self) -> Result<(), Failure> {
        Ok(())
    }

    /// Gives back what [`Backend::hold_outside_transaction`] kept; called on
    /// every path out of the step, errors included.
    fn release_outside_transaction(&mut self) {}
}

/// Where `adopt` reads other tools' histories: a SQLite connection, or a
/// PostgreSQL session (its current schema).
pub(crate) trait Catalog {
    /// Whether a table (not a view) of this name is there, matched without
    /// regard to case.
    fn table_exists(&mut self, table: &str) -> Result<bool, Error>;
    /// The columns of `table`, lowercase, in order; empty when there is no
    /// such table.
    fn columns_of(&mut self, table: &str) -> Result<Vec<String>, Error>;
    /// Whether any of `tables` is there (one question where the database
    /// allows it: `up` asks it of every database without a history).
    fn any_table(&mut self, tables: &[&str]) -> Result<bool, Error> {
        for table in tables {
            if self.table_exists(table)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
    /// `PRAGMA user_version` (0 where there is none).
    fn user_version(&mut self) -> Result<i64, Error>;
    /// Every row of `sql`, each value as text (`None` for NULL).
    fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, Error>;
    /// Renames the other tool's table, whose name this tool's history
    /// takes.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), Failure>;
}
