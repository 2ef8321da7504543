//! The PostgreSQL dialect of the statement scanner, against PostgreSQL
//! itself: every statement it splits out runs on its own (so no split fell
//! inside a function body, a string or a comment), and the statements it
//! refuses in a transactional file are exactly those PostgreSQL refuses
//! inside a transaction block.
//!
//! The server: `MIGRATE_TEST_POSTGRES` (a libpq-style connection string), or
//! else the local socket as the current user. `.ci/run` starts PostgreSQL
//! and sets it up; elsewhere, without a server, these tests say so on
//! stderr and pass, except under `CI=true`, where they must run.

#[path = "pg_support.rs"]
mod pg;

use migrate_core::sql::{Dialect, SqlErrorKind, problems_in, scan_in, statements_in};
use pg::scratch;

/// Files with everything that ends a statement somewhere else in
/// PostgreSQL than in SQLite, and how many statements each holds.
const FILES: &[(&str, usize)] = &[
    (
        "CREATE TABLE t (id int PRIMARY KEY, note text);\n\
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n\
         BEGIN\n  NEW.note := 'touched; ' || coalesce(NEW.note, '');\n  RETURN NEW;\nEND;\n$$;\n\
         CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();\n\
         INSERT INTO t VALUES (1, 'a');",
        4,
    ),
    (
        "CREATE FUNCTION tagged() RETURNS text AS $body$ SELECT 'x; $$ y'::text $body$ LANGUAGE sql;\n\
         SELECT tagged();",
        2,
    ),
    (
        "/* outer /* inner; */ still; comment */ CREATE TABLE c (x int);\n\
         -- a line comment; with a semicolon\n\
         INSERT INTO c VALUES (1) /* trailing; */;",
        2,
    ),
    (
        "CREATE TABLE s (v text);\n\
         INSERT INTO s VALUES (E'it\\'s; escaped'), ('doubled '' quote; here'), (U&'d\\0061ta;');\n\
         CREATE TABLE \"odd;name\" (\"col;umn\" int);",
        3,
    ),
    (
        "CREATE TABLE r (x int);\nCREATE TABLE r_log (x int);\n\
         CREATE RULE r_copy AS ON INSERT TO r DO ALSO (INSERT INTO r_log VALUES (NEW.x); INSERT INTO r_log VALUES (NEW.x + 1));\n\
         INSERT INTO r VALUES (1);",
        4,
    ),
    (
        "CREATE FUNCTION add_one(a int) RETURNS int LANGUAGE sql\n\
         BEGIN ATOMIC\n  SELECT a + 1;\nEND;\n\
         CREATE OR REPLACE FUNCTION pick(a int) RETURNS text LANGUAGE sql\n\
         BEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 'pos; itive' ELSE 'neg' END;\nEND;\n\
         SELECT add_one(1), pick(2);",
        3,
    ),
    (
        "CREATE TABLE d (a$b int, \"$x\" int);\n\
         PREPARE q (int) AS SELECT $1 + 1;\n\
         DO $do$ BEGIN PERFORM 1; END $do$;\n\
         SELECT $$;$$ AS semi, $a$ $b$ ; $a$ AS nested",
        4,
    ),
];

#[test]
fn every_statement_split_out_runs_on_its_own() {
    let Some(mut db) = scratch() else { return };
    for (text, count) in FILES {
        let statements = statements_in(Dialect::Postgres, text).unwrap();
        assert_eq!(statements.len(), *count, "{text}\n{statements:#?}");
        let client = db.client();
        client.batch_execute("BEGIN").unwrap();
        for (line, statement) in &statements {
            // One statement per round trip: PostgreSQL's own parser says
            // each piece is whole.
            if let Err(e) = client.simple_query(statement) {
                panic!("line {line}: {statement}\n{e:?}");
            }
        }
        client.batch_execute("ROLLBACK").unwrap();
        // And as a transactional migration, nothing is refused.
        assert!(
            problems_in(Dialect::Postgres, text, false).is_empty(),
            "{:?}",
            problems_in(Dialect::Postgres, text, false)
        );
    }
}

