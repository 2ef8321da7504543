//! Errors of the runner and of everything that touches a database.

use std::fmt;

use crate::plan::PlanError;
use crate::source::LoadErrors;

/// Anything that stops a migration run. Every variant says what was at fault
/// and that the database was left as it was before the failing step.
///
/// `Debug` prints the message and its causes, so `fn main() -> Result<(),
/// migrate_core::Error>` shows the sentence, not nested variants:
///
/// ```
/// let set = migrate_core::Migrations::default();
/// let mut conn = rusqlite::Connection::open_in_memory()?;
/// conn.execute_batch("BEGIN")?;
/// let e = set.runner().run(&mut conn).unwrap_err();
/// assert_eq!(format!("{e:?}"), "the connection is inside a transaction; commit or roll it back before migrating");
/// # Ok::<(), rusqlite::Error>(())
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The migrations folder is not a valid set.
    #[error("invalid migrations:\n{0}")]
    Load(#[from] LoadErrors),
    /// The set cannot be applied to this database as it stands; nothing ran.
    #[error("{0}; nothing was changed")]
    Plan(#[from] PlanError),
    /// One migration failed and was rolled back.
    #[error(transparent)]
    Migration(Box<MigrationError>),
    /// The history table name is not a plain identifier.
    #[error(
        "invalid history table name `{name}`: use letters, digits and `_`, not starting with a digit or `sqlite_` (for example `schema_migrations`, or on PostgreSQL `app.schema_migrations`)"
    )]
    InvalidTableName {
        /// The name given.
        name: String,
    },
    /// A table named for the move is not in the SQLite database.
    #[error(
        "no table `{table}` in the SQLite database (its tables are listed by `migrate-cli schema`)"
    )]
    UnknownTable {
        /// The name given.
        table: String,
    },
    /// A schema-qualified history table name on SQLite.
    #[error(
        "history table `{schema}.{table}`: a schema-qualified name is PostgreSQL's; on SQLite the history lives in the main database, so name the table alone (`{table}`)"
    )]
    QualifiedTableOnSqlite {
        /// The schema given.
        schema: String,
        /// The table.
        table: String,
    },
    /// A table with the history table's name exists but has other columns:
    /// another tool's history (golang-migrate and dbmate use the same name).
    #[error(
        "the table `{table}` exists but is not a migrate history table (its columns: {}); it may belong to another migration tool. Nothing was changed. Take the database over from that tool with `Runner::adopt` (its table is kept under another name), or keep this tool's history under another name with `Runner::table`",
        .columns.join(", ")
    )]
    ForeignHistory {
        /// The table's name.
        table: String,
        /// Its columns.
        columns: Vec<String>,
    },
    /// A history row holds a value of a type this tool never writes: the
    /// table was edited by hand.
    #[error(
        "the history table `{table}` has, for version {version}, a `{column}` that is a {found} value, which this \
         tool never writes: the table was edited by hand. Nothing was changed; correct that row (or restore the \
         table from a backup)"
    )]
    EditedHistory {
        /// The history table.
        table: String,
        /// The version of the row at fault.
        version: u64,
        /// The column.
        column: String,
        /// The type found.
        found: String,
    },
    /// An embedded set older than its folder (debug builds only).
    #[error(
        "the migrations folder changed since this binary was built ({}), and the binary holds the files as they \
         were. First add `println!(\"cargo:rerun-if-changed=migrations\");` to build.rs: without it cargo does not \
         know the folder is an input, and `cargo build` rebuilds nothing. Then rebuild. (Only debug builds check \
         this: they run where their source folder is; a release binary runs where it is not.)",
        .files.join(", ")
    )]
    StaleBuild {
        /// Files added (`+name`) or removed (`-name`) since the build.
        files: Vec<String>,
    },
    /// The connection keeps no rollback journal, so a failed migration
    /// could not be undone; nothing ran.
    #[error(
        "the connection's journal_mode is {mode}: a failed migration could not be rolled back, so nothing was run; \
         set `PRAGMA journal_mode = delete` (or `wal`) on this connection first"
    )]
    NoRollback {
        /// The journal mode found.
        mode: String,
    },
    /// A migration run is applying a step outside a transaction on the
    /// database, so what is there is half of that step: nothing was checked.
    #[error(
        "a migration run is applying a step outside a transaction on this database, so its schema is \
         half-made; waited {waited_ms} ms (the connection's busy_timeout) and checked nothing: verify \
         again when the run ends"
    )]
    RunInProgress {
        /// How long it waited for the step to end.
        waited_ms: u64,
    },
    /// An atomic run whose plan holds a step that runs outside a
    /// transaction (a pragma set, a no-transaction file); refused before
    /// anything, the database not created.
    #[error(
        "an atomic run cannot include migration {version} ({file}): it runs outside a transaction (a pragma set \
         or a no-transaction file); nothing was changed. Run without `Runner::atomic`, or apply up to the version \
         before it first"
    )]
    NotAtomic {
        /// The step's version.
        version: u64,
        /// Its file.
        file: String,
    },
    /// The connection is read-only (`PRAGMA query_only = on`); nothing ran.
    #[error(
        "the connection has `query_only` on, so no migration can write; nothing was changed. Remove \
         `query_only = on` from the pragma sets (their per-connection pragmas apply to the migrating \
         connection too), or migrate on a connection without it"
    )]
    QueryOnly,
    /// The connection is inside a transaction the caller opened; migrations
    /// need their own.
    #[error("the connection is inside a transaction; commit or roll it back before migrating")]
    InTransaction,
    /// The backup asked for before the first change failed; nothing ran.
    #[error("{0}; no migration ran")]
    Backup(#[from] BackupError),
    /// `verify` or the testing helper found problems.
    #[error("verification failed:\n  {}", .problems.join("\n  "))]
    Verify {
        /// Each problem, `file:line: message`.
        problems: Vec<String>,
    },
    /// `baseline` on a database that already has a history.
    #[error(
        "the database already has {applied} applied migrations in its history; baseline is for a database that \
         has none (apply with `up`, or re-record edited files with `Runner::repair`); nothing was changed"
    )]
    AlreadyManaged {
        /// How many rows the history holds.
        applied: usize,
    },
    /// `baseline` or `repair` found that the files do not make the live
    /// schema.
    #[error(
        "{operation} refused: the migrations make another schema than the database has, so recording them \
         would hide a real change; nothing was changed:\n  {mismatch}"
    )]
    SchemaDiffers {
        /// `baseline` or `repair`.
        operation: &'static str,
        /// What differs.
        mismatch: Mismatch,
    },
    /// The files do not replay into an empty database, so the schema they
    /// make is unknown.
    #[error(
        "the migrations do not replay into an empty database, so the schema they make cannot be \
         compared; nothing was changed: {0}"
    )]
    NotReplayed(String),
    /// `repair` of an edited pragma set, whose effect the schema does not
    /// show.
    #[error(
        "version {version} ({file}) is a pragma set edited after it was applied; repair re-records only edits \
         that the schema shows unchanged, and a pragma set's are not in it: restore the file and add a new \
         pragma set; nothing was changed"
    )]
    PragmaSetEdited {
        /// Its version.
        version: u64,
        /// Its file.
        file: String,
    },
    /// [`Runner::before_apply`](crate::Runner::before_apply) refused the
    /// run: what it is about to apply would certainly fail.
    #[error("refused before the first migration ran:\n  {}\nnothing was changed", .0.join("\n  "))]
    Refused(Vec<String>),
    /// Another process changed the history between the check and the write.
    #[error(
        "another process changed the history{} meanwhile; nothing was changed, run it again",
        of_version(*.version)
    )]
    ChangedMeanwhile {
        /// The version whose row changed, when one is known.
        version: Option<u64>,
    },
    /// `up` on a database another tool manages, before it was adopted.
    #[error(
        "the database has {tool}'s history (`{}`), with migrations applied, and none of this tool's: running \
         the files would fail on what exists or run them twice. Take it over with `Runner::adopt`, which checks \
         that the files make this schema and records what {tool} applied; nothing was changed",
        .tool.table().unwrap_or_default()
    )]
    ManagedBy {
        /// The tool.
        tool: crate::vocabulary::Tool,
    },
    /// A PostgreSQL error outside any migration (connecting, reading the
    /// history).
    #[cfg(feature = "postgres")]
    #[error("PostgreSQL: {0}")]
    Postgres(ServerFailure),
    /// An operation PostgreSQL has no counterpart for here.
    #[error("{0} is not available on PostgreSQL; nothing was changed")]
    NotOnPostgres(&'static str),
    /// A set written for PostgreSQL given to the SQLite runner.
    #[error(
        "the migrations ({file}, …) are written for PostgreSQL, and this is a SQLite database; run them on \
         PostgreSQL, or load the folder as SQLite (`Migrations::from_dir`, `embed_migrations!(\"…\")`); nothing was \
         changed"
    )]
    NotSqlite {
        /// A file of the set.
        file: String,
    },
    /// A set loaded as SQLite's given to the PostgreSQL runner.
    #[error(
        "the migrations ({file}, …) were loaded as SQLite's, so they were split and checked by SQLite's rules; \
         load them as PostgreSQL's (`embed_migrations!(\"…\", postgres)`, `Migrations::from_dir_in(dir, \
         Dialect::Postgres)`); nothing was changed"
    )]
    NotPostgres {
        /// A file of the set.
        file: String,
    },
    /// `adopt` refused.
    #[error("adopt refused: {0}; nothing was changed")]
    Adopt(#[from] AdoptError),
    /// A history write outside a migration (baseline, repair) that failed.
    #[error("writing the history{} failed: {cause}; nothing was changed", of_version(*.version))]
    History {
        /// The version whose row was being written, when one was.
        version: Option<u64>,
        /// Why.
        cause: Failure,
    },
    /// A database error outside any migration (opening, reading the history).
    #[error("database error: {0}")]
    Sqlite(#[from] DatabaseFailure),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::debug_as_message(self, f)
    }
}

