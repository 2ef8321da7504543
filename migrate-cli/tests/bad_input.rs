//! The bad-input catalogue: each case is a mistake a user makes, run through
//! the real binary. Each must fail with a clear message naming the culprit,
//! exit non-zero, never panic, and leave the database byte-identical.

mod common;

use common::*;
use migrate_core::rusqlite::Connection;

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n";
const POSTS: &str = "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), title TEXT);\n";

/// A project whose database already holds `applied`.
fn applied(files: &[(&str, &str)]) -> Project {
    let p = Project::new(files);
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 0, "setup: {}", stderr(&out));
    p
}

#[test]
fn duplicate_versions() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("2_posts.sql", POSTS);
    p.write("002_more.sql", POSTS);
    refuses(
        &p,
        &["up"],
        1,
        &["2_posts.sql: version 2 is also used by `002_more.sql`"],
    );
}

#[test]
fn misnamed_files() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("2.posts.sql", POSTS);
    p.write("U5__undo.sql", POSTS);
    p.write("3-tags.sql", POSTS);
    p.write("0004_.sql", POSTS);
    refuses(
        &p,
        &["up"],
        1,
        &[
            "2.posts.sql: expected",
            "U5__undo.sql: `U…` names an undo migration in Flyway and an unversioned migration in refinery",
            "rename it `2_posts.sql`",
            "3-tags.sql",
            "0004_.sql: the name after the version is empty",
        ],
    );
}

#[test]
fn invalid_utf8() {
    let p = applied(&[("0001_users.sql", USERS)]);
    std::fs::write(
        p.dir.path().join("migrations/0002_latin1.sql"),
        b"-- caf\xe9\nSELECT 1;",
    )
    .unwrap();
    refuses(
        &p,
        &["up"],
        1,
        &["0002_latin1.sql:1: the file is not valid UTF-8"],
    );
}

#[test]
fn empty_file() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_todo.sql", "\n\n");
    refuses(
        &p,
        &["up"],
        1,
        &["0002_todo.sql:1: the file has no statements"],
    );
}

#[test]
fn sql_syntax_error() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write(
        "0002_posts.sql",
        "CREATE TABLE posts (\n  id INTEGER PRIMARY KEY,\n  title TEXT,,\n);\n",
    );
    refuses(
        &p,
        &["up"],
        1,
        &[
            "migration 2 (0002_posts.sql:3) failed",
            "syntax error",
            "rolled back",
        ],
    );
}

#[test]
fn runtime_constraint_failure() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write(
        "0002_seed.sql",
        "INSERT INTO users (email) VALUES ('a@example.com');\nINSERT INTO users (email) VALUES ('a@example.com');\n",
    );
    refuses(
        &p,
        &["up"],
        1,
        &[
            "migration 2 (0002_seed.sql:2) failed",
            "UNIQUE constraint failed: users.email",
        ],
    );
}

#[test]
fn unknown_pragma() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_tune.pragmas", "jurnal_mode = wal\n");
    refuses(
        &p,
        &["up"],
        1,
        &["0002_tune.pragmas:1: unknown pragma `jurnal_mode`; did you mean `journal_mode`?"],
    );
}

#[test]
fn bad_pragma_value() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_tune.pragmas", "cache_size = lots\n");
    refuses(
        &p,
        &["up"],
        1,
        &["0002_tune.pragmas:1: bad value `lots` for `cache_size`"],
    );
}

#[test]
fn unknown_preset() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_tune.pragmas", "preset turbo\n");
    refuses(
        &p,
        &["up"],
        1,
        &["0002_tune.pragmas:1: unknown preset `turbo`"],
    );
}

#[test]
fn pragma_sqlite_refuses() {
    // max_page_count cannot go below the pages the database already has.
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_cap.pragmas", "max_page_count = 1\n");
    refuses(
        &p,
        &["up"],
        1,
        &[
            "0002_cap.pragmas:1",
            "pragma `max_page_count` was set to `1` but SQLite reports",
        ],
    );
}

#[test]
fn index_on_a_missing_table() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_hot.indexes", "index on user (email)\n");
    refuses(
        &p,
        &["up"],
        1,
        &[
            "0002_hot.indexes:1",
            "table `user` does not exist; did you mean `users`?",
        ],
    );
}

