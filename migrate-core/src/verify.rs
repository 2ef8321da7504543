//! `verify`: does the live database still match its migrations?
//!
//! Checks, without changing anything: the checksums of applied files; the
//! persistent pragmas of applied pragma sets on the database and the
//! per-connection ones in the connection's profile; every index of every
//! applied index set, with its definition; every `expect` assertion.
//! Pending migrations are listed, not counted as problems.

use std::fmt;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::dsl::catalogue::Scope;
use crate::dsl::indexes;
use crate::error::Error;
use crate::history::Table;
use crate::introspect;
use crate::naming::Kind;
use crate::plan::{self, State};
use crate::runmark;
use crate::schema::Difference;
use crate::sets;
use crate::source::{Migration, Migrations};
use crate::sqlite_history;

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Applied migrations: the rows of the history, whatever became of
    /// their files.
    pub applied: usize,
    /// Versions not applied yet (not a problem here).
    pub pending: Vec<u64>,
    /// Everything that does not hold.
    pub problems: Vec<Problem>,
}

/// One check that failed, at the file and line that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The migration file, when one is at fault.
    pub file: Option<String>,
    /// The line in it.
    pub line: Option<u32>,
    /// What does not hold, to match on.
    pub kind: ProblemKind,
    /// What does not hold: the kind, as text.
    pub message: String,
}

