//! Pragma sets and index sets on real SQLite files.

use migrate_core::error::Failure;
use migrate_core::rusqlite::Connection;
use migrate_core::{Error, Migrations};
use migrate_tests::{Fixture, column};

const ITEMS: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, price INTEGER, name TEXT);\n\
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500)\n\
INSERT INTO items (owner, price, name) SELECT 'u' || (x % 50), x, 'item ' || x FROM n;\n";

fn run(f: &Fixture, conn: &mut Connection) -> Result<migrate_core::Report, Error> {
    f.set().runner().run(conn)
}

fn cause(e: &Error) -> (&Failure, Option<u32>, &str) {
    match e {
        Error::Migration(m) => (&m.cause, m.line, m.file.as_str()),
        other => panic!("not a migration error: {other}"),
    }
}

#[test]
fn wal_and_auto_vacuum_persist_after_reopening() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        (
            "2_settings.pragmas",
            "journal_mode = wal\nauto_vacuum = incremental\n",
        ),
    ]);
    let report = run(&f, &mut f.conn()).unwrap();
    assert_eq!(
        report.notes,
        ["2_settings.pragmas: ran VACUUM so that auto_vacuum took effect"]
    );
    let conn = f.conn();
    assert_eq!(column(&conn, "PRAGMA journal_mode"), ["wal"]);
    assert_eq!(column(&conn, "PRAGMA auto_vacuum"), ["2"]);
    assert_eq!(column(&conn, "SELECT count(*) FROM items"), ["500"]);
    assert_eq!(
        column(
            &conn,
            "SELECT kind FROM schema_migrations WHERE version = 2"
        ),
        ["pragmas"]
    );
}

#[test]
fn page_size_changes_on_a_wal_database_and_wal_comes_back() {
    let f = Fixture::new(&[("1_items.sql", ITEMS)]);
    let conn = f.conn();
    conn.query_row("PRAGMA journal_mode = wal", [], |_| Ok(()))
        .unwrap();
    drop(conn);
    run(&f, &mut f.conn()).unwrap();
    f.write("2_pages.pragmas", "page_size = 8192\n");
    let report = run(&f, &mut f.conn()).unwrap();
    assert_eq!(
        report.notes,
        ["2_pages.pragmas: ran VACUUM so that page_size took effect"]
    );
    let conn = f.conn();
    assert_eq!(column(&conn, "PRAGMA page_size"), ["8192"]);
    assert_eq!(column(&conn, "PRAGMA journal_mode"), ["wal"]);
}

#[test]
fn a_value_sqlite_refuses_is_an_error_naming_asked_and_found() {
    // SQLite caps the memory map (SQLITE_MAX_MMAP_SIZE, 0x7fff0000 here).
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        ("2_map.pragmas", "-- fast\nmmap_size = 4GiB\n"),
    ]);
    let mut conn = f.conn();
    let e = run(&f, &mut conn).unwrap_err();
    let (cause, line, file) = cause(&e);
    assert_eq!((line, file), (Some(2), "2_map.pragmas"));
    assert!(
        matches!(cause, Failure::PragmaNotTaken { pragma: "mmap_size", asked, found, .. } if asked == "4294967296" && found == "2147418112"),
        "{e}"
    );
    assert_eq!(
        column(&conn, "SELECT version FROM schema_migrations"),
        ["1"],
        "not recorded"
    );
}

#[test]
fn the_profile_is_applied_on_every_connection_open_returns() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        (
            "2_base.pragmas",
            "cache_size = -1000\nbusy_timeout = 1234\nforeign_keys = on\n",
        ),
        (
            "3_more.pragmas",
            "cache_size = -2222\nsynchronous = normal\njournal_mode = wal\n",
        ),
    ]);
    let set = f.set();
    let names: Vec<&str> = set
        .profile()
        .settings
        .iter()
        .map(|(_, s)| s.pragma.name)
        .collect();
    assert_eq!(
        names,
        ["busy_timeout", "foreign_keys", "cache_size", "synchronous"]
    );
    for _ in 0..2 {
        let conn = set.open(f.db()).unwrap();
        assert_eq!(
            column(&conn, "PRAGMA cache_size"),
            ["-2222"],
            "later sets win"
        );
        assert_eq!(
            column(&conn, "PRAGMA busy_timeout"),
            ["1234"],
            "the set's timeout wins"
        );
        assert_eq!(column(&conn, "PRAGMA foreign_keys"), ["1"]);
        assert_eq!(column(&conn, "PRAGMA synchronous"), ["1"]);
    }
    // A plain connection has none of it: these pragmas do not persist.
    assert_eq!(column(&f.conn(), "PRAGMA cache_size"), ["-2000"]);
    assert_eq!(
        column(&f.conn(), "PRAGMA journal_mode"),
        ["wal"],
        "but WAL does"
    );
}