/// Statements PostgreSQL refuses inside a transaction block, with what
/// they need to exist.
const REFUSED: &[(&str, &str)] = &[
    (
        "CREATE TABLE i (x int)",
        "CREATE INDEX CONCURRENTLY i_x ON i (x)",
    ),
    (
        "CREATE TABLE i (x int)",
        "create unique index concurrently i_u on i (x)",
    ),
    (
        "CREATE TABLE i (x int); CREATE INDEX i_x ON i (x)",
        "DROP INDEX CONCURRENTLY i_x",
    ),
    (
        "CREATE TABLE i (x int); CREATE INDEX i_x ON i (x)",
        "REINDEX INDEX CONCURRENTLY i_x",
    ),
    (
        "CREATE TABLE i (x int)",
        "REINDEX (VERBOSE) TABLE CONCURRENTLY i",
    ),
    ("", "REINDEX SYSTEM {db}"),
    ("", "REINDEX DATABASE {db}"),
    ("CREATE TABLE i (x int)", "VACUUM i"),
    ("", "VACUUM (ANALYZE)"),
    ("", "CREATE DATABASE migrate_never_made"),
    ("", "DROP DATABASE IF EXISTS migrate_never_made"),
    ("", "ALTER SYSTEM SET work_mem = '8MB'"),
    ("", "CREATE TABLESPACE never LOCATION '/nonexistent'"),
    ("", "DROP TABLESPACE IF EXISTS never"),
    ("", "CLUSTER"),
    ("", "DISCARD ALL"),
];

/// Statements that look close to those and run inside a transaction.
const ALLOWED: &[(&str, &str)] = &[
    ("CREATE TABLE i (x int)", "CREATE INDEX i_x ON i (x)"),
    (
        "CREATE TABLE i (x int); CREATE INDEX i_x ON i (x)",
        "REINDEX INDEX i_x",
    ),
    (
        "CREATE TABLE i (x int); CREATE INDEX i_x ON i (x)",
        "DROP INDEX i_x",
    ),
    (
        "CREATE TABLE i (x int); CREATE INDEX i_x ON i (x)",
        "CLUSTER i USING i_x",
    ),
    (
        "CREATE TYPE mood AS ENUM ('sad')",
        "ALTER TYPE mood ADD VALUE 'happy'",
    ),
    ("CREATE TABLE i (x int)", "ANALYZE i"),
    ("", "DISCARD TEMP"),
    (
        "CREATE TABLE i (x int)",
        "CREATE INDEX \"concurrently\" ON i (x)",
    ),
];

#[test]
fn the_statements_refused_are_those_postgresql_refuses_in_a_transaction() {
    let Some(mut db) = scratch() else { return };
    for (setup, statement) in REFUSED {
        let statement = &statement.replace("{db}", &db.name);
        let client = db.client();
        client.batch_execute(setup).unwrap();
        client.batch_execute("BEGIN").unwrap();
        let e = client
            .simple_query(statement)
            .expect_err(&format!("PostgreSQL ran `{statement}` in a transaction"));
        assert_eq!(
            e.code().map(|c| c.code()),
            Some("25001"),
            "{statement}: {e:?}"
        );
        client.batch_execute("ROLLBACK").unwrap();
        // The scanner refuses it in a transactional file, at its line...
        let text = format!("CREATE TABLE before_it (x int);\n{statement};\n");
        let problems = problems_in(Dialect::Postgres, &text, false);
        assert_eq!(problems.len(), 1, "{statement}: {problems:?}");
        assert_eq!(problems[0].line, 2, "{statement}");
        assert!(
            matches!(&problems[0].kind, SqlErrorKind::NotInTransaction { advice, .. } if advice.contains("-- migrate:no-transaction")),
            "{statement}: {:?}",
            problems[0]
        );
        // ...and takes it under no-transaction.
        assert!(
            scan_in(
                Dialect::Postgres,
                &format!("-- migrate:no-transaction\n{text}"),
                false
            )
            .is_ok()
        );
        client.batch_execute(&undo(setup)).unwrap();
    }
    for (setup, statement) in ALLOWED {
        let client = db.client();
        client.batch_execute(setup).unwrap();
        client.batch_execute("BEGIN").unwrap();
        if let Err(e) = client.simple_query(statement) {
            panic!("{statement}: {e:?}");
        }
        client.batch_execute("ROLLBACK").unwrap();
        let problems = problems_in(Dialect::Postgres, &format!("{statement};"), false);
        assert!(problems.is_empty(), "{statement}: {problems:?}");
        client.batch_execute(&undo(setup)).unwrap();
    }
}

