//! The vocabulary the engine and the backends speak, below both: one
//! migration of a run and what a run did, what a step noted, the sets a
//! backend applies its own way, and the other tools whose histories
//! `adopt` reads. Types only, and what they say of themselves.

use std::fmt;
use std::time::Duration;

use crate::dsl::indexes::IndexSet;
use crate::dsl::pragmas::PragmaSet;
use crate::naming::{Direction, Kind};

/// An applied index set: its version, its file, and its indexes.
pub(crate) type Declared = (u64, String, IndexSet);

/// Something a step did that the user should know, with its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The migration file.
    pub file: String,
    /// What happened.
    pub kind: NoteKind,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            NoteKind::Vacuumed { pragmas } => write!(
                f,
                "{}: ran VACUUM so that {} took effect",
                self.file,
                pragmas.join(" and ")
            ),
            NoteKind::NotApplicable { setting } => write!(
                f,
                "{}: `{setting}` skipped: an in-memory or temporary database has no file to take it",
                self.file
            ),
            NoteKind::IndexRestored { index, set } => write!(
                f,
                "{}: dropped the index `{index}` that {set} declares (a table rebuild drops its indexes); it was \
                 built again in the same transaction",
                self.file
            ),
        }
    }
}

/// A note reads as its text, so that it compares with one.
impl PartialEq<&str> for Note {
    fn eq(&self, text: &&str) -> bool {
        self.to_string().as_str() == *text
    }
}

/// An `expect` line of an index set whose query does not use its index
/// after the set ran (a plan depends on data, so `up` warns and `verify`
/// fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanWarning {
    /// The index set.
    pub file: String,
    /// The `expect` line.
    pub line: u32,
    /// Its query.
    pub query: String,
    /// The index it expects.
    pub index: String,
    /// The plan the database chose: SQLite's detail lines, or PostgreSQL's
    /// plan nodes, joined with `; `.
    pub plan: String,
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: the plan of \"{}\" does not use {}: {}",
            self.file, self.line, self.query, self.index, self.plan
        )
    }
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
    /// Its file, relative to the migrations folder (reverting: the file of
    /// its down migration).
    pub file: String,
    /// Applied or reverted.
    pub direction: Direction,
    /// How long it took (zero in a dry run).
    pub duration: Duration,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Migrations applied, in order (empty in a dry run).
    pub applied: Vec<Step>,
    /// Migrations reverted, in order (empty in a dry run).
    pub reverted: Vec<Step>,
    /// A dry run: the steps a real run would take.
    pub planned: Vec<Step>,
    /// Versions another process applied (or reverted) while this run waited
    /// for the lock.
    pub skipped: Vec<u64>,
    /// Things the user should know (`file: ran VACUUM so that page_size took effect`).
    pub notes: Vec<Note>,
    /// Query-plan assertions that did not hold (`up` warns; `verify` fails).
    pub warnings: Vec<PlanWarning>,
    /// Where the backup taken before the first change went.
    pub backup: Option<std::path::PathBuf>,
}

/// What a step did besides its statements.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteKind {
    /// A pragma set ran `VACUUM` so that these settings took effect.
    Vacuumed {
        /// `page_size`, `auto_vacuum`.
        pragmas: Vec<&'static str>,
    },
    /// A setting that only a database file can take, on an in-memory or
    /// temporary database: skipped (its test databases run the app's sets).
    NotApplicable {
        /// The statement, `PRAGMA journal_mode = wal`.
        setting: String,
    },
    /// The migration's statements dropped an index that an applied index
    /// set declares (a table rebuild does): it was built again in the same
    /// transaction.
    IndexRestored {
        /// The index.
        index: String,
        /// The index set that declares it.
        set: String,
    },
}

/// A set a backend applies its own way.
pub(crate) enum Set {
    /// A pragma set.
    Pragmas(PragmaSet),
    /// An index set.
    Indexes(IndexSet),
    /// An index set reverted: its indexes, dropped.
    DropIndexes(IndexSet),
}

