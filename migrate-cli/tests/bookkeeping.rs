//! `baseline` and `repair` through the real binary: the history written
//! without running migrations, only when the schema says it is true.

mod common;

use common::*;
use migrate_core::rusqlite::Connection;

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n";
const POSTS: &str = "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\nCREATE INDEX posts_user ON posts (user_id);\n";
const TAGS: &str = "CREATE TABLE tags (name TEXT PRIMARY KEY);\n";

fn project() -> Project {
    Project::new(&[
        ("0001_users.sql", USERS),
        ("0002_posts.sql", POSTS),
        ("0003_version.pragmas", "user_version = 3\n"),
        ("0004_tags.sql", TAGS),
    ])
}

/// A database made by hand: the schema of versions 1 to 3, some rows.
fn made_by_hand(p: &Project) {
    let conn = Connection::open(p.db()).unwrap();
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));
         CREATE INDEX posts_user ON posts(user_id);
         INSERT INTO users VALUES (1, 'a@x');
         PRAGMA user_version = 3;",
    )
    .unwrap();
}

fn recorded(p: &Project) -> Vec<(i64, String)> {
    let conn = Connection::open(p.db()).unwrap();
    let Ok(mut stmt) =
        conn.prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")
    else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn baseline_records_a_hand_made_database_after_comparing_it() {
    let p = project();
    made_by_hand(&p);
    let before = bytes(&p.db());
    let out = ok(&p, &["baseline", "--to", "3", "--dry-run"]);
    assert_eq!(
        out,
        "would record 1 users as applied (not run)\nwould record 2 posts as applied (not run)\nwould record 3 version as applied (not run)\n"
    );
    assert_eq!(bytes(&p.db()), before, "a dry run writes nothing");

    let out = ok(&p, &["baseline", "--to", "3"]);
    assert!(out.starts_with("recorded 1 users"), "{out}");
    assert_eq!(recorded(&p).len(), 3);
    let status = ok(&p, &["status"]);
    assert!(status.contains("3 applied, 1 pending"), "{status}");
    // The next file applies as usual; the rows made by hand are kept.
    let out = ok(&p, &["up"]);
    assert!(out.contains("applied 4 tags"), "{out}");
    let conn = Connection::open(p.db()).unwrap();
    let users: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 1);
    assert!(ok(&p, &["verify"]).starts_with("ok"));
    // Once there is a history, baseline is refused.
    refused(
        &p,
        &["baseline", "--to", "3"],
        &["already has 4 applied migrations"],
    );
}

#[test]
fn baseline_refuses_what_the_files_do_not_make() {
    let p = project();
    let conn = Connection::open(p.db()).unwrap();
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));
         CREATE TABLE extra (x);",
    )
    .unwrap();
    drop(conn);
    refused(
        &p,
        &["baseline", "--to", "2"],
        &[
            "baseline refused",
            "column `email` is `TEXT`, the migrations make it `TEXT NOT NULL`",
            "index `posts_user` is missing",
            "table `extra` is not created by any migration",
        ],
    );
    // A persistent pragma of a pragma set up to the version is compared too.
    let p = project();
    made_by_hand(&p);
    Connection::open(p.db())
        .unwrap()
        .execute_batch("PRAGMA user_version = 0")
        .unwrap();
    refused(
        &p,
        &["baseline", "--to", "3"],
        &["0003_version.pragmas:1", "user_version"],
    );
    refused(
        &p,
        &["baseline", "--to", "9"],
        &["target version 9 is not a migration"],
    );
    assert!(recorded(&p).is_empty());
}

#[test]
fn repair_rerecords_edits_that_keep_the_schema() {
    let p = project();
    ok(&p, &["up"]);
    let before = recorded(&p);
    // A comment and other spacing: the same schema.
    p.write(
        "0002_posts.sql",
        "-- posts of users\nCREATE TABLE posts (\n  id INTEGER PRIMARY KEY,\n  user_id INTEGER REFERENCES users (id)\n);\nCREATE INDEX posts_user ON posts (user_id);\n",
    );
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("`migrate-cli repair` re-records them"),
        "{}",
        stderr(&out)
    );
    let dry = ok(&p, &["repair", "--dry-run"]);
    assert!(
        dry.starts_with("would re-record 2 (0002_posts.sql)"),
        "{dry}"
    );
    assert_eq!(recorded(&p), before, "a dry run writes nothing");
    let out = ok(&p, &["repair"]);
    assert!(out.starts_with("re-recorded 2 (0002_posts.sql)"), "{out}");
    let after = recorded(&p);
    assert_ne!(after[1].1, before[1].1);
    assert_eq!((&after[0], &after[2]), (&before[0], &before[2]));
    assert!(ok(&p, &["up"]).contains("up to date"));
    assert_eq!(ok(&p, &["repair"]), "nothing to record\n");
}

