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
    assert_eq!(allowed["fails_on_data"], false);
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
    let p = Project::new(&[
        ("0001_t.sql", T),
        ("0002_v.sql", "VACUUM;\n"),
        ("0003_d.sql", "SELECT 1;\n-- migrate:bogus\n"),
    ]);
    let out = p.bare(&["lint"]).output().unwrap();
    assert_eq!(code(&out), 1);
    // Named by why the scanner refuses it, where a rule says why.
    assert!(
        stdout(&out).contains("0002_v.sql:1: error vacuum-in-transaction:"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("0003_d.sql:2: error load:"),
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
    // up refuses a certain failure before anything runs: 0002 is fine on
    // its own, and is not applied either.
    p.write(
        "0002_fine.sql",
        "CREATE TABLE u (id INTEGER PRIMARY KEY);\n",
    );
    p.write(
        "0003_more.sql",
        "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;\n",
    );
    std::fs::remove_file(p.dir.path().join("migrations/0002_more.sql")).unwrap();
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    let said = stderr(&out);
    assert!(
        said.contains("refused before the first migration ran")
            && said.contains("0003_more.sql:1: error adding-not-nullable-field")
            && said.contains("nothing was changed"),
        "{said}"
    );
    let conn = migrate_core::rusqlite::Connection::open(p.db()).unwrap();
    let applied: i64 = conn
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(applied, 1, "{said}");
    drop(conn);
    // Rows a statement before it deletes are not counted as certain: in
    // the same file, or in a file before it in the same run.
    p.write(
        "0003_more.sql",
        "DELETE FROM t;\nALTER TABLE t ADD COLUMN c TEXT NOT NULL;\n",
    );
    let out = p.cli(&["lint"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("writes to \"t\", so it may not fail"),
        "{}",
        stdout(&out)
    );
    p.write("0002_fine.sql", "DELETE FROM t WHERE id > 0;\n");
    p.write(
        "0003_more.sql",
        "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;\n",
    );
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("lint: 0003_more.sql:1: warning adding-not-nullable-field"),
        "{}",
        stderr(&out)
    );
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

/// Every rule through the binary: a folder whose last file breaks it makes
/// `lint` name it; the same folder with the safe form does not.
#[test]
fn every_rule_fires_and_stays_quiet_through_the_binary() {
    const NT: &str = "-- migrate:no-transaction\n";
    let sqlite: &[(&str, &str, &str, &str)] = &[
        (
            "statement-fails",
            T,
            "CREATE INDEX i ON nowhere (x);",
            "CREATE INDEX i ON t (a);",
        ),
        (
            "adding-not-nullable-field",
            T,
            "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;",
            "ALTER TABLE t ADD COLUMN c TEXT NOT NULL DEFAULT '';",
        ),
        (
            "adding-field-with-volatile-default",
            T,
            "ALTER TABLE t ADD COLUMN c TEXT DEFAULT CURRENT_TIMESTAMP;",
            "ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'x';",
        ),
        (
            "adding-stored-generated-field",
            T,
            "ALTER TABLE t ADD COLUMN c INTEGER AS (id * 2) STORED;",
            "ALTER TABLE t ADD COLUMN c INTEGER AS (id * 2) VIRTUAL;",
        ),
        (
            "adding-foreign-key-with-default",
            T,
            "ALTER TABLE t ADD COLUMN p INTEGER DEFAULT 1 REFERENCES t(id);",
            "ALTER TABLE t ADD COLUMN p INTEGER REFERENCES t(id);",
        ),
        (
            "dropping-referenced-column",
            T,
            "ALTER TABLE t DROP COLUMN a;",
            "ALTER TABLE t ADD COLUMN c TEXT;",
        ),
        (
            "ban-drop-column",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT);",
            "ALTER TABLE t DROP COLUMN b;",
            "ALTER TABLE t ADD COLUMN c TEXT;",
        ),
        ("ban-drop-table", T, "DROP TABLE t;", "CREATE TABLE u (id);"),
        (
            "dropping-referenced-table",
            "CREATE TABLE t (id);\nCREATE VIEW v AS SELECT id FROM t;",
            "DROP TABLE t;",
            "DROP VIEW v;",
        ),
        (
            "rebuild-without-marker",
            "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id) ON DELETE CASCADE);",
            "DROP TABLE p;\nCREATE TABLE p (id INTEGER PRIMARY KEY);",
            "-- migrate:foreign-keys-off\nDROP TABLE p;\nCREATE TABLE p (id INTEGER PRIMARY KEY);",
        ),
        (
            "new-unique-index",
            T,
            "CREATE UNIQUE INDEX t_u ON t (a);",
            "CREATE INDEX t_u ON t (a);",
        ),
        (
            "update-without-where",
            T,
            "UPDATE t SET a = 'x';",
            "UPDATE t SET a = 'x' WHERE id = 1;",
        ),
        (
            "delete-without-where",
            T,
            "DELETE FROM t;",
            "DELETE FROM t WHERE id = 1;",
        ),
        ("load", T, "-- migrate:bogus\nSELECT 1;", "SELECT 1;"),
        (
            "changing-column-type",
            T,
            "CREATE TABLE n (id INTEGER PRIMARY KEY, a REAL);\nINSERT INTO n SELECT id, a FROM t;\nDROP TABLE t;\nALTER TABLE n RENAME TO t;",
            "CREATE TABLE n (id INTEGER PRIMARY KEY, a VARCHAR(9));\nINSERT INTO n SELECT id, a FROM t;\nDROP TABLE t;\nALTER TABLE n RENAME TO t;",
        ),
        (
            "rebuild-adds-constraint",
            T,
            "CREATE TABLE n (id INTEGER PRIMARY KEY, a TEXT CHECK (a <> ''));\nINSERT INTO n SELECT id, a FROM t;\nDROP TABLE t;\nALTER TABLE n RENAME TO t;",
            "CREATE TABLE n (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\nINSERT INTO n (id, a) SELECT id, a FROM t;\nDROP TABLE t;\nALTER TABLE n RENAME TO t;",
        ),
        (
            "pragma-in-transaction",
            T,
            "PRAGMA journal_mode = WAL;",
            "-- migrate:no-transaction\nPRAGMA journal_mode = WAL;",
        ),
        // By SQLite's own prefix rule, `of` is OFF.
        (
            "journal-mode-without-rollback",
            T,
            "-- migrate:no-transaction\nPRAGMA journal_mode = of;",
            "-- migrate:no-transaction\nPRAGMA journal_mode = wal;",
        ),
        (
            "vacuum-in-transaction",
            T,
            "VACUUM;",
            "-- migrate:no-transaction\nVACUUM;",
        ),
        (
            "needs-no-transaction",
            T,
            "ATTACH ':memory:' AS aux;",
            "-- migrate:no-transaction\nATTACH ':memory:' AS aux;",
        ),
        (
            "ban-uncommitted-transaction",
            T,
            "-- migrate:no-transaction\nBEGIN;\nDELETE FROM t WHERE id = 1;",
            "-- migrate:no-transaction\nBEGIN;\nDELETE FROM t WHERE id = 1;\nCOMMIT;",
        ),
        (
            "transaction-control",
            T,
            "DELETE FROM t WHERE id = 1;\nCOMMIT;",
            "BEGIN;\nDELETE FROM t WHERE id = 1;\nCOMMIT;",
        ),
    ];
    let postgres: &[(&str, &str, &str)] = &[
        (
            "require-concurrent-index-creation",
            "CREATE INDEX i ON users (email);",
            &format!("{NT}CREATE INDEX CONCURRENTLY i ON users (email);"),
        ),
        (
            "require-concurrent-index-deletion",
            "DROP INDEX i;",
            &format!("{NT}DROP INDEX CONCURRENTLY i;"),
        ),
        (
            "require-concurrent-reindex",
            "REINDEX INDEX i;",
            &format!("{NT}REINDEX INDEX CONCURRENTLY i;"),
        ),
        (
            "require-concurrent-partition-detach",
            "ALTER TABLE e DETACH PARTITION e1;",
            &format!("{NT}ALTER TABLE e DETACH PARTITION e1 CONCURRENTLY;"),
        ),
        (
            "ban-concurrent-index-creation-in-transaction",
            "CREATE INDEX CONCURRENTLY i ON users (email);",
            &format!("{NT}CREATE INDEX CONCURRENTLY i ON users (email);"),
        ),
        (
            "adding-field-with-default",
            "ALTER TABLE users ADD COLUMN t uuid DEFAULT gen_random_uuid();",
            "ALTER TABLE users ADD COLUMN t timestamptz DEFAULT now();",
        ),
        (
            "adding-required-field",
            "ALTER TABLE users ADD COLUMN n int NOT NULL;",
            "ALTER TABLE users ADD COLUMN n int NOT NULL DEFAULT 0;",
        ),
        (
            "adding-not-nullable-field",
            "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
            "ALTER TABLE users ADD CONSTRAINT e CHECK (email IS NOT NULL) NOT VALID;",
        ),
        (
            "adding-foreign-key-constraint",
            "ALTER TABLE posts ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id);",
            "ALTER TABLE posts ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id) NOT VALID;",
        ),
        (
            "constraint-missing-not-valid",
            "ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0);",
            "ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0) NOT VALID;",
        ),
        (
            "adding-primary-key-constraint",
            "ALTER TABLE users ADD PRIMARY KEY (id);",
            "ALTER TABLE users ADD CONSTRAINT k PRIMARY KEY USING INDEX users_id;",
        ),
        (
            "disallow-unique-constraint",
            "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);",
            "ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email;",
        ),
        (
            "changing-column-type",
            "ALTER TABLE users ALTER COLUMN id TYPE bigint;",
            "ALTER TABLE users ALTER COLUMN id SET DEFAULT 0;",
        ),
        (
            "ban-drop-column",
            "ALTER TABLE users DROP COLUMN email;",
            "ALTER TABLE users ADD COLUMN email2 text;",
        ),
        (
            "ban-drop-table",
            "DROP TABLE users;",
            "CREATE TABLE users2 (id int);",
        ),
        (
            "ban-drop-database",
            &format!("{NT}DROP DATABASE app;"),
            "SELECT 1;",
        ),
        (
            "ban-drop-not-null",
            "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
            "ALTER TABLE users ALTER COLUMN email SET DEFAULT '';",
        ),
        (
            "ban-truncate-cascade",
            "TRUNCATE users CASCADE;",
            "TRUNCATE users;",
        ),
        (
            "renaming-column",
            "ALTER TABLE users RENAME COLUMN email TO mail;",
            "ALTER TABLE users ADD COLUMN mail text;",
        ),
        (
            "renaming-table",
            "ALTER TABLE users RENAME TO people;",
            "CREATE VIEW people AS SELECT * FROM users;",
        ),
        (
            "ban-alter-domain-with-add-constraint",
            "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0);",
            "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0) NOT VALID;",
        ),
        (
            "ban-create-domain-with-constraint",
            "CREATE DOMAIN d AS int CHECK (VALUE > 0);",
            "CREATE DOMAIN d AS int;",
        ),
        (
            "new-unique-index",
            &format!("{NT}CREATE UNIQUE INDEX CONCURRENTLY u ON users (email);"),
            &format!("{NT}CREATE INDEX CONCURRENTLY u ON users (email);"),
        ),
        (
            "ban-uncommitted-transaction",
            "BEGIN;\nUPDATE users SET email = '' WHERE id = 1;",
            "BEGIN;\nUPDATE users SET email = '' WHERE id = 1;\nCOMMIT;",
        ),
        (
            "transaction-control",
            "UPDATE users SET email = '' WHERE id = 1;\nSAVEPOINT a;",
            &format!("{NT}UPDATE users SET email = '' WHERE id = 1;\nSAVEPOINT a;"),
        ),
        (
            "vacuum-in-transaction",
            "VACUUM users;",
            &format!("{NT}VACUUM users;"),
        ),
        (
            "needs-no-transaction",
            "ALTER SYSTEM SET work_mem = '8MB';",
            &format!("{NT}ALTER SYSTEM SET work_mem = '8MB';"),
        ),
    ];
    let run = |first: &str, last: &str, dialect: &str| -> String {
        let p = Project::new(&[("0001_first.sql", first), ("0002_last.sql", last)]);
        let out = p.bare(&["lint", "--dialect", dialect]).output().unwrap();
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        stdout(&out)
    };
    let pg_first = "CREATE TABLE users (id int, email text);";
    let cases = sqlite
        .iter()
        .map(|(rule, first, bad, good)| {
            (*rule, *first, bad.to_string(), good.to_string(), "sqlite")
        })
        .chain(postgres.iter().map(|(rule, bad, good)| {
            (
                *rule,
                pg_first,
                bad.to_string(),
                good.to_string(),
                "postgres",
            )
        }));
    let (mut sqlite_rules, mut pg_rules) = (Vec::new(), Vec::new());
    for (rule, first, bad, good, dialect) in cases {
        let found = run(first, &bad, dialect);
        assert!(
            found.contains(&format!(" {rule}")),
            "{dialect} {rule} did not fire on {bad:?}:\n{found}"
        );
        let found = run(first, &good, dialect);
        assert!(
            !found.contains(&format!(" {rule}:")) && !found.contains(&format!(" {rule} (allowed)")),
            "{dialect} {rule} fired on {good:?}:\n{found}"
        );
        if dialect == "sqlite" {
            sqlite_rules.push(rule)
        } else {
            pg_rules.push(rule)
        }
    }
    // One rule needs a pragma set beside the files.
    let p = Project::new(&[
        ("0000_app.pragmas", "legacy_alter_table = on\n"),
        (
            "0001_first.sql",
            "CREATE TABLE t (id);\nCREATE VIEW v AS SELECT id FROM t;",
        ),
        ("0002_last.sql", "ALTER TABLE t RENAME TO t2;"),
    ]);
    let out = p.bare(&["lint"]).output().unwrap();
    assert!(
        stdout(&out).contains(" renaming-with-legacy-alter-table"),
        "{}",
        stdout(&out)
    );
    p.write("0000_app.pragmas", "legacy_alter_table = off\n");
    let out = p.bare(&["lint"]).output().unwrap();
    assert!(
        !stdout(&out).contains("renaming-with-legacy-alter-table"),
        "{}",
        stdout(&out)
    );
    sqlite_rules.push("renaming-with-legacy-alter-table");
    // Every listed rule has its case here.
    for (rule, _) in migrate_core::lint::RULES {
        assert!(sqlite_rules.contains(rule), "no SQLite case for {rule}");
    }
    for (rule, _) in migrate_core::lint::postgres::RULES {
        assert!(pg_rules.contains(rule), "no PostgreSQL case for {rule}");
    }
}

/// The README's "Lint" section lists every rule of both dialects, each in
/// its table row.
#[test]
fn the_readme_lists_every_rule() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme.find("## Lint\n").expect("a Lint section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let (sqlite, postgres) = section
        .split_once("PostgreSQL rules")
        .expect("a PostgreSQL table");
    for (rule, _) in migrate_core::lint::RULES {
        assert!(
            sqlite.contains(&format!("| `{rule}` |")),
            "README's SQLite table has no row for {rule}"
        );
    }
    for (rule, _) in migrate_core::lint::postgres::RULES {
        assert!(
            postgres.contains(&format!("| `{rule}` |")),
            "README's PostgreSQL table has no row for {rule}"
        );
    }
}

/// With `--all`, an applied migration is read without the database's rows:
/// they are what it made, not what it will meet.
#[test]
fn applied_migrations_are_not_counted_against_the_rows_they_made() {
    let p = Project::new(&[
        ("0001_t.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);\n"),
        ("0002_c.sql", "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;\n"),
    ]);
    ok(&p, &["up"]);
    let conn = migrate_core::rusqlite::Connection::open(p.db()).unwrap();
    conn.execute_batch("INSERT INTO t (c) VALUES ('x');")
        .unwrap();
    drop(conn);
    let out = p.cli(&["lint", "--all"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("0002_c.sql:1: warning adding-not-nullable-field"),
        "{}",
        stdout(&out)
    );
    // Pending, the same statement meets the row: certain, and JSON says so.
    p.write("0003_d.sql", "ALTER TABLE t ADD COLUMN d TEXT NOT NULL;\n");
    let out = p.cli(&["lint", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["findings"][0]["fails_on_data"], true, "{json}");
    let out = p.cli(&["lint", "--all"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let said = stdout(&out);
    let second = said.find("0002_c.sql:1: warning").expect(&said);
    let third = said
        .find("0003_d.sql:1: error adding-not-nullable-field")
        .expect(&said);
    assert!(second < third, "in file order: {said}");
}

/// A PostgreSQL folder linted as SQLite: the files SQLite's scanner
/// refuses load as PostgreSQL's, and lint says which flag it wants.
#[test]
fn a_postgresql_folder_linted_as_sqlite_is_said_to_be_one() {
    let p = Project::new(&[(
        "0001_f.sql",
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN NEW;\nEND;\n$$;\n",
    )]);
    let out = p.bare(&["lint"]).output().unwrap();
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("--dialect postgres"),
        "{}",
        stderr(&out)
    );
    let out = p.bare(&["lint", "--dialect", "postgres"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // A SQLite folder with a real mistake gets no such note.
    p.write("0001_f.sql", "VACUUM;\n");
    let out = p.bare(&["lint"]).output().unwrap();
    assert!(!stderr(&out).contains("--dialect"), "{}", stderr(&out));
}