/// Drops what a setup made.
fn undo(setup: &str) -> String {
    let mut undo = String::new();
    if setup.contains("TABLE i ") {
        undo.push_str("DROP TABLE IF EXISTS i;");
    }
    if setup.contains("TYPE mood") {
        undo.push_str("DROP TYPE IF EXISTS mood;");
    }
    undo
}

#[test]
fn transaction_control_and_sqlite_directives_are_named() {
    // A whole-file wrapper is the runner's transaction; anything else is not.
    let wrapped = scan_in(
        Dialect::Postgres,
        "BEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\n",
        false,
    )
    .unwrap();
    assert!(wrapped.wrapped && wrapped.statements.len() == 1);
    let problems = problems_in(
        Dialect::Postgres,
        "CREATE TABLE t (x int);\nSAVEPOINT a;\nCOMMIT;\nVACUUM t;\n",
        false,
    );
    let lines: Vec<u32> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [2, 3, 4], "{problems:?}");
    let e = scan_in(
        Dialect::Postgres,
        "-- migrate:foreign-keys-off\nALTER TABLE t ADD x int;",
        false,
    )
    .unwrap_err();
    assert!(
        matches!(e.kind, SqlErrorKind::ForeignKeysOffOnPostgres),
        "{e:?}"
    );
    // Quotes that do not end are named with where they start.
    for (text, line, says) in [
        ("SELECT 1;\nSELECT $f$ body;", 2, "no closing `$f$`"),
        (
            "SELECT 1;\n/* a /* b */\nSELECT 2;",
            2,
            "unterminated /* comment",
        ),
        ("SELECT E'it\\'s;", 1, "unterminated '…'"),
    ] {
        let e = statements_in(Dialect::Postgres, text).unwrap_err();
        assert_eq!(e.line, line, "{text}");
        assert!(e.to_string().contains(says), "{text}: {e}");
    }
}

/// A folder written for PostgreSQL, embedded as one.
static PG: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/pg", postgres);

#[test]
fn a_postgres_folder_loads_as_postgres_and_the_sqlite_runner_refuses_it() {
    // Embedded and loaded at run time alike: the function body is one
    // statement, and CONCURRENTLY is fine under no-transaction.
    let loaded = migrate_core::Migrations::from_dir_in("fixtures/pg", Dialect::Postgres).unwrap();
    for set in [&PG, &loaded] {
        let scripts: Vec<usize> = set
            .iter()
            .map(|m| m.script().unwrap().statements.len())
            .collect();
        assert_eq!(scripts, [3, 1]);
        assert!(set.iter().all(|m| m.dialect == Dialect::Postgres));
    }
    // As SQLite, the same folder is wrong in SQLite's terms: the function
    // body's `END;` would end the transaction there.
    let e = migrate_core::Migrations::from_dir("fixtures/pg")
        .map(|_| ())
        .unwrap_err();
    assert!(e.to_string().contains("0001_notes.sql:7: `END;`"), "{e}");
    // The SQLite runner does not take a PostgreSQL set.
    let mut conn = migrate_core::rusqlite::Connection::open_in_memory().unwrap();
    let e = PG.runner().run(&mut conn).unwrap_err();
    assert!(matches!(e, migrate_core::Error::NotSqlite { .. }), "{e}");
    assert!(e.to_string().contains("written for PostgreSQL"), "{e}");
    assert!(PG.runner().status(&conn).is_err());

    // A pragma set has no place in a PostgreSQL folder.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("0001_t.sql"), "CREATE TABLE t (x int);").unwrap();
    std::fs::write(dir.path().join("0002_fast.pragmas"), "journal_mode = wal\n").unwrap();
    let e = migrate_core::Migrations::from_dir_in(dir.path(), Dialect::Postgres)
        .map(|_| ())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("0002_fast.pragmas:1: pragma sets are SQLite's"),
        "{e}"
    );
    // And CONCURRENTLY in a transactional file is named at its line.
    std::fs::remove_file(dir.path().join("0002_fast.pragmas")).unwrap();
    std::fs::write(
        dir.path().join("0002_idx.sql"),
        "\nCREATE INDEX CONCURRENTLY t_x ON t (x);\n",
    )
    .unwrap();
    let e = migrate_core::Migrations::from_dir_in(dir.path(), Dialect::Postgres)
        .map(|_| ())
        .unwrap_err();
    assert!(
        e.to_string().contains(
            "0002_idx.sql:2: `CREATE INDEX CONCURRENTLY t_x ON t (x);` cannot run inside"
        ),
        "{e}"
    );
}
