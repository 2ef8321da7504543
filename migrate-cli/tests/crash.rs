//! The crash suite: `migrate-cli up` killed with SIGKILL at random moments,
//! over and over. After every kill the database must be intact, each
//! migration's effects present exactly when its history row is, and a later
//! `up` must complete the set.
//!
//! `MIGRATE_CRASH_KILLS` (default 50) and `MIGRATE_CRASH_SEED` make longer,
//! reproducible soak runs.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use migrate_core::rusqlite::{Connection, OptionalExtension};

const MIGRATIONS: u64 = 110;
const ROWS: i64 = 300;
/// A pragma set: WAL from here on.
const PRAGMAS_AT: u64 = 40;
/// A no-transaction file: run, then recorded in a second step.
const OUTSIDE_AT: u64 = 70;

fn project() -> Project {
    let files: Vec<(String, String)> = (1..=MIGRATIONS)
        .map(|v| match v {
            PRAGMAS_AT => (format!("{v:04}_wal.pragmas"), format!("journal_mode = wal\nuser_version = {v}\n")),
            OUTSIDE_AT => (
                format!("{v:04}_outside.sql"),
                "-- migrate:no-transaction\n\
                 CREATE TABLE IF NOT EXISTS outside (x INTEGER NOT NULL);\n\
                 INSERT INTO outside SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM outside);\n"
                    .to_owned(),
            ),
            _ => (
                format!("{v:04}_t{v}.sql"),
                format!(
                    "CREATE TABLE t{v} (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n\
                     WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {ROWS})\n\
                     INSERT INTO t{v} (body) SELECT printf('row %d of migration {v}', x) FROM n;\n"
                ),
            ),
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    Project::new(&refs)
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// A number from the environment, decimal or `0x` hex.
fn env(name: &str, default: u64) -> u64 {
    let Ok(v) = std::env::var(name) else {
        return default;
    };
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number"))
}

/// Checks the invariants; returns how many migrations are recorded.
fn check(db: &std::path::Path, context: &str) -> u64 {
    let conn = Connection::open(db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "{context}");
    let has_history: bool = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'",
            [],
            |_| Ok(()),
        )
        .optional()
        .unwrap()
        .is_some();
    let recorded: Vec<u64> = if has_history {
        let mut stmt = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|v| v.unwrap() as u64)
            .collect()
    } else {
        Vec::new()
    };
    let n = recorded.len() as u64;
    assert_eq!(
        recorded,
        (1..=n).collect::<Vec<_>>(),
        "{context}: recorded in order, without gaps"
    );
    for v in (1..=MIGRATIONS).filter(|v| ![PRAGMAS_AT, OUTSIDE_AT].contains(v)) {
        let rows: Option<i64> = conn
            .query_row(&format!("SELECT count(*) FROM t{v}"), [], |r| r.get(0))
            .ok();
        if v <= n {
            assert_eq!(
                rows,
                Some(ROWS),
                "{context}: migration {v} is recorded, so all its rows are there"
            );
        } else {
            assert_eq!(
                rows, None,
                "{context}: migration {v} is not recorded, so nothing of it is there"
            );
        }
    }
    if n >= PRAGMAS_AT {
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            (mode.as_str(), version),
            ("wal", PRAGMAS_AT as i64),
            "{context}"
        );
    }
    // Run but not yet recorded, a no-transaction step may have taken effect;
    // being safe to re-run, it is whole either way.
    let outside: Option<i64> = conn
        .query_row("SELECT count(*) FROM outside", [], |r| r.get(0))
        .ok();
    if n >= OUTSIDE_AT {
        assert_eq!(outside, Some(1), "{context}");
    } else {
        assert!(
            matches!(outside, None | Some(0) | Some(1)),
            "{context}: {outside:?}"
        );
    }
    n
}

#[test]
fn killed_runs_never_leave_a_half_applied_migration() {
    let p = project();
    let kills = env("MIGRATE_CRASH_KILLS", 50);
    let seed = env("MIGRATE_CRASH_SEED", 0x5eed_1234);
    let mut rng = Rng(seed | 1);

    // How long a whole run takes, to aim the kills inside it.
    let start = Instant::now();
    let out = p.bare(&["--database", "timing.db", "up"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let whole = start.elapsed().as_micros() as u64;

    let mut round = 0;
    let mut db_name = format!("crash-{round}.db");
    let mut progress = Vec::new();
    for kill in 0..kills {
        let db = p.dir.path().join(&db_name);
        let mut child = p
            .bare(&["--database", &db_name, "up"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(whole)));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        let context = format!("seed {seed:#x}, kill {kill}, {db_name}");
        let done = if db.exists() { check(&db, &context) } else { 0 };
        progress.push(done);
        if done == MIGRATIONS {
            round += 1;
            db_name = format!("crash-{round}.db");
        }
    }
    // Every database left behind completes with one more run.
    for r in 0..=round {
        let name = format!("crash-{r}.db");
        let out = p.bare(&["--database", &name, "up"]).output().unwrap();
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        assert_eq!(check(&p.dir.path().join(&name), &name), MIGRATIONS);
    }
    // The kills landed at many different points, not all before or after.
    progress.sort_unstable();
    progress.dedup();
    assert!(
        progress.len() >= (kills as usize / 5).min(10),
        "kills landed at too few points: {progress:?}"
    );
    eprintln!(
        "crash suite: {kills} kills (seed {seed:#x}), landing after {} distinct migration counts",
        progress.len()
    );
}
