//! The concurrency suite: many processes migrating one database at once,
//! and a migration waiting behind another process's write transaction.

mod common;

use std::time::Duration;

use common::*;
use migrate_core::rusqlite::Connection;

const PROCESSES: usize = 8;
const ROUNDS: usize = 10;
const STEPS: i64 = 15;

fn project() -> Project {
    let mut files = vec![(
        "0001_runs.sql".to_string(),
        "CREATE TABLE runs (version INTEGER NOT NULL);\nINSERT INTO runs VALUES (1);\n".to_string(),
    )];
    for v in 2..=STEPS {
        let text = if v == 8 {
            // A pragma set in the middle: WAL from here on, under contention.
            "journal_mode = wal\n".to_string()
        } else {
            format!(
                "CREATE TABLE t{v} (x);\n\
                 WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500)\n\
                 INSERT INTO t{v} SELECT x FROM c;\n\
                 INSERT INTO runs VALUES ({v});\n"
            )
        };
        let ext = if v == 8 { "pragmas" } else { "sql" };
        files.push((format!("{v:04}_step.{ext}"), text));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    Project::new(&refs)
}

#[test]
fn eight_processes_ten_rounds_each_migration_once() {
    let p = project();
    for round in 0..ROUNDS {
        let db = format!("round-{round}.db");
        let commands = (0..PROCESSES)
            .map(|_| p.bare(&["--database", &db, "up"]))
            .collect();
        run_at_once(commands, &format!("round {round}"));
        let conn = Connection::open(p.dir.path().join(&db)).unwrap();
        let runs: Vec<i64> = conn
            .prepare("SELECT version FROM runs ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expected: Vec<i64> = (1..=STEPS).filter(|v| *v != 8).collect();
        assert_eq!(
            runs, expected,
            "round {round}: each migration ran exactly once"
        );
        let recorded: i64 = conn
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(recorded, STEPS, "round {round}");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}

#[test]
fn up_waits_for_another_writer_within_the_busy_timeout() {
    let p = project();
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
}