/// " of version 3", or nothing.
fn of_version(version: Option<u64>) -> String {
    version
        .map(|v| format!(" of version {v}"))
        .unwrap_or_default()
}

/// What a failure undid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Undone {
    /// The failing migration was rolled back; earlier ones of the run stay.
    Migration,
    /// Atomic run: the failing migration and every earlier one of the run.
    Run,
    /// Nothing had started: the run was refused before any change.
    NothingStarted,
    /// A no-transaction migration: statements before the failing one took
    /// effect; it was not recorded as applied.
    Nothing,
}

/// A migration that failed, and what the failure undid.
#[derive(Debug)]
pub struct MigrationError {
    /// The version that failed.
    pub version: u64,
    /// Its name.
    pub name: String,
    /// Its file, relative to the migrations folder.
    pub file: String,
    /// The line of the failing statement within the file, when known.
    pub line: Option<u32>,
    /// The failing statement, shortened.
    pub statement: Option<String>,
    /// Applied, or reverted.
    pub direction: crate::naming::Direction,
    /// Versions this run applied (reverting: reverted) and committed
    /// before the failure.
    pub applied_before: Vec<u64>,
    /// What was undone.
    pub undone: Undone,
    /// What went wrong.
    pub cause: Failure,
}

/// Why a migration failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// SQLite refused a statement (the message says what an operator can
    /// do, where SQLite's own does not).
    #[error("{0}")]
    Sql(DatabaseFailure),
    /// PostgreSQL refused a statement.
    #[cfg(feature = "postgres")]
    #[error("{0}")]
    Postgres(ServerFailure),
    /// What PostgreSQL runs differently, or not at all.
    #[error("{0} does not run on PostgreSQL")]
    NotOnPostgres(&'static str),
    /// `PRAGMA foreign_key_check` found rows that break a foreign key.
    #[error("foreign key check failed: {}", violations(.0))]
    ForeignKeys(Vec<Violation>),
    /// The foreign key check found rows whose parent table no longer
    /// exists: a rebuild that renamed the old table away (SQLite rewrites
    /// the children's `REFERENCES` to the new name) and then dropped it.
    #[error(
        "foreign key check failed: {}; the parent table {} no longer exists: `ALTER TABLE … RENAME` rewrote the \
         child tables' REFERENCES to that name before it was dropped. Rebuild the other way round: create the new \
         table, copy the rows, drop the old table, then rename the new table to the old name",
        crate::error::violations(.violations), .missing.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingParent {
        /// The rows found.
        violations: Vec<Violation>,
        /// The parent tables that do not exist.
        missing: Vec<String>,
    },
    /// A `DROP TABLE` would have deleted or changed rows of other tables
    /// through their `ON DELETE` actions; it was stopped before it ran.
    #[error(
        "`DROP TABLE {table}` would {}; SQLite runs an implicit DELETE before dropping a table, which fires \
         ON DELETE actions while foreign keys are on, so it was stopped before it ran. If this rebuilds `{table}`, \
         rename the new table to `{table}` in the same file (that makes it a foreign-keys-off migration) or put \
         `-- migrate:foreign-keys-off` at the top of the file; if those rows should go, DELETE them first",
        cascades(.children)
    )]
    CascadingDrop {
        /// The table dropped.
        table: String,
        /// Each child table whose rows the drop would touch.
        children: Vec<Cascade>,
    },
    /// The history row did not go in as written (a trigger on the history
    /// table ignored or changed it, or wrote other rows with it).
    #[error(
        "its history row in `{table}` did not go in as written{}; a history that does not say what ran would \
         make a later run apply migrations again, so the migration was rolled back. Drop the trigger(s) on `{table}`",
        if .triggers.is_empty() { String::new() } else { format!(" (triggers on the table: {})", .triggers.join(", ")) }
    )]
    HistoryNotWritten {
        /// The history table.
        table: String,
        /// The triggers on it.
        triggers: Vec<String>,
    },
    /// Under the lock, the history no longer holds what the run was
    /// planned on: another process reverted a version below this step (up)
    /// or applied one above it (down) meanwhile.
    #[error(
        "another process {} since this run was planned ({found} rows {} this version, {expected} expected), so \
         this step was not run; run the command again, and it plans from the history as it is now",
        match .direction {
            crate::naming::Direction::Up => "reverted migrations below this one",
            crate::naming::Direction::Down => "applied migrations above this one",
        },
        match .direction {
            crate::naming::Direction::Up => "below",
            crate::naming::Direction::Down => "above",
        }
    )]
    PlanMoved {
        /// The step's direction.
        direction: crate::naming::Direction,
        /// The rows found below (up) or above (down) the step's version.
        found: u64,
        /// The rows the run expected there.
        expected: u64,
    },
    /// The step's statements wrote to the history table (a trigger of
    /// another table deleting or adding history rows).
    #[error(
        "its statements changed the history table ({rows_before} rows before, {rows_after} after, or rows \
         replaced): a trigger or statement of this migration writes to it, and a history that does not say what \
         ran would make a later run apply migrations again, so the migration was rolled back. Remove what writes \
         to the history table (look for triggers whose body names it)"
    )]
    HistoryTouched {
        /// Rows before the step.
        rows_before: u64,
        /// Rows after it.
        rows_after: u64,
    },
    /// PostgreSQL: another runner held the migration lock for the whole of
    /// [`Runner::lock_wait`](crate::Runner::lock_wait).
    #[error(
        "another runner held the migration lock for the whole wait ({waited_ms} ms){}: it is applying or \
         reverting migrations; let it finish, or wait longer (`Runner::lock_wait`)",
        .holder.as_ref().map(|h| format!(", held by {h}")).unwrap_or_default()
    )]
    MigrationLockWait {
        /// How long the run waited.
        waited_ms: u64,
        /// Who held it, when that could be read.
        holder: Option<String>,
    },
    /// A step outside a transaction left indexes it names INVALID
    /// (PostgreSQL's `CREATE INDEX CONCURRENTLY` that failed or was
    /// cancelled, then skipped by `IF NOT EXISTS`).
    #[error(
        "it left {} INVALID: a CREATE INDEX CONCURRENTLY that fails or is cancelled leaves its index behind, \
         unused by queries and, if UNIQUE, not stopping duplicates, and IF NOT EXISTS then skips it; the file \
         was not recorded. Drop it (`DROP INDEX CONCURRENTLY {}`), fix what made the build fail (duplicates?), \
         and run the migration again",
        .0.iter().map(|i| format!("index `{i}`")).collect::<Vec<_>>().join(", "),
        .0.join(", ")
    )]
    InvalidIndexes(Vec<String>),
    /// A no-transaction file left the connection without a rollback
    /// journal (`journal_mode` off, or memory on a file), however it was
    /// spelt; the mode was put back and nothing after it ran.
    #[error(
        "it left the connection's journal_mode at {mode}, which keeps no rollback journal on disk, so a later \
         migration that failed could not be rolled back; the mode was set back to {restored} and the file was \
         not recorded. Remove the `PRAGMA journal_mode` statement from the file"
    )]
    RollbackLost {
        /// The journal mode the file left.
        mode: String,
        /// The journal mode put back.
        restored: String,
    },
    /// SQLite did not take a pragma's value.
    #[error("pragma `{pragma}` was set to `{asked}` but SQLite reports `{found}`{note}")]
    PragmaNotTaken {
        /// The pragma.
        pragma: &'static str,
        /// The value the set asks for.
        asked: String,
        /// The value SQLite reports.
        found: String,
        /// Why, where it is known.
        note: &'static str,
    },
    /// An index set names a table the database does not have.
    #[error("table `{table}` does not exist{}", crate::dsl::did_you_mean(.suggestion.as_deref()))]
    NoSuchTable {
        /// The table named.
        table: String,
        /// A table of a close name.
        suggestion: Option<String>,
    },
    /// An index set names a column its table does not have.
    #[error("table `{table}` has no column `{column}` (its columns: {}){}", .columns.join(", "), crate::dsl::did_you_mean(crate::dsl::suggest(.column, .columns.iter().map(String::as_str))))]
    NoSuchColumn {
        /// The table.
        table: String,
        /// The column named.
        column: String,
        /// The table's columns.
        columns: Vec<String>,
    },
    /// Several tables or columns an index set names that the database does
    /// not have, each with the line that names it.
    #[error(
        "{} names the index set gives are not in the database:{}",
        .0.len(),
        .0.iter().map(|(line, f)| format!("\n  line {line}: {f}")).collect::<String>()
    )]
    IndexSetNames(Vec<(u32, Failure)>),
    /// An index of the same name exists with another definition.
    #[error(
        "index `{index}` already exists with another definition\n  existing: {existing}\n  wanted:   {wanted}\n  drop it in a SQL migration first, or give this one another name"
    )]
    IndexConflict {
        /// The index.
        index: String,
        /// The existing index's SQL.
        existing: String,
        /// The SQL the set would run.
        wanted: String,
    },
}