#[test]
fn repair_refuses_what_would_hide_a_change() {
    let p = project();
    ok(&p, &["up"]);
    // An edit that changes the schema the file makes.
    p.write(
        "0004_tags.sql",
        "CREATE TABLE tags (name TEXT PRIMARY KEY, color TEXT);\n",
    );
    refused(
        &p,
        &["repair"],
        &["repair refused", "table `tags`", "column `color`"],
    );
    p.write("0004_tags.sql", TAGS);
    // A pragma set's edit is not in the schema: refused.
    p.write("0003_version.pragmas", "user_version = 4\n");
    refused(
        &p,
        &["repair"],
        &["version 3 (0003_version.pragmas) is a pragma set edited"],
    );
}

#[test]
fn repair_removes_the_rows_of_deleted_files_after_showing_them() {
    let p = Project::new(&[
        ("0001_users.sql", USERS),
        (
            "0002_seed.sql",
            "INSERT INTO users (email) VALUES ('a@x');\n",
        ),
        ("0003_tags.sql", TAGS),
    ]);
    ok(&p, &["up"]);
    std::fs::remove_file(p.dir.path().join("migrations/0002_seed.sql")).unwrap();
    let out = p.cli(&["up"]);
    assert!(
        stderr(&out).contains("`migrate-cli repair` removes their rows"),
        "{}",
        stderr(&out)
    );
    let dry = ok(&p, &["repair", "--dry-run"]);
    assert_eq!(dry, "would remove the row of 2 (seed): its file is gone\n");
    assert_eq!(recorded(&p).len(), 3);
    let out = ok(&p, &["repair"]);
    assert_eq!(out, "removed the row of 2 (seed): its file is gone\n");
    assert_eq!(recorded(&p).len(), 2);
    assert!(ok(&p, &["up"]).contains("up to date"));
}

/// Issue #22.3: a deleted file's row goes only when the files left make
/// the live schema, and never for versions above the folder's newest file.
#[test]
fn repair_keeps_the_rows_of_files_whose_objects_are_still_there() {
    let p = project();
    ok(&p, &["up"]);
    std::fs::remove_file(p.dir.path().join("migrations/0002_posts.sql")).unwrap();
    refuses(
        &p,
        &["repair"],
        1,
        &[
            "refused: the migrations make another schema",
            "`posts`",
            "restore those files",
        ],
    );
    assert_eq!(recorded(&p).len(), 4);
    p.write("0002_posts.sql", POSTS);
    std::fs::remove_file(p.dir.path().join("migrations/0004_tags.sql")).unwrap();
    refuses(
        &p,
        &["repair"],
        1,
        &[
            "newer than the newest file of the migrations folder (3): 4 (tags)",
            "ahead",
        ],
    );
    assert_eq!(recorded(&p).len(), 4);
}

/// Issue #22.3: with the wrong folder (empty, another app's, an old
/// checkout) `repair` removes nothing, and `up` says the folder is likely
/// wrong; the next `up` with the right folder runs nothing again.
#[test]
fn repair_with_the_wrong_folder_removes_nothing() {
    let p = Project::new(&[
        (
            "1_accounts.sql",
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER);\nINSERT INTO accounts VALUES (1, 100);\n",
        ),
        (
            "2_bonus.sql",
            "UPDATE accounts SET balance = balance + 50;\n",
        ),
        ("3_note.sql", "CREATE TABLE notes (x);\n"),
    ]);
    ok(&p, &["up"]);
    let root = p.dir.path();
    for (folder, files) in [
        ("empty", &[][..]),
        (
            "other",
            &[("1_users.sql", USERS), ("2_posts.sql", POSTS)][..],
        ),
        (
            "old",
            &[(
                "1_accounts.sql",
                "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER);\nINSERT INTO accounts VALUES (1, 100);\n",
            )][..],
        ),
    ] {
        std::fs::create_dir(root.join(folder)).unwrap();
        for (name, text) in files {
            std::fs::write(root.join(folder).join(name), text).unwrap();
        }
        for args in [
            &["repair", "--dir", folder][..],
            &["repair", "--dry-run", "--dir", folder],
            &["up", "--dir", folder],
        ] {
            refuses(
                &p,
                args,
                1,
                &["is this the folder the database was migrated from?"],
            );
        }
        assert_eq!(recorded(&p).len(), 3, "{folder}");
    }
    ok(&p, &["up"]);
    let conn = Connection::open(p.db()).unwrap();
    let balance: i64 = conn
        .query_row("SELECT balance FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(balance, 150);
}

