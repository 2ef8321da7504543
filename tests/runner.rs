//! The runner on real SQLite files: idempotence, the plan's refusals, SQL
//! errors with lines, target, dry run, atomic runs, directives and files
//! written for other tools.

use migrate_core::error::{Failure, Undone};
use migrate_core::history::Table;
use migrate_core::plan::{PlanError, State};
use migrate_core::{Error, Migrations};
use migrate_tests::{Fixture, column, tables};

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n";
const POSTS: &str =
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n";
const TAGS: &str = "CREATE TABLE tags (name TEXT PRIMARY KEY);\n";

fn run(f: &Fixture) -> Result<migrate_core::Report, Error> {
    f.set().runner().run(&mut f.conn())
}

fn history(f: &Fixture) -> Vec<String> {
    column(
        &f.conn(),
        "SELECT version || ' ' || name || ' ' || kind || ' ' || checksum || ' ' || applied_at FROM schema_migrations ORDER BY version",
    )
}

#[test]
fn applies_in_order_and_records_history() {
    let f = Fixture::new(&[
        ("002_posts.sql", POSTS),
        ("1_users.sql", USERS),
        ("README.md", "# not a migration"),
    ]);
    let report = run(&f).unwrap();
    let versions: Vec<u64> = report.applied.iter().map(|s| s.version).collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(tables(&f.conn()), ["posts", "schema_migrations", "users"]);
    let rows = history(&f);
    assert_eq!(rows.len(), 2);
    assert!(rows[0].starts_with("1 users sql "), "{}", rows[0]);
    let checksum = migrate_core::checksum::checksum(USERS.as_bytes());
    assert!(rows[0].contains(&checksum));
    // applied_at is UTC ISO 8601 with milliseconds.
    let at = rows[0].rsplit(' ').next().unwrap();
    assert_eq!(
        (at.len(), &at[10..11], &at[19..20], &at[23..]),
        (24, "T", ".", "Z"),
        "{at}"
    );
}

#[test]
fn second_run_applies_nothing_and_keeps_history() {
    let f = Fixture::new(&[("1_users.sql", USERS), ("2_posts.sql", POSTS)]);
    run(&f).unwrap();
    let before = history(&f);
    let report = run(&f).unwrap();
    assert!(report.applied.is_empty());
    assert_eq!(history(&f), before);
}

#[test]
fn crlf_checkout_is_not_modified() {
    let f = Fixture::new(&[("1_users.sql", USERS)]);
    run(&f).unwrap();
    f.write(
        "1_users.sql",
        &format!("\u{feff}{}", USERS.replace('\n', "\r\n")),
    );
    let status = f.set().runner().status(&f.conn()).unwrap();
    assert_eq!(status[0].state, State::Applied);
    assert!(run(&f).unwrap().applied.is_empty());
}

#[test]
fn edited_applied_file_stops_everything() {
    let f = Fixture::new(&[("1_users.sql", USERS)]);
    run(&f).unwrap();
    f.write(
        "1_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n",
    );
    f.write("2_tags.sql", TAGS);
    let e = run(&f).unwrap_err();
    let Error::Plan(PlanError::Modified(m)) = &e else {
        panic!("{e}")
    };
    assert_eq!((m[0].version, m[0].file.as_str()), (1, "1_users.sql"));
    assert_eq!(
        m[0].applied,
        migrate_core::checksum::checksum(USERS.as_bytes())
    );
    let msg = e.to_string();
    assert!(
        msg.contains(&m[0].applied) && msg.contains(&m[0].now),
        "{msg}"
    );
    assert!(msg.contains("nothing was changed"), "{msg}");
    assert!(
        !tables(&f.conn()).contains(&"tags".to_string()),
        "2 must not run"
    );
    // What `fn main() -> Result<(), Error>` prints: the sentence, not
    // `Plan(Modified([Modified { version: 1, … }]))`.
    assert_eq!(format!("{e:?}"), msg);
    // So does a folder with problems: its lines, not `LoadError { … }`.
    f.write("3_vacuum.sql", "VACUUM;\n");
    let e = Migrations::from_dir(f.migrations())
        .map(|_| ())
        .unwrap_err();
    let debug = format!("{e:?}");
    assert_eq!(debug, e.to_string());
    assert!(!debug.contains("LoadError {"), "{debug}");
}

#[test]
fn missing_version_is_refused_unless_allowed() {
    let f = Fixture::new(&[("1_users.sql", USERS), ("2_tags.sql", TAGS)]);
    run(&f).unwrap();
    f.remove("2_tags.sql");
    f.write("3_posts.sql", POSTS);
    let e = run(&f).unwrap_err();
    assert!(
        matches!(&e, Error::Plan(PlanError::Missing(v)) if v == &[(2, "tags".to_string())]),
        "{e}"
    );
    assert!(!tables(&f.conn()).contains(&"posts".to_string()));
    let report = f.run_with(|r| r.allow_missing(true)).unwrap();
    assert_eq!(report.applied[0].version, 3);
}

