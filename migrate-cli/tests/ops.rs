//! The operations commands of the real binary: new, schema, backup,
//! checkpoint, optimize, vacuum, doctor.

mod common;

use common::*;
use migrate_core::rusqlite::Connection;

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n";

fn names(p: &Project) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p.dir.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn new_pads_like_the_folder_and_never_overwrites() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        ("0002_posts.sql", "CREATE TABLE posts (x);"),
    ]);
    let out = p.cli(&["new", "add tags"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).trim_end().ends_with("0003_add_tags.sql"),
        "{}",
        stdout(&out)
    );
    assert_eq!(code(&p.cli(&["new", "settings", "--pragmas"])), 0);
    assert_eq!(code(&p.cli(&["new", "hot", "--indexes"])), 0);
    assert_eq!(
        names(&p),
        [
            "0001_users.sql",
            "0002_posts.sql",
            "0003_add_tags.sql",
            "0004_settings.pragmas",
            "0005_hot.indexes"
        ]
    );
    // The templates are valid migrations (comments only: no-ops).
    assert_eq!(code(&p.cli(&["up"])), 0);
    assert_eq!(code(&p.cli(&["new", "bad/name"])), 2);
}

#[test]
fn new_follows_timestamp_numbering() {
    let p = Project::new(&[("20210422143411_create.sql", USERS)]);
    let out = p.cli(&["new", "next"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let created = names(&p).pop().unwrap();
    let version = created.split('_').next().unwrap();
    assert_eq!(version.len(), 14, "{created}");
    assert!(
        version > "20210422143411" && created.ends_with("_next.sql"),
        "{created}"
    );
}

#[test]
fn new_starts_an_empty_folder_at_0001() {
    let p = Project::new(&[]);
    std::fs::remove_dir(p.dir.path().join("migrations")).unwrap();
    assert_eq!(code(&p.cli(&["new", "init"])), 0);
    assert_eq!(names(&p), ["0001_init.sql"]);
}

#[test]
fn schema_prints_pragmas_then_objects() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    assert_eq!(code(&p.cli(&["schema"])), 1, "no database yet");
    p.cli(&["up"]);
    let out = p.cli(&["schema"]);
    assert_eq!(code(&out), 0);
    insta::assert_snapshot!("schema", stdout(&out));
    assert!(stdout(&p.cli(&["schema", "--history"])).contains("schema_migrations"));
}

fn filled(p: &Project) {
    p.cli(&["up"]);
    Connection::open(p.db())
        .unwrap()
        .execute_batch(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000)
             INSERT INTO users (email) SELECT 'u' || x || '@example.com' FROM n;",
        )
        .unwrap();
}

