//! Helpers for the integration tests: a migrations folder and a database
//! file in a fresh temp dir.

use std::path::{Path, PathBuf};

use migrate_core::rusqlite::Connection;
use migrate_core::{Error, Migrations, Report, Runner};

/// A temp dir holding `migrations/` and `app.db`, removed on drop.
pub struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    /// A fixture whose folder holds `files` (name, contents).
    pub fn new(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("migrations")).expect("migrations dir");
        let f = Fixture { dir };
        for (name, text) in files {
            f.write(name, text);
        }
        f
    }

    /// Writes (or overwrites) a migration file.
    pub fn write(&self, name: &str, text: &str) {
        let path = self.migrations().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folder");
        }
        std::fs::write(path, text).expect("write migration");
    }

    /// Removes a migration file.
    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.migrations().join(name)).expect("remove migration");
    }

    /// The migrations folder.
    pub fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    /// The database file.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("app.db")
    }

    /// The temp dir.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The folder, loaded as the CLI loads it.
    pub fn set(&self) -> Migrations {
        Migrations::from_dir(self.migrations()).expect("valid migrations")
    }

    /// Loads the folder and runs it on a new connection, with the runner
    /// set up by `with` (`|r| r.atomic(true)`).
    pub fn run_with(&self, with: impl FnOnce(Runner<'_>) -> Runner<'_>) -> Result<Report, Error> {
        let set = self.set();
        with(set.runner()).run(&mut self.conn())
    }

    /// A new connection to the database file.
    pub fn conn(&self) -> Connection {
        Connection::open(self.db()).expect("open database")
    }
}

/// One column of every row of a query, as text.
pub fn column(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).expect("prepare");
    stmt.query_map([], |r| r.get::<_, migrate_core::rusqlite::types::Value>(0))
        .expect("query")
        .map(|v| match v.expect("row") {
            migrate_core::rusqlite::types::Value::Text(s) => s,
            migrate_core::rusqlite::types::Value::Integer(i) => i.to_string(),
            migrate_core::rusqlite::types::Value::Null => "NULL".into(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// The names of the tables of the database, sorted, leaving out SQLite's own.
pub fn tables(conn: &Connection) -> Vec<String> {
    column(
        conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
}

/// The seed of a generated test: `MIGRATE_TEST_SEED`, else `default`.
pub fn seed(default: u64) -> u64 {
    std::env::var("MIGRATE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift), so generated cases reproduce.
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Lint's word against the database's, for one generated case: a finding
/// that fails on the data must fail when run, and a run that fails must
/// have been said to. Counts `(said to fail, failed)` into `tally`.
pub fn lint_agrees<E: std::fmt::Display>(
    found: &[migrate_core::lint::Finding],
    run: Result<(), E>,
    case: &str,
    tally: &mut (u32, u32),
) {
    let says_fails = found.iter().any(|f| f.fails_on_data);
    if says_fails {
        tally.0 += 1;
        assert!(
            run.is_err(),
            "lint said it fails, and it ran: {case}\n{found:#?}"
        );
    }
    if let Err(e) = run {
        tally.1 += 1;
        assert!(
            says_fails,
            "it failed ({e}), and lint did not say so: {case}\n{found:#?}"
        );
    }
}