#[test]
fn index_on_a_missing_column() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write(
        "0002_hot.indexes",
        "index on users (id)\nindex on users (emial)\n",
    );
    refuses(
        &p,
        &["up"],
        1,
        &[
            "0002_hot.indexes:2",
            "no column `emial`",
            "did you mean `email`?",
        ],
    );
}

#[test]
fn conflicting_index_definition() {
    let p = applied(&[(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\nCREATE INDEX idx_users_email ON users (email DESC);\n",
    )]);
    p.write("0002_hot.indexes", "index on users (email)\n");
    refuses(
        &p,
        &["up"],
        1,
        &[
            "0002_hot.indexes:1",
            "index `idx_users_email` already exists with another definition",
        ],
    );
}

#[test]
fn index_syntax_error() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_hot.indexes", "index on users email\n");
    refuses(&p, &["up"], 1, &["0002_hot.indexes:1: expected `(`"]);
}

#[test]
fn edited_applied_file() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    );
    p.write("0002_posts.sql", POSTS);
    refuses(
        &p,
        &["up"],
        1,
        &[
            "version 1 (0001_users.sql): applied with checksum",
            "nothing was changed",
        ],
    );
}

#[test]
fn database_ahead_of_the_files() {
    let p = applied(&[("0001_users.sql", USERS), ("0002_posts.sql", POSTS)]);
    std::fs::remove_file(p.dir.path().join("migrations/0002_posts.sql")).unwrap();
    refuses(&p, &["up"], 1, &["not in the migrations folder: 2 (posts)"]);
}

#[test]
fn out_of_order_file() {
    let p = applied(&[("0001_users.sql", USERS), ("0003_posts.sql", POSTS)]);
    p.write("0002_tags.sql", "CREATE TABLE tags (name TEXT);");
    refuses(
        &p,
        &["up"],
        1,
        &["older than the newest applied one (3): 2 (0002_tags.sql)"],
    );
}

#[test]
fn target_version_that_does_not_exist() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_posts.sql", POSTS);
    refuses(
        &p,
        &["up", "--to", "7"],
        1,
        &["target version 7 is not a migration of this set"],
    );
}

#[test]
fn target_version_below_the_applied_one() {
    let p = applied(&[("0001_users.sql", USERS), ("0002_posts.sql", POSTS)]);
    refuses(
        &p,
        &["up", "--to", "1"],
        1,
        &["below the applied version 2"],
    );
}

#[test]
fn a_file_that_is_not_sqlite() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    std::fs::write(p.db(), "name,email\nada,ada@example.com\n".repeat(100)).unwrap();
    refuses(&p, &["up"], 1, &["app.db: file is not a database"]);
    refuses(&p, &["status"], 1, &["app.db: file is not a database"]);
}

#[test]
fn a_truncated_sqlite_file() {
    let p = applied(&[("0001_users.sql", USERS), ("0002_posts.sql", POSTS)]);
    let mut data = bytes(&p.db()).unwrap();
    data.truncate(data.len() / 2 + 100);
    std::fs::write(p.db(), &data).unwrap();
    p.write("0003_tags.sql", "CREATE TABLE tags (name TEXT);");
    refuses(&p, &["up"], 1, &["malformed"]);
    let out = refuses(&p, &["doctor"], 1, &["FAIL [integrity]"]);
    assert!(!stdout(&out).is_empty());
}

#[test]
fn missing_migrations_folder() {
    let p = applied(&[("0001_users.sql", USERS)]);
    refuses(
        &p,
        &["--dir", "migration", "up"],
        1,
        &["migration: no such migrations folder"],
    );
}

#[test]
fn migrations_folder_that_is_a_file() {
    let p = applied(&[("0001_users.sql", USERS)]);
    std::fs::write(p.dir.path().join("notes.sql"), "SELECT 1;").unwrap();
    refuses(
        &p,
        &["--dir", "notes.sql", "up"],
        1,
        &["notes.sql: no such migrations folder"],
    );
}