fn count(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn backup_writes_a_checked_copy_and_refuses_to_overwrite() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    filled(&p);
    let out = p.cli(&["backup", "copy.db"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("integrity_check ok"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).is_empty(),
        "no progress bar off a terminal: {}",
        stderr(&out)
    );
    let copy = p.dir.path().join("copy.db");
    assert_eq!(count(&copy), 5000);
    let out = p.cli(&["backup", "copy.db"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("copy.db already exists; pass --force to replace it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(code(&p.cli(&["backup", "copy.db", "--force"])), 0);
}

#[test]
fn up_backup_copies_before_changing() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    filled(&p);
    p.write("0002_more.sql", "ALTER TABLE users ADD COLUMN nick TEXT;");
    let out = p.cli(&["up", "--backup", "before.db"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("backed up to before.db"),
        "{}",
        stderr(&out)
    );
    let before = Connection::open(p.dir.path().join("before.db")).unwrap();
    let columns: i64 = before
        .query_row("SELECT count(*) FROM pragma_table_info('users')", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(columns, 2, "the copy is from before 0002");
}

#[test]
fn maintenance_commands_keep_every_row() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        ("0002_wal.pragmas", "journal_mode = wal\n"),
    ]);
    filled(&p);
    Connection::open(p.db())
        .unwrap()
        .execute("DELETE FROM users WHERE id > 2500", [])
        .unwrap();
    for args in [
        &["checkpoint"][..],
        &["checkpoint", "--mode", "truncate"],
        &["optimize"],
        &["vacuum"],
        &["vacuum", "--into", "compact.db"],
    ] {
        let out = p.cli(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert_eq!(count(&p.db()), 2500, "{args:?}");
    }
    assert_eq!(count(&p.dir.path().join("compact.db")), 2500);
    let out = p.cli(&["vacuum", "--incremental", "10"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("needs auto_vacuum = incremental"),
        "{}",
        stderr(&out)
    );
    assert_eq!(code(&p.cli(&["checkpoint", "--mode", "sideways"])), 2);
}

#[test]
fn doctor_finds_planted_problems_and_prints_json() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), title TEXT);\n\
             CREATE INDEX idx_posts_title ON posts (title);\n\
             CREATE INDEX idx_posts_title_id ON posts (title, id);\n",
        ),
    ]);
    p.cli(&["up"]);
    // Indexes to add or drop are advice: exit 0 (issue #22, messages).
    let out = p.cli(&["doctor"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(
        text.contains("advice [unindexed_foreign_key] posts (user_id) references users"),
        "{text}"
    );
    assert!(
        text.contains("fix: CREATE INDEX \"idx_posts_user_id\" ON \"posts\" (\"user_id\");"),
        "{text}"
    );
    assert!(
        text.contains("advice [redundant_index] index idx_posts_title on posts is redundant"),
        "{text}"
    );
    assert!(
        text.contains("fix: DROP INDEX \"idx_posts_title\";"),
        "{text}"
    );
    assert!(text.contains("advice: journal_mode is delete"), "{text}");

    let out = p.cli(&["doctor", "--json", "--full"]);
    assert_eq!(code(&out), 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["problems"][0]["fails"], false);
    let checks: Vec<&str> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["unindexed_foreign_key", "redundant_index"]);
    assert!(doc["sizes"]["page_count"].as_u64().unwrap() > 0);

    // Applying the fixes makes it healthy; advice alone exits 0.
    Connection::open(p.db())
        .unwrap()
        .execute_batch(
            "CREATE INDEX idx_posts_user_id ON posts (user_id); DROP INDEX idx_posts_title;",
        )
        .unwrap();
    let out = p.cli(&["doctor"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn doctor_works_on_any_sqlite_file_without_a_migrations_folder() {
    let p = Project::new(&[]);
    std::fs::remove_dir(p.dir.path().join("migrations")).unwrap();
    Connection::open(p.db())
        .unwrap()
        .execute_batch("CREATE TABLE t (x);")
        .unwrap();
    let out = p.cli(&["doctor"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("ok: no problems found"));
}

#[test]
fn verbose_logs_statements_and_color_follows_the_flag() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    let out = p.cli(&["-v", "up"]);
    assert_eq!(code(&out), 0);
    let log = stderr(&out);
    assert!(
        log.contains("BEGIN IMMEDIATE") && log.contains("CREATE TABLE users"),
        "{log}"
    );
    assert!(!log.contains('\x1b'), "no color off a terminal");
    // Each statement once, whole: a cached statement that SQLite had to
    // re-prepare after a migration changed the schema is not logged twice.
    let long = format!(
        "CREATE TABLE wide ({});",
        (0..30)
            .map(|i| format!("column_{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    p.write("0002_wide.sql", &long);
    p.write("0003_more.sql", "CREATE TABLE more (x);");
    let out = p.cli(&["-v", "up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = stderr(&out);
    assert_eq!(
        log.matches("INSERT INTO \"schema_migrations\"").count(),
        2,
        "{log}"
    );
    assert_eq!(log.matches("SELECT checksum FROM").count(), 2, "{log}");
    assert!(log.contains(&long), "{log}");
    let out = p.cli(&["--color", "always", "verify"]);
    assert!(
        stdout(&out).starts_with("\x1b[32mok:\x1b[0m"),
        "{:?}",
        stdout(&out)
    );
    let out = p
        .command(&["--color", "always", "verify"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        stdout(&out).starts_with("\x1b[32m"),
        "--color always wins over NO_COLOR"
    );
}

#[test]
fn verify_json_has_a_stable_shape() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        ("0002_later.sql", "CREATE TABLE t (x);"),
    ]);
    p.cli(&["up", "--to", "1"]);
    Connection::open(p.db())
        .unwrap()
        .execute_batch("CREATE TABLE extra (x);")
        .unwrap();
    let out = p.cli(&["verify", "--json"]);
    assert_eq!(code(&out), 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["applied"], 1);
    assert_eq!(doc["pending"], serde_json::json!([2]));
    assert_eq!(
        doc["problems"][0]["message"],
        "drift: table `extra` is not created by any migration"
    );
    assert_eq!(doc["problems"][0]["file"], serde_json::Value::Null);
}

#[test]
fn doctor_says_drift_not_advice_when_the_set_has_the_journal_mode() {
    let p = Project::new(&[
        ("0001_wal.pragmas", "journal_mode = wal\n"),
        ("0002_users.sql", USERS),
    ]);
    assert_eq!(code(&p.cli(&["up"])), 0);
    Connection::open(p.db())
        .unwrap()
        .query_row("PRAGMA journal_mode = delete", [], |_| Ok(()))
        .unwrap();
    let out = p.cli(&["--dir", "migrations", "doctor"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("the database drifted from the set: pragma `journal_mode` was set to `wal`")
            && text.contains("(0001_wal.pragmas:1)")
            && text.ends_with("1 problem\n"),
        "{text}"
    );
    assert!(!text.contains("add `journal_mode = wal`"), "{text}");
    // Without the set, the advice stands.
    let out = p.cli(&["doctor"]);
    assert!(
        stdout(&out).contains("add `journal_mode = wal` to a pragma set"),
        "{}",
        stdout(&out)
    );
}
