//! migrate on PostgreSQL against raw `postgres` doing the same SQL in the
//! same transactions (the floor), and the no-op startup check. Needs a
//! server: `MIGRATE_BENCH_POSTGRES` or `MIGRATE_TEST_POSTGRES` (a
//! `key=value` connection string of a role that may create databases).
//! Writes its section of BENCHMARKS.md (between the `postgres` markers).
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml --bin postgres
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use migrate_core::sql::Dialect;
use postgres::{Client, NoTls};

const START: &str = "<!-- postgres -->";
const END: &str = "<!-- /postgres -->";

fn config() -> String {
    std::env::var("MIGRATE_BENCH_POSTGRES")
        .or_else(|_| std::env::var("MIGRATE_TEST_POSTGRES"))
        .expect("set MIGRATE_BENCH_POSTGRES to a connection string")
}

/// A fresh database and a client on it.
fn fresh(admin: &mut Client, name: &str) -> Client {
    // Two round trips: several statements in one would share a
    // transaction block, where neither may run.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let conn: Vec<String> = config()
        .split_whitespace()
        .filter(|p| !p.starts_with("dbname="))
        .map(str::to_owned)
        .chain([format!("dbname={name}")])
        .collect();
    Client::connect(&conn.join(" "), NoTls).unwrap()
}

