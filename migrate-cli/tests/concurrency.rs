//! The concurrency suite: many processes migrating one database at once,
//! and a migration waiting behind another process's write transaction.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use migrate_core::rusqlite::Connection;

const PROCESSES: usize = 8;
const ROUNDS: usize = 10;
const STEPS: i64 = 15;
/// The step of the suite's set that is a pragma set (WAL from there on).
const PRAGMAS_AT: i64 = 8;

/// Migrations 1..=steps; each SQL one appends its version to `runs`, so a
/// migration applied twice shows. `pragmas_at` makes that step a pragma set
/// switching to WAL, under contention.
fn project(steps: i64, pragmas_at: Option<i64>) -> Project {
    let mut files = vec![(
        "0001_runs.sql".to_string(),
        "CREATE TABLE runs (version INTEGER NOT NULL);\nINSERT INTO runs VALUES (1);\n".to_string(),
    )];
    for v in 2..=steps {
        files.push(if pragmas_at == Some(v) {
            (format!("{v:04}_step.pragmas"), "journal_mode = wal\n".to_string())
        } else {
            (
                format!("{v:04}_step.sql"),
                format!(
                    "CREATE TABLE t{v} (x);\n\
                     WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500)\n\
                     INSERT INTO t{v} SELECT x FROM c;\n\
                     INSERT INTO runs VALUES ({v});\n"
                ),
            )
        });
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    Project::new(&refs)
}

/// The versions in `runs`, ordered by `order` (`version`, or `rowid` for
/// the order the rows went in).
fn runs(conn: &Connection, order: &str) -> Vec<i64> {
    conn.prepare(&format!("SELECT version FROM runs ORDER BY {order}"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every SQL step ran exactly once, and every step is recorded once.
fn assert_each_applied_once(db: &Path, steps: i64, pragmas_at: Option<i64>, context: &str) {
    let conn = Connection::open(db).unwrap();
    let runs = runs(&conn, "version");
    let expected: Vec<i64> = (1..=steps).filter(|v| Some(*v) != pragmas_at).collect();
    assert_eq!(runs, expected, "{context}: each migration ran exactly once");
    let recorded: i64 = conn
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(recorded, steps, "{context}");
}

#[test]
fn eight_processes_ten_rounds_each_migration_once() {
    let p = project(STEPS, Some(PRAGMAS_AT));
    for round in 0..ROUNDS {
        let db = format!("round-{round}.db");
        let commands = (0..PROCESSES)
            .map(|_| p.bare(&["--database", &db, "up"]))
            .collect();
        let context = format!("round {round}");
        run_at_once(commands, &context);
        let path = p.dir.path().join(&db);
        assert_each_applied_once(&path, STEPS, Some(PRAGMAS_AT), &context);
        let mode: String = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}

#[test]
fn eight_processes_on_a_rollback_journal_database() {
    let p = project(12, None);
    run_at_once(
        (0..PROCESSES).map(|_| p.command(&["up"])).collect(),
        "rollback journal",
    );
    assert_each_applied_once(&p.db(), 12, None, "rollback journal");
}

#[test]
fn atomic_and_per_migration_runners_mixed_in_wal_mode() {
    let p = project(8, None);
    Connection::open(p.db())
        .unwrap()
        .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    let commands = (0..6)
        .map(|i| {
            p.command(if i % 2 == 0 {
                &["up", "--atomic"]
            } else {
                &["up"]
            })
        })
        .collect();
    run_at_once(commands, "mixed");
    assert_each_applied_once(&p.db(), 8, None, "mixed");
}

#[test]
fn up_waits_for_another_writer_within_the_busy_timeout() {
    let p = project(STEPS, Some(PRAGMAS_AT));
    let out = p.cli(&["up", "--to", "3"]);
    assert_eq!(code(&out), 0);
    // Another process's write transaction, released after a short while.
    let holder = std::thread::spawn({
        let db = p.db();
        move || {
            let conn = Connection::open(db).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO runs VALUES (100);")
                .unwrap();
            std::thread::sleep(Duration::from_millis(400));
            conn.execute_batch("COMMIT").unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let out = p.cli(&["--busy-timeout", "10000", "up"]);
    holder.join().unwrap();
    assert_eq!(code(&out), 0, "it waited for the lock: {}", stderr(&out));
    let conn = Connection::open(p.db()).unwrap();
    let recorded: i64 = conn
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(recorded, STEPS);
    // It waited: the holder's row went in before any row of the
    // migrations it had to wait for (4 and later), in commit order.
    let order = runs(&conn, "rowid");
    let holder_at = order
        .iter()
        .position(|&v| v == 100)
        .expect("the holder's row");
    let first_waiting = order
        .iter()
        .position(|&v| v > 3 && v != 100)
        .expect("a later step");
    assert!(
        holder_at < first_waiting,
        "up ran before the holder committed: {order:?}"
    );
}

/// `verify` while `up` runs a step outside a transaction: the database is
/// half of that step, which is no drift. With a short wait verify says a
/// run is in progress and checked nothing (exit 3); with a long one it
/// waits for the step to end and then verifies (exit 0).
#[test]
fn verify_during_a_step_outside_a_transaction_waits_or_says_so() {
    let p = Project::new(&[
        ("0001_a.sql", "CREATE TABLE a (x);\n"),
        (
            "0002_slow.sql",
            "-- migrate:no-transaction\n\
             CREATE TABLE half (x);\n\
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000)\n\
             INSERT INTO half SELECT x FROM c;\n\
             CREATE TABLE done (x);\n",
        ),
    ]);
    ok(&p, &["up", "--to", "1"]);
    let mut up = p
        .command(&["up"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Under way: the step's first table is there.
    let conn = Connection::open(p.db()).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let under_way = (0..2000).any(|_| {
        let seen = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'half'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0);
        if seen == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        seen == 1
    });
    drop(conn);
    assert!(under_way, "the step never started");
    let out = p.cli(&["verify", "--busy-timeout", "50"]);
    // The step runs for seconds; should it have ended already, there was
    // nothing to wait for.
    if up.try_wait().unwrap().is_none() {
        assert_eq!(
            code(&out),
            3,
            "stdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stderr(&out)
                .contains("not verified: a migration run is applying a step outside a transaction"),
            "{}",
            stderr(&out)
        );
        assert!(!stdout(&out).contains("drift"), "{}", stdout(&out));
    }
    let out = p.cli(&["verify", "--busy-timeout", "60000"]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "ok: 2 applied migrations verified\n"),
        "{}",
        stderr(&out)
    );
    assert!(up.wait().unwrap().success());
}