/// A migration tool whose history `adopt` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tool {
    /// refinery: `refinery_schema_history`.
    Refinery,
    /// sqlx: `_sqlx_migrations`.
    Sqlx,
    /// diesel: `__diesel_schema_migrations`.
    Diesel,
    /// goose: `goose_db_version`.
    Goose,
    /// golang-migrate: `schema_migrations(version, dirty)`.
    GolangMigrate,
    /// dbmate: `schema_migrations(version)`, the version as text.
    Dbmate,
    /// Flyway: `flyway_schema_history`.
    Flyway,
    /// rusqlite_migration, and any tool that counts applied migrations in
    /// `PRAGMA user_version`.
    UserVersion,
}

impl Tool {
    /// Every tool, in the order detection reports them.
    pub const ALL: [Tool; 8] = [
        Tool::Refinery,
        Tool::Sqlx,
        Tool::Diesel,
        Tool::Goose,
        Tool::GolangMigrate,
        Tool::Dbmate,
        Tool::Flyway,
        Tool::UserVersion,
    ];

    /// The name `--from` takes.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Refinery => "refinery",
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::Goose => "goose",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Dbmate => "dbmate",
            Tool::Flyway => "flyway",
            Tool::UserVersion => "rusqlite_migration",
        }
    }

    /// The tool of that name (`user_version` also names rusqlite_migration).
    ///
    /// ```
    /// use migrate_core::adopt::Tool;
    /// assert_eq!(Tool::from_name("goose"), Some(Tool::Goose));
    /// assert_eq!(Tool::from_name("user_version"), Some(Tool::UserVersion));
    /// assert_eq!(Tool::from_name("rails"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Tool> {
        let name = name.to_ascii_lowercase();
        if name == "user_version" {
            return Some(Tool::UserVersion);
        }
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The table that holds its history (`None`: `PRAGMA user_version`).
    pub fn table(self) -> Option<&'static str> {
        match self {
            Tool::Refinery => Some("refinery_schema_history"),
            Tool::Sqlx => Some("_sqlx_migrations"),
            Tool::Diesel => Some("__diesel_schema_migrations"),
            Tool::Goose => Some("goose_db_version"),
            Tool::GolangMigrate | Tool::Dbmate => Some("schema_migrations"),
            Tool::Flyway => Some("flyway_schema_history"),
            Tool::UserVersion => None,
        }
    }

    /// The columns its table has, all of which adopt reads or tells by.
    pub(crate) fn columns(self) -> &'static [&'static str] {
        match self {
            Tool::Refinery => &["version", "name", "applied_on", "checksum"],
            Tool::Sqlx => &[
                "version",
                "description",
                "installed_on",
                "success",
                "checksum",
                "execution_time",
            ],
            Tool::Diesel => &["version", "run_on"],
            Tool::Goose => &["id", "version_id", "is_applied", "tstamp"],
            Tool::GolangMigrate => &["version", "dirty"],
            Tool::Dbmate => &["version"],
            Tool::Flyway => &[
                "installed_rank",
                "version",
                "type",
                "installed_on",
                "success",
            ],
            Tool::UserVersion => &[],
        }
    }

    /// The name its table is kept under when this tool's history takes
    /// its name: `golang_migrate_schema_migrations`.
    pub(crate) fn kept_name(self, table: &str) -> String {
        format!("{}{table}", self.kept_prefix())
    }

    /// What [`Tool::kept_name`] puts before the table's name.
    pub(crate) fn kept_prefix(self) -> String {
        format!("{}_", self.name().replace('-', "_"))
    }

    /// Whether `columns` (lowercase) are this tool's: its own, and for the
    /// shared name `schema_migrations`, none of the other users' (dbmate's
    /// one column is also in golang-migrate's and in this tool's).
    pub(crate) fn has_shape(self, columns: &[String]) -> bool {
        let has = |c: &str| columns.iter().any(|have| have == c);
        self.columns().iter().all(|c| has(c))
            && match self {
                Tool::Dbmate => !has("dirty") && !has("checksum"),
                _ => true,
            }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