/// What does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// An applied file edited since it ran.
    Edited {
        /// The checksum recorded when it ran.
        applied: String,
        /// The file's checksum now.
        now: String,
    },
    /// A down file edited since its up ran: a revert would run text that
    /// may not undo what ran.
    DownEdited {
        /// The down file's checksum when the up ran.
        applied: String,
        /// Its checksum now (or that it is gone).
        now: String,
    },
    /// An applied version with no file.
    NoFile {
        /// The version.
        version: u64,
        /// Its name in the history.
        name: String,
    },
    /// A pragma without the value its set gave it, on the database or (for
    /// a per-connection one) on this connection.
    Pragma {
        /// Per-connection: checked on the connection, as its profile.
        profile: bool,
        /// What SQLite reported.
        detail: String,
    },
    /// The live schema differs from the one the applied files make.
    Drift(Difference),
    /// The applied files do not replay into an empty database, so drift
    /// was not checked.
    NotReplayed(String),
    /// Applied files were edited or deleted since they ran: what ran is not
    /// known, so drift was not checked (it would blame the database for
    /// the files' change).
    DriftUnknown {
        /// The versions whose files changed or went.
        versions: Vec<u64>,
    },
    /// An index of an index set is missing, or defined differently.
    Index {
        /// Its name.
        index: String,
        /// Its definition in the database, if it exists.
        existing: Option<String>,
        /// The definition its line makes.
        wanted: String,
    },
    /// An index PostgreSQL marks INVALID (a `CONCURRENTLY` build that
    /// failed or was cancelled): queries do not use it, and a UNIQUE one
    /// does not stop duplicates.
    InvalidIndex {
        /// Its name.
        index: String,
    },
    /// An `expect` line whose query does not use its index.
    Plan {
        /// The query.
        query: String,
        /// The index it expects.
        index: String,
        /// The plan SQLite chose.
        plan: String,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::Edited { applied, now } => write!(
                f,
                "edited after it was applied: applied with checksum {applied}, the file now has {now}"
            ),
            ProblemKind::DownEdited { applied, now } => write!(
                f,
                "down migration edited after its up ran, so it may not undo what ran: its checksum was \
                 {applied} when the up ran, it is now {now} (read it; if it is right, repair records it)"
            ),
            ProblemKind::NoFile { version, name } => {
                write!(f, "version {version} ({name}) is applied but has no file")
            }
            ProblemKind::Pragma {
                profile: false,
                detail,
            } => f.write_str(detail),
            ProblemKind::Pragma {
                profile: true,
                detail,
            } => {
                write!(f, "{detail} on this connection (the connection profile)")
            }
            ProblemKind::Drift(d) => write!(f, "{d}"),
            ProblemKind::NotReplayed(e) => write!(
                f,
                "drift not checked: the applied migrations do not replay into an empty database: {e}"
            ),
            ProblemKind::DriftUnknown { versions } => {
                let list: Vec<String> = versions.iter().map(u64::to_string).collect();
                write!(
                    f,
                    "drift not checked: the text that ran as version{} {} is not known (edited or deleted since); \
                     put the file{} back as {} ran (from version control) and verify again, or repair the history",
                    if versions.len() == 1 { "" } else { "s" },
                    list.join(", "),
                    if versions.len() == 1 { "" } else { "s" },
                    if versions.len() == 1 { "it" } else { "they" },
                )
            }
            ProblemKind::Index {
                index,
                existing: None,
                wanted,
            } => write!(f, "index `{index}` is missing; wanted: {wanted}"),
            ProblemKind::Index {
                index,
                existing: Some(existing),
                wanted,
            } => write!(
                f,
                "index `{index}` has another definition\n  existing: {existing}\n  wanted:   {wanted}"
            ),
            ProblemKind::InvalidIndex { index } => write!(
                f,
                "index `{index}` is INVALID (a CREATE INDEX CONCURRENTLY that failed or was cancelled): queries \
                 do not use it and, if UNIQUE, it does not stop duplicates; drop it (`DROP INDEX CONCURRENTLY \
                 {index}`) and build it again"
            ),
            ProblemKind::Plan { query, index, plan } => {
                write!(f, "the plan of \"{query}\" does not use {index}: {plan}")
            }
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

pub(crate) fn problem(m: Option<&Migration>, line: Option<u32>, kind: ProblemKind) -> Problem {
    Problem {
        file: m.map(|m| m.file.to_string()),
        line,
        message: kind.to_string(),
        kind,
    }
}

/// Verifies `conn` against `set`. The caller applies the connection profile
/// first (as [`Migrations::open`] and the CLI do), so that it is checked too.
pub fn verify(set: &Migrations, conn: &Connection, table: &Table) -> Result<Verification, Error> {
    set.check_dialect(crate::sql::Dialect::Sqlite)?;
    table.check_sqlite()?;
    // One read transaction for every read: the history and the schema are
    // seen as of one commit, even while another process migrates. A step
    // outside a transaction has no commit: its run mark, free and unmoved
    // around the snapshot's first read, says none was under way.
    let wait = Duration::from_millis(
        conn.query_row("PRAGMA busy_timeout", [], |r| r.get::<_, i64>(0))?
            .max(0) as u64,
    );
    let start = Instant::now();
    let (_snapshot, history) = loop {
        let before = runmark::look(conn);
        let snapshot = conn
            .is_autocommit()
            .then(|| conn.unchecked_transaction())
            .transpose()?;
        // A run whose step outside a transaction holds the lock past the
        // busy timeout (spilling a large change) is under way too: waited
        // for as long, then said so.
        let history = match sqlite_history::read(conn, table) {
            Err(Error::Sqlite(f))
                if f.code() == Some("DatabaseBusy") && before == runmark::Seen::Held =>
            {
                None
            }
            read => Some(read?),
        };
        let after = runmark::look(conn);
        if let Some(history) = history
            && before == after
            && before != runmark::Seen::Held
        {
            break (snapshot, history);
        }
        drop(snapshot);
        if start.elapsed() >= wait {
            return Err(Error::RunInProgress {
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut v, applied, unknown) = check_history(set, &history);

    // Persistent pragmas: the applied sets' final values.
    let persistent = crate::source::settings_of(applied.iter().copied(), Scope::Persistent);
    for (m, s) in &persistent {
        if let Err(f) = sets::check_setting(conn, s) {
            let kind = ProblemKind::Pragma {
                profile: false,
                detail: f.to_string(),
            };
            v.problems.push(problem(Some(m), Some(s.line), kind));
        }
    }
    for (file, line, f) in set.profile().check(conn) {
        let kind = ProblemKind::Pragma {
            profile: true,
            detail: f.to_string(),
        };
        v.problems.push(Problem {
            file: Some(file),
            line: Some(line),
            message: kind.to_string(),
            kind,
        });
    }

    if unknown.is_empty() {
        v.problems.extend(drift(set, conn, table, &applied)?);
    } else {
        let kind = ProblemKind::DriftUnknown { versions: unknown };
        v.problems.push(problem(None, None, kind));
    }

    // Indexes and plan assertions of applied index sets.
    for &m in applied.iter().filter(|m| m.kind == Kind::Indexes) {
        let Ok(parsed) = indexes::parse(&m.text) else {
            continue;
        };
        for index in &parsed.indexes {
            if let Some(kind) = verify_index(conn, index)? {
                v.problems.push(problem(Some(m), Some(index.line), kind));
            }
        }
    }
    let plans = crate::runner::failed_expects(applied.iter().copied(), |e| {
        introspect::check_expect(conn, e)
    });
    v.problems.extend(plans.into_iter().map(Problem::from));
    Ok(v)
}

/// An `expect` line that does not hold, as `verify` reports it.
impl From<crate::runner::PlanWarning> for Problem {
    fn from(w: crate::runner::PlanWarning) -> Problem {
        let kind = ProblemKind::Plan {
            query: w.query,
            index: w.index,
            plan: w.plan,
        };
        Problem {
            file: Some(w.file),
            line: Some(w.line),
            message: kind.to_string(),
            kind,
        }
    }
}

/// The applied migrations of `set` per `history` whose files are as they
/// ran, the verification so far (pending versions, edited files, versions
/// without a file), and the versions whose text that ran is not known.
pub(crate) fn check_history<'s>(
    set: &'s Migrations,
    history: &[crate::plan::HistoryRow],
) -> (Verification, Vec<&'s Migration>, Vec<u64>) {
    let mut v = Verification::default();
    let mut applied: Vec<&Migration> = Vec::new();
    let mut unknown = Vec::new();
    for row in plan::status(set.as_slice(), history) {
        if matches!(row.state, State::Modified | State::Missing) {
            unknown.push(row.version);
        }
        let m = set.iter().find(|m| m.version == row.version);
        match row.state {
            State::Applied => {
                let edited = m.zip(history.iter().find(|h| h.version == row.version));
                if let Some(down) = edited.and_then(|(m, h)| plan::down_edited(m, h)) {
                    let kind = ProblemKind::DownEdited {
                        applied: down.applied,
                        now: down.now,
                    };
                    v.problems.push(Problem {
                        file: Some(down.file),
                        line: None,
                        message: kind.to_string(),
                        kind,
                    });
                }
                applied.extend(m);
            }
            State::Pending => v.pending.push(row.version),
            State::Modified => {
                let now = m.map(|m| m.checksum.to_string()).unwrap_or_default();
                let was = history
                    .iter()
                    .find(|h| h.version == row.version)
                    .map(|h| h.checksum.clone());
                v.problems.push(problem(
                    m,
                    None,
                    ProblemKind::Edited {
                        applied: was.unwrap_or_default(),
                        now,
                    },
                ));
            }
            State::Missing => v.problems.push(problem(
                None,
                None,
                ProblemKind::NoFile {
                    version: row.version,
                    name: row.name,
                },
            )),
        }
    }
    v.applied = history.len();
    (v, applied, unknown)
}

/// Drift: the live schema against the schema the applied files produce when
/// replayed into an in-memory database, object by object (see
/// [`replay_differences`]). The indexes of index sets are left out: they
/// are checked against their lines instead.
fn drift(
    set: &Migrations,
    conn: &Connection,
    table: &Table,
    applied: &[&Migration],
) -> Result<Vec<Problem>, Error> {
    let from_sets: Vec<String> = applied
        .iter()
        .filter(|m| m.kind == Kind::Indexes)
        .filter_map(|m| indexes::parse(&m.text).ok())
        .flat_map(|s| s.indexes.into_iter().map(|i| i.name.to_ascii_lowercase()))
        .collect();
    let found = crate::sqlite::replay_differences(set, applied, conn, table, |index| {
        from_sets.contains(&index.to_ascii_lowercase())
    })?;
    Ok(match found {
        Ok(differences) => differences
            .into_iter()
            .map(|d| problem(None, None, ProblemKind::Drift(d)))
            .collect(),
        Err(e) => vec![problem(None, None, ProblemKind::NotReplayed(e))],
    })
}

/// For `verify`: `None` when the index exists with its definition, else
/// what is wrong. Only reads the database (a definition that differs in
/// text is compared with one built in memory).
fn verify_index(
    conn: &Connection,
    index: &indexes::Index,
) -> rusqlite::Result<Option<ProblemKind>> {
    let existing = match introspect::same_index(conn, index)? {
        Some((true, _)) => return Ok(None),
        Some((false, existing)) => Some(existing),
        None => None,
    };
    Ok(Some(ProblemKind::Index {
        index: index.name.clone(),
        existing,
        wanted: index.sql(),
    }))
}