#[test]
fn index_set_with_one_bad_column_changes_nothing() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        (
            "2_hot.indexes",
            "index on items (owner)\n\nindex on items (owner, prise desc)\n",
        ),
    ]);
    let mut conn = f.conn();
    let e = run(&f, &mut conn).unwrap_err();
    let (cause, line, file) = cause(&e);
    assert_eq!((line, file), (Some(3), "2_hot.indexes"));
    assert!(
        matches!(cause, Failure::NoSuchColumn { column, .. } if column == "prise"),
        "{e}"
    );
    assert!(e.to_string().contains("did you mean `price`?"), "{e}");
    assert!(
        e.to_string()
            .contains("its columns: id, owner, price, name"),
        "{e}"
    );
    assert!(column(&conn, "SELECT name FROM sqlite_master WHERE type = 'index'").is_empty());
    assert_eq!(
        column(&conn, "SELECT version FROM schema_migrations"),
        ["1"]
    );
}

#[test]
fn index_set_on_a_missing_table_says_which() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        ("2_hot.indexes", "index on itmes (owner)\n"),
    ]);
    let e = run(&f, &mut f.conn()).unwrap_err();
    assert!(
        matches!(cause(&e).0, Failure::NoSuchTable { table, .. } if table == "itmes"),
        "{e}"
    );
    assert!(e.to_string().contains("did you mean `items`?"), "{e}");
}

#[test]
fn creates_indexes_and_analyses_their_tables() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        (
            "2_hot.indexes",
            "unique index on items (owner, name)\nindex idx_cheap on items (price) where price < 10\n",
        ),
    ]);
    let conn = f.conn();
    run(&f, &mut f.conn()).unwrap();
    assert_eq!(
        column(
            &conn,
            "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"
        ),
        ["idx_cheap", "idx_items_owner_name"]
    );
    assert!(!column(&conn, "SELECT idx FROM sqlite_stat1 WHERE tbl = 'items'").is_empty());
}

#[test]
fn an_identical_existing_index_is_accepted_and_a_different_one_refused() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        (
            "2_own.sql",
            "create index IDX_ITEMS_OWNER on items(owner   );\ncreate index idx_price on items (price);\n",
        ),
        ("3_hot.indexes", "index on items (owner)\n"),
    ]);
    run(&f, &mut f.conn()).unwrap();
    f.write(
        "4_conflict.indexes",
        "index idx_price on items (price desc)\n",
    );
    let e = run(&f, &mut f.conn()).unwrap_err();
    let (cause, line, _) = cause(&e);
    assert_eq!(line, Some(1));
    assert!(
        matches!(cause, Failure::IndexConflict { index, .. } if index == "idx_price"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("existing: CREATE INDEX idx_price on items (price)"),
        "{e}"
    );
    let conn = f.conn();
    assert_eq!(
        column(
            &conn,
            "SELECT sql FROM sqlite_master WHERE name = 'idx_price'"
        ),
        ["CREATE INDEX idx_price on items (price)"]
    );
    assert!(
        column(
            &conn,
            "SELECT name FROM sqlite_master WHERE name LIKE 'migrate_scratch%'"
        )
        .is_empty()
    );
}

#[test]
fn a_failing_expect_warns_in_up_and_fails_verify_and_the_helper() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        (
            "2_hot.indexes",
            "index idx_owner on items (owner)\n\
             expect \"SELECT * FROM items WHERE owner = ?1\" uses idx_owner\n\
             expect \"SELECT * FROM items WHERE price = ?1\" uses idx_owner\n",
        ),
    ]);
    let mut conn = f.conn();
    let report = run(&f, &mut conn).unwrap();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0]
            .to_string()
            .starts_with("2_hot.indexes:3: the plan of"),
        "{}",
        report.warnings[0]
    );
    assert!(
        report.warnings[0].plan.contains("SCAN items"),
        "{}",
        report.warnings[0]
    );

    let set = f.set();
    let v = migrate_core::verify::verify(&set, &conn, &Default::default()).unwrap();
    assert_eq!(v.problems.len(), 1);
    assert_eq!(
        (v.problems[0].file.as_deref(), v.problems[0].line),
        (Some("2_hot.indexes"), Some(3))
    );

    let e = migrate_core::testing::schema(&set).unwrap_err();
    assert!(
        matches!(&e, Error::Verify { problems } if problems[0].starts_with("2_hot.indexes:3:")),
        "{e}"
    );
}

