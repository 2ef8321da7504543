//! The real `migrate-cli` binary on real SQLite files: output, exit codes,
//! errors, and several processes migrating one new database at once.

mod common;

use std::process::{Command, Stdio};

use migrate_core::rusqlite::Connection;

use common::*;

/// Runs `check` with filters for what varies between runs: timestamps
/// (padded to keep columns aligned) and durations.
fn stable(check: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
        "[TIME]                  ",
    );
    settings.add_filter(r"\d+(\.\d)? ms", "[N] ms");
    settings.add_filter(r#""duration_ms": \d+"#, r#""duration_ms": "[N]""#);
    settings.bind(check);
}

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n";
const POSTS: &str =
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n";

#[test]
fn status_lists_every_state() {
    let p = Project::new(&[("0001_users.sql", USERS), ("0002_posts.sql", POSTS)]);
    assert_eq!(code(&p.cli(&["up", "--to", "1"])), 0);
    p.write(
        "0003_tags.sql",
        "CREATE TABLE tags (name TEXT PRIMARY KEY);\n",
    );
    let out = p.cli(&["status"]);
    assert_eq!(code(&out), 0);
    stable(|| insta::assert_snapshot!("status_mixed", stdout(&out)));

    // Modified and missing show up too, and --exit-code reports them.
    p.write(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    );
    let conn = Connection::open(p.db()).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, name, kind, checksum, applied_at, duration_ms) VALUES (9, 'gone', 'sql', 'abc', '2026-01-01T00:00:00.000Z', 3)",
        [],
    )
    .unwrap();
    let out = p.cli(&["status", "--exit-code"]);
    assert_eq!(code(&out), 3);
    let text = stdout(&out);
    assert!(
        text.contains("modified") && text.contains("missing"),
        "{text}"
    );
    assert!(text.contains("1 modified, 1 missing"), "{text}");
}

#[test]
fn status_json_has_a_stable_shape() {
    let p = Project::new(&[("0001_users.sql", USERS), ("0002_posts.sql", POSTS)]);
    p.cli(&["up", "--to", "1"]);
    let out = p.cli(&["status", "--json"]);
    assert_eq!(code(&out), 0);
    stable(|| insta::assert_snapshot!("status_json", stdout(&out)));
}

#[test]
fn status_exit_code_is_zero_when_up_to_date() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    assert_eq!(code(&p.cli(&["status", "--exit-code"])), 3);
    assert!(!p.db().exists(), "status must not create the database");
    assert_eq!(code(&p.cli(&["up"])), 0);
    assert_eq!(code(&p.cli(&["status", "--exit-code"])), 0);
}

#[test]
fn up_reports_what_it_applied_then_nothing() {
    let p = Project::new(&[("0001_users.sql", USERS), ("0002_posts.sql", POSTS)]);
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stable(|| insta::assert_snapshot!("up_first", stdout(&out)));
    let out = p.cli(&["up"]);
    assert_eq!(
        stdout(&out),
        "nothing to apply; the database is up to date\n"
    );
}

#[test]
fn dry_run_creates_nothing() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    let out = p.cli(&["up", "--dry-run"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "would apply 1 users (0001_users.sql)\n");
    assert!(!p.db().exists());
}

#[test]
fn sql_error_exits_1_naming_version_file_and_line() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        (
            "0002_bad.sql",
            "CREATE TABLE t (x);\n\nINSERT INTO t SELECT nope FROM users;\n",
        ),
    ]);
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    let err = err
        .strip_prefix("note: created the database app.db\n")
        .expect("up says it created the file");
    assert!(
        err.starts_with(
            "error: app.db: migration 2 (0002_bad.sql:3) failed: no such column: nope\n"
        ),
        "{err}"
    );
    assert!(err.contains("applied before it in this run: 1"), "{err}");
    assert_eq!(stdout(&out), "", "results only on success");
}

