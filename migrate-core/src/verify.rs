//! `verify`: does the live database still match its migrations?
//!
//! Checks, without changing anything: the checksums of applied files; the
//! persistent pragmas of applied pragma sets on the database and the
//! per-connection ones in the connection's profile; every index of every
//! applied index set, with its definition; every `expect` assertion.
//! Pending migrations are listed, not counted as problems.

use std::fmt;

use rusqlite::Connection;

use crate::dsl::catalogue::Scope;
use crate::dsl::indexes;
use crate::error::Error;
use crate::history::{self, Table};
use crate::introspect;
use crate::naming::Kind;
use crate::plan::{self, State};
use crate::schema::Schema;
use crate::sets;
use crate::source::{Migration, Migrations};

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Applied migrations whose files were checked.
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
    /// What does not hold.
    pub message: String,
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

fn problem(m: Option<&Migration>, line: Option<u32>, message: impl Into<String>) -> Problem {
    Problem {
        file: m.map(|m| m.file.to_string()),
        line,
        message: message.into(),
    }
}

/// Verifies `conn` against `set`. The caller applies the connection profile
/// first (as [`Migrations::open`] and the CLI do), so that it is checked too.
pub fn verify(set: &Migrations, conn: &Connection, table: &Table) -> Result<Verification, Error> {
    // One read transaction for every read: the history and the schema are
    // seen as of one commit, even while another process migrates.
    let _snapshot = conn
        .is_autocommit()
        .then(|| conn.unchecked_transaction())
        .transpose()?;
    let history = history::read(conn, table)?;
    let mut v = Verification::default();
    let mut applied: Vec<&Migration> = Vec::new();
    for row in plan::status(set.as_slice(), &history) {
        let m = set.iter().find(|m| m.version == row.version);
        match row.state {
            State::Applied => applied.extend(m),
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
                    format!(
                        "edited after it was applied: applied with checksum {}, the file now has {now}",
                        was.unwrap_or_default()
                    ),
                ));
            }
            State::Missing => v.problems.push(problem(
                None,
                None,
                format!(
                    "version {} ({}) is applied but has no file",
                    row.version, row.name
                ),
            )),
        }
    }
    v.applied = applied.len();

    // Persistent pragmas: the applied sets' final values.
    let persistent = crate::profile::settings_of(applied.iter().copied(), Scope::Persistent);
    for (m, s) in &persistent {
        if let Err(f) = sets::check_setting(conn, s) {
            v.problems
                .push(problem(Some(m), Some(s.line), f.to_string()));
        }
    }
    for (file, line, f) in set.profile().check(conn) {
        v.problems.push(Problem {
            file: Some(file),
            line: Some(line),
            message: format!("{f} on this connection (the connection profile)"),
        });
    }

    v.problems.extend(drift(set, conn, table, &applied)?);

    // Indexes and plan assertions of applied index sets.
    for &m in applied.iter().filter(|m| m.kind == Kind::Indexes) {
        let Ok(parsed) = indexes::parse(&m.text) else {
            continue;
        };
        for index in &parsed.indexes {
            match verify_index(conn, index)? {
                None => {}
                Some(message) => v.problems.push(problem(Some(m), Some(index.line), message)),
            }
        }
        for e in &parsed.expects {
            if let Err(plan) = introspect::check_expect(conn, e) {
                v.problems.push(problem(
                    Some(m),
                    Some(e.line),
                    format!(
                        "the plan of \"{}\" does not use {}: {plan}",
                        e.query, e.index
                    ),
                ));
            }
        }
    }
    Ok(v)
}

/// Drift: the live schema against the schema the applied files produce when
/// replayed into an in-memory database, object by object. Objects whose
/// text differs are compared by structure (columns and foreign keys of a
/// table, key columns of an index) before they are called changed.
fn drift(
    set: &Migrations,
    conn: &Connection,
    table: &Table,
    applied: &[&Migration],
) -> Result<Vec<Problem>, Error> {
    let versions: Vec<u64> = applied.iter().map(|m| m.version).collect();
    let replay_set = set.subset(|v| versions.contains(&v));
    let mut memory = Connection::open_in_memory()?;
    if let Err(e) = replay_set
        .runner()
        .table(table.clone())
        .schema_only()
        .allow_out_of_order(true)
        .run(&mut memory)
    {
        return Ok(vec![problem(
            None,
            None,
            format!(
                "drift not checked: the applied migrations do not replay into an empty in-memory database: {e}"
            ),
        )]);
    }
    let live = Schema::read(conn, Some(table))?;
    let files = Schema::read(&memory, Some(table))?;
    // Indexes of index sets are checked against their line instead.
    let from_sets: Vec<String> = applied
        .iter()
        .filter(|m| m.kind == Kind::Indexes)
        .filter_map(|m| indexes::parse(&m.text).ok())
        .flat_map(|s| s.indexes.into_iter().map(|i| i.name.to_ascii_lowercase()))
        .collect();
    let differences = live.differences(&files, |index| {
        from_sets.contains(&index.to_ascii_lowercase())
    });
    Ok(differences
        .into_iter()
        .map(|d| problem(None, None, d.to_string()))
        .collect())
}

/// For `verify`: `None` when the index exists with its definition, else
/// what is wrong. Only reads the database (a definition that differs in
/// text is compared with one built in memory).
fn verify_index(conn: &Connection, index: &indexes::Index) -> rusqlite::Result<Option<String>> {
    Ok(match introspect::same_index(conn, index)? {
        None => Some(format!(
            "index `{}` is missing; wanted: {}",
            index.name,
            index.sql()
        )),
        Some((true, _)) => None,
        Some((false, existing)) => Some(format!(
            "index `{}` has another definition\n  existing: {existing}\n  wanted:   {}",
            index.name,
            index.sql()
        )),
    })
}