#[test]
fn atomic_runs_refuse_pragma_sets_before_changing_anything() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        ("2_wal.pragmas", "journal_mode = wal\n"),
    ]);
    let e = f.run_with(|r| r.atomic(true)).unwrap_err();
    assert!(matches!(&e, Error::NotAtomic { version: 2, .. }), "{e}");
    assert!(migrate_tests::tables(&f.conn()).is_empty());
}

#[test]
fn verify_reports_drifted_pragmas_and_indexes() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        ("2_wal.pragmas", "journal_mode = wal\nuser_version = 7\n"),
        ("3_hot.indexes", "index idx_owner on items (owner)\n"),
    ]);
    let set: Migrations = f.set();
    run(&f, &mut f.conn()).unwrap();
    let conn = f.conn();
    assert!(
        migrate_core::verify::verify(&set, &conn, &Default::default())
            .unwrap()
            .problems
            .is_empty()
    );
    conn.execute_batch("PRAGMA user_version = 8; DROP INDEX idx_owner;")
        .unwrap();
    let v = migrate_core::verify::verify(&set, &conn, &Default::default()).unwrap();
    let text: Vec<String> = v.problems.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(
        text[0].starts_with(
            "2_wal.pragmas:2: pragma `user_version` was set to `7` but SQLite reports `8`"
        ),
        "{text:?}"
    );
    assert!(
        text[1].starts_with("3_hot.indexes:1: index `idx_owner` is missing"),
        "{text:?}"
    );
}

#[test]
fn the_testing_snapshot_has_the_persistent_pragmas_and_no_shadow_tables() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        ("2_wal.pragmas", "journal_mode = wal\nuser_version = 7\n"),
        (
            "3_search.sql",
            "CREATE VIRTUAL TABLE docs USING fts5(body);\nCREATE VIRTUAL TABLE spots USING rtree(id, x0, x1);\n",
        ),
    ]);
    let schema = migrate_core::testing::schema(&f.set()).unwrap();
    assert!(
        schema.starts_with(
            "PRAGMA page_size = 4096;\nPRAGMA auto_vacuum = none;\nPRAGMA journal_mode = wal;\nPRAGMA user_version = 7;\nPRAGMA application_id = 0;\n\n"
        ),
        "{schema}"
    );
    assert!(
        schema.contains("CREATE VIRTUAL TABLE docs USING fts5(body);"),
        "{schema}"
    );
    assert!(
        schema.contains("CREATE VIRTUAL TABLE spots USING rtree(id, x0, x1);"),
        "{schema}"
    );
    for shadow in [
        "docs_data",
        "docs_idx",
        "docs_content",
        "docs_docsize",
        "docs_config",
        "spots_node",
        "spots_parent",
        "spots_rowid",
    ] {
        assert!(!schema.contains(shadow), "{shadow} in {schema}");
    }
    // The shadow tables are not drift either, and a table named like one,
    // but the app's own, is kept.
    f.run_with(|r| r).unwrap();
    let conn = f.conn();
    conn.execute_batch("CREATE TABLE notes_data (x)").unwrap();
    let v = migrate_core::verify::verify(&f.set(), &conn, &Default::default()).unwrap();
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert!(
        v.problems[0].to_string().contains("notes_data"),
        "{}",
        v.problems[0]
    );
}

#[test]
fn every_unknown_table_and_column_of_an_index_set_is_named_at_once() {
    let f = Fixture::new(&[
        ("1_items.sql", ITEMS),
        (
            "2_hot.indexes",
            "index on items (nope, nah)\nindex on itemz (id)\n",
        ),
    ]);
    let e = f.run_with(|r| r).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("3 names the index set gives are not in the database"),
        "{text}"
    );
    assert!(
        text.contains("line 1: table `items` has no column `nope`"),
        "{text}"
    );
    assert!(
        text.contains("line 1: table `items` has no column `nah`"),
        "{text}"
    );
    assert!(
        text.contains("line 2: table `itemz` does not exist; did you mean `items`?"),
        "{text}"
    );
    assert_eq!(
        migrate_tests::tables(&f.conn()),
        ["items", "schema_migrations"]
    );
}
