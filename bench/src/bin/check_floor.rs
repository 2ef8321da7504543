//! What an exact startup check cannot go below: SQLite reading the history
//! of N applied migrations, side by side with migrate's warm check and with
//! reading one row (the raw contender of scenario (3b)). Prints a table;
//! BENCHMARKS.md quotes it in "Reading the targets".
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml --bin check_floor [N]
//! ```

use std::time::{Duration, Instant};

use rusqlite::Connection;

/// One way of reading, timed on the warm connection it is given.
type Reader<'a> = Box<dyn Fn(&mut Connection) + 'a>;

/// The best of 7 rounds of `reps` calls, per call.
fn per_call(reps: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..reps.min(50) {
        f();
    }
    (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed() / reps
        })
        .min()
        .unwrap()
}

fn one_value(conn: &Connection, sql: &str) {
    conn.prepare_cached(sql)
        .unwrap()
        .query_row([], |r| r.get::<_, rusqlite::types::Value>(0))
        .unwrap();
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("N, a number"))
        .unwrap_or(1000);
    let root = std::env::temp_dir().join(format!("migrate-check-floor-{}", std::process::id()));
    let dir = root.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 1..=n {
        std::fs::write(
            dir.join(format!("{i:04}_t{i}.sql")),
            format!(
                "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, label TEXT NOT NULL, amount INTEGER NOT NULL);\n\
                 INSERT INTO t{i} VALUES (1, 'a', 1);\n"
            ),
        )
        .unwrap();
    }
    let set = migrate_core::Migrations::from_dir(&dir).unwrap();
    let mut conn = Connection::open(root.join("app.db")).unwrap();
    set.runner().run(&mut conn).unwrap();

    let rows: [(&str, u32, Reader); 6] = [
        (
            "one row of a table (scenario (3b)'s raw contender)",
            5000,
            Box::new(|c| one_value(c, "SELECT id FROM t1 WHERE id = 1")),
        ),
        (
            "`count(*)` of the history (SQLite counts its b-tree pages)",
            5000,
            Box::new(|c| one_value(c, "SELECT count(*) FROM schema_migrations")),
        ),
        (
            "`count(checksum)`: SQLite reads every row's checksum, no compare",
            500,
            Box::new(|c| one_value(c, "SELECT count(checksum) FROM schema_migrations")),
        ),
        (
            "`group_concat(checksum, '')`: every checksum in one value",
            500,
            Box::new(|c| {
                one_value(
                    c,
                    "SELECT group_concat(checksum, '') FROM schema_migrations",
                )
            }),
        ),
        (
            "every `(version, checksum)` row read into Rust, no compare",
            500,
            Box::new(|c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT version, checksum FROM schema_migrations ORDER BY version",
                    )
                    .unwrap();
                let mut rows = stmt.query([]).unwrap();
                while let Some(r) = rows.next().unwrap() {
                    let _ = (r.get_ref(0).unwrap(), r.get_ref(1).unwrap());
                }
            }),
        ),
        (
            "migrate's startup check (`Runner::run`, nothing pending)",
            500,
            Box::new(|c| assert!(set.runner().run(c).unwrap().applied.is_empty())),
        ),
    ];
    let base = per_call(5000, || one_value(&conn, "SELECT id FROM t1 WHERE id = 1"));
    println!("| N={n}, warm connection, best of 7 | per call | ratio to one row |");
    println!("| --- | --- | --- |");
    for (label, reps, f) in &rows {
        let t = per_call(*reps, || f(&mut conn));
        println!(
            "| {label} | {:.1} µs | {:.2}× |",
            t.as_secs_f64() * 1e6,
            t.as_secs_f64() / base.as_secs_f64()
        );
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(&root);
}