#[test]
fn out_of_order_is_refused_unless_allowed() {
    let f = Fixture::new(&[("1_users.sql", USERS), ("3_posts.sql", POSTS)]);
    run(&f).unwrap();
    f.write("2_tags.sql", TAGS);
    let e = run(&f).unwrap_err();
    assert!(
        matches!(e, Error::Plan(PlanError::OutOfOrder { highest: 3, .. })),
        "{e}"
    );
    assert!(e.to_string().contains("2_tags.sql"), "{e}");
    let report = f.run_with(|r| r.allow_out_of_order(true)).unwrap();
    assert_eq!(report.applied[0].version, 2);
}

#[test]
fn sql_error_names_version_file_and_line_and_rolls_back() {
    let bad = "-- adds a table and breaks\nCREATE TABLE t1 (x);\nINSERT INTO t1 VALUES (1);\n\nINSERT INTO nowhere\n  VALUES (2);\n";
    let f = Fixture::new(&[
        ("1_users.sql", USERS),
        ("2_bad.sql", bad),
        ("3_tags.sql", TAGS),
    ]);
    let e = run(&f).unwrap_err();
    let Error::Migration(m) = &e else {
        panic!("{e}")
    };
    assert_eq!(
        (m.version, m.file.as_str(), m.line),
        (2, "2_bad.sql", Some(5))
    );
    assert_eq!(m.applied_before, [1]);
    let msg = e.to_string();
    assert!(msg.contains("migration 2 (2_bad.sql:5)"), "{msg}");
    assert!(msg.contains("no such table: nowhere"), "{msg}");
    assert!(
        msg.contains("rolled back") && msg.contains("applied before it in this run: 1"),
        "{msg}"
    );
    let conn = f.conn();
    assert_eq!(
        tables(&conn),
        ["schema_migrations", "users"],
        "nothing of 2 or 3 remains"
    );
    assert_eq!(
        column(&conn, "SELECT version FROM schema_migrations"),
        ["1"]
    );
}

/// The engine carries SQLite's error opaquely (error.rs names no client
/// library), and nothing is lost by it: the message, SQLite's code, and
/// rusqlite's own error at the end of the source chain.
#[test]
fn a_database_failure_keeps_its_message_code_and_client_error() {
    let f = Fixture::new(&[
        ("1_users.sql", USERS),
        ("2_bad.sql", "INSERT INTO nowhere VALUES (1);\n"),
    ]);
    let e = run(&f).unwrap_err();
    let Error::Migration(m) = &e else {
        panic!("{e}")
    };
    let Failure::Sql(failure) = &m.cause else {
        panic!("{:?}", m.cause)
    };
    assert_eq!(failure.message(), "no such table: nowhere");
    assert_eq!(
        failure.code(),
        Some("Unknown"),
        "SQLITE_ERROR, as rusqlite names it"
    );
    let client: &migrate_core::rusqlite::Error = failure.client().expect("rusqlite's error");
    assert!(client.to_string().contains("no such table: nowhere"));
    let source = std::error::Error::source(failure).expect("a source");
    assert!(
        source
            .downcast_ref::<migrate_core::rusqlite::Error>()
            .is_some()
    );

    // Outside a migration: opening a database in a folder that is not there.
    let missing = f.root().join("no/such/folder/app.db");
    let e = f.set().open(&missing).unwrap_err();
    let Error::Sqlite(failure) = &e else {
        panic!("{e}")
    };
    assert_eq!(failure.code(), Some("CannotOpen"));
    assert!(failure.client::<migrate_core::rusqlite::Error>().is_some());
    assert!(
        e.to_string()
            .starts_with("database error: unable to open database file"),
        "{e}"
    );
}

#[test]
fn syntax_error_points_at_its_line_inside_a_statement() {
    let bad = "CREATE TABLE t (\n  a INTEGER,\n  b INTEGR PRIMARY KEY,\n  c TEXT,\n  ) ;\n";
    let f = Fixture::new(&[("1_bad.sql", bad)]);
    let Error::Migration(m) = run(&f).unwrap_err() else {
        panic!()
    };
    assert_eq!(m.line, Some(5), "{m}");
}

#[test]
fn target_version_stops_there() {
    let f = Fixture::new(&[
        ("1_users.sql", USERS),
        ("2_posts.sql", POSTS),
        ("3_tags.sql", TAGS),
    ]);
    let report = f.run_with(|r| r.target(Some(2))).unwrap();
    assert_eq!(report.applied.len(), 2);
    assert_eq!(tables(&f.conn()), ["posts", "schema_migrations", "users"]);
    let e = f.run_with(|r| r.target(Some(9))).unwrap_err();
    assert!(matches!(
        e,
        Error::Plan(PlanError::TargetNotFound {
            target: 9,
            highest: Some(3)
        })
    ));
    run(&f).unwrap();
    let e = f.run_with(|r| r.target(Some(1))).unwrap_err();
    assert!(matches!(
        e,
        Error::Plan(PlanError::TargetBelowApplied { .. })
    ));
}

