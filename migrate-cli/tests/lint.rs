//! `migrate-cli lint` through the real binary: output forms, exit codes,
//! what it lints, and a file that does not load.

mod common;

use common::*;

const T: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\nCREATE INDEX t_a ON t (a);\n";

#[test]
fn findings_exit_codes_and_json() {
    let p = Project::new(&[
        ("0001_t.sql", T),
        (
            "0002_more.sql",
            "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;\n",
        ),
    ]);
    // A warning only: exit 0, the finding on stdout.
    let out = p.bare(&["lint"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("0002_more.sql:1: warning adding-not-nullable-field:"),
        "{}",
        stdout(&out)
    );
    // An error: exit 1.
    p.write("0003_drop.sql", "ALTER TABLE t DROP COLUMN a;\n");
    let out = p.bare(&["lint"]).output().unwrap();
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("0003_drop.sql:1: error dropping-referenced-column"),
        "{}",
        stdout(&out)
    );
    // Allowed: exit 0, and JSON says so.
    p.write(
        "0003_drop.sql",
        "-- migrate:allow dropping-referenced-column\nALTER TABLE t DROP COLUMN a;\n",
    );
    let out = p.bare(&["lint", "--json"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let allowed = findings
        .iter()
        .find(|f| f["rule"] == "dropping-referenced-column")
        .unwrap();
    assert_eq!(allowed["allowed"], true);
    assert_eq!(allowed["line"], 2);
    assert_eq!(allowed["severity"], "error");
}

#[test]
fn with_a_database_only_the_pending_are_linted() {
    let p = Project::new(&[("0001_t.sql", T), ("0002_wipe.sql", "DELETE FROM t;\n")]);
    ok(&p, &["up"]);
    p.write("0003_more.sql", "UPDATE t SET a = 'x';\n");
    let out = p.cli(&["lint"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0003_more.sql:1: warning update-without-where"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("0002_wipe.sql"), "{}", stdout(&out));
    let out = p.cli(&["lint", "--all"]);
    assert!(
        stdout(&out).contains("0002_wipe.sql:1: warning delete-without-where"),
        "{}",
        stdout(&out)
    );
    // Lint reads the database, never writes it.
    let before = bytes(&p.db());
    p.cli(&["lint"]);
    assert!(bytes(&p.db()) == before);
}

#[test]
fn a_file_that_does_not_load_is_a_finding() {
    let p = Project::new(&[("0001_t.sql", T), ("0002_v.sql", "VACUUM;\n")]);
    let out = p.bare(&["lint"]).output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("0002_v.sql:1: error load:"),
        "{}",
        stdout(&out)
    );
    assert!(!stderr(&out).contains("panicked"));
    let out = p.bare(&["lint", "--dialect", "oracle"]).output().unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sqlite or postgres"),
        "{}",
        stderr(&out)
    );
}

/// Lint replays as `verify` does: no statement of a migration touches a
/// file (`VACUUM INTO`, `ATTACH` of a file), and `up`'s lint neither.
#[test]
fn lint_writes_no_file() {
    let p = Project::new(&[
        ("0001_t.sql", T),
        (
            "0002_copy.sql",
            "-- migrate:no-transaction\nVACUUM INTO 'copy.db';\n",
        ),
        (
            "0003_side.sql",
            "-- migrate:no-transaction\nATTACH 'side.db' AS side;\nCREATE TABLE side.x (id);\nDETACH side;\n",
        ),
    ]);
    let out = p.bare(&["lint"]).output().unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    for file in ["copy.db", "side.db"] {
        assert!(!p.dir.path().join(file).exists(), "lint wrote {file}");
    }
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        p.dir.path().join("copy.db").exists(),
        "up's own VACUUM INTO ran, once"
    );
}

/// With a database, what depends on rows is counted there, and what would
/// certainly fail on them is an error.
#[test]
fn data_rules_with_a_database() {
    let p = Project::new(&[("0001_t.sql", T)]);
    ok(&p, &["up"]);
    let conn = migrate_core::rusqlite::Connection::open(p.db()).unwrap();
    conn.execute_batch("INSERT INTO t (a) VALUES ('x'), ('x'), ('y');")
        .unwrap();
    drop(conn);
    p.write(
        "0002_more.sql",
        "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;\n",
    );
    let out = p.cli(&["lint"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("error adding-not-nullable-field"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("the database holds 3 rows in \"t\": it fails"),
        "{}",
        stdout(&out)
    );
    // Without the database it is a warning: an empty table takes it.
    let out = p.bare(&["lint"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    p.write(
        "0002_more.sql",
        "CREATE UNIQUE INDEX t_a_unique ON t (a);\n",
    );
    let out = p.cli(&["lint"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("the database holds 1 values of (a) in more than one row: it fails"),
        "{}",
        stdout(&out)
    );
    p.write(
        "0002_more.sql",
        "DELETE FROM t WHERE a = 'x';\nDROP TABLE t;\n",
    );
    let out = p.cli(&["lint"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("ban-drop-table"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("the database holds 3 rows in \"t\""),
        "{}",
        stdout(&out)
    );
    // up says it before it starts.
    p.write(
        "0002_more.sql",
        "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;\n",
    );
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    let said = stderr(&out);
    let lint_at = said
        .find("lint: 0002_more.sql:1: error adding-not-nullable-field")
        .expect(&said);
    let run_at = said.find("error: ").expect(&said);
    assert!(lint_at < run_at, "{said}");
}

/// A PostgreSQL folder: by `--dialect`, or by a `postgres://` database,
/// which lint does not connect to.
#[test]
fn postgres_folders() {
    let p = Project::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE INDEX users_email ON users (email);\n",
        ),
        (
            "0002_more.sql",
            "ALTER TABLE users ADD COLUMN age int NOT NULL;\nCREATE INDEX users_age ON users (age);\n",
        ),
    ]);
    let out = p.bare(&["lint", "--dialect", "postgres"]).output().unwrap();
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let said = stdout(&out);
    assert!(
        said.contains("0002_more.sql:1: error adding-required-field"),
        "{said}"
    );
    assert!(
        said.contains("0002_more.sql:2: warning require-concurrent-index-creation"),
        "{said}"
    );
    assert!(
        !said.contains("0001_users.sql"),
        "a table made in the same file: {said}"
    );
    let out = p
        .bare(&["lint", "--json"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json["findings"].as_array().unwrap().len(),
        2,
        "{}",
        stdout(&out)
    );
    p.write(
        "0003_concurrent.sql",
        "CREATE INDEX CONCURRENTLY users_email2 ON users (email);\n",
    );
    let out = p.bare(&["lint", "--dialect", "postgres"]).output().unwrap();
    assert!(
        stdout(&out)
            .contains("0003_concurrent.sql:1: error ban-concurrent-index-creation-in-transaction"),
        "{}",
        stdout(&out)
    );
}