#[test]
fn invalid_folder_exits_1_naming_each_file() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        ("1-posts.sql", POSTS),
        ("0002_x.sql", "VACUUM;"),
    ]);
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("1-posts.sql: expected `<version>_<name>.<kind>`"),
        "{err}"
    );
    assert!(
        err.contains("0002_x.sql:1: `VACUUM;` cannot run inside"),
        "{err}"
    );
    assert!(!p.db().exists(), "nothing was created");
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    let no_db = Command::new(BIN)
        .current_dir(p.dir.path())
        .env_remove("MIGRATE_DATABASE")
        .args(["up"])
        .output()
        .unwrap();
    assert_eq!(code(&no_db), 2);
    assert!(
        stderr(&no_db).contains("pass --database PATH, or set MIGRATE_DATABASE or DATABASE_URL")
    );
    assert_eq!(code(&p.cli(&["up", "--to", "abc"])), 2);
    assert_eq!(code(&p.cli(&["frobnicate"])), 2);
    assert_eq!(code(&p.cli(&["--table", "a;b", "status"])), 2);
}

#[test]
fn environment_variables_name_database_and_folder() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    std::fs::rename(p.dir.path().join("migrations"), p.dir.path().join("db")).unwrap();
    let out = Command::new(BIN)
        .current_dir(p.dir.path())
        .env("MIGRATE_DATABASE", "env.db")
        .env("MIGRATE_DIR", "db")
        .arg("up")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(p.dir.path().join("env.db").exists());
}