#[test]
fn injection_through_table() {
    let p = applied(&[("0001_users.sql", USERS)]);
    refuses(
        &p,
        &["--table", "x; DROP TABLE users; --", "up"],
        2,
        &["invalid history table name `x; DROP TABLE users; --`"],
    );
    refuses(
        &p,
        &["--table", "sqlite_master", "status"],
        2,
        &["invalid history table name"],
    );
    // A schema is PostgreSQL's; other spellings of a qualified name are
    // not names at all.
    refuses(
        &p,
        &["--table", "main.schema_migrations", "status"],
        2,
        &["history table `main.schema_migrations`: a schema-qualified name is PostgreSQL's"],
    );
    for name in ["a.b.c", ".x", "x.", "\"a\".x", "a . x"] {
        refuses(
            &p,
            &["--table", name, "up"],
            2,
            &["invalid history table name"],
        );
    }
}

#[test]
fn disk_full_during_a_migration() {
    // A page cap stands in for a full disk: the insert runs out of room.
    let p = applied(&[
        ("0001_users.sql", USERS),
        ("0002_cap.pragmas", "max_page_count = 40\n"),
    ]);
    p.write(
        "0003_fill.sql",
        "CREATE TABLE blobs (b BLOB);\n\
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000)\n\
         INSERT INTO blobs SELECT randomblob(4000) FROM n;\n",
    );
    refuses(
        &p,
        &["up"],
        1,
        &[
            "migration 3 (0003_fill.sql:2) failed",
            "database or disk is full",
            "rolled back",
        ],
    );
}

#[test]
fn foreign_key_violation_left_by_a_migration() {
    let p = applied(&[("0001_users.sql", USERS), ("0002_posts.sql", POSTS)]);
    Connection::open(p.db())
        .unwrap()
        .execute_batch("INSERT INTO users (id, email) VALUES (1, 'a@x'); INSERT INTO posts (user_id) VALUES (1);")
        .unwrap();
    p.write(
        "0003_purge.sql",
        "-- migrate:foreign-keys-off\nDELETE FROM users;\n",
    );
    refuses(
        &p,
        &["up"],
        1,
        &["migration 3 (0003_purge.sql) failed: foreign key check failed: posts rowid 1 -> users"],
    );
}

#[test]
fn locked_database() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_posts.sql", POSTS);
    // Read the bytes before taking the lock: closing any handle on the file
    // in this process would drop the lock (POSIX advisory locks).
    let before = bytes(&p.db());
    let holder = Connection::open(p.db()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = p.cli(&["--busy-timeout", "200", "up"]);
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    let e = stderr(&out);
    assert_eq!(code(&out), 1, "{e}");
    assert!(
        e.contains("app.db: migration 2 (0002_posts.sql) failed: database is locked"),
        "{e}"
    );
    assert!(e.contains("raise --busy-timeout"), "{e}");
    assert!(bytes(&p.db()) == before);
}

#[test]
fn transaction_control_in_the_middle_of_a_file() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write(
        "0002_posts.sql",
        &format!("{POSTS}COMMIT;\nCREATE TABLE tags (x);\n"),
    );
    refuses(
        &p,
        &["up"],
        1,
        &["0002_posts.sql:2: `COMMIT;` here would end or nest the runner's transaction"],
    );
}

#[test]
fn begin_without_commit() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_posts.sql", &format!("BEGIN;\n{POSTS}"));
    refuses(
        &p,
        &["up"],
        1,
        &["0002_posts.sql:1: `BEGIN` has no matching `COMMIT`"],
    );
}

#[test]
fn vacuum_in_a_transactional_file() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_tidy.sql", "DELETE FROM users;\nVACUUM;\n");
    refuses(
        &p,
        &["up"],
        1,
        &["0002_tidy.sql:2: `VACUUM;` cannot run inside the migration's transaction"],
    );
}

#[test]
fn unknown_directive() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write(
        "0002_posts.sql",
        &format!("-- migrate:no-transation\n{POSTS}"),
    );
    refuses(
        &p,
        &["up"],
        1,
        &["0002_posts.sql:1: unknown directive `migrate:no-transation`"],
    );
}