#[test]
fn dry_run_changes_nothing() {
    let f = Fixture::new(&[("1_users.sql", USERS), ("2_posts.sql", POSTS)]);
    let report = f.run_with(|r| r.dry_run(true)).unwrap();
    assert_eq!(report.planned.len(), 2);
    assert!(report.applied.is_empty());
    assert!(tables(&f.conn()).is_empty(), "not even the history table");
}

#[test]
fn atomic_run_rolls_everything_back() {
    let f = Fixture::new(&[
        ("1_users.sql", USERS),
        ("2_posts.sql", POSTS),
        ("3_bad.sql", "CREATE TABLE t (x);\nSELECT nope FROM t;\n"),
    ]);
    let e = f.run_with(|r| r.atomic(true)).unwrap_err();
    let Error::Migration(m) = &e else {
        panic!("{e}")
    };
    assert!(
        m.undone == Undone::Run && m.applied_before == [1, 2] && m.line == Some(2),
        "{e}"
    );
    assert!(e.to_string().contains("were rolled back"), "{e}");
    let left = tables(&f.conn());
    assert!(
        !left.contains(&"users".to_owned()) && !left.contains(&"tags".to_owned()),
        "{left:?}"
    );
    f.write("3_bad.sql", TAGS);
    let report = f.run_with(|r| r.atomic(true)).unwrap();
    assert_eq!(report.applied.len(), 3);
}

#[test]
fn atomic_run_refuses_no_transaction_files_before_changing_anything() {
    let f = Fixture::new(&[
        ("1_users.sql", USERS),
        ("2_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n"),
    ]);
    let e = f.run_with(|r| r.atomic(true)).unwrap_err();
    assert!(
        matches!(&e, Error::NotAtomic { version: 2, file } if file == "2_vacuum.sql"),
        "{e}"
    );
    assert!(tables(&f.conn()).is_empty());
}

#[test]
fn trigger_bodies_and_missing_final_semicolon() {
    let f = Fixture::new(&[(
        "1_counts.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\n\
         CREATE TABLE counts (n INTEGER NOT NULL);\n\
         INSERT INTO counts VALUES (0);\n\
         CREATE TRIGGER items_count AFTER INSERT ON items\n\
         BEGIN\n\
           UPDATE counts SET n = n + 1;\n\
           UPDATE counts SET n = n + CASE WHEN NEW.name = 'end;' THEN 10 ELSE 0 END;\n\
         END;\n\
         INSERT INTO items (name) VALUES ('a;b')",
    )]);
    run(&f).unwrap();
    let conn = f.conn();
    conn.execute("INSERT INTO items (name) VALUES ('end;')", [])
        .unwrap();
    assert_eq!(column(&conn, "SELECT n FROM counts"), ["12"]);
}

#[test]
fn own_begin_commit_wrapper_is_the_one_transaction() {
    let f = Fixture::new(&[(
        "1_wrapped.sql",
        "BEGIN TRANSACTION;\nCREATE TABLE a (x);\nINSERT INTO a VALUES (1);\nCOMMIT;\n",
    )]);
    run(&f).unwrap();
    assert_eq!(column(&f.conn(), "SELECT x FROM a"), ["1"]);
    // A failing wrapped file leaves nothing behind either.
    f.write(
        "2_wrapped_bad.sql",
        "BEGIN;\nCREATE TABLE b (x);\nINSERT INTO missing VALUES (1);\nCOMMIT;\n",
    );
    let Error::Migration(m) = run(&f).unwrap_err() else {
        panic!()
    };
    assert_eq!(m.line, Some(3));
    assert!(!tables(&f.conn()).contains(&"b".to_string()));
}

const PARENTS: &str = "CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT);\n\
CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents (id) ON DELETE CASCADE);\n\
INSERT INTO parents VALUES (1, 'p');\n\
INSERT INTO children VALUES (10, 1), (11, 1);\n";

/// SQLite's 12-step rebuild as other tools write it.
const REBUILD: &str = "PRAGMA foreign_keys=OFF;\n\
BEGIN TRANSACTION;\n\
CREATE TABLE parents_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\n\
INSERT INTO parents_new SELECT id, coalesce(name, '') FROM parents;\n\
DROP TABLE parents;\n\
ALTER TABLE parents_new RENAME TO parents;\n\
COMMIT;\n\
PRAGMA foreign_keys=ON;\n";

#[test]
fn table_rebuild_with_in_file_pragma_keeps_cascading_children() {
    let f = Fixture::new(&[("1_parents.sql", PARENTS), ("2_rebuild.sql", REBUILD)]);
    let mut conn = f.conn();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    f.set().runner().run(&mut conn).unwrap();
    // Run literally inside a transaction, the DROP TABLE would have cascaded.
    assert_eq!(column(&conn, "SELECT count(*) FROM children"), ["2"]);
    assert_eq!(column(&conn, "PRAGMA foreign_keys"), ["1"], "restored");
}

