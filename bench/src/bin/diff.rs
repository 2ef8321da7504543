//! `diff`'s two speed figures (issue #25), printed as Markdown for
//! BENCHMARKS.md:
//!
//! 1. the diff from a 1,000-migration folder to a 500-table schema file
//!    with 50 changes (the folder replayed, both sides read, the plan run
//!    on its copy and checked, the down made too);
//! 2. a rebuild of a 1M-row table with 3 indexes, 2 triggers and a
//!    cascading child, as `diff --write` writes it and the runner applies
//!    it, against the same statements written by hand and run by rusqlite
//!    (foreign keys off, one transaction, `foreign_key_check`, commit).
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml --bin diff [ROWS]
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use migrate_core::Migrations;
use migrate_core::diff::{Options, Side, diff};
use rusqlite::Connection;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Table `i` of the generated schema, with `extra` columns after the first
/// ones and `b` NOT NULL or not.
fn table(i: usize, b_not_null: bool, extra: &[&str]) -> String {
    let mut columns = vec![
        "id INTEGER PRIMARY KEY".to_owned(),
        "a INTEGER".to_owned(),
        format!(
            "b TEXT{}",
            if b_not_null {
                " NOT NULL DEFAULT ''"
            } else {
                ""
            }
        ),
        "c REAL".to_owned(),
    ];
    columns.extend(extra.iter().map(|s| (*s).to_owned()));
    format!("CREATE TABLE t{i} ({});\n", columns.join(", "))
}

/// 1,000 migrations: 500 tables, then for each an index or a column.
fn folder(root: &Path) -> Migrations {
    let dir = root.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..500 {
        std::fs::write(
            dir.join(format!("{:04}_t{i}.sql", i + 1)),
            table(i, false, &[]),
        )
        .unwrap();
        let second = if i % 2 == 0 {
            format!("CREATE INDEX t{i}_a ON t{i} (a);\n")
        } else {
            format!("ALTER TABLE t{i} ADD COLUMN d TEXT;\n")
        };
        std::fs::write(dir.join(format!("{:04}_t{i}_more.sql", i + 501)), second).unwrap();
    }
    Migrations::from_dir(&dir).unwrap()
}

/// The folder's schema with 50 changes: 20 new columns (in place), 15 NOT
/// NULLs (rebuilds), 10 new indexes, 5 dropped indexes.
fn target() -> String {
    let mut s = String::new();
    for i in 0..500 {
        let odd = i % 2 == 1;
        let extra: Vec<&str> = match (odd, i < 40) {
            (true, true) => vec!["d TEXT", "e INTEGER"],
            (true, false) => vec!["d TEXT"],
            (false, _) => vec![],
        };
        s.push_str(&table(i, (100..115).contains(&i), &extra));
        let index_dropped = (200..210).contains(&i) && i % 2 == 0;
        if i % 2 == 0 && !index_dropped {
            s.push_str(&format!("CREATE INDEX t{i}_a ON t{i} (a);\n"));
        }
        if (300..310).contains(&i) {
            s.push_str(&format!("CREATE INDEX t{i}_c ON t{i} (c);\n"));
        }
    }
    s
}

const BIG_SOURCE: &str = "CREATE TABLE parent (id INTEGER PRIMARY KEY);
CREATE TABLE big (
  id INTEGER PRIMARY KEY,
  parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE,
  a INTEGER,
  b TEXT,
  c REAL
);
CREATE INDEX big_a ON big (a);
CREATE INDEX big_b ON big (b);
CREATE INDEX big_parent ON big (parent_id);
CREATE TABLE log (what TEXT);
CREATE TRIGGER big_insert AFTER INSERT ON big BEGIN INSERT INTO log VALUES ('insert ' || new.id); END;
CREATE TRIGGER big_delete AFTER DELETE ON big BEGIN INSERT INTO log VALUES ('delete ' || old.id); END;
CREATE TABLE child (id INTEGER PRIMARY KEY, big_id INTEGER REFERENCES big(id) ON DELETE CASCADE);
CREATE INDEX child_big ON child (big_id);
";

fn big_target() -> String {
    BIG_SOURCE.replace("  b TEXT,", "  b TEXT NOT NULL,")
}

