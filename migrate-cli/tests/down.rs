//! `down` and `redo` through the real binary, on migration sets written the
//! way each tool writes them: sqlx and golang-migrate `.up.sql`/`.down.sql`
//! pairs, dbmate and goose sections in one file, diesel folders.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use migrate_core::rusqlite::Connection;

/// The same three migrations in each tool's layout: users; posts
/// referencing users (`ON DELETE CASCADE`); an added column whose down is
/// SQLite's table rebuild.
fn format(tool: &str) -> Vec<(String, String)> {
    let ups = [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO users (email) VALUES ('a@x'), ('b@x');\n",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, body TEXT);\nINSERT INTO posts (user_id, body) VALUES (1, 'hello'), (2, 'bye');\n",
        "ALTER TABLE users ADD COLUMN name TEXT;\n",
    ];
    // The last down rebuilds `users` with foreign keys on in the
    // connection: were the DROP TABLE to run with them on, it would delete
    // every post through the cascade.
    let downs = [
        "DROP TABLE users;\n",
        "DROP TABLE posts;\n",
        "CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO users_new (id, email) SELECT id, email FROM users;\nDROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n",
    ];
    let names = ["users", "posts", "user_names"];
    let mut files = Vec::new();
    for i in 0..3 {
        let (up, down, name) = (ups[i], downs[i], names[i]);
        let v = i + 1;
        match tool {
            "sqlx" => {
                files.push((format!("2024010100000{v}_{name}.up.sql"), up.to_owned()));
                files.push((format!("2024010100000{v}_{name}.down.sql"), down.to_owned()));
            }
            "golang-migrate" => {
                files.push((format!("00000{v}_{name}.up.sql"), up.to_owned()));
                files.push((format!("00000{v}_{name}.down.sql"), down.to_owned()));
            }
            "dbmate" => files.push((
                format!("2024010100000{v}_{name}.sql"),
                format!("-- migrate:up\n{up}\n-- migrate:down\n{down}"),
            )),
            "goose" => files.push((
                format!("0000{v}_{name}.sql"),
                format!(
                    "-- +goose Up\n-- +goose StatementBegin\n{up}-- +goose StatementEnd\n\n-- +goose Down\n-- +goose StatementBegin\n{down}-- +goose StatementEnd\n"
                ),
            )),
            "diesel" => {
                files.push((format!("2024-01-01-00000{v}_{name}/up.sql"), up.to_owned()));
                files.push((format!("2024-01-01-00000{v}_{name}/down.sql"), down.to_owned()));
            }
            other => panic!("no layout for {other}"),
        }
    }
    files
}

fn project(files: &[(String, String)]) -> Project {
    let p = Project::new(&[]);
    for (name, text) in files {
        p.write(name, text);
    }
    p
}

/// The user schema (history table left out) and every user row, as text.
fn snapshot(p: &Project) -> (Vec<String>, Vec<String>) {
    let conn = Connection::open(p.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name")
        .unwrap();
    let schema: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut rows = Vec::new();
    for table in ["users", "posts"] {
        let Ok(mut stmt) = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1")) else {
            continue;
        };
        let n = stmt.column_count();
        let found: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(|r| format!("{table}: {}", r.unwrap()))
            .collect();
        rows.extend(found);
    }
    (schema, rows)
}

fn unquoted((schema, rows): (Vec<String>, Vec<String>)) -> (Vec<String>, Vec<String>) {
    (schema.iter().map(|s| s.replace('"', "")).collect(), rows)
}