/// N migrations like the SQLite benchmark's: a table, an index, 10 rows.
fn workload(n: usize, root: &Path) -> (PathBuf, Vec<String>) {
    let sqls: Vec<String> = (1..=n)
        .map(|i| {
            let rows: Vec<String> = (1..=10)
                .map(|r| format!("({r}, 'row {r} of {i}', {})", r * i))
                .collect();
            format!(
                "CREATE TABLE t{i} (id bigint PRIMARY KEY, label text NOT NULL, amount bigint NOT NULL);\n\
                 CREATE INDEX idx_t{i}_amount ON t{i} (amount);\n\
                 INSERT INTO t{i} (id, label, amount) VALUES {};\n",
                rows.join(", ")
            )
        })
        .collect();
    let dir = root.join(format!("pg-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, sql) in sqls.iter().enumerate() {
        std::fs::write(dir.join(format!("{:04}_t{}.sql", i + 1, i + 1)), sql).unwrap();
    }
    (dir, sqls)
}

/// Raw: per migration, one transaction with its statements, one at a time
/// as the runner sends them, and a history row.
fn raw(client: &mut Client, sqls: &[String]) {
    client
        .batch_execute(
            "CREATE TABLE history (version bigint PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL)",
        )
        .unwrap();
    for (i, sql) in sqls.iter().enumerate() {
        let mut tx = client.transaction().unwrap();
        for statement in sql.lines().filter(|l| !l.trim().is_empty()) {
            tx.batch_execute(statement).unwrap();
        }
        tx.execute(
            "INSERT INTO history VALUES ($1, 'x', clock_timestamp())",
            &[&(i as i64 + 1)],
        )
        .unwrap();
        tx.commit().unwrap();
    }
}

/// The sqlx column's binary (`bench/sqlx-pg`, a workspace of its own),
/// built here into the shared target folder; `None`, said, when it does not
/// build.
fn sqlx_binary() -> Option<PathBuf> {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| bench.join("..").join("target"));
    let built = std::process::Command::new(env!("CARGO"))
        .args(["build", "-q", "--release", "--manifest-path"])
        .arg(bench.join("sqlx-pg").join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status();
    match built {
        Ok(status) if status.success() => Some(target.join("release").join("sqlx-pg-bench")),
        _ => {
            eprintln!("note: bench/sqlx-pg did not build; the sqlx column is left out");
            None
        }
    }
}

/// The `postgres://` URL sqlx takes for database `name` of the `key=value`
/// connection string.
fn url_of(name: &str) -> String {
    let config = config();
    let get = |key: &str| {
        config
            .split_whitespace()
            .find_map(|p| p.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
    };
    let user = get("user").unwrap_or_default();
    let password = get("password").map(|p| format!(":{p}")).unwrap_or_default();
    let host = get("host").unwrap_or_else(|| "localhost".into());
    let port = get("port")
        .map(|p| format!("&port={p}"))
        .unwrap_or_default();
    // sqlx wants a host in the authority; the `host` parameter wins.
    format!("postgres://{user}{password}@localhost/{name}?host={host}{port}")
}

/// One sqlx run on database `name`, timed by the sqlx binary itself.
fn sqlx_run(binary: &Path, name: &str, dir: &Path) -> Duration {
    let out = std::process::Command::new(binary)
        .arg(url_of(name))
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let micros: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Duration::from_micros(micros)
}

/// A fresh database with `peer` applied by refinery, for its startup check.
fn fresh_once(admin: &mut Client, peer: &[refinery::Migration]) -> Client {
    let mut client = fresh(admin, "migrate_bench_pg_refinery");
    refinery::Runner::new(peer).run(&mut client).unwrap();
    client
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut admin = Client::connect(&config(), NoTls).expect("connect to PostgreSQL");
    let version: String = admin.query_one("SHOW server_version", &[]).unwrap().get(0);
    let root = std::env::temp_dir().join(format!("migrate-bench-pg-{}", std::process::id()));
    let sqlx_bin = sqlx_binary();
    let mut lines = Vec::new();
    for n in [10, 100, 1000] {
        let (dir, sqls) = workload(n, &root);
        let set = migrate_core::Migrations::from_dir_in(&dir, Dialect::Postgres).unwrap();
        // Many runs where a run is short: a commit's fsync varies more than
        // the tool's own cost.
        let reps = match n {
            10 => 31,
            100 => 11,
            _ => 5,
        };
        let peer: Vec<refinery::Migration> = sqls
            .iter()
            .enumerate()
            .map(|(i, sql)| {
                refinery::Migration::unapplied(&format!("V{}__t{}", i + 1, i + 1), sql).unwrap()
            })
            .collect();
        let (mut ours, mut floor, mut theirs, mut sqlx) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let who_count = if sqlx_bin.is_some() { 4 } else { 3 };
        for rep in 0..reps {
            // Interleaved, the order rotated each repetition.
            for k in 0..who_count {
                let who = (rep + k) % who_count;
                let mut client = fresh(&mut admin, "migrate_bench_pg");
                let start = Instant::now();
                match who {
                    0 => {
                        let report = set.runner().run_postgres(&mut client).unwrap();
                        assert_eq!(report.applied.len(), n);
                        ours.push(start.elapsed());
                    }
                    1 => {
                        raw(&mut client, &sqls);
                        floor.push(start.elapsed());
                    }
                    2 => {
                        let report = refinery::Runner::new(&peer).run(&mut client).unwrap();
                        assert_eq!(report.applied_migrations().len(), n);
                        theirs.push(start.elapsed());
                    }
                    _ => {
                        drop(client);
                        let binary = sqlx_bin.as_deref().expect("built");
                        sqlx.push(sqlx_run(binary, "migrate_bench_pg", &dir));
                    }
                }
            }
        }
        let (o, f, r) = (median(ours), median(floor), median(theirs));
        let ratio = |d: Duration| d.as_secs_f64() / f.as_secs_f64();
        let sqlx_cell = if sqlx.is_empty() {
            "not built".to_owned()
        } else {
            let x = median(sqlx);
            format!("{:.1} ms ({:.2}×)", ms(x), ratio(x))
        };
        lines.push(format!(
            "| apply {n} | {:.1} ms ({:.2}×) | {:.1} ms | {:.1} ms ({:.2}×) | {sqlx_cell} |",
            ms(o),
            ratio(o),
            ms(f),
            ms(r),
            ratio(r)
        ));
        if n == 100 {
            // The startup check on an up-to-date database.
            let mut client = fresh(&mut admin, "migrate_bench_pg");
            set.runner().run_postgres(&mut client).unwrap();
            let times: Vec<Duration> = (0..200)
                .map(|_| {
                    let start = Instant::now();
                    assert!(
                        set.runner()
                            .run_postgres(&mut client)
                            .unwrap()
                            .applied
                            .is_empty()
                    );
                    start.elapsed()
                })
                .collect();
            let one_query: Vec<Duration> = (0..200)
                .map(|_| {
                    let start = Instant::now();
                    client.query("SELECT 1", &[]).unwrap();
                    start.elapsed()
                })
                .collect();
            // refinery's startup check: its run on an up-to-date database.
            let mut peer_client = fresh_once(&mut admin, &peer);
            let peer_times: Vec<Duration> = (0..200)
                .map(|_| {
                    let start = Instant::now();
                    refinery::Runner::new(&peer).run(&mut peer_client).unwrap();
                    start.elapsed()
                })
                .collect();
            lines.push(format!(
                "| startup check, 100 applied | {:.3} ms ({:.2}× `SELECT 1`) | {:.3} ms (`SELECT 1`) | {:.3} ms ({:.2}×) | |",
                ms(median(times.clone())),
                median(times).as_secs_f64() / median(one_query.clone()).as_secs_f64(),
                ms(median(one_query.clone())),
                ms(median(peer_times.clone())),
                median(peer_times).as_secs_f64() / median(one_query).as_secs_f64()
            ));
        }
    }
    let _ = admin.batch_execute("DROP DATABASE IF EXISTS migrate_bench_pg WITH (FORCE)");
    let _ = std::fs::remove_dir_all(&root);
    let section = format!(
        "{START}\n## PostgreSQL\n\nGenerated by `cargo run --release --manifest-path bench/Cargo.toml --bin postgres` \
         on PostgreSQL {version}, local socket. Each migration: a table, an index, 10 rows, sent a statement at a \
         time. Raw `postgres` runs the same statements in the same transactions with a history row and no \
         lock or re-read (the floor); migrate adds the advisory lock, the re-read under it and lock_timeout, and sends the lock with the re-read, the whole file at once, and the history row with the COMMIT (3 round trips a migration, raw 7). \
         Medians of 31 runs at N=10, 11 at N=100, 5 at N=1000, interleaved, each on a fresh database. The startup check is \
         `run_postgres` on an up-to-date database (one query), against one `SELECT 1` round trip. \
         refinery 0.10 (its `postgres` feature, the same sync client) runs the same files, each in its own \
         transaction, with no lock. sqlx 0.8's migrator (`bench/sqlx-pg`, a build of its own: its SQLite \
         driver links another SQLite than this bench's rusqlite) runs in a process of its own on the same \
         fresh database, timed inside it from after it connects to the end of its run; it takes \
         a session advisory lock and runs each migration in a transaction.\n\n\
         | case | migrate (ratio to raw) | raw / floor | refinery (ratio to raw) | sqlx (ratio to raw) |\n\
         | --- | --- | --- | --- | --- |\n{}\n{END}\n",
        lines.join("\n")
    );
    print!("{section}");
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let text = match (text.find(START), text.find(END)) {
        (Some(a), Some(b)) => format!(
            "{}{section}{}",
            &text[..a],
            &text[b + END.len()..].trim_start_matches('\n')
        ),
        _ => format!("{}\n{section}", text.trim_end()),
    };
    std::fs::write(&path, text).unwrap();
    eprintln!("wrote {}", path.display());
}
