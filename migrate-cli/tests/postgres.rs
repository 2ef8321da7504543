//! The CLI on PostgreSQL through the real binary: `--database
//! postgresql://…` or `DATABASE_URL` selects it (see `tests/pg_support.rs`
//! for the server).

mod common;
#[path = "../../tests/pg_support.rs"]
mod pg;

use common::*;

#[test]
fn up_and_status_on_postgresql() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[
        (
            "0001_notes.sql",
            "CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);\n\
             CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.body := upper(NEW.body);\n  RETURN NEW;\nEND;\n$$;\n",
        ),
        (
            "0002_notes_body.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY notes_body ON notes (body);\n",
        ),
    ]);
    let cli = |args: &[&str]| p.bare(args).env("DATABASE_URL", &url).output().unwrap();
    let out = cli(&["status"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 applied, 2 pending"),
        "{}",
        stdout(&out)
    );
    let out = cli(&["up", "--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("applied 1 notes") && text.contains("applied 2 notes_body"),
        "{text}"
    );
    let out = cli(&["status", "--exit-code"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("2 applied, 0 pending"),
        "{}",
        stdout(&out)
    );
    let n: i64 = db
        .client()
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 2);

    // A failing migration names its file and line, and changes nothing.
    p.write(
        "0003_bad.sql",
        "ALTER TABLE notes\n  ADD COLUMN x nosuchtype;\n",
    );
    let out = cli(&["up"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("migration 3 (0003_bad.sql:2)")
            && stderr(&out).contains("nosuchtype"),
        "{}",
        stderr(&out)
    );
    // What the CLI cannot do there yet says so.
    let out = p
        .bare(&["-d", &url, "up", "--backup", "x.db"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("not available on PostgreSQL"),
        "{}",
        stderr(&out)
    );
    // A pragma set in the folder is named as SQLite's.
    std::fs::remove_file(p.dir.path().join("migrations/0003_bad.sql")).unwrap();
    p.write("0003_fast.pragmas", "journal_mode = wal\n");
    let out = cli(&["up"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("0003_fast.pragmas:1: pragma sets are SQLite's"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schema_verify_baseline_and_repair_on_postgresql() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[
        (
            "0001_notes.sql",
            "CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);\n",
        ),
        ("0002_notes.indexes", "index notes_body on notes (body)\n"),
    ]);
    let cli = |args: &[&str]| p.bare(args).env("DATABASE_URL", &url).output().unwrap();
    // Made by hand: baseline checks it against the files, then records.
    db.client()
        .batch_execute(
            "CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text)",
        )
        .unwrap();
    let out = cli(&["baseline", "--to", "2"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("index `notes_body` is missing"),
        "{}",
        stderr(&out)
    );
    let out = cli(&["baseline", "--to", "1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("applied 2 notes"), "{}", stdout(&out));
    // The schema, from the catalogue.
    let out = cli(&["schema"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "CREATE TABLE notes (\n  id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,\n  body text,\n  \
         CONSTRAINT notes_pkey PRIMARY KEY (id)\n);\n\n\
         CREATE INDEX notes_body ON notes USING btree (body);\n"
    );
    let out = cli(&["verify"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("2 applied migrations verified"),
        "{}",
        stdout(&out)
    );
    // Drift, named; then a harmless edit repaired.
    db.client()
        .batch_execute("ALTER TABLE notes ADD COLUMN extra int")
        .unwrap();
    let out = cli(&["verify", "--json"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("column `extra` was added"),
        "{}",
        stdout(&out)
    );
    db.client()
        .batch_execute("ALTER TABLE notes DROP COLUMN extra")
        .unwrap();
    p.write(
        "0001_notes.sql",
        "-- notes\nCREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);\n",
    );
    let out = cli(&["verify"]);
    assert_eq!(code(&out), 1);
    let out = cli(&["repair"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cli(&["verify"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn adopt_takes_over_what_the_real_dbmate_applied_on_postgresql() {
    let Some(db) = pg::scratch() else { return };
    let Some(dbmate) = dbmate("adopting dbmate's PostgreSQL history is not tested") else {
        return;
    };
    let url = db.url();
    let p = Project::new(&[(
        "20240101000000_users.sql",
        "-- migrate:up\nCREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);\n\
         -- migrate:down\nDROP TABLE users;\n",
    )]);
    let dir = p.dir.path().join("migrations");
    let out = std::process::Command::new(&dbmate)
        .arg("--url")
        .arg(format!("{url}&sslmode=disable"))
        .arg("--migrations-dir")
        .arg(&dir)
        .args(["--no-dump-schema", "up"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let cli = |args: &[&str]| p.bare(args).env("DATABASE_URL", &url).output().unwrap();
    // Its `schema_migrations` is not this tool's: up refuses, naming adopt.
    let out = cli(&["up"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out)
            .contains("the table `schema_migrations` exists but is not a migrate history table"),
        "{}",
        stderr(&out)
    );
    let out = cli(&["adopt", "--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cli(&["adopt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("found dbmate's history in `schema_migrations`: 1 applied")
            && text.contains("`dbmate_schema_migrations` (renamed from `schema_migrations`"),
        "{text}"
    );
    // Twice is refused; then this tool goes on from there.
    assert_eq!(code(&cli(&["adopt"])), 1);
    p.write(
        "20240201000000_posts.sql",
        "CREATE TABLE posts (id bigserial PRIMARY KEY);\n",
    );
    let out = cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("applied 20240201000000 posts"),
        "{}",
        stdout(&out)
    );
    let out = cli(&["verify"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn down_on_postgresql_reverts_newest_first_and_refuses_what_has_no_down() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[
        ("0001_t.up.sql", "CREATE TABLE t (x int);\n"),
        ("0001_t.down.sql", "DROP TABLE t;\n"),
        (
            "0002_u.sql",
            "-- migrate:up\nCREATE TABLE u (y int);\n-- migrate:down\nDROP TABLE u;\n",
        ),
        ("0003_v.sql", "CREATE TABLE v (z int);\n"),
    ]);
    let cli = |args: &[&str]| p.bare(args).env("DATABASE_URL", &url).output().unwrap();
    assert_eq!(code(&cli(&["up"])), 0);
    // 3 has no down: refused before anything changes.
    let out = cli(&["down", "--to", "0"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("0003_v.sql"), "{}", stderr(&out));
    let tables = |db: &mut pg::Scratch| -> i64 {
        db.client()
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE tablename IN ('t', 'u', 'v')",
                &[],
            )
            .unwrap()
            .get(0)
    };
    assert_eq!(tables(&mut db), 3);
    // Giving 3 a down section now edits an applied file: refused too.
    p.write(
        "0003_v.sql",
        "-- migrate:up\nCREATE TABLE v (z int);\n-- migrate:down\nDROP TABLE v;\n",
    );
    let out = cli(&["down"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("edited"), "{}", stderr(&out));
    assert_eq!(tables(&mut db), 3);
    // Without 3's row, redo reverts 2 and applies it again...
    db.client()
        .batch_execute("DROP TABLE v; DELETE FROM schema_migrations WHERE version = 3")
        .unwrap();
    std::fs::remove_file(p.dir.path().join("migrations/0003_v.sql")).unwrap();
    let out = cli(&["redo"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("reverted 2 u") && text.contains("applied 2 u"),
        "{text}"
    );
    assert_eq!(tables(&mut db), 2);
    // ...and 2 and 1 revert newest first.
    let out = cli(&["down", "--to", "0"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let (two, one) = (
        text.find("reverted 2 u").unwrap(),
        text.find("reverted 1 t").unwrap(),
    );
    assert!(two < one, "{text}");
    assert_eq!(tables(&mut db), 0);
    let n: i64 = db
        .client()
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[test]
fn a_runner_killed_mid_migration_leaves_nothing_half_done_and_no_lock() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    for (file, text) in [
        // In a transaction: rolled back by the server when the client dies.
        (
            "0002_slow.sql",
            "CREATE TABLE half (x int);\nSELECT pg_sleep(30);\n",
        ),
        // Outside one, holding the session lock: released with the session.
        (
            "0002_slow.sql",
            "-- migrate:no-transaction\nSELECT pg_sleep(30);\n",
        ),
    ] {
        let p = Project::new(&[("0001_t.sql", "CREATE TABLE t (x int);\n"), (file, text)]);
        let mut child = p
            .bare(&["up"])
            .env("DATABASE_URL", &url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the slow statement runs, then kill the runner.
        let started = std::time::Instant::now();
        loop {
            let running: i64 = db
                .client()
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()",
                    &[],
                )
                .unwrap()
                .get(0);
            if running > 0 {
                break;
            }
            assert!(
                started.elapsed().as_secs() < 20,
                "the slow migration never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // The server notices the dead client; its backend goes, and with
        // it the transaction and every lock.
        let started = std::time::Instant::now();
        loop {
            let left: i64 = db
                .client()
                .query_one(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    &[],
                )
                .unwrap()
                .get(0);
            if left == 0 {
                break;
            }
            if started.elapsed().as_secs() > 40 {
                // pg_sleep only notices at its end; end it for the server.
                panic!("an advisory lock outlived its runner");
            }
            db.client()
                .batch_execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()")
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let half: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'half'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(half, 0, "the killed migration's table was rolled back");
        let recorded: Vec<i64> = db
            .client()
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(recorded, [1], "only what committed is recorded");
        // A new run takes over (with a quick file in place of the slow one).
        p.write("0002_slow.sql", "CREATE TABLE done (x int);\n");
        let out = p.bare(&["up"]).env("DATABASE_URL", &url).output().unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        db.client()
            .batch_execute("DROP TABLE t, done; DROP TABLE schema_migrations")
            .unwrap();
    }
}

#[test]
fn eight_cli_processes_at_once_apply_each_migration_once() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let mut files: Vec<(String, String)> = (1..=10)
        .map(|i| {
            (
                format!("{i:04}_t{i}.sql"),
                format!("CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);\nINSERT INTO t{i} (v) VALUES ('once');\n"),
            )
        })
        .collect();
    files.push((
        "0011_t1_v.sql".into(),
        "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY t1_v ON t1 (v);\n".into(),
    ));
    files.push(("0012_t2.indexes".into(), "index t2_v on t2 (v)\n".into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let p = Project::new(&refs);
    let children: Vec<_> = (0..8)
        .map(|_| {
            p.bare(&["up"])
                .env("DATABASE_URL", &url)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        applied += stdout(&out)
            .lines()
            .filter(|l| l.starts_with("applied "))
            .count();
    }
    assert_eq!(applied, 12, "each migration applied by exactly one process");
    let client = db.client();
    for i in 1..=10 {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM t{i}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "t{i}");
    }
    let valid: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_index WHERE indisvalid AND indexrelid::regclass::text IN ('t1_v', 't2_v')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(valid, 2);
    let out = p
        .bare(&["verify"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn bad_input_on_postgresql_is_named_and_changes_nothing() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[("0001_t.sql", "CREATE TABLE t (x int);\n")]);
    let cli = |database: &str, args: &[&str]| {
        p.bare(args).env("DATABASE_URL", database).output().unwrap()
    };
    let says = |out: &std::process::Output, want: i32, needle: &str| {
        assert_eq!(code(out), want, "{}", stderr(out));
        assert!(
            stderr(out).contains(needle),
            "no {needle:?} in: {}",
            stderr(out)
        );
    };
    // A database that is not there, a role that is not there, a port
    // nobody listens on: named, the password never shown.
    let missing = url.replacen(&db.name, "no_such_database_here", 1);
    says(
        &cli(&missing, &["up"]),
        1,
        "database \"no_such_database_here\" does not exist [SQLSTATE 3D000]",
    );
    // The URL's user is replaced: `postgresql://user@/db` becomes
    // `postgresql://nobody_here:hunter2@/db`.
    let at = url.find('@').unwrap();
    let stranger = format!("postgresql://nobody_here:hunter2{}", &url[at..]);
    let out = cli(&stranger, &["status"]);
    // The server's answer, not only the URL echoed back.
    says(&out, 1, "authentication failed for user \"nobody_here\"");
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("TLS"), "{}", stderr(&out));
    says(
        &cli("postgres://app:pw@127.0.0.1:1/app", &["up"]),
        1,
        "cannot connect to PostgreSQL at postgres://app:***@127.0.0.1:1/app",
    );
    says(
        &cli("postgres://app@host:notaport/app", &["up"]),
        1,
        "invalid connection string: invalid value for option `port`",
    );
    // As libpq: sslmode means nothing on a Unix-domain socket.
    let out = cli(&format!("{url}&sslmode=require"), &["status"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Bad history table names, SQL refused in a transaction, a pragma set:
    // before any change.
    says(
        &cli(&url, &["--table", "a.b.c", "up"]),
        2,
        "invalid history table name `a.b.c`",
    );
    says(
        &cli(&url, &["--table", "x\"; DROP TABLE t; --", "up"]),
        2,
        "invalid history table name",
    );
    p.write("0002_vacuum.sql", "VACUUM t;\n");
    says(&cli(&url, &["up"]), 1, "0002_vacuum.sql:1");
    std::fs::remove_file(p.dir.path().join("migrations/0002_vacuum.sql")).unwrap();
    p.write(
        "0002_bad.sql",
        "CREATE TABLE u (x int);\nCREATE TABLE u (x int);\n",
    );
    says(&cli(&url, &["up"]), 1, "migration 2 (0002_bad.sql:2)");
    // Nothing of the failed migration stayed; the first applied.
    let client = db.client();
    let tables: Vec<String> = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tables, ["schema_migrations", "t"]);
    // An unterminated dollar quote, at its line.
    std::fs::remove_file(p.dir.path().join("migrations/0002_bad.sql")).unwrap();
    p.write(
        "0002_fn.sql",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\nSELECT 1;\n",
    );
    says(&cli(&url, &["up"]), 1, "0002_fn.sql:1");
    // A --lock-timeout that is not a number.
    says(
        &cli(&url, &["--lock-timeout", "soon", "up"]),
        2,
        "--lock-timeout",
    );
}

#[test]
fn a_password_url_over_tcp_authenticates_with_scram() {
    let Some(mut db) = pg::scratch() else { return };
    // A role with a password; the server asks TCP clients for SCRAM
    // (Debian's default pg_hba.conf; elsewhere the test says it cannot).
    let role = format!("migrate_scram_{}", std::process::id());
    db.client()
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 's3cr:t@pw'; \
             GRANT ALL ON SCHEMA public TO {role}"
        ))
        .unwrap();
    let method: Option<String> = db
        .client()
        .query_opt(
            "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' AND address = '127.0.0.1' LIMIT 1",
            &[],
        )
        .ok()
        .flatten()
        .map(|r| r.get(0));
    let p = Project::new(&[(
        "0001_t.sql",
        "CREATE TABLE t (x int);\nCREATE TABLE u (x int);\n",
    )]);
    // The password percent-encoded in the URL, as libpq reads it.
    let port = pg::config()
        .split_whitespace()
        .find_map(|p| p.strip_prefix("port=").map(str::to_owned))
        .unwrap_or_else(|| "5432".into());
    let url = format!(
        "postgresql://{role}:s3cr%3At%40pw@127.0.0.1:{port}/{}",
        db.name
    );
    let wrong = url.replacen("s3cr%3At%40pw", "guess", 1);
    let denied = p
        .bare(&["up"])
        .env("DATABASE_URL", &wrong)
        .output()
        .unwrap();
    let out = p.bare(&["up"]).env("DATABASE_URL", &url).output().unwrap();
    let _ = db
        .client()
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE IF EXISTS {role}"));
    if method.as_deref() != Some("scram-sha-256") {
        eprintln!(
            "NOTE: the server does not ask 127.0.0.1 for SCRAM ({method:?}); only the password URL was used"
        );
    }
    assert_eq!(code(&denied), 1, "{}", stderr(&denied));
    assert!(
        stderr(&denied).contains("password authentication failed"),
        "{}",
        stderr(&denied)
    );
    assert!(!stderr(&denied).contains("guess"), "{}", stderr(&denied));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("applied 1 t"), "{}", stdout(&out));
}

#[test]
fn move_dry_run_plans_the_copy_and_names_what_postgresql_would_refuse() {
    let p = Project::new(&[(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, age INT);\nCREATE VIEW grown AS SELECT * FROM users WHERE age > 17;\n",
    )]);
    let db = p.dir.path().join("app.db");
    let db = db.to_str().unwrap();
    assert_eq!(code(&p.bare(&["-d", db, "up"]).output().unwrap()), 0);
    let conn = migrate_core::rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("INSERT INTO users (email, age) VALUES ('a@x', 3), ('b@x', 'old');")
        .unwrap();
    drop(conn);
    let before = std::fs::read(db).unwrap();
    let to = "postgres://app@db.internal/app";
    let out = p
        .bare(&["-d", db, "move", "--to", to, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("\"id\" bigint GENERATED BY DEFAULT AS IDENTITY"),
        "{text}"
    );
    assert!(
        !text.contains("schema_migrations"),
        "the history is not moved: {text}"
    );
    assert!(text.contains("view `grown`"), "{text}");
    assert!(
        text.contains(
            "table `users`, row 2, column `age`: text 'old' in a column that becomes bigint"
        ),
        "{text}"
    );
    let out = p
        .bare(&[
            "-d",
            db,
            "move",
            "--to",
            to,
            "--dry-run",
            "--map",
            "users.age=text",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // Without --dry-run, values PostgreSQL would refuse stop it before it
    // connects; the SQLite file is only read.
    let out = p.bare(&["-d", db, "move", "--to", to]).output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("nothing was written (correct them, or --map the columns)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read(db).unwrap(), before);
}

#[test]
fn move_copies_into_postgresql_and_a_killed_move_leaves_nothing() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[(
        "0001_events.sql",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload BLOB, at REAL);\n",
    )]);
    let file = p.dir.path().join("big.db");
    let file = file.to_str().unwrap();
    assert_eq!(code(&p.bare(&["-d", file, "up"]).output().unwrap()), 0);
    let conn = migrate_core::rusqlite::Connection::open(file).unwrap();
    conn.execute_batch(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 150000)
         INSERT INTO events (kind, payload, at) SELECT 'kind ' || (x % 7), randomblob(64), x / 3.0 FROM n;",
    )
    .unwrap();
    drop(conn);
    // Killed mid-COPY: the one transaction goes, and nothing is left.
    let mut child = p
        .bare(&["-d", file, "move", "--to", &url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let copying = pg::count(
            db.client(),
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY%' AND pid <> pg_backend_pid()",
        );
        if copying > 0 {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "the copy never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let started = std::time::Instant::now();
    while pg::count(
        db.client(),
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    ) > 0
    {
        assert!(
            started.elapsed().as_secs() < 60,
            "the killed move's session stayed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        pg::count(
            db.client(),
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        0,
        "a killed move leaves no table"
    );
    // Run again: copied and verified.
    let out = p
        .bare(&["-d", file, "move", "--to", &url])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("copied events: 150000 rows") && stdout(&out).contains("verified"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        pg::count(db.client(), "SELECT count(*) FROM events"),
        150000
    );
    // A third time is refused: the target is not empty.
    let out = p
        .bare(&["-d", file, "move", "--to", &url])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("the target already has `events`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn move_emits_the_schema_as_the_first_migration_and_up_goes_on() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[(
        "0001_shop.sql",
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id), \
         total NUMERIC(10,2), paid BOOLEAN NOT NULL DEFAULT 0);\n\
         CREATE INDEX orders_customer ON orders (customer_id);\n\
         INSERT INTO customers (name) VALUES ('Ada'), ('Grace');\n\
         INSERT INTO orders (customer_id, total, paid) VALUES (1, 12.5, 1), (2, 3, 0);\n",
    )]);
    let file = p.dir.path().join("shop.db");
    let file = file.to_str().unwrap();
    assert_eq!(code(&p.bare(&["-d", file, "up"]).output().unwrap()), 0);
    let emit = p.dir.path().join("pg-migrations");
    let emit = emit.to_str().unwrap();
    // A folder that is not empty is refused before anything.
    std::fs::create_dir(emit).unwrap();
    std::fs::write(format!("{emit}/0001_old.sql"), "SELECT 1;").unwrap();
    let out = p
        .bare(&["-d", file, "move", "--to", &url, "--emit", emit])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    std::fs::remove_dir_all(emit).unwrap();
    let out = p
        .bare(&["-d", file, "move", "--to", &url, "--emit", emit])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let schema = std::fs::read_to_string(format!("{emit}/0001_schema.sql")).unwrap();
    assert!(
        schema.contains("REFERENCES \"customers\" (\"id\")") && !schema.contains("NOT VALID"),
        "{schema}"
    );
    // The new folder is PostgreSQL's: applied, drift-free, and up goes on.
    let pg = |args: &[&str]| {
        let mut all = vec!["--dir", emit, "-d", url.as_str()];
        all.extend_from_slice(args);
        p.bare(&all).output().unwrap()
    };
    let out = pg(&["status"]);
    assert!(
        stdout(&out).contains("1 applied, 0 pending"),
        "{}",
        stdout(&out)
    );
    let out = pg(&["verify"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    std::fs::write(
        format!("{emit}/0002_notes.sql"),
        "ALTER TABLE orders ADD COLUMN note text;\n",
    )
    .unwrap();
    let out = pg(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("applied 2 notes"), "{}", stdout(&out));
    let paid: bool = db
        .client()
        .query_one("SELECT paid FROM orders WHERE id = 1", &[])
        .unwrap()
        .get(0);
    assert!(paid);
}

/// The local server with TLS on a certificate made here: a CA, and a
/// server certificate for `localhost` signed by it (and an unrelated CA).
/// `None`, said on stderr, where the test cannot set that up (no openssl
/// binary, or no right to write the server's files).
struct Tls {
    dir: std::path::PathBuf,
    port: String,
}

fn tls_server() -> Option<Tls> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let skip = |why: String| {
        eprintln!("SKIPPED: the TLS test: {why}");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: {why}"
        );
        None
    };
    let mut admin = match postgres::Client::connect(&pg::config(), postgres::NoTls) {
        Ok(c) => c,
        Err(e) => return skip(format!("PostgreSQL is not reachable: {e}")),
    };
    let show = |admin: &mut postgres::Client, what: &str| -> String {
        admin
            .query_one(&format!("SHOW {what}"), &[])
            .unwrap()
            .get(0)
    };
    let data = std::path::PathBuf::from(show(&mut admin, "data_directory"));
    let port = show(&mut admin, "port");
    // Kept in the data folder: the server's configuration names these
    // files, and it must find them at its next start too.
    let dir = data.join("migrate-test-tls");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return skip(format!("cannot write {}: {e}", dir.display()));
    }
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
            Err(e) => Err(format!("no openssl binary: {e}")),
        }
    };
    let made = (|| {
        for ca in ["ca", "other-ca"] {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=migrate test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.crt"),
            ])?;
        }
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ])?;
        std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n")
            .map_err(|e| e.to_string())?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ])
    })();
    if let Err(why) = made {
        return skip(format!("cannot make the certificates: {why}"));
    }
    let owner = std::fs::metadata(&data).unwrap();
    for f in ["server.crt", "server.key"] {
        let path = dir.join(f);
        if let Err(e) = std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())) {
            return skip(format!(
                "cannot give {} to the server's user: {e}",
                path.display()
            ));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let _ = std::os::unix::fs::chown(&dir, Some(owner.uid()), Some(owner.gid()));
    // One statement at a time: ALTER SYSTEM refuses a multi-statement
    // string (an implicit transaction block).
    for sql in [
        format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}/server.crt'",
            dir.display()
        ),
        format!(
            "ALTER SYSTEM SET ssl_key_file = '{}/server.key'",
            dir.display()
        ),
        "ALTER SYSTEM SET ssl = on".to_owned(),
        "SELECT pg_reload_conf()".to_owned(),
        "DROP ROLE IF EXISTS migrate_tls".to_owned(),
        "CREATE ROLE migrate_tls LOGIN PASSWORD 'Pa/ss?w0rd'".to_owned(),
    ] {
        admin.batch_execute(&sql).unwrap();
    }
    Some(Tls { dir, port })
}

/// TLS as libpq does it, through the real binary: `require` encrypts,
/// `verify-full` checks the CA and the host name, `verify-ca` the CA only;
/// a wrong host name and an unknown CA are refused, each with what to do;
/// `PGSSLMODE`/`PGSSLROOTCERT` apply when the URL says nothing. The
/// password (with a raw `/` and `?`) is never shown.
#[test]
fn tls_connects_and_checks_as_libpq_does() {
    let Some(tls) = tls_server() else { return };
    let ca = tls.dir.join("ca.crt");
    let other = tls.dir.join("other-ca.crt");
    let url = |host: &str, params: &str| {
        format!(
            "postgres://migrate_tls:Pa/ss?w0rd@{host}:{}/postgres{params}",
            tls.port
        )
    };
    let p = Project::new(&[("0001_a.sql", "SELECT 1;\n")]);
    let status = |url: &str, env: &[(&str, &str)]| {
        let mut c = p.bare(&["--database", url, "status"]);
        c.env_remove("PGSSLMODE").env_remove("PGSSLROOTCERT");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // The server reloads its configuration on its own time.
    let full = url(
        "localhost",
        &format!("?sslmode=verify-full&sslrootcert={}", ca.display()),
    );
    let ready = (0..100).any(|_| {
        let ok = code(&status(&full, &[])) == 0;
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        ok
    });
    let out = status(&full, &[]);
    assert!(ready, "verify-full never connected: {}", stderr(&out));
    for (what, target, env) in [
        ("require", url("localhost", "?sslmode=require"), vec![]),
        (
            "verify-ca by address",
            url(
                "127.0.0.1",
                &format!("?sslmode=verify-ca&sslrootcert={}", ca.display()),
            ),
            vec![],
        ),
        ("prefer, the default", url("localhost", ""), vec![]),
        (
            "the environment",
            url("localhost", ""),
            vec![
                ("PGSSLMODE", "verify-full"),
                ("PGSSLROOTCERT", ca.to_str().unwrap()),
            ],
        ),
    ] {
        let env: Vec<(&str, &str)> = env;
        let out = status(&target, &env);
        assert_eq!(code(&out), 0, "{what}: {}", stderr(&out));
    }
    // The library says the session is encrypted.
    let connector = migrate_core::postgres::Connector::with_env(
        &url(
            "localhost",
            &format!("?sslmode=verify-full&sslrootcert={}", ca.display()),
        ),
        |_| None,
    )
    .unwrap();
    let mut client = connector.connect().unwrap();
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ssl);
    for (what, target, env, says) in [
        (
            "a wrong host name",
            url(
                "127.0.0.1",
                &format!("?sslmode=verify-full&sslrootcert={}", ca.display()),
            ),
            vec![],
            "not for the host name `127.0.0.1`",
        ),
        (
            "an unknown CA",
            url(
                "localhost",
                &format!("?sslmode=verify-full&sslrootcert={}", other.display()),
            ),
            vec![],
            "not signed by a trusted authority",
        ),
        (
            "an unknown CA from the environment",
            url("localhost", ""),
            vec![
                ("PGSSLMODE", "verify-ca"),
                ("PGSSLROOTCERT", other.to_str().unwrap()),
            ],
            "not signed by a trusted authority",
        ),
        (
            "a bad sslmode",
            url("localhost", "?sslmode=verify"),
            vec![],
            "sslmode `verify` is not one of",
        ),
        (
            "a missing root file",
            url(
                "localhost",
                "?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            ),
            vec![],
            "sslrootcert /nonexistent/ca.pem",
        ),
    ] {
        let env: Vec<(&str, &str)> = env;
        let out = status(&target, &env);
        let e = stderr(&out);
        assert_eq!(code(&out), 1, "{what}: {e}");
        assert!(e.contains(says), "{what}: {e}");
        assert!(
            !e.contains("w0rd") && !stdout(&out).contains("w0rd"),
            "{what}: the password shown: {e}"
        );
    }
}

/// Issue #23.4 and .9: `schema` needs no migrations folder on PostgreSQL
/// either, and `verify` on a database without a history table verifies
/// (nothing applied) rather than failing on an aborted transaction.
#[test]
fn schema_and_verify_on_a_database_without_history() {
    let Some(db) = pg::scratch() else { return };
    let url = db.url();
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_migrate-cli"))
        .current_dir(empty.path())
        .args(["--database", &url, "schema"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let p = Project::new(&[("0001_t.sql", "CREATE TABLE t (x int);\n")]);
    let out = p.bare(&["--database", &url, "verify"]).output().unwrap();
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (
            0,
            "ok: 0 applied migrations verified; pending (not checked): 1\n"
        ),
        "{}",
        stderr(&out)
    );
}

/// Issue #23.6: a `CREATE UNIQUE INDEX CONCURRENTLY` that failed on
/// duplicates leaves an INVALID index; run again after the data is fixed,
/// `IF NOT EXISTS` skips it. The step is not recorded: it fails naming the
/// index and the fix, and `verify` reports every invalid index. Dropped,
/// the index is built again by the next `up`.
#[test]
fn invalid_indexes_are_never_recorded_as_applied() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[
        ("0001_t.sql", "CREATE TABLE t (x int);\n"),
        (
            "0002_u.sql",
            // Allowed, so that the run tries it: lint would refuse it
            // before the run, on the duplicate.
            "-- migrate:no-transaction\n-- migrate:allow new-unique-index\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_x ON t (x);\n",
        ),
    ]);
    let cli = |args: &[&str]| p.bare(args).env("DATABASE_URL", &url).output().unwrap();
    assert_eq!(code(&cli(&["up", "--to", "1"])), 0);
    // The app's rows hold a duplicate.
    db.client()
        .batch_execute("INSERT INTO t VALUES (1), (1)")
        .unwrap();
    let out = cli(&["up"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    // The data fixed, the same file: the index is skipped, and INVALID.
    db.client()
        .batch_execute("DELETE FROM t WHERE ctid IN (SELECT max(ctid) FROM t)")
        .unwrap();
    let out = cli(&["up"]);
    let e = stderr(&out);
    assert_eq!(code(&out), 1, "{e}");
    assert!(
        e.contains("it left index `t_x` INVALID") && e.contains("DROP INDEX CONCURRENTLY t_x"),
        "{e}"
    );
    let out = cli(&["status"]);
    assert!(
        stdout(&out).contains("1 applied, 1 pending"),
        "{}",
        stdout(&out)
    );
    let out = cli(&["verify"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("index `t_x` is INVALID"),
        "{}",
        stdout(&out)
    );
    db.client()
        .batch_execute("DROP INDEX CONCURRENTLY t_x")
        .unwrap();
    let out = cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cli(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        db.client()
            .batch_execute("INSERT INTO t VALUES (1)")
            .is_err(),
        "the index is unique again"
    );
}

/// Issue #23.7: while one runner is inside a migration, a second waits for
/// the migration lock only `--lock-wait`, then fails naming the session
/// that holds it, with nothing changed. Timeouts follow PostgreSQL: out of
/// range is a usage error.
#[test]
fn the_migration_lock_wait_is_bounded_and_names_the_holder() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[
        ("0001_t.sql", "CREATE TABLE t (x int);\n"),
        (
            "0002_slow.sql",
            "SELECT pg_sleep(4);\nINSERT INTO t VALUES (1);\n",
        ),
    ]);
    let mut first = p
        .bare(&["--database", &url, "up"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = db.client();
    let sleeping = (0..400).any(|_| {
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        if n == 0 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        n > 0
    });
    assert!(
        sleeping,
        "the first runner never reached its slow migration"
    );
    let started = std::time::Instant::now();
    let out = p
        .bare(&["--database", &url, "up", "--lock-wait", "300"])
        .output()
        .unwrap();
    let e = stderr(&out);
    assert_eq!(code(&out), 1, "{e}");
    assert!(
        e.contains("another runner held the migration lock for the whole wait"),
        "{e}"
    );
    assert!(
        e.contains("held by process") && e.contains("pg_sleep"),
        "{e}"
    );
    assert!(e.contains("--lock-wait"), "{e}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "it waited for the first runner"
    );
    assert!(first.wait().unwrap().success());
    for flag in ["--lock-timeout", "--lock-wait"] {
        let out = p
            .bare(&["--database", &url, flag, "2147483648", "status"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{flag}: {}", stderr(&out));
    }
}

/// Issue #23.8: `--table` is read as PostgreSQL reads an unquoted name,
/// folded to lower case: `Schema_Migrations` is `schema_migrations`, one
/// history, not two. A mixed-case table an earlier build made (quoted) is
/// still found while it is the only one.
#[test]
fn the_history_table_name_folds_as_postgresql_folds_it() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[("0001_t.sql", "CREATE TABLE t (x int);\n")]);
    let cli = |args: &[&str]| p.bare(args).env("DATABASE_URL", &url).output().unwrap();
    let out = cli(&["--table", "Schema_Migrations", "up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cli(&["status"]);
    assert!(
        stdout(&out).contains("1 applied, 0 pending"),
        "{}",
        stdout(&out)
    );
    let tables: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_class WHERE lower(relname) = 'schema_migrations'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 1);
    // An earlier build's quoted table, alone: kept.
    db.client()
        .batch_execute("ALTER TABLE schema_migrations RENAME TO \"Old_History\"")
        .unwrap();
    let out = cli(&["--table", "Old_History", "status"]);
    assert!(
        stdout(&out).contains("1 applied, 0 pending"),
        "{}",
        stdout(&out)
    );
}

/// Issue #23.4: a migration that creates a schema named like the role puts
/// a new first schema on the search_path (`"$user", public`); the history
/// stays where it is, `up` goes on, and `verify` replays with the session's
/// own search_path.
#[test]
fn a_schema_named_like_the_role_does_not_move_the_history() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let role: String = db
        .client()
        .query_one("SELECT current_user::text", &[])
        .unwrap()
        .get(0);
    let p = Project::new(&[
        ("0001_t.sql", "CREATE TABLE t (x int);\n"),
        ("0002_s.sql", &format!("CREATE SCHEMA \"{role}\";\n")),
    ]);
    let cli = |args: &[&str]| p.bare(args).env("DATABASE_URL", &url).output().unwrap();
    assert_eq!(code(&cli(&["up"])), 0);
    p.write("0003_u.sql", "CREATE TABLE u (x int);\n");
    let out = cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cli(&["status"]);
    assert!(
        stdout(&out).contains("3 applied, 0 pending"),
        "{}",
        stdout(&out)
    );
    let out = cli(&["verify"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let histories: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(histories, 1);
}

/// Issue #23.9: `-v` on PostgreSQL logs every statement sent, with its
/// duration, as it does on SQLite.
#[test]
fn verbose_logs_postgresql_statements() {
    let Some(db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[("0001_t.sql", "CREATE TABLE logged_here (x int);\n")]);
    let out = p.bare(&["--database", &url, "-v", "up"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.lines().any(|l| l.starts_with("sql")
            && l.contains(" ms  ")
            && l.contains("CREATE TABLE logged_here")),
        "{e}"
    );
    assert!(
        e.contains("pg_try_advisory_xact_lock"),
        "the tool's own statements too: {e}"
    );
}

/// Issue #23.10-12: the move keeps what PostgreSQL can hold and names the
/// rest. A `COLLATE NOCASE UNIQUE` column becomes citext (PostgreSQL then
/// refuses 'ada@x.org' beside 'Ada@x.org'); AUTOINCREMENT's ids go on past
/// every id SQLite handed out (201, not 191); an FTS5 table is named as not
/// carried, its shadow tables left out. Every failure of the real move that
/// the data or schema decides is found by the dry run: a mixed-case column
/// in a UNIQUE constraint, a value too wide for DECIMAL(5,2), an integer
/// in a BLOB column.
#[test]
fn the_move_keeps_meaning_and_its_dry_run_finds_every_refusal() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[(
        "0001_app.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, Email TEXT COLLATE NOCASE UNIQUE, \
         Handle TEXT, UNIQUE (handle));\n\
         CREATE TABLE prices (id INTEGER PRIMARY KEY, amount DECIMAL(5,2), photo BLOB);\n\
         CREATE VIRTUAL TABLE docs USING fts5(body);\n",
    )]);
    let file = p.dir.path().join("app.db");
    let file = file.to_str().unwrap();
    assert_eq!(code(&p.bare(&["-d", file, "up"]).output().unwrap()), 0);
    let conn = migrate_core::rusqlite::Connection::open(file).unwrap();
    conn.execute_batch(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 210)
         INSERT INTO users (Email, Handle) SELECT 'u' || x || '@x.org', 'h' || x FROM n;
         DELETE FROM users WHERE id > 200;
         INSERT INTO prices (amount, photo) VALUES (12.5, x'00'), (12345.5, x'01'), (1.005, 7);
         INSERT INTO docs VALUES ('hello');",
    )
    .unwrap();
    drop(conn);
    let out = p
        .bare(&["-d", file, "move", "--to", &url, "--dry-run"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(
        text.contains("row 2, column `amount`: 12345.5 has 5 digits before the point"),
        "{text}"
    );
    assert!(
        text.contains("row 3, column `amount`: 1.005 has 3 digits after the point"),
        "{text}"
    );
    assert!(
        text.contains("row 3, column `photo`: the integer 7 in a column that becomes bytea"),
        "{text}"
    );
    assert!(
        text.contains("COLLATE NOCASE becomes the type citext"),
        "{text}"
    );
    assert!(text.contains("virtual table `docs`"), "{text}");
    assert!(text.contains("SQLite's LIKE ignores ASCII case"), "{text}");
    assert!(
        !text.contains("docs_data") && !text.contains("CREATE TABLE \"docs\""),
        "{text}"
    );
    // Corrected, the move goes through and keeps the meaning.
    let conn = migrate_core::rusqlite::Connection::open(file).unwrap();
    conn.execute_batch("UPDATE prices SET amount = 123.5 WHERE id = 2; UPDATE prices SET amount = 1.01, photo = NULL WHERE id = 3;")
        .unwrap();
    drop(conn);
    let out = p
        .bare(&["-d", file, "move", "--to", &url])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let client = db.client();
    let id: i64 = client
        .query_one(
            "INSERT INTO users (email, handle) VALUES ('fresh@x.org', 'fresh') RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(id, 211, "AUTOINCREMENT: past every id SQLite handed out");
    assert!(
        client
            .batch_execute("INSERT INTO users (email, handle) VALUES ('U1@X.ORG', 'new')")
            .is_err(),
        "a case variant of an existing e-mail went in"
    );
    let found: i64 = client
        .query_one("SELECT count(*) FROM users WHERE email = 'U2@X.ORG'", &[])
        .unwrap()
        .get(0);
    assert_eq!(found, 1, "NOCASE compares without case");
}

/// Issue #23.13: a move with `--emit DIR` killed mid-copy leaves no file a
/// rerun trips on (the schema file has a scratch name until the copy
/// commits); and the advice for text PostgreSQL cannot hold (a NUL
/// character) is the map that works, bytea.
#[test]
fn a_killed_emit_can_be_run_again_and_nul_advice_works() {
    let Some(db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[(
        "0001_events.sql",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload BLOB);\n",
    )]);
    let file = p.dir.path().join("big.db");
    let file = file.to_str().unwrap();
    assert_eq!(code(&p.bare(&["-d", file, "up"]).output().unwrap()), 0);
    let conn = migrate_core::rusqlite::Connection::open(file).unwrap();
    conn.execute_batch(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 150000)
         INSERT INTO events (kind, payload) SELECT 'kind ' || (x % 7), randomblob(64) FROM n;",
    )
    .unwrap();
    drop(conn);
    let emit = p.dir.path().join("pg-migrations");
    let emit_arg = emit.to_str().unwrap();
    let mut child = p
        .bare(&["-d", file, "move", "--to", &url, "--emit", emit_arg])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let partial = emit.join(".0001_schema.sql.migrate-partial");
    let seen = (0..2000).any(|_| {
        let there = partial.exists();
        if !there {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        there
    });
    child.kill().unwrap();
    let _ = child.wait();
    if seen && partial.exists() {
        // Killed while copying: the next run is not refused.
        let out = p
            .bare(&["-d", file, "move", "--to", &url, "--emit", emit_arg])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
        assert!(emit.join("0001_schema.sql").exists());
        assert!(!partial.exists());
    }
    // Text with a NUL: the advice names bytea, which works.
    let Some(other) = pg::scratch() else { return };
    let q = Project::new(&[(
        "0001_t.sql",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);\n",
    )]);
    let small = q.dir.path().join("small.db");
    let small = small.to_str().unwrap();
    assert_eq!(code(&q.bare(&["-d", small, "up"]).output().unwrap()), 0);
    migrate_core::rusqlite::Connection::open(small)
        .unwrap()
        .execute_batch("INSERT INTO t (name) VALUES (CAST(x'610062' AS TEXT))")
        .unwrap();
    let out = q
        .bare(&["-d", small, "move", "--to", &other.url(), "--dry-run"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("`--map t.name=bytea`"),
        "{}",
        stdout(&out)
    );
    let out = q
        .bare(&[
            "-d",
            small,
            "move",
            "--to",
            &other.url(),
            "--map",
            "t.name=bytea",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

/// `lint` with a PostgreSQL URL reads the server's history, read-only,
/// and lints only what is pending there.
#[test]
fn lint_on_postgresql_lints_what_is_pending() {
    let Some(db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[(
        "0001_users.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nALTER TABLE users ADD CONSTRAINT email_unique UNIQUE (email);\n",
    )]);
    let cli = |args: &[&str]| p.bare(args).env("DATABASE_URL", &url).output().unwrap();
    // Before anything is applied, every file: and a table made in the same
    // file is exempt.
    let out = cli(&["lint"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "{}", stderr(&out));
    let out = cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    p.write(
        "0002_more.sql",
        "CREATE INDEX users_email ON users (email);\n",
    );
    let out = cli(&["lint"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0002_more.sql:1: warning require-concurrent-index-creation"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("0001_users.sql"), "{}", stdout(&out));
    // --all lints the applied one too.
    let out = cli(&["lint", "--all", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A server that does not answer: said, and every file linted.
    let out = p
        .bare(&["lint"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("every migration is linted"),
        "{}",
        stderr(&out)
    );
    // The server's rows: a NOT NULL that a NULL breaks is certain to fail;
    // lint says so, and up refuses before anything runs (0002 neither).
    let mut client = db.connect();
    client
        .batch_execute("INSERT INTO users VALUES (1, 'a@x'), (2, NULL);")
        .unwrap();
    p.write(
        "0003_required.sql",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
    );
    let out = cli(&["lint"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("0003_required.sql:1: error adding-not-nullable-field")
            && stdout(&out).contains("1 of them hold NULL in \"email\": it fails"),
        "{}",
        stdout(&out)
    );
    let out = cli(&["up"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refused before the first migration ran")
            && stderr(&out).contains("nothing was changed"),
        "{}",
        stderr(&out)
    );
    let applied: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, 1);
    // Mended in a migration before it: no longer certain, and up runs.
    p.write(
        "0002_more.sql",
        "UPDATE users SET email = '' WHERE email IS NULL;\n",
    );
    let out = cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("lint: 0003_required.sql:1: warning adding-not-nullable-field"),
        "{}",
        stderr(&out)
    );
}
