//! A fresh PostgreSQL database per test, for the tests that need one.
//!
//! The server: `MIGRATE_TEST_POSTGRES` (a libpq-style connection string),
//! or else the local socket as the current user. `.ci/run` starts
//! PostgreSQL and sets it up; elsewhere, without a server, a test says so
//! on stderr and passes, except under `CI=true`, where it fails.
#![allow(dead_code)]

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use postgres::{Client, NoTls};

/// A fresh database, dropped when the test ends.
pub struct Scratch {
    client: Option<Client>,
    admin: Client,
    pub name: String,
    /// The connection string of the scratch database.
    pub conn: String,
}

impl Scratch {
    pub fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("connected")
    }

    /// The scratch database as a `postgresql://` URL (what a user passes
    /// the CLI), from the `key=value` connection string.
    pub fn url(&self) -> String {
        let get = |key: &str| {
            self.conn
                .split_whitespace()
                .find_map(|p| p.strip_prefix(&format!("{key}=")))
                .map(str::to_owned)
        };
        let user = get("user").unwrap_or_default();
        let password = get("password").map(|p| format!(":{p}")).unwrap_or_default();
        let port = get("port")
            .map(|p| format!("&port={p}"))
            .unwrap_or_default();
        let host = get("host").unwrap_or_else(|| "localhost".into());
        format!(
            "postgresql://{user}{password}@/{}?host={host}{port}",
            self.name
        )
    }

    /// What opens more connections to the scratch database (the runner's
    /// lock connection, and its replay's scratch database).
    pub fn connector(&self) -> Option<migrate_core::postgres::Connector> {
        Some(migrate_core::postgres::Connector::new(&self.conn).expect("a connection string"))
    }

    /// Another connection to the scratch database.
    pub fn connect(&self) -> Client {
        Client::connect(&self.conn, NoTls).expect("connect to the scratch database")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop(self.client.take());
        let _ = self.admin.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

pub fn config() -> String {
    std::env::var("MIGRATE_TEST_POSTGRES").unwrap_or_else(|_| {
        // The local socket's peer authentication wants the name of the
        // user this process runs as: `USER` is not always set (root in a
        // container), so ask the system.
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| {
                let out = std::process::Command::new("id").arg("-un").output().ok()?;
                Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
                    .filter(|u| !u.is_empty())
            })
            .unwrap_or_else(|| "postgres".into());
        format!("host=/var/run/postgresql user={user} dbname=postgres")
    })
}

/// A client error with the server's own message (the client's `Display`
/// says only "db error").
pub fn why(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        }
    }
}

/// A fresh database, or `None` (said on stderr) when no server answers
/// and `CI` is not `true`.
pub fn scratch() -> Option<Scratch> {
    static N: AtomicU32 = AtomicU32::new(0);
    let config = config();
    let mut admin = match Client::connect(&config, NoTls) {
        Ok(c) => c,
        Err(e) => {
            let e = why(&e);
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true, and PostgreSQL is not reachable with `{config}`: {e}"
            );
            // Straight to stderr, past the test harness's capture.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL tests: PostgreSQL is not reachable with `{config}` ({e}); start it \
                 (`pg_ctlcluster 15 main start`), set MIGRATE_TEST_POSTGRES to a connection string of a \
                 role that may create databases (for example `host=/var/run/postgresql user=postgres \
                 dbname=postgres`, run as that user), or run .ci/run"
            );
            return None;
        }
    };
    let name = format!(
        "migrate_scan_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a scratch database");
    let mut parts: Vec<String> = config
        .split_whitespace()
        .filter(|p| !p.starts_with("dbname="))
        .map(str::to_owned)
        .collect();
    parts.push(format!("dbname={name}"));
    let conn = parts.join(" ");
    let client = Client::connect(&conn, NoTls).expect("connect to the scratch database");
    Some(Scratch {
        client: Some(client),
        admin,
        name,
        conn,
    })
}

/// A PostgreSQL set of `files`, in a temp dir kept with it.
pub fn set(files: &[(&str, &str)]) -> (tempfile::TempDir, migrate_core::Migrations) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let set =
        migrate_core::Migrations::from_dir_in(dir.path(), migrate_core::sql::Dialect::Postgres)
            .unwrap();
    (dir, set)
}

/// The one number `sql` returns.
pub fn count(client: &mut Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
}