#[test]
fn down_file_without_its_migration() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_posts.down.sql", "DROP TABLE posts;");
    refuses(
        &p,
        &["up"],
        1,
        &["0002_posts.down.sql: a down migration with no up migration of version 2"],
    );
}

#[test]
fn version_too_large() {
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("99999999999999999999_posts.sql", POSTS);
    refuses(&p, &["up"], 1, &["larger than SQLite's largest integer"]);
}

#[test]
fn another_tools_history_table() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    Connection::open(p.db())
        .unwrap()
        .execute_batch("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);")
        .unwrap();
    refuses(
        &p,
        &["up"],
        1,
        &["`schema_migrations` exists but is not a migrate history table (its columns: version)"],
    );
}

#[test]
fn backup_into_a_missing_folder() {
    let p = applied(&[("0001_users.sql", USERS)]);
    refuses(
        &p,
        &["backup", "nowhere/copy.db"],
        1,
        &["cannot write in nowhere", "No such file or directory"],
    );
}

#[test]
fn backup_over_an_existing_file() {
    let p = applied(&[("0001_users.sql", USERS)]);
    std::fs::write(p.dir.path().join("keep.db"), "precious").unwrap();
    refuses(
        &p,
        &["backup", "keep.db"],
        1,
        &["keep.db already exists", "pass --force to replace it"],
    );
    // `up --backup` has no --force: the hint is one that works there.
    p.write(
        "0002_posts.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
    );
    let out = refuses(
        &p,
        &["up", "--backup", "keep.db"],
        1,
        &[
            "keep.db already exists",
            "remove the old copy first",
            "no migration ran",
        ],
    );
    assert!(!stderr(&out).contains("up --force"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(p.dir.path().join("keep.db")).unwrap(),
        b"precious"
    );
}

#[test]
fn usage_mistakes() {
    let p = applied(&[("0001_users.sql", USERS)]);
    refuses(
        &p,
        &["up", "--to", "latest"],
        2,
        &["invalid value 'latest'"],
    );
    refuses(
        &p,
        &["up", "--atomic", "--atomc"],
        2,
        &["unexpected argument '--atomc'"],
    );
    refuses(
        &p,
        &["checkpoint", "--mode", "hard"],
        2,
        &["invalid value 'hard'"],
    );
    refuses(&p, &["new", "add users"], 0, &[]);
}

#[test]
fn read_only_database_file_and_folder() {
    use std::os::unix::fs::PermissionsExt;
    let p = applied(&[("0001_users.sql", USERS)]);
    p.write("0002_posts.sql", POSTS);
    let root = p.dir.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        root.join("migrations"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    for f in ["0001_users.sql", "0002_posts.sql"] {
        std::fs::set_permissions(
            root.join("migrations").join(f),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let before = bytes(&p.db());
    // A read-only file in a read-only folder.
    std::fs::set_permissions(p.db(), std::fs::Permissions::from_mode(0o444)).unwrap();
    let Some(out) = as_unprivileged(&p, &["up"]) else {
        eprintln!("setpriv is not available: read-only cases not run");
        return;
    };
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("app.db: migration 2")
            && stderr(&out).contains("not writable by this user"),
        "{}",
        stderr(&out)
    );
    assert!(bytes(&p.db()) == before);
    // A writable file in a folder where SQLite cannot create its journal.
    std::fs::set_permissions(p.db(), std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = as_unprivileged(&p, &["up"]).unwrap();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error: app.db: "),
        "{}",
        stderr(&out)
    );
    assert!(bytes(&p.db()) == before);
}

#[test]
fn every_statement_a_file_cannot_run_is_reported_in_one_go() {
    let p = Project::new(&[(
        "0001_t.sql",
        "CREATE TABLE t (a);\nVACUUM;\nPRAGMA synchronous = NORMAL;\nBEGIN;\n",
    )]);
    let out = refuses(
        &p,
        &["up"],
        1,
        &[
            "0001_t.sql:2: `VACUUM;`",
            "0001_t.sql:3: `PRAGMA synchronous",
            "0001_t.sql:4: `BEGIN;`",
        ],
    );
    assert!(!stderr(&out).contains("more problems"), "{}", stderr(&out));
    assert!(!p.db().exists());
}