fn recorded(p: &Project) -> Vec<i64> {
    let conn = Connection::open(p.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn every_format_goes_down_to_zero_and_up_again_to_the_same_schema() {
    for tool in ["sqlx", "golang-migrate", "dbmate", "goose", "diesel"] {
        let p = project(&format(tool));
        ok(&p, &["up"]);
        let applied = snapshot(&p);
        assert_eq!(recorded(&p).len(), 3, "{tool}");
        assert!(applied.0.iter().any(|s| s.contains("name TEXT")), "{tool}");

        // One step (the default): the last migration, whose down is the
        // table rebuild.
        let out = ok(&p, &["down"]);
        assert!(
            out.starts_with("reverted ") && out.contains(" user_names ("),
            "{tool}: {out}"
        );
        let (schema, rows) = snapshot(&p);
        assert!(
            !schema.iter().any(|s| s.contains("name TEXT")),
            "{tool}: {schema:?}"
        );
        assert_eq!(
            rows.iter().filter(|r| r.starts_with("posts")).count(),
            2,
            "{tool}: the rebuild kept every post: {rows:?}"
        );

        let out = ok(&p, &["down", "--to", "0"]);
        assert!(out.contains("2 reverted"), "{tool}: {out}");
        assert_eq!(snapshot(&p), (vec![], vec![]), "{tool}");
        assert!(recorded(&p).is_empty(), "{tool}");

        ok(&p, &["up"]);
        assert_eq!(snapshot(&p), applied, "{tool}: up, down to 0, up again");
        assert_eq!(recorded(&p).len(), 3, "{tool}");

        let out = ok(&p, &["redo"]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("reverted ")
                && lines[0].contains(" user_names (")
                && lines[1].starts_with("applied ")
                && lines[1].contains(" user_names ("),
            "{tool}: {out}"
        );
        // The rebuild's RENAME makes SQLite write the table's name quoted.
        assert_eq!(unquoted(snapshot(&p)), unquoted(applied), "{tool}: redo");
        assert_eq!(recorded(&p).len(), 3, "{tool}");
    }
}

#[test]
fn down_with_foreign_keys_on_keeps_the_children_of_a_rebuilt_table() {
    // The profile turns foreign keys on for every connection, the
    // migrating one included: the rebuild in the down must still not
    // cascade.
    let mut files = format("sqlx");
    files.push((
        "20240101000000_fk.pragmas".into(),
        "foreign_keys = on\n".into(),
    ));
    let p = project(&files);
    ok(&p, &["up"]);
    ok(&p, &["down"]);
    let (_, rows) = snapshot(&p);
    assert_eq!(
        rows.iter().filter(|r| r.starts_with("posts")).count(),
        2,
        "{rows:?}"
    );
    // A plain DROP TABLE whose children would cascade is stopped.
    // (Written before the up runs: a down edited after it is refused.)
    p.write("20240101000003_user_names.down.sql", "DROP TABLE users;\n");
    ok(&p, &["up"]);
    let before = snapshot(&p);
    let out = p.cli(&["down"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("posts"), "{}", stderr(&out));
    assert_eq!(snapshot(&p), before, "nothing changed");
    assert_eq!(recorded(&p).len(), 4);
}

#[test]
fn dry_run_lists_and_changes_nothing() {
    let p = project(&format("dbmate"));
    ok(&p, &["up"]);
    let before = snapshot(&p);
    let out = ok(&p, &["down", "--steps", "2", "--dry-run"]);
    assert_eq!(
        out,
        "would revert 20240101000003 user_names (20240101000003_user_names.sql)\n\
         would revert 20240101000002 posts (20240101000002_posts.sql)\n"
    );
    let out = ok(&p, &["redo", "--dry-run"]);
    assert_eq!(
        out,
        "would revert 20240101000003 user_names (20240101000003_user_names.sql)\n\
         would apply 20240101000003 user_names (20240101000003_user_names.sql)\n"
    );
    assert_eq!(snapshot(&p), before);
    assert_eq!(recorded(&p).len(), 3);
}

#[test]
fn backup_is_taken_before_the_first_revert() {
    let p = project(&format("sqlx"));
    ok(&p, &["up"]);
    let out = p.cli(&["down", "--to", "0", "--backup", "before.db"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let copy = Connection::open(p.dir.path().join("before.db")).unwrap();
    let n: i64 = copy
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3, "the copy is the database before the revert");
    // An existing file is refused before anything changes.
    ok(&p, &["up"]);
    let out = p.cli(&["down", "--backup", "before.db"]);
    assert_eq!(code(&out), 1);
    assert_eq!(recorded(&p).len(), 3);
}

/// Each refusal names the version and the file, and changes nothing.
#[test]
fn refusals_name_the_migration_and_change_nothing() {
    let mut files = format("sqlx");
    files.push((
        "20240101000004_settings.pragmas".into(),
        "user_version = 7\n".into(),
    ));
    files.push((
        "20240101000005_seed.sql".into(),
        "INSERT INTO users (email) VALUES ('c@x');\n".into(),
    ));
    let p = project(&files);
    ok(&p, &["up"]);
    let before = (snapshot(&p), recorded(&p));

    let refused = |args: &[&str], wanted: &[&str]| {
        refused(&p, args, wanted);
        assert_eq!((snapshot(&p), recorded(&p)), before, "{args:?}");
    };
    // No down: the newest first, so even `--to 0` reverts nothing.
    refused(
        &["down"],
        &[
            "version 20240101000005",
            "20240101000005_seed.sql",
            "no down migration",
        ],
    );
    refused(&["down", "--to", "0"], &["20240101000005_seed.sql"]);
    refused(&["redo"], &["20240101000005_seed.sql"]);
    // A pragma set.
    p.write(
        "20240101000005_seed.down.sql",
        "DELETE FROM users WHERE email = 'c@x';\n",
    );
    refused(
        &["down", "--steps", "2"],
        &[
            "version 20240101000004",
            "20240101000004_settings.pragmas",
            "pragma set",
        ],
    );
    // An applied file edited since it ran.
    p.write(
        "20240101000002_posts.up.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
    );
    refused(
        &["down", "--to", "20240101000001"],
        &[
            "version 20240101000002",
            "20240101000002_posts.up.sql",
            "edited",
        ],
    );
    // A version that is no migration.
    refused(&["down", "--to", "20240101000009"], &["20240101000009"]);
    // An applied version whose files are gone.
    p.write("20240101000002_posts.up.sql", &files[2].1);
    for gone in ["20240101000005_seed.sql", "20240101000005_seed.down.sql"] {
        std::fs::remove_file(p.dir.path().join("migrations").join(gone)).unwrap();
    }
    refused(
        &["down"],
        &["20240101000005 (seed)", "not in the migrations folder"],
    );
}

#[test]
fn a_failing_down_is_rolled_back_and_stays_applied() {
    let p = project(&format("sqlx"));
    p.write(
        "20240101000002_posts.down.sql",
        "DROP TABLE posts;\nDROP TABLE nowhere;\n",
    );
    ok(&p, &["up"]);
    let before = (snapshot(&p), recorded(&p));
    let out = p.cli(&["down", "--to", "0"]);
    assert_eq!(code(&out), 1);
    let e = stderr(&out);
    assert!(
        e.contains("reverting migration 20240101000002 (20240101000002_posts.down.sql:2)")
            && e.contains("no such table: nowhere")
            && e.contains("reverted before it in this run: 20240101000003"),
        "{e}"
    );
    // 3 was reverted and committed; 2 was rolled back whole.
    assert_eq!(recorded(&p), [20240101000001, 20240101000002]);
    let (schema, _) = snapshot(&p);
    assert!(
        schema.iter().any(|s| s.contains("CREATE TABLE posts")),
        "{schema:?}"
    );
    assert_ne!(before.1, recorded(&p));
}

#[test]
fn a_bad_down_file_is_refused_when_the_folder_loads() {
    let p = project(&format("golang-migrate"));
    p.write("000002_posts.down.sql", "BEGIN;\nDROP TABLE posts;\n");
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("000002_posts.down.sql:1"),
        "{}",
        stderr(&out)
    );
    assert!(
        !p.db().exists(),
        "a folder that does not load creates no database"
    );
}

#[test]
fn index_sets_revert_by_dropping_their_indexes() {
    let mut files = format("sqlx");
    files.push((
        "20240101000004_hot.indexes".into(),
        "index posts_by_user on posts (user_id)\nunique index users_by_email on users (email)\n"
            .into(),
    ));
    let p = project(&files);
    ok(&p, &["up"]);
    let applied = snapshot(&p);
    assert!(applied.0.iter().any(|s| s.contains("posts_by_user")));
    ok(&p, &["down"]);
    let (schema, _) = snapshot(&p);
    assert!(
        !schema
            .iter()
            .any(|s| s.contains("posts_by_user") || s.contains("users_by_email")),
        "{schema:?}"
    );
    ok(&p, &["up"]);
    assert_eq!(snapshot(&p), applied);
    let out = ok(&p, &["redo"]);
    assert!(out.contains(" hot ("), "{out}");
    assert_eq!(snapshot(&p), applied);
}

const KILL_STEPS: u64 = 60;
const KILL_ROWS: i64 = 2000;

/// Every kill of a `down` leaves an intact database in which each
/// migration's table is there, whole, exactly when its history row is.
#[test]
fn killed_downs_leave_the_database_consistent() {
    let p = Project::new(&[]);
    for v in 1..=KILL_STEPS {
        p.write(
            &format!("{v:03}_t{v}.up.sql"),
            &format!(
                "CREATE TABLE t{v} (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n\
                 WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {KILL_ROWS})\n\
                 INSERT INTO t{v} (body) SELECT printf('row %d', x) FROM n;\n"
            ),
        );
        p.write(
            &format!("{v:03}_t{v}.down.sql"),
            &format!("DELETE FROM t{v};\nDROP TABLE t{v};\n"),
        );
    }
    let check = |context: &str| -> u64 {
        let conn = Connection::open(p.db()).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "{context}");
        let versions = recorded(&p);
        let n = versions.len() as i64;
        assert_eq!(
            versions,
            (1..=n).collect::<Vec<_>>(),
            "{context}: a prefix stays"
        );
        for v in 1..=KILL_STEPS as i64 {
            let rows: Option<i64> = conn
                .query_row(&format!("SELECT count(*) FROM t{v}"), [], |r| r.get(0))
                .ok();
            let wanted = (v <= n).then_some(KILL_ROWS);
            assert_eq!(rows, wanted, "{context}: t{v} with {n} recorded");
        }
        n as u64
    };

    ok(&p, &["up"]);
    let start = Instant::now();
    ok(&p, &["down", "--to", "0"]);
    let whole = start.elapsed().as_micros() as u64;
    assert_eq!(check("after a whole down"), 0);

    let mut seed = 0x9e37_79b9_u64;
    let mut landed = Vec::new();
    for kill in 0..20 {
        ok(&p, &["up"]);
        let mut child = p
            .command(&["down", "--to", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(seed % whole.max(1)));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        landed.push(check(&format!("kill {kill}")));
    }
    // The next down finishes the job.
    ok(&p, &["down", "--to", "0"]);
    assert_eq!(check("after the last down"), 0);
    landed.sort_unstable();
    landed.dedup();
    assert!(
        landed.len() >= 3,
        "kills landed at too few points: {landed:?}"
    );
    eprintln!(
        "down crash suite: 20 kills, landing after {} distinct history lengths",
        landed.len()
    );
}

#[test]
fn downs_outside_a_transaction_and_empty_sections() {
    let p = Project::new(&[
        (
            "001_a.sql",
            "-- migrate:up\nCREATE TABLE a (x);\n-- migrate:down\n",
        ),
        (
            "002_b.sql",
            "-- migrate:up\nCREATE TABLE b (x);\n-- migrate:down transaction:false\nDELETE FROM b;\nDROP TABLE b;\n",
        ),
        (
            "003_c.sql",
            "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE TABLE IF NOT EXISTS c (x);\n-- +goose Down\nDROP TABLE IF EXISTS c;\n",
        ),
        ("004_d.up.sql", "CREATE TABLE d (x);\n"),
        (
            "004_d.down.sql",
            "-- migrate:no-transaction\nDROP TABLE IF EXISTS d;\nVACUUM;\n",
        ),
    ]);
    ok(&p, &["up"]);
    let out = ok(&p, &["down", "--steps", "3"]);
    assert!(out.contains("3 reverted"), "{out}");
    assert_eq!(recorded(&p), [1]);
    let (schema, _) = snapshot(&p);
    assert_eq!(schema, ["CREATE TABLE a (x)"]);
    // An empty down section is no down: refused, naming the file.
    let out = p.cli(&["down"]);
    assert_eq!(code(&out), 1);
    let e = stderr(&out);
    assert!(
        e.contains("version 1 (001_a.sql)") && e.contains("has no statement"),
        "{e}"
    );
    assert_eq!(recorded(&p), [1]);
}

#[test]
fn two_concurrent_downs_revert_each_migration_once() {
    let p = Project::new(&[]);
    for v in 1..=30 {
        p.write(
            &format!("{v:03}_t{v}.up.sql"),
            &format!("CREATE TABLE t{v} (x);\n"),
        );
        p.write(
            &format!("{v:03}_t{v}.down.sql"),
            &format!("DROP TABLE t{v};\n"),
        );
    }
    ok(&p, &["up"]);
    let commands = vec![
        p.command(&["down", "--to", "0"]),
        p.command(&["down", "--to", "0"]),
    ];
    run_at_once(commands, "two downs");
    assert!(recorded(&p).is_empty());
    assert_eq!(snapshot(&p), (vec![], vec![]));
}

/// Issue #22.5: `down --to 0` racing `up` (and a mix of five workers going
/// up and down) never leaves a history that is not what the tables say:
/// every step re-derives its plan under the lock, so a run that finds the
/// history moved stops before the step (exit 1, "another process"), and
/// the history stays the versions 1..k whose tables exist.
#[test]
fn racing_ups_and_downs_leave_a_true_history() {
    let p = Project::new(&[]);
    let n = 6;
    for v in 1..=n {
        p.write(
            &format!("{v:03}_t{v}.up.sql"),
            &format!("CREATE TABLE t{v} (x);\nINSERT INTO t{v} VALUES ({v});\n"),
        );
        p.write(
            &format!("{v:03}_t{v}.down.sql"),
            &format!("DROP TABLE t{v};\n"),
        );
    }
    let check = |round: usize| {
        let versions = recorded(&p);
        let conn = Connection::open(p.db()).unwrap();
        let tables: Vec<i64> = (1..=n)
            .filter(|v| {
                conn.prepare("SELECT 1 FROM sqlite_master WHERE name = ?1")
                    .unwrap()
                    .exists([format!("t{v}")])
                    .unwrap()
            })
            .collect();
        assert_eq!(versions, tables, "round {round}: history against tables");
        let prefix: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(versions, prefix, "round {round}: a gap in the history");
    };
    let settle = |out: std::process::Output, round: usize| {
        let e = stderr(&out);
        assert!(
            code(&out) == 0 || e.contains("another process"),
            "round {round}: {e}"
        );
    };
    for round in 0..12 {
        ok(&p, &["up"]);
        let spawn = |args: &[&str]| {
            p.command(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let down = spawn(&["down", "--to", "0"]);
        let up = spawn(&["up"]);
        settle(down.wait_with_output().unwrap(), round);
        settle(up.wait_with_output().unwrap(), round);
        check(round);
    }
    // Five workers, each going up and down a few times at once.
    let mut seed: u64 = 0x0dd_ba11;
    let mut below = |k: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % k
    };
    for round in 0..6 {
        let workers: Vec<_> = (0..5)
            .map(|_| {
                let args: Vec<&'static [&'static str]> = (0..4)
                    .map(|_| match below(3) {
                        0 => &["up"][..],
                        1 => &["down", "--to", "0"][..],
                        _ => &["down"][..],
                    })
                    .collect();
                let bin = BIN.to_owned();
                let dir = p.dir.path().to_owned();
                std::thread::spawn(move || {
                    for a in args {
                        let out = std::process::Command::new(&bin)
                            .current_dir(&dir)
                            .env_remove("MIGRATE_DATABASE")
                            .env_remove("MIGRATE_DIR")
                            .env_remove("DATABASE_URL")
                            .args(["--database", "app.db"])
                            .args(a)
                            .output()
                            .unwrap();
                        let e = String::from_utf8_lossy(&out.stderr).into_owned();
                        assert!(
                            out.status.code() == Some(0) || e.contains("another process"),
                            "{a:?}: {e}"
                        );
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        check(100 + round);
    }
}

/// Issue #22.4: reverting an index set drops only the indexes it made. An
/// index an earlier SQL migration made (the set found it there, identical)
/// stays while that migration is applied, and duplicates stay out; one a
/// later migration dropped and the set made again is the set's.
#[test]
fn reverting_an_index_set_keeps_the_indexes_it_found() {
    let p = Project::new(&[
        (
            "1_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT);\nCREATE UNIQUE INDEX \"Idx_Users_Email\" ON users (email);\nCREATE INDEX idx_gone ON users (name);\n",
        ),
        ("2_drop.sql", "DROP INDEX IF EXISTS main.idx_gone;\n"),
        (
            "3_hot.indexes",
            "unique index idx_users_email on users (email)\nindex idx_gone on users (name)\nindex idx_users_name on users (name, email)\n",
        ),
    ]);
    ok(&p, &["up"]);
    ok(&p, &["down"]);
    let conn = Connection::open(p.db()).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, ["Idx_Users_Email"]);
    conn.execute_batch("INSERT INTO users (email) VALUES ('a')")
        .unwrap();
    assert!(
        conn.execute_batch("INSERT INTO users (email) VALUES ('a')")
            .is_err()
    );
    drop(conn);
    // Up again and down to zero: the SQL migration's own down is its.
    ok(&p, &["up"]);
    assert!(ok(&p, &["verify"]).starts_with("ok"));
}

/// A down edited after its up ran is not run as if nothing happened, in
/// every layout: a separate down file (sqlx, golang-migrate, diesel) is
/// checked against its checksum recorded when the up ran, a section
/// (dbmate, goose) is part of its file's checksum. `verify` names it,
/// `down` refuses it naming it, and `repair` records it after review.
#[test]
fn an_edited_down_is_refused_in_every_layout() {
    for tool in ["sqlx", "golang-migrate", "diesel", "dbmate", "goose"] {
        let files = format(tool);
        let p = project(&files);
        ok(&p, &["up"]);
        let (name, text) = files
            .iter()
            .rev()
            .find(|(n, t)| n.contains("user_names") && t.contains("users_new"))
            .unwrap();
        // An edit after the up ran: what the revert would run is not what
        // was there when the database was made.
        p.write(
            name,
            &text.replace("DROP TABLE users;", "DROP TABLE users; -- reviewed"),
        );
        let before = snapshot(&p);
        let out = p.cli(&["down"]);
        assert_eq!(code(&out), 1, "{tool}: {}", stdout(&out));
        let e = stderr(&out);
        assert!(e.contains("edited after"), "{tool}: {e}");
        assert!(e.contains(name.as_str()), "{tool}: {e}");
        assert_eq!(
            snapshot(&p),
            before,
            "{tool}: the refused down changed the database"
        );
        let out = refuses(&p, &["verify"], 1, &[name.as_str()]);
        assert!(stdout(&out).contains("edited"), "{tool}: {}", stdout(&out));
        // Reviewed and accepted: repair records it, and the down runs.
        let out = ok(&p, &["repair"]);
        assert!(out.contains("re-recorded"), "{tool}: {out}");
        ok(&p, &["down"]);
        assert_eq!(recorded(&p).len(), 2, "{tool}");
    }
}
