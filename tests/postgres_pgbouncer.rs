//! The runner through PgBouncer in transaction pooling, where each
//! transaction may run on another server connection: eight runners at once
//! through a pool of two server connections apply each migration once,
//! no-transaction ones (`CREATE INDEX CONCURRENTLY`) included, their lock
//! held by a transaction of a second connection.
//!
//! Needs `pgbouncer` (`$PGBOUNCER`, the PATH, or `/usr/sbin/pgbouncer`;
//! `.ci/run` installs Debian's). Without it the test says so and passes,
//! except under `CI=true`.

#[path = "pg_support.rs"]
mod pg;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use migrate_core::Migrations;
use migrate_core::sql::Dialect;
use postgres::{Client, NoTls};

fn pgbouncer() -> Option<PathBuf> {
    let found = std::env::var_os("PGBOUNCER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("pgbouncer"))
                .find(|p| p.is_file())
        })
        .or_else(|| Some(PathBuf::from("/usr/sbin/pgbouncer")))
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true, and pgbouncer is not installed: .ci/run installs it (apt-get install pgbouncer)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the PgBouncer test: pgbouncer is not installed (apt-get install pgbouncer, or set PGBOUNCER)"
        );
    }
    found
}

/// A PgBouncer in transaction mode in front of the local server, stopped
/// when dropped.
struct Bouncer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(binary: &PathBuf) -> Bouncer {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    // PgBouncer will not run as root: then it runs as postgres, which
    // reaches the server through the socket as its own role.
    let server_user = if root {
        "postgres".to_owned()
    } else {
        pg::config()
            .split_whitespace()
            .find_map(|p| p.strip_prefix("user=").map(str::to_owned))
            .unwrap_or_else(|| "postgres".into())
    };
    let host = pg::config()
        .split_whitespace()
        .find_map(|p| p.strip_prefix("host=").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/postgresql".into());
    let ini = dir.path().join("pgbouncer.ini");
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "\"migrate\" \"\"\n").unwrap();
    std::fs::write(
        &ini,
        format!(
            "[databases]\n* = host={host} user={server_user}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {}\n\
             pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 64\n\
             ignore_startup_parameters = extra_float_digits,options\n",
            users.display()
        ),
    )
    .unwrap();
    let mut command = Command::new(binary);
    if root {
        use std::os::unix::fs::PermissionsExt;
        for p in [dir.path(), &ini, &users] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        command.args(["-u", "postgres"]);
    }
    let child = command
        .arg(&ini)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let bouncer = Bouncer {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "pgbouncer did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    bouncer
}

#[test]
fn eight_runners_through_transaction_pooling_apply_each_migration_once() {
    let Some(db) = pg::scratch() else { return };
    let Some(binary) = pgbouncer() else { return };
    let bouncer = start(&binary);
    let conn = format!(
        "host=127.0.0.1 port={} user=migrate dbname={}",
        bouncer.port, db.name
    );
    let dir = tempfile::tempdir().unwrap();
    let n = 12;
    for v in 1..=n {
        std::fs::write(
            dir.path().join(format!("{v:04}_t{v}.sql")),
            format!(
                "CREATE TABLE t{v} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);\n\
                 INSERT INTO t{v} (v) SELECT 'x' FROM generate_series(1, 50);\n"
            ),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("0013_idx.indexes"),
        "index t1_v on t1 (v)\n",
    )
    .unwrap();
    // No-transaction steps: their lock is held by a transaction of a second
    // connection, which the pooler keeps on one server connection.
    for (file, table) in [("0014_t2_v.sql", "t2"), ("0015_t3_v.sql", "t3")] {
        std::fs::write(
            dir.path().join(file),
            format!(
                "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY {table}_v ON {table} (v);\n"
            ),
        )
        .unwrap();
    }
    let total = n + 3;
    let dir_path = dir.path().to_owned();
    let runners: Vec<_> = (0..8)
        .map(|_| {
            let conn = conn.clone();
            let dir_path = dir_path.clone();
            std::thread::spawn(move || {
                let set = Migrations::from_dir_in(&dir_path, Dialect::Postgres).unwrap();
                let mut client = Client::connect(&conn, NoTls).unwrap();
                let report = set
                    .runner()
                    .lock_connection(Some(migrate_core::postgres::Connector::new(&conn).unwrap()))
                    .run_postgres(&mut client)
                    .unwrap();
                report.applied.len()
            })
        })
        .collect();
    let applied: usize = runners.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(applied, total);
    let mut check = db.connect();
    let rows: i64 = check
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, total as i64);
    for v in 1..=n {
        let count: i64 = check
            .query_one(&format!("SELECT count(*) FROM t{v}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(count, 50, "t{v}");
    }
    // Through the pooler: the startup check, status and verify.
    let set = Migrations::from_dir_in(&dir_path, Dialect::Postgres).unwrap();
    let mut client = Client::connect(&conn, NoTls).unwrap();
    assert!(
        set.runner()
            .run_postgres(&mut client)
            .unwrap()
            .applied
            .is_empty()
    );
    assert_eq!(
        set.runner().status_postgres(&mut client).unwrap().len(),
        total
    );
    // The replay's scratch database is opened through the pooler too.
    let v = set
        .runner()
        .lock_connection(Some(migrate_core::postgres::Connector::new(&conn).unwrap()))
        .verify_postgres(&mut client)
        .unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    // No advisory lock is left on any server connection.
    let locks: i64 = check
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(locks, 0);
}
