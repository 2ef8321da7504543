//! `lint`'s cost (issue #26), printed as Markdown for BENCHMARKS.md: lint
//! of a 500-migration folder (each file makes a table with an index and a
//! row, adds a column to the table before it and updates one of its rows),
//! against its floor, the same files replayed statement by statement into
//! an in-memory database (which lint does too, and cannot do without).
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml --bin lint [FILES]
//! ```

use std::time::{Duration, Instant};

use migrate_core::Migrations;
use rusqlite::Connection;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let files: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let root = std::env::temp_dir().join(format!("migrate-bench-lint-{}", std::process::id()));
    let dir = root.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 1..=files {
        let mut sql = format!(
            "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, a TEXT, b INTEGER);\n\
             CREATE INDEX t{i}_a ON t{i} (a);\n\
             INSERT INTO t{i} (a, b) VALUES ('x', {i});\n"
        );
        if i > 1 {
            let p = i - 1;
            sql.push_str(&format!(
                "ALTER TABLE t{p} ADD COLUMN c{i} TEXT;\nUPDATE t{p} SET b = b + 1 WHERE id = 1;\n"
            ));
        }
        std::fs::write(dir.join(format!("{i:04}_m.sql")), sql).unwrap();
    }
    let set = Migrations::from_dir(&dir).unwrap();
    let mut floor = Vec::new();
    let mut lint = Vec::new();
    for _ in 0..5 {
        // The floor: every statement run once, in order, in memory.
        let start = Instant::now();
        let conn = Connection::open_in_memory().unwrap();
        for m in set.iter() {
            for s in &m.script().unwrap().statements {
                conn.execute_batch(s.text(&m.text)).unwrap();
            }
        }
        floor.push(start.elapsed());
        let start = Instant::now();
        let found = migrate_core::lint::lint(&set, |_| true);
        lint.push(start.elapsed());
        assert!(found.is_empty(), "{found:?}");
    }
    let _ = std::fs::remove_dir_all(&root);
    let (floor, lint) = (median(floor), median(lint));
    println!(
        "| {files} migrations ({} statements) | median of 5 | ratio |",
        files * 5 - 2
    );
    println!("| --- | --- | --- |");
    println!(
        "| replayed statement by statement in memory (the floor) | {} | 1.00× |",
        ms(floor)
    );
    println!(
        "| `lint::lint`, every file | {} | {:.2}× |",
        ms(lint),
        lint.as_secs_f64() / floor.as_secs_f64()
    );
}