/// Rows of a child table that an `ON DELETE` action would touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cascade {
    /// The child table.
    pub table: String,
    /// The action: `CASCADE`, `SET NULL` or `SET DEFAULT`.
    pub action: String,
    /// How many of its rows reference a row of the dropped table.
    pub rows: u64,
}

fn cascades(children: &[Cascade]) -> String {
    children
        .iter()
        .map(|c| {
            let rows = if c.rows == 1 { "row" } else { "rows" };
            let what = match c.action.as_str() {
                "CASCADE" => "delete",
                "SET NULL" => "set to NULL the foreign key of",
                _ => "reset to its default the foreign key of",
            };
            format!(
                "{what} {} {rows} of `{}` (ON DELETE {})",
                c.rows, c.table, c.action
            )
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// One row reported by `PRAGMA foreign_key_check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The child table.
    pub table: String,
    /// The child row's rowid (none for WITHOUT ROWID tables).
    pub rowid: Option<i64>,
    /// The parent table it should reference.
    pub parent: String,
}

fn violations(v: &[Violation]) -> String {
    let shown: Vec<String> = v
        .iter()
        .take(10)
        .map(|v| match v.rowid {
            Some(id) => format!("{} rowid {} -> {}", v.table, id, v.parent),
            None => format!("{} -> {}", v.table, v.parent),
        })
        .collect();
    let more = if v.len() > 10 {
        format!(" and {} more", v.len() - 10)
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(", "))
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, done) = match self.direction {
            crate::naming::Direction::Up => ("migration", "applied"),
            crate::naming::Direction::Down => ("reverting migration", "reverted"),
        };
        write!(f, "{what} {} ({}", self.version, self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ") failed: {}", self.cause)?;
        if let Some(s) = &self.statement {
            write!(f, "\n  statement: {s}")?;
        }
        let before = self
            .applied_before
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let before = if self.applied_before.is_empty() {
            format!("this run {done} nothing before it")
        } else {
            format!("{done} before it in this run: {before}")
        };
        match self.undone {
            Undone::Migration => write!(f, "\n  it was rolled back; {before}"),
            Undone::Run if self.applied_before.is_empty() => {
                write!(f, "\n  atomic run: it was rolled back; {before}")
            }
            Undone::Run => write!(
                f,
                "\n  atomic run: it and every migration before it in this run ({}) were rolled back",
                self.applied_before
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Undone::NothingStarted => write!(f, "\n  nothing was changed"),
            Undone::Nothing => write!(
                f,
                "\n  it runs outside a transaction, so the statements before the failing one took effect; it {}, \
                 so fix it and run again (no-transaction files must be safe to re-run); {before}",
                match self.direction {
                    crate::naming::Direction::Up => "was not recorded as applied",
                    crate::naming::Direction::Down => "is still recorded as applied",
                }
            ),
        }
    }
}

/// The cause is part of the message (and kept in [`MigrationError::cause`]),
/// so it is not repeated as a source.
impl std::error::Error for MigrationError {}

/// A failure a database's client library reported, as the engine carries
/// it: the message to show, the database's code for it, and the client's
/// own error as the source (`rusqlite::Error` for SQLite; reach it with
/// [`DatabaseFailure::client`]). The backend that spoke to the database
/// makes it, so the engine names no client library.
#[derive(Debug)]
pub struct DatabaseFailure {
    message: String,
    code: Option<String>,
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl DatabaseFailure {
    /// A failure of `source`, shown as `message`, with the database's
    /// `code` for it when it has one.
    pub(crate) fn new(
        message: String,
        code: Option<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> DatabaseFailure {
        DatabaseFailure {
            message,
            code,
            source: Box::new(source),
        }
    }

    /// The message, as the user sees it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The database's code for the failure (SQLite's primary result code,
    /// as `DatabaseBusy`), when it gave one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The client library's own error, when it is an `E`:
    ///
    /// ```
    /// use migrate_core::rusqlite::{Error as SqliteError, ErrorCode};
    /// use migrate_core::Error;
    ///
    /// /// Whether SQLite said another connection held the lock.
    /// fn busy(e: &Error) -> bool {
    ///     let Error::Sqlite(failure) = e else { return false };
    ///     failure.client::<SqliteError>().and_then(SqliteError::sqlite_error_code)
    ///         == Some(ErrorCode::DatabaseBusy)
    /// }
    /// # let _ = busy;
    /// ```
    pub fn client<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.source.downcast_ref()
    }
}

impl fmt::Display for DatabaseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DatabaseFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// A database server's refusal as the runner reports it: its message, the
/// code it gave (PostgreSQL's SQLSTATE), and where in the statement. The
/// backend that spoke to the server makes it from its client's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", .code.as_deref().map(|c| format!(" [SQLSTATE {c}]")).unwrap_or_default())]
pub struct ServerFailure {
    /// The server's message (or its client's, for a lost connection).
    pub message: String,
    /// The code the server gave (a SQLSTATE), when it gave one.
    pub code: Option<String>,
    /// Where in the statement, in characters from 1, when the server said.
    pub position: Option<u32>,
}

impl ServerFailure {
    /// A failure this tool found, with no SQLSTATE.
    #[cfg(feature = "postgres")]
    pub(crate) fn new(message: impl Into<String>) -> ServerFailure {
        ServerFailure {
            message: message.into(),
            code: None,
            position: None,
        }
    }
}

/// Why `adopt` refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptError {
    /// Rails keeps `ar_internal_metadata`: its migrations are Ruby.
    #[error(
        "the database has `ar_internal_metadata`, so Rails (Active Record) manages it, and its migrations are \
         Ruby classes, not SQL files this tool can replay; write the schema as SQL migrations and record them \
         with `Runner::baseline`"
    )]
    Rails,
    /// No other tool's history is here.
    #[error(
        "no other migration tool's history was found (looked for the tables of refinery, sqlx, diesel, goose, \
         golang-migrate, dbmate and Flyway, and a PRAGMA user_version above 0); for a database made by hand or \
         by scripts, use `Runner::baseline`"
    )]
    NothingToAdopt,
    /// More than one tool's history is here.
    #[error("the histories of several tools are here ({}); say which one to adopt (`Runner::adopt`'s `from`)", .found.join(", "))]
    Several {
        /// Each tool and where its history is.
        found: Vec<String>,
    },
    /// The tool asked for has no history here.
    #[error("the database has no {tool} history ({looked})")]
    NotFound {
        /// The tool asked for.
        tool: crate::vocabulary::Tool,
        /// What was looked for.
        looked: String,
    },
    /// The tool's table is here but with other columns.
    #[error(
        "the table `{table}` is not {tool}'s: {tool}'s has the columns {}, and this one has {}",
        .expected.join(", "), .columns.join(", ")
    )]
    Shape {
        /// The tool asked for.
        tool: crate::vocabulary::Tool,
        /// Its table.
        table: String,
        /// The columns adopt needs.
        expected: Vec<String>,
        /// The columns found.
        columns: Vec<String>,
    },
    /// golang-migrate marked its version dirty: it failed part-way.
    #[error(
        "golang-migrate marks version {version} dirty: it failed part-way, and the database may hold part of it; \
         put the schema right and clear the mark with golang-migrate (`migrate force {version}`), then adopt"
    )]
    Dirty {
        /// The dirty version.
        version: u64,
    },
    /// The tool recorded a migration as failed.
    #[error(
        "{tool} recorded version {version} as failed, and the database may hold part of it; finish or undo it \
         with {tool}, then adopt"
    )]
    Failed {
        /// The tool.
        tool: crate::vocabulary::Tool,
        /// The failed version.
        version: u64,
    },
    /// An applied version without a file here.
    #[error(
        "{tool} recorded version {version} as applied, but no migration file here has that version; adopt with \
         the folder {tool} ran (restore the file)"
    )]
    NoFile {
        /// The tool.
        tool: crate::vocabulary::Tool,
        /// The version.
        version: u64,
    },
    /// `user_version` counts more migrations than there are files.
    #[error(
        "PRAGMA user_version is {user_version}, which counts {user_version} applied migrations, but the folder \
         has {files}; adopt with the folder that was run"
    )]
    TooFewFiles {
        /// The pragma's value.
        user_version: i64,
        /// How many migrations the set has.
        files: usize,
    },
    /// A version the tool wrote is not a number.
    #[error(
        "`{table}` holds the version `{value}`, which is not a whole number, so no file can match it"
    )]
    BadVersion {
        /// The tool's table.
        table: String,
        /// The value, as written.
        value: String,
    },
    /// This tool's history needs the other tool's table name, and the name
    /// to keep that table under is taken.
    #[error(
        "this tool's history is to be called `{table}`, which {tool}'s history holds, and the name to keep that \
         under, `{kept}`, is taken; choose another name for this tool's history (`Runner::table`)"
    )]
    KeptNameTaken {
        /// The tool.
        tool: crate::vocabulary::Tool,
        /// The shared name.
        table: String,
        /// The name it would be kept under.
        kept: String,
    },
}