#[test]
fn foreign_keys_off_directive_rolls_back_on_violation() {
    let broken = "-- migrate:foreign-keys-off\n\
CREATE TABLE parents_new (id INTEGER PRIMARY KEY, name TEXT);\n\
INSERT INTO parents_new SELECT id + 100, name FROM parents;\n\
DROP TABLE parents;\n\
ALTER TABLE parents_new RENAME TO parents;\n";
    let f = Fixture::new(&[("1_parents.sql", PARENTS), ("2_broken.sql", broken)]);
    let mut conn = f.conn();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let e = f.set().runner().run(&mut conn).unwrap_err();
    let Error::Migration(m) = &e else {
        panic!("{e}")
    };
    let Failure::ForeignKeys(v) = &m.cause else {
        panic!("{e}")
    };
    assert_eq!(
        (v.len(), v[0].table.as_str(), v[0].parent.as_str()),
        (2, "children", "parents")
    );
    assert!(
        e.to_string().contains("children rowid 10 -> parents"),
        "{e}"
    );
    assert_eq!(
        column(&conn, "SELECT id FROM parents"),
        ["1"],
        "rolled back"
    );
    assert_eq!(
        column(&conn, "PRAGMA foreign_keys"),
        ["1"],
        "restored after failure"
    );
}

#[test]
fn no_transaction_file_runs_outside_and_is_recorded() {
    let f = Fixture::new(&[
        ("1_users.sql", USERS),
        (
            "2_vacuum.sql",
            "-- migrate:no-transaction\nPRAGMA journal_mode = WAL;\nVACUUM;\n",
        ),
    ]);
    run(&f).unwrap();
    assert_eq!(column(&f.conn(), "PRAGMA journal_mode"), ["wal"]);
    assert_eq!(
        column(&f.conn(), "SELECT version FROM schema_migrations"),
        ["1", "2"]
    );
}

#[test]
fn down_sections_and_files_are_never_applied() {
    let f = Fixture::new(&[
        ("1_users.up.sql", USERS),
        ("1_users.down.sql", "DROP TABLE users;\n"),
        (
            "2_posts.sql",
            &format!("-- migrate:up\n{POSTS}\n-- migrate:down\nDROP TABLE users;\n"),
        ),
        (
            "3_tags.sql",
            &format!("-- +goose Up\n{TAGS}-- +goose Down\nDROP TABLE users;\n"),
        ),
    ]);
    let set = f.set();
    assert_eq!(
        set.iter().next().unwrap().down.as_ref().unwrap().text,
        "DROP TABLE users;\n"
    );
    run(&f).unwrap();
    assert_eq!(
        tables(&f.conn()),
        ["posts", "schema_migrations", "tags", "users"]
    );
}

#[test]
fn diesel_folders_apply_unchanged() {
    let f = Fixture::new(&[
        ("2024-01-31-120000_create_users/up.sql", USERS),
        (
            "2024-01-31-120000_create_users/down.sql",
            "DROP TABLE users;",
        ),
        ("2024-02-01-090000_create_posts/up.sql", POSTS),
    ]);
    let versions: Vec<u64> = run(&f).unwrap().applied.iter().map(|s| s.version).collect();
    assert_eq!(versions, [20240131120000, 20240201090000]);
    assert_eq!(tables(&f.conn()), ["posts", "schema_migrations", "users"]);
}

#[test]
fn timestamp_versions_sort_as_numbers() {
    let f = Fixture::new(&[
        ("20210422143411_create_history.sql", USERS),
        ("9_early.sql", TAGS),
    ]);
    let versions: Vec<u64> = run(&f).unwrap().applied.iter().map(|s| s.version).collect();
    assert_eq!(versions, [9, 20210422143411]);
}

#[test]
fn custom_history_table() {
    let f = Fixture::new(&[("1_users.sql", USERS)]);
    let table = Table::new("app_history").unwrap();
    f.run_with(|r| r.table(table.clone())).unwrap();
    assert_eq!(tables(&f.conn()), ["app_history", "users"]);
    assert!(f.run_with(|r| r.table(table)).unwrap().applied.is_empty());
    assert!(matches!(
        Table::new("drop table x"),
        Err(Error::InvalidTableName { .. })
    ));
    assert!(Table::new("sqlite_master").is_err());
}

#[test]
fn open_migrates_and_sets_a_busy_timeout() {
    let f = Fixture::new(&[("1_users.sql", USERS)]);
    let conn = f.set().open(f.db()).unwrap();
    assert_eq!(column(&conn, "PRAGMA busy_timeout"), ["5000"]);
    assert_eq!(tables(&conn), ["schema_migrations", "users"]);
}

#[test]
fn refuses_a_connection_inside_a_transaction() {
    let f = Fixture::new(&[("1_users.sql", USERS)]);
    let mut conn = f.conn();
    conn.execute_batch("BEGIN").unwrap();
    assert!(matches!(
        f.set().runner().run(&mut conn),
        Err(Error::InTransaction)
    ));
}