#[test]
fn broken_pipe_is_not_an_error() {
    let files: Vec<(String, String)> = (1..=300)
        .map(|i| {
            (
                format!("{i:04}_t{i}.sql"),
                format!("CREATE TABLE t{i} (x);"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = Project::new(&refs);
    let mut child = p
        .command(&["status"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn verify_checks_profile_pragmas_and_indexes() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        (
            "0002_settings.pragmas",
            "journal_mode = wal\ncache_size = -12345\n",
        ),
        (
            "0003_hot.indexes",
            "index idx_users_id_desc on users (id desc)\nexpect \"SELECT id FROM users ORDER BY id DESC\" uses idx_users_id_desc\n",
        ),
    ]);
    assert_eq!(code(&p.cli(&["up"])), 0);
    // cache_size is per connection: it holds only because the CLI applies
    // the profile to the connection it opens.
    let out = p.cli(&["verify"]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "ok: 3 applied migrations verified\n"),
        "{}",
        stderr(&out)
    );

    let conn = Connection::open(p.db()).unwrap();
    conn.execute_batch("DROP INDEX idx_users_id_desc; PRAGMA journal_mode = delete;")
        .unwrap();
    drop(conn);
    p.write("0004_later.sql", POSTS);
    let out = p.cli(&["verify"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("FAIL 0002_settings.pragmas:1: pragma `journal_mode` was set to `wal` but SQLite reports `delete`"), "{text}");
    assert!(
        text.contains("FAIL 0003_hot.indexes:1: index `idx_users_id_desc` is missing"),
        "{text}"
    );
    assert!(
        text.contains("FAIL 0003_hot.indexes:2: the plan of"),
        "{text}"
    );
    assert!(
        text.ends_with("3 problems in 3 applied migrations; pending (not checked): 4\n"),
        "{text}"
    );
}

#[test]
fn up_warns_about_plan_assertions_that_do_not_hold() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        (
            "0002_hot.indexes",
            "index idx_users_id_desc on users (id desc)\nexpect \"SELECT * FROM users WHERE email LIKE '%x'\" uses idx_users_id_desc\n",
        ),
    ]);
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).starts_with(
            "note: created the database app.db\nwarning: 0002_hot.indexes:2: the plan of"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn verify_needs_an_existing_database() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    let out = p.cli(&["verify"]);
    assert_eq!(code(&out), 1);
    assert_eq!(stderr(&out), "error: app.db: no such database\n");
    assert!(!p.db().exists());
}

/// The library names its own options (`Runner::allow_missing`); the CLI
/// says which flag sets each.
#[test]
fn library_options_are_named_as_flags() {
    let p = Project::new(&[("0001_users.sql", USERS), ("0002_posts.sql", POSTS)]);
    assert_eq!(code(&p.cli(&["up"])), 0);
    std::fs::remove_file(p.dir.path().join("migrations/0002_posts.sql")).unwrap();
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    let e = stderr(&out);
    assert!(
        e.contains("`--allow-missing`") && !e.contains("Runner::"),
        "{e}"
    );
    p.write("0000_early.sql", "CREATE TABLE early (x);\n");
    let out = p.cli(&["up", "--allow-missing"]);
    let e = stderr(&out);
    assert!(
        e.contains("`--allow-out-of-order`") && !e.contains("Runner::"),
        "{e}"
    );
    let out = p.cli(&["up", "--allow-missing", "--allow-out-of-order"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// An applied file edited or deleted is reported as such, every applied
/// migration is counted, and no drift is blamed on the database: what ran
/// is not known, and verify says so.
#[test]
fn verify_after_an_applied_file_changed_reports_the_file_not_drift() {
    let p = Project::new(&[
        ("0001_a.sql", "CREATE TABLE a (x);\n"),
        ("0002_b.sql", "CREATE TABLE b (x);\n"),
        (
            "0003_notes.sql",
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n",
        ),
        ("0004_c.sql", "CREATE TABLE c (x);\n"),
        ("0005_d.sql", "CREATE TABLE d (x);\n"),
    ]);
    ok(&p, &["up"]);
    p.write(
        "0003_notes.sql",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, pinned INT);\n",
    );
    std::fs::remove_file(p.dir.path().join("migrations/0004_c.sql")).unwrap();
    let out = refuses(&p, &["verify"], 1, &[]);
    let text = stdout(&out);
    assert!(
        text.contains("FAIL 0003_notes.sql: edited after it was applied"),
        "{text}"
    );
    assert!(
        text.contains("FAIL version 4 (c) is applied but has no file"),
        "{text}"
    );
    assert!(
        text.contains("drift not checked: the text that ran as versions 3, 4 is not known"),
        "{text}"
    );
    assert!(
        !text.contains("outside the migrations") && !text.contains("not created by any migration"),
        "{text}"
    );
    assert!(
        text.ends_with("3 problems in 5 applied migrations\n"),
        "{text}"
    );
    // Put back as it ran, drift is checked again: a hand-made change shows.
    p.write(
        "0003_notes.sql",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n",
    );
    p.write("0004_c.sql", "CREATE TABLE c (x);\n");
    Connection::open(p.db())
        .unwrap()
        .execute_batch("ALTER TABLE notes ADD COLUMN pinned INT")
        .unwrap();
    let out = refuses(
        &p,
        &["verify"],
        1,
        &["table `notes` was changed outside the migrations"],
    );
    assert!(
        stdout(&out).ends_with("1 problem in 5 applied migrations\n"),
        "{}",
        stdout(&out)
    );
}

/// A run refused before its first change leaves no database behind, and
/// an atomic run names the step it cannot hold, as a refusal, not as a
/// failed migration.
#[test]
fn refused_runs_do_not_create_the_database() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        ("0002_wal.pragmas", "journal_mode = wal\n"),
    ]);
    let out = p.cli(&["up", "--atomic"]);
    assert_eq!(code(&out), 1);
    let e = stderr(&out);
    assert!(
        e.contains("an atomic run cannot include migration 2 (0002_wal.pragmas)")
            && !e.contains("failed"),
        "{e}"
    );
    assert!(!p.db().exists(), "the refused run created the database");
    let out = p.cli(&["up", "--to", "7"]);
    assert_eq!(code(&out), 1);
    assert!(!p.db().exists(), "the refused run created the database");
    // A dry run refuses what the run would.
    let out = p.cli(&["up", "--atomic", "--dry-run"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    // Without --atomic it runs.
    ok(&p, &["up"]);
}