/// Why a backup did not complete. In every case the destination is as it
/// was, and the scratch file is removed.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The destination exists and overwriting was not asked for.
    #[error(
        "{} already exists; choose another path, or remove the old copy first (only a backup of its own replaces a \
         file, and only with `force`)",
        .0.display()
    )]
    Exists(std::path::PathBuf),
    /// The destination is the database itself, or one of its journal
    /// files, under this or another name: writing it would destroy the
    /// database.
    #[error(
        "{} is {what} of the database {}; writing a copy there would destroy the database. Choose a path outside the database's own files",
        .dest.display(), .database.display()
    )]
    SameFile {
        /// The destination given.
        dest: std::path::PathBuf,
        /// The database.
        database: std::path::PathBuf,
        /// `the file`, or `the WAL file` and the like.
        what: &'static str,
    },
    /// The scratch file the copy is written to first (or one of its
    /// journal files, which it removes) is the database or one of its
    /// journal files: the database is named like a copy's scratch file.
    #[error(transparent)]
    ScratchIsDatabase(Box<ScratchClash>),
    /// Another backup to the same destination is running.
    #[error("another backup to {} is in progress (its scratch file {} is locked); wait for it, or choose another path", .dest.display(), .scratch.display())]
    Busy {
        /// The destination.
        dest: std::path::PathBuf,
        /// The scratch file it holds.
        scratch: std::path::PathBuf,
    },
    /// The source has no file (an in-memory database) where one is needed.
    #[error(
        "the database has no file to back up before migrating (an in-memory or temporary database)"
    )]
    NoFile,
    /// The copy failed its integrity check.
    #[error("the copy failed its integrity check ({0}); the destination was not written")]
    Corrupt(String),
    /// The caller stopped it.
    #[error("the backup was interrupted; the destination was not written")]
    Interrupted,
    /// SQLite refused.
    #[error("backup failed: {0}")]
    Sqlite(#[from] DatabaseFailure),
    /// The file system refused.
    #[error("backup failed: {0}")]
    Io(#[from] std::io::Error),
}

/// See [`BackupError::ScratchIsDatabase`].
#[derive(Debug, thiserror::Error)]
#[error(
    "a copy to {} is first written to {}, and {} is {what} of the database {}; writing or removing it would \
     destroy the database, so nothing was written. Choose another destination name",
    .dest.display(), .scratch.display(), .file.display(), .database.display()
)]
pub struct ScratchClash {
    /// The destination given.
    pub dest: std::path::PathBuf,
    /// The scratch file beside it.
    pub scratch: std::path::PathBuf,
    /// The scratch file or journal file that is the database's.
    pub file: std::path::PathBuf,
    /// The database.
    pub database: std::path::PathBuf,
    /// `the file`, or `the WAL file` and the like.
    pub what: &'static str,
}

/// The message and its causes (see [`crate::Error`]).
impl std::fmt::Debug for BackupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::debug_as_message(self, f)
    }
}

/// Why the files' schema is not the live one.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.lines().join("\n  "))]
pub struct Mismatch {
    /// Objects that differ.
    pub differences: Vec<crate::differences::Difference>,
    /// Persistent pragmas whose value is not the one the pragma sets give.
    pub pragmas: Vec<String>,
}

impl Mismatch {
    pub(crate) fn lines(&self) -> Vec<String> {
        let differences = self.differences.iter().map(ToString::to_string);
        differences.chain(self.pragmas.iter().cloned()).collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.differences.is_empty() && self.pragmas.is_empty()
    }
}