#[test]
fn bad_folders_report_every_file() {
    let f = Fixture::new(&[
        ("1_a.sql", USERS),
        ("001_b.sql", TAGS),
        ("2.init.sql", POSTS),
        ("3_empty.sql", "  \n"),
        (
            "4_wal.sql",
            "CREATE TABLE x (y);\n\nPRAGMA journal_mode = WAL;\n",
        ),
        (
            "5_settings.pragmas",
            "-- tuning\njornal_mode = wal\nsynchronous = sometimes\n",
        ),
        ("8_hot.indexes", "index on users (email desk)\n"),
        ("6_comments.sql", "-- nothing to do\n"),
    ]);
    std::fs::write(
        f.migrations().join("7_latin1.sql"),
        b"SELECT 1;\nSELECT 'caf\xe9';\n",
    )
    .unwrap();
    // A file that cannot be read is listed with the rest, not alone.
    #[cfg(unix)]
    std::os::unix::fs::symlink(f.root().join("gone"), f.migrations().join("9_gone.sql")).unwrap();
    let e = Migrations::from_dir(f.migrations()).unwrap_err();
    let msg = e.to_string();
    #[cfg(unix)]
    assert!(msg.contains("9_gone.sql: cannot read it"), "{msg}");
    for expected in [
        "1_a.sql: version 1 is also used by `001_b.sql`",
        "2.init.sql: expected `<version>_<name>.<kind>`",
        "rename it `2_init.sql`",
        "3_empty.sql:1: the file has no statements",
        "4_wal.sql:3: `PRAGMA journal_mode = WAL;` cannot run inside the migration's transaction",
        "5_settings.pragmas:2: unknown pragma `jornal_mode`; did you mean `journal_mode`?",
        "5_settings.pragmas:3: bad value `sometimes` for `synchronous`: expected one of `off`, `normal`, `full`, `extra`",
        "8_hot.indexes:1: unknown direction `desk` after column `email`; expected `asc` or `desc`; did you mean `desc`?",
        "7_latin1.sql:2: the file is not valid UTF-8",
    ] {
        assert!(msg.contains(expected), "missing {expected:?} in:\n{msg}");
    }
    assert!(!msg.contains("6_comments"), "{msg}");
    assert_eq!(e.0.len(), if cfg!(unix) { 9 } else { 8 });
}

#[test]
fn another_tools_history_table_is_not_touched() {
    // golang-migrate's table has the same name and other columns.
    let f = Fixture::new(&[("1_users.sql", USERS)]);
    f.conn()
        .execute_batch("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (1, 0);")
        .unwrap();
    let e = run(&f).unwrap_err();
    assert!(
        matches!(&e, Error::ForeignHistory { columns, .. } if columns == &["version", "dirty"]),
        "{e}"
    );
    assert!(e.to_string().contains("`Runner::table`"), "{e}");
    assert!(e.to_string().contains("`Runner::adopt`"), "{e}");
    assert_eq!(tables(&f.conn()), ["schema_migrations"]);
    // Under another name, the history of golang-migrate still says version
    // 1 ran: running it again is refused, pointing to adopt.
    let own = || Table::new("app_migrations").unwrap();
    let e = f.run_with(|r| r.table(own())).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ManagedBy {
                tool: migrate_core::Tool::GolangMigrate
            }
        ),
        "{e}"
    );
    assert_eq!(tables(&f.conn()), ["schema_migrations"]);
    // A table of that shape with nothing applied is no obstacle: the run
    // goes ahead beside it.
    f.conn()
        .execute_batch("DELETE FROM schema_migrations")
        .unwrap();
    f.run_with(|r| r.table(own())).unwrap();
    assert_eq!(
        tables(&f.conn()),
        ["app_migrations", "schema_migrations", "users"]
    );
}

#[test]
fn prisma_folders_apply_unchanged() {
    let f = Fixture::new(&[
        ("20240131120000_init/migration.sql", USERS),
        ("20240201090000_posts/migration.sql", POSTS),
        ("migration_lock.toml", "provider = \"sqlite\""),
    ]);
    assert_eq!(run(&f).unwrap().applied.len(), 2);
    f.write("20240301000000_oops/notes.txt", "no migration here");
    let e = Migrations::from_dir(f.migrations())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("20240301000000_oops: ") && e.contains("holds no `up.sql` or `migration.sql`"),
        "{e}"
    );
}

#[test]
fn failed_no_transaction_file_says_what_stayed() {
    let f = Fixture::new(&[(
        "1_outside.sql",
        "-- migrate:no-transaction\nCREATE TABLE IF NOT EXISTS a (x);\nINSERT INTO nowhere VALUES (1);\n",
    )]);
    let e = run(&f).unwrap_err();
    let Error::Migration(m) = &e else {
        panic!("{e}")
    };
    assert_eq!((m.undone, m.line), (Undone::Nothing, Some(3)));
    assert!(
        e.to_string().contains("took effect; it was not recorded"),
        "{e}"
    );
    assert_eq!(
        tables(&f.conn()),
        ["a"],
        "the first statement stays, unrecorded"
    );
    // Fixed and re-run, it completes: the file is safe to re-run.
    f.write(
        "1_outside.sql",
        "-- migrate:no-transaction\nCREATE TABLE IF NOT EXISTS a (x);\n",
    );
    assert_eq!(run(&f).unwrap().applied.len(), 1);
}

