//! One apply scenario in one process, for callgrind: 1000 (or N)
//! migrations of the benchmark's shape, one transaction each, WAL with
//! `synchronous = normal`, applied by migrate or by the floor (raw SQL plus
//! one history row in the same transaction).
//!
//! ```sh
//! cargo build --release --manifest-path bench/Cargo.toml --bin steps
//! valgrind --tool=callgrind target/release/steps floor 300
//! valgrind --tool=callgrind target/release/steps migrate 300
//! ```

use rusqlite::Connection;
const RAW_HISTORY: &str = "CREATE TABLE IF NOT EXISTS history (version INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER NOT NULL, origin TEXT, down_checksum TEXT)";
const RAW_RECORD: &str = "INSERT INTO history (version, name, kind, checksum, applied_at, duration_ms) VALUES (?1, ?2, 'sql', ?3, strftime('%Y-%m-%dT%H:%M:%fZ','now'), 0)";
fn main() {
    let mode = std::env::args()
        .nth(1)
        .expect("floor, migrate or migrate-atomic");
    let n: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(300);
    let dir = std::env::temp_dir().join(format!("migrate-steps-{}", std::process::id()));
    let mig = dir.join("m");
    std::fs::create_dir_all(&mig).unwrap();
    let sqls: Vec<String> = (1..=n).map(|i| {
        let rows: Vec<String> = (1..=10).map(|r| format!("({r}, 'row {r} of {i}', {})", r * i)).collect();
        format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY, label TEXT NOT NULL, amount INTEGER NOT NULL);\nCREATE INDEX idx_t{i}_amount ON t{i} (amount);\nINSERT INTO t{i} (id, label, amount) VALUES {};\n", rows.join(", "))
    }).collect();
    for (i, s) in sqls.iter().enumerate() {
        std::fs::write(mig.join(format!("{:04}_t{}.sql", i + 1, i + 1)), s).unwrap();
    }
    let set = migrate_core::Migrations::from_dir(&mig).unwrap();
    let mut conn = Connection::open(dir.join("a.db")).unwrap();
    conn.query_row("PRAGMA journal_mode = wal", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch("PRAGMA synchronous = normal").unwrap();
    let t = std::time::Instant::now();
    match mode.as_str() {
        "floor" => {
            conn.execute_batch(RAW_HISTORY).unwrap();
            for (i, sql) in sqls.iter().enumerate() {
                let tx = conn.transaction().unwrap();
                tx.execute_batch(sql).unwrap();
                let m = &set.as_slice()[i];
                tx.prepare_cached(RAW_RECORD)
                    .unwrap()
                    .execute(rusqlite::params![
                        m.version as i64,
                        m.name.as_ref(),
                        m.checksum.as_ref()
                    ])
                    .unwrap();
                tx.commit().unwrap();
            }
        }
        "migrate" => {
            set.runner().run(&mut conn).unwrap();
        }
        "migrate-atomic" => {
            set.runner().atomic(true).run(&mut conn).unwrap();
        }
        other => panic!("{other}: floor, migrate or migrate-atomic"),
    }
    eprintln!("{mode}: {:?}", t.elapsed());
    std::fs::remove_dir_all(&dir).unwrap();
}