/// A database golang-migrate migrated: its `schema_migrations(version,
/// dirty)` collides with this tool's default table name, so ours goes
/// under another; theirs is left as it was, and is not drift.
#[test]
fn baseline_of_a_golang_migrate_database_keeps_its_history() {
    let p = Project::new(&[
        ("000001_users.up.sql", USERS),
        ("000001_users.down.sql", "DROP TABLE users;\n"),
        ("000002_posts.up.sql", POSTS),
        ("000002_posts.down.sql", "DROP TABLE posts;\n"),
    ]);
    let conn = Connection::open(p.db()).unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version uint64, dirty bool);
         CREATE UNIQUE INDEX version_unique ON schema_migrations (version);
         INSERT INTO schema_migrations VALUES (2, 0);
         CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));
         CREATE INDEX posts_user ON posts (user_id);",
    )
    .unwrap();
    drop(conn);
    refuses(
        &p,
        &["baseline", "--to", "2"],
        1,
        &["not a migrate history table", "`--table`"],
    );
    let table = ["--table", "migrate_history"];
    let out = ok(&p, &[&table[..], &["baseline", "--to", "2"]].concat());
    assert!(out.contains("recorded 2 posts"), "{out}");
    assert!(ok(&p, &[&table[..], &["verify"]].concat()).starts_with("ok"));
    let conn = Connection::open(p.db()).unwrap();
    let theirs: (i64, i64) = conn
        .query_row("SELECT version, dirty FROM schema_migrations", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(theirs, (2, 0), "the other tool's history is kept");
}

/// A trigger that swallows the history write: repair fails naming the
/// version whose row it was writing, and nothing changes.
#[test]
fn a_history_write_that_does_not_go_in_names_its_version() {
    let p = project();
    ok(&p, &["up"]);
    p.write(
        "0002_posts.sql",
        "-- posts\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\nCREATE INDEX posts_user ON posts (user_id);\n",
    );
    Connection::open(p.db())
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER keep BEFORE UPDATE ON schema_migrations BEGIN SELECT RAISE(IGNORE); END;",
        )
        .unwrap();
    refused(
        &p,
        &["repair"],
        &["writing the history of version 2 failed", "keep"],
    );
}

/// The comparison behind verify, baseline and repair sees every constraint:
/// a hand rebuild that loses a UNIQUE and a CHECK is drift; a database
/// lacking a UNIQUE is not baselined; an edit that adds UNIQUE, CHECK and
/// STRICT is not re-recorded.
#[test]
fn lost_constraints_are_seen_by_verify_baseline_and_repair() {
    const ACCOUNTS: &str = "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, balance INTEGER NOT NULL CHECK (balance >= 0));\n";
    let files = [("0001_accounts.sql", ACCOUNTS)];
    let p = Project::new(&files);
    ok(&p, &["up"]);
    Connection::open(p.db())
        .unwrap()
        .execute_batch(
            "BEGIN;
             CREATE TABLE accounts_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL, balance INTEGER NOT NULL);
             INSERT INTO accounts_new SELECT * FROM accounts;
             DROP TABLE accounts;
             ALTER TABLE accounts_new RENAME TO accounts;
             COMMIT;",
        )
        .unwrap();
    let out = refuses(
        &p,
        &["verify"],
        1,
        &["table `accounts` was changed outside the migrations"],
    );
    let said = stdout(&out) + &stderr(&out);
    assert!(
        said.contains("PRIMARY KEY or UNIQUE constraints differ"),
        "{said}"
    );
    assert!(
        said.contains("CHECK constraints are none, the migrations make CHECK (balance >= 0)"),
        "{said}"
    );

    let p = Project::new(&files);
    Connection::open(p.db())
        .unwrap()
        .execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL, balance INTEGER NOT NULL CHECK (balance >= 0));")
        .unwrap();
    let before = bytes(&p.db());
    refused(
        &p,
        &["baseline", "--to", "1"],
        &["baseline refused", "UNIQUE"],
    );
    assert_eq!(bytes(&p.db()), before, "a refused baseline writes nothing");

    let p = Project::new(&[(
        "0001_accounts.sql",
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL, balance INTEGER NOT NULL);\n",
    )]);
    ok(&p, &["up"]);
    let recorded_before = recorded(&p);
    p.write(
        "0001_accounts.sql",
        &ACCOUNTS.replace(");\n", ") STRICT;\n"),
    );
    refused(
        &p,
        &["repair"],
        &[
            "UNIQUE",
            "CHECK constraints are none",
            "it is STRICT in the migrations, not in the database",
        ],
    );
    assert_eq!(
        recorded(&p),
        recorded_before,
        "a refused repair records nothing"
    );
    // Written differently with the same meaning, the edit is re-recorded.
    let p = Project::new(&files);
    ok(&p, &["up"]);
    p.write(
        "0001_accounts.sql",
        "create table accounts (\n  id integer primary key,\n  email text not null,\n  balance integer not null,\n  unique (email),\n  check ((\"balance\" >= 0))\n);\n",
    );
    let out = ok(&p, &["repair"]);
    assert!(out.contains("re-recorded"), "{out}");
}