#[test]
fn drizzle_style_folder_and_rebuild_apply_unchanged() {
    // drizzle-kit's layout: flat files, `--> statement-breakpoint` markers,
    // a meta/ folder, and table rebuilds without BEGIN/COMMIT.
    let f = Fixture::new(&[
        (
            "0000_first_table.sql",
            "CREATE TABLE `owners` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT,\n\t`name` text\n);\n--> statement-breakpoint\n\
             CREATE TABLE `pets` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT,\n\t`owner_id` integer NOT NULL,\n\t\
             FOREIGN KEY (`owner_id`) REFERENCES `owners`(`id`) ON DELETE cascade\n);\n",
        ),
        (
            "meta/_journal.json",
            "{\"entries\": [{\"idx\": 0, \"tag\": \"0000_first_table\"}]}",
        ),
        ("meta/0000_snapshot.json", "{}"),
    ]);
    let mut conn = f.conn();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    f.set().runner().run(&mut conn).unwrap();
    conn.execute_batch(
        "INSERT INTO owners (name) VALUES ('o'); INSERT INTO pets (owner_id) VALUES (1), (1);",
    )
    .unwrap();
    f.write(
        "0001_second_rebuild.sql",
        "PRAGMA foreign_keys=OFF;--> statement-breakpoint\n\
         CREATE TABLE `__new_owners` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT,\n\t`name` text DEFAULT '' NOT NULL\n);\n\
         --> statement-breakpoint\n\
         INSERT INTO `__new_owners`(\"id\", \"name\") SELECT \"id\", coalesce(\"name\", '') FROM `owners`;--> statement-breakpoint\n\
         DROP TABLE `owners`;--> statement-breakpoint\n\
         ALTER TABLE `__new_owners` RENAME TO `owners`;--> statement-breakpoint\n\
         PRAGMA foreign_keys=ON;",
    );
    f.write(
        "meta/_journal.json",
        "{\"entries\": [{\"idx\": 0, \"tag\": \"0000_first_table\"}, {\"idx\": 1, \"tag\": \"0001_second_rebuild\"}]}",
    );
    f.set().runner().run(&mut conn).unwrap();
    assert_eq!(
        column(&conn, "SELECT count(*) FROM pets"),
        ["2"],
        "no cascade"
    );
    assert_eq!(column(&conn, "PRAGMA foreign_keys"), ["1"]);
}

#[test]
fn the_startup_check_agrees_with_status_after_any_hand_edit() {
    // Each edit is made on a fresh, up-to-date database; the check that
    // `run` makes first must then see what `status` sees.
    let edits = [
        "DELETE FROM schema_migrations WHERE version = 2",
        "DELETE FROM schema_migrations WHERE version = 1",
        "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1",
        "UPDATE schema_migrations SET version = 3 WHERE version = 2",
        "INSERT INTO schema_migrations (version, name, kind, checksum, applied_at, duration_ms) VALUES (9, 'extra', 'sql', 'x', '2026-01-01T00:00:00.000Z', 0)",
        "DROP TABLE schema_migrations",
        "UPDATE schema_migrations SET checksum = CAST(checksum AS BLOB) WHERE version = 2",
        "UPDATE schema_migrations SET checksum = upper(checksum) WHERE version = 1",
        "UPDATE schema_migrations SET version = -1 WHERE version = 1",
    ];
    for edit in edits {
        let f = Fixture::new(&[("1_users.sql", USERS), ("2_posts.sql", POSTS)]);
        run(&f).unwrap();
        let conn = f.conn();
        conn.execute_batch(edit).unwrap();
        let set = f.set();
        // An error (a row of a type never written) is not clean either.
        let clean = set.runner().status(&conn).is_ok_and(|status| {
            status
                .iter()
                .all(|r| r.state == migrate_core::plan::State::Applied)
        });
        assert!(!clean, "{edit}: status sees the edit");
        let dry = set.runner().dry_run(true).run(&mut f.conn());
        assert!(
            !matches!(&dry, Ok(r) if r.planned.is_empty()),
            "{edit}: the startup check said up to date: {dry:?}"
        );
    }
}

#[test]
fn informational_history_columns_edited_by_hand_do_not_stop_anything() {
    let f = Fixture::new(&[("1_users.sql", USERS), ("2_posts.sql", POSTS)]);
    run(&f).unwrap();
    f.conn()
        .execute_batch(
            "UPDATE schema_migrations SET name = CAST(name AS BLOB), kind = 7, applied_at = 1.5, duration_ms = 'x'",
        )
        .unwrap();
    let set = f.set();
    let status = set.runner().status(&f.conn()).unwrap();
    assert!(
        status
            .iter()
            .all(|r| r.state == migrate_core::plan::State::Applied)
    );
    assert!(run(&f).unwrap().applied.is_empty());
}