/// The same rebuild, written by hand.
const BY_HAND: &str = "BEGIN;
CREATE TABLE big_new (
  id INTEGER PRIMARY KEY,
  parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE,
  a INTEGER,
  b TEXT NOT NULL,
  c REAL
);
INSERT INTO big_new (id, parent_id, a, b, c) SELECT id, parent_id, a, b, c FROM big;
DROP TABLE big;
ALTER TABLE big_new RENAME TO big;
CREATE INDEX big_a ON big (a);
CREATE INDEX big_b ON big (b);
CREATE INDEX big_parent ON big (parent_id);
CREATE TRIGGER big_insert AFTER INSERT ON big BEGIN INSERT INTO log VALUES ('insert ' || new.id); END;
CREATE TRIGGER big_delete AFTER DELETE ON big BEGIN INSERT INTO log VALUES ('delete ' || old.id); END;
";

fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("ROWS, a number"))
        .unwrap_or(1_000_000);
    let root = std::env::temp_dir().join(format!("migrate-bench-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();

    // 1. The diff.
    let set = folder(&root);
    let want = target();
    let mut times = Vec::new();
    let mut found = None;
    for _ in 0..5 {
        let start = Instant::now();
        let d = diff(
            &Side::Set(&set),
            &Side::Sql { text: &want },
            &Options::default(),
        )
        .unwrap();
        times.push(start.elapsed());
        found = Some(d);
    }
    let d = found.unwrap();
    let statements = d.up.matches(";\n").count();
    println!("| diff | median of 5 | what it wrote |");
    println!("| --- | --- | --- |");
    println!(
        "| 1,000 migrations (500 tables) to a schema file with 50 changes | {} | {statements} statements up, {} tables rebuilt |",
        ms(median(times)),
        d.rebuilt.len()
    );

    if rows == 0 {
        return;
    }
    // 2. The rebuild, against the same statements by hand.
    let made = root.join("made.db");
    {
        let conn = Connection::open(&made).unwrap();
        conn.execute_batch(BIG_SOURCE).unwrap();
        conn.execute_batch(&format!(
            "BEGIN;
             WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 1000)
             INSERT INTO parent (id) SELECT value FROM n;
             WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < {rows})
             INSERT INTO big (id, parent_id, a, b, c)
               SELECT value, 1 + value % 1000, value % 97, 'row ' || value, value * 0.5 FROM n;
             WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < {rows} / 10)
             INSERT INTO child (big_id) SELECT value * 10 FROM n;
             COMMIT;"
        ))
        .unwrap();
    }
    let written = diff(
        &Side::Sql { text: BIG_SOURCE },
        &Side::Sql {
            text: &big_target(),
        },
        &Options::default(),
    )
    .unwrap();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..3 {
        for who in [round % 2, 1 - round % 2] {
            let db = root.join(format!("run-{round}-{who}.db"));
            std::fs::copy(&made, &db).unwrap();
            if who == 0 {
                let dir = root.join(format!("m-{round}"));
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("0001_source.sql"), BIG_SOURCE).unwrap();
                std::fs::write(dir.join("0002_not_null.sql"), &written.up).unwrap();
                let set = Migrations::from_dir(&dir).unwrap();
                let mut conn = Connection::open(&db).unwrap();
                // The database was made by the source: record it as such.
                set.runner().baseline(&mut conn, 1).unwrap();
                let start = Instant::now();
                let report = set.runner().run(&mut conn).unwrap();
                ours.push(start.elapsed());
                assert_eq!(report.applied.len(), 1);
            } else {
                let conn = Connection::open(&db).unwrap();
                let start = Instant::now();
                conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
                conn.execute_batch(BY_HAND).unwrap();
                let broken: i64 = conn
                    .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                        r.get(0)
                    })
                    .unwrap();
                conn.execute_batch("COMMIT; PRAGMA foreign_keys = ON")
                    .unwrap();
                theirs.push(start.elapsed());
                assert_eq!(broken, 0);
            }
            let conn = Connection::open(&db).unwrap();
            let children: i64 = conn
                .query_row("SELECT count(*) FROM child", [], |r| r.get(0))
                .unwrap();
            assert_eq!(children as u64, rows / 10, "a cascade deleted children");
            drop(conn);
            let _ = std::fs::remove_file(&db);
        }
    }
    let (a, b) = (median(ours), median(theirs));
    println!();
    println!(
        "| rebuild of a {rows}-row table (3 indexes, 2 triggers, a cascading child of {} rows) | median of 3 | ratio |",
        rows / 10
    );
    println!("| --- | --- | --- |");
    println!(
        "| the same statements by hand (rusqlite, foreign keys off, one transaction, foreign_key_check) | {} | 1.00× |",
        ms(b)
    );
    println!(
        "| `diff`'s migration applied by the runner | {} | {:.2}× |",
        ms(a),
        a.as_secs_f64() / b.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&root);
}