#[test]
fn the_database_holds_one_bookkeeping_table_and_old_ones_are_upgraded() {
    let f = Fixture::new(&[("1_users.sql", USERS)]);
    run(&f).unwrap();
    assert_eq!(tables(&f.conn()), ["schema_migrations", "users"]);
    // A database of an earlier build kept a fingerprint table beside it.
    let legacy = "CREATE TABLE schema_migrations_fingerprint \
                  (id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT NOT NULL); \
                  INSERT INTO schema_migrations_fingerprint VALUES (1, 'stale');";
    f.conn().execute_batch(legacy).unwrap();
    assert!(run(&f).unwrap().applied.is_empty());
    assert_eq!(
        tables(&f.conn()),
        ["schema_migrations", "users"],
        "up to date"
    );
    f.conn().execute_batch(legacy).unwrap();
    f.write("2_posts.sql", POSTS);
    assert_eq!(run(&f).unwrap().applied.len(), 1);
    assert_eq!(
        tables(&f.conn()),
        ["posts", "schema_migrations", "users"],
        "after a run"
    );
    // A table of that name that is not ours is left alone.
    f.conn()
        .execute_batch("CREATE TABLE schema_migrations_fingerprint (mine TEXT)")
        .unwrap();
    f.write(
        "3_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    run(&f).unwrap();
    assert!(tables(&f.conn()).contains(&"schema_migrations_fingerprint".to_owned()));
}

/// The database header's file change counter (bytes 24..28), which SQLite
/// increments once for every write transaction in rollback-journal mode.
fn commits(f: &Fixture) -> u32 {
    let header = std::fs::read(f.db()).unwrap();
    u32::from_be_bytes(header[24..28].try_into().unwrap())
}

#[test]
fn a_run_commits_once_per_migration() {
    let f = Fixture::new(&[("1_users.sql", USERS), ("2_posts.sql", POSTS)]);
    run(&f).unwrap();
    assert_eq!(commits(&f), 2);
    f.write(
        "3_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    f.write(
        "4_more.sql",
        "CREATE TABLE more (id INTEGER PRIMARY KEY);\n",
    );
    f.run_with(|r| r.atomic(true)).unwrap();
    assert_eq!(commits(&f), 3, "an atomic run commits once");
    // Up to date: the startup check writes nothing.
    assert!(run(&f).unwrap().applied.is_empty());
    assert_eq!(commits(&f), 3);
}

#[test]
fn a_failure_while_recording_names_the_migration() {
    // A trigger makes the history insert itself fail, after the migration's
    // own statements ran.
    let f = Fixture::new(&[("1_users.sql", USERS)]);
    run(&f).unwrap();
    f.conn()
        .execute_batch(
            "CREATE TRIGGER frozen BEFORE INSERT ON schema_migrations \
             BEGIN SELECT RAISE(ABORT, 'history is frozen'); END;",
        )
        .unwrap();
    f.write("2_posts.sql", POSTS);
    for atomic in [false, true] {
        let e = f.run_with(|r| r.atomic(atomic)).unwrap_err();
        let Error::Migration(m) = &e else {
            panic!("not a migration error: {e}")
        };
        assert_eq!((m.version, m.file.as_str()), (2, "2_posts.sql"), "{e}");
        assert!(
            e.to_string().contains("history is frozen") && e.to_string().contains("rolled back"),
            "{e}"
        );
        assert_eq!(
            tables(&f.conn()),
            ["schema_migrations", "users"],
            "posts rolled back"
        );
    }
}

#[test]
fn a_history_checksum_of_another_type_is_named_with_its_version() {
    let f = Fixture::new(&[("1_users.sql", USERS), ("2_posts.sql", POSTS)]);
    run(&f).unwrap();
    f.conn()
        .execute_batch(
            "UPDATE schema_migrations SET checksum = CAST(checksum AS BLOB) WHERE version = 2",
        )
        .unwrap();
    let e = f.set().runner().status(&f.conn()).unwrap_err().to_string();
    for part in [
        "`schema_migrations`",
        "version 2",
        "`checksum`",
        "blob",
        "edited by hand",
    ] {
        assert!(e.contains(part), "{part:?} in {e}");
    }
}

#[test]
fn in_memory_test_databases_run_a_set_made_for_files() {
    // An app's production set: WAL and a memory map need a database file.
    let f = Fixture::new(&[
        (
            "1_production.pragmas",
            "journal_mode = wal\nmmap_size = 256MiB\nforeign_keys = on\n",
        ),
        ("2_users.sql", USERS),
    ]);
    let set = f.set();
    for path in [":memory:", ""] {
        let conn = set.open(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert_eq!(tables(&conn), ["schema_migrations", "users"], "{path:?}");
        let verified = migrate_core::verify::verify(&set, &conn, &Table::default()).unwrap();
        assert!(
            verified.problems.is_empty(),
            "{path:?}: {:?}",
            verified.problems
        );
    }
    let mut conn = migrate_core::rusqlite::Connection::open_in_memory().unwrap();
    let report = set.runner().run(&mut conn).unwrap();
    let notes: Vec<String> = report.notes.iter().map(ToString::to_string).collect();
    assert_eq!(
        notes,
        [
            "1_production.pragmas: `PRAGMA journal_mode = wal` skipped: an in-memory or temporary database has no file to take it",
            "1_production.pragmas: `PRAGMA mmap_size = 268435456` skipped: an in-memory or temporary database has no file to take it",
        ]
    );
    // Its other settings still hold there, and on a file every one does.
    assert_eq!(column(&conn, "PRAGMA foreign_keys"), ["1"]);
    drop(set.open(f.db()).unwrap());
    assert_eq!(column(&f.conn(), "PRAGMA journal_mode"), ["wal"]);
}

/// A history table of a build before `origin` and `down_checksum`: read as
/// it is, given the columns when a down file first needs them, and its
/// rows (with no down checksum) are not taken for edited downs.
#[test]
fn a_history_table_of_an_earlier_build_gains_its_later_columns() {
    let f = Fixture::new(&[
        ("1_users.up.sql", USERS),
        ("1_users.down.sql", "DROP TABLE users;\n"),
    ]);
    let checksum = f.set().iter().next().unwrap().checksum.to_string();
    f.conn()
        .execute_batch(&format!(
            "{USERS}
             CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
               checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'users', 'sql', '{checksum}', '2024-01-01T00:00:00.000Z', 1);"
        ))
        .unwrap();
    assert!(run(&f).unwrap().applied.is_empty());
    f.write("2_posts.up.sql", POSTS);
    f.write("2_posts.down.sql", "DROP TABLE posts;\n");
    assert_eq!(run(&f).unwrap().applied.len(), 1);
    assert_eq!(
        column(
            &f.conn(),
            "SELECT coalesce(down_checksum, '-') FROM schema_migrations ORDER BY version"
        ),
        [
            "-".to_owned(),
            f.set().iter().nth(1).unwrap().down_checksum().unwrap()
        ]
    );
    // The down of 2 edited after its up ran is refused; 1's, of a row
    // without a checksum, is not checked.
    f.write("2_posts.down.sql", "DROP TABLE posts; -- edited\n");
    let down = |f: &Fixture| {
        f.set()
            .runner()
            .down(&mut f.conn(), migrate_core::plan::DownTarget::To(0))
    };
    let e = down(&f).unwrap_err();
    assert!(
        matches!(e, Error::Plan(PlanError::DownEdited(ref v)) if v[0].version == 2),
        "{e}"
    );
    f.write("2_posts.down.sql", "DROP TABLE posts;\n");
    f.write("1_users.down.sql", "DROP TABLE users; -- edited\n");
    down(&f).unwrap();
    assert_eq!(tables(&f.conn()), ["schema_migrations"]);
}

/// `Runner::before_apply` sees what a run is about to apply, once, after
/// planning and before the first change; not at all when nothing is pending.
#[test]
fn before_apply_sees_the_plan_once_and_only_with_work() {
    let f = Fixture::new(&[("1_users.sql", USERS), ("3_tags.sql", TAGS)]);
    let set = f.set();
    let seen = std::sync::Mutex::new(Vec::new());
    let mut conn = f.conn();
    let db = f.db();
    let look = |pending: &[&migrate_core::Migration]| {
        // Nothing applied yet when it is called.
        let other = migrate_core::rusqlite::Connection::open(&db).unwrap();
        assert!(
            !tables(&other).contains(&"users".to_owned()),
            "{:?}",
            tables(&other)
        );
        seen.lock()
            .unwrap()
            .push(pending.iter().map(|m| m.version).collect::<Vec<_>>());
        Ok(())
    };
    set.runner().before_apply(look).run(&mut conn).unwrap();
    assert_eq!(*seen.lock().unwrap(), [vec![1, 3]]);
    set.runner().before_apply(look).run(&mut conn).unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1, "called with nothing pending");
}

/// A `before_apply` that gives reasons stops the run before anything runs.
#[test]
fn before_apply_can_refuse_the_run() {
    let f = Fixture::new(&[("1_users.sql", USERS), ("3_tags.sql", TAGS)]);
    let set = f.set();
    let mut conn = f.conn();
    let e = set
        .runner()
        .before_apply(|_| Err(vec!["3_tags.sql:1: it would fail".into()]))
        .run(&mut conn)
        .unwrap_err();
    assert!(matches!(e, migrate_core::Error::Refused(_)), "{e}");
    assert!(e.to_string().contains("3_tags.sql:1: it would fail"), "{e}");
    let left = tables(&f.conn());
    assert!(
        !left.contains(&"users".to_owned()) && !left.contains(&"tags".to_owned()),
        "{left:?}"
    );
}
