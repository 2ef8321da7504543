//! lint's PostgreSQL rules: each fires on a statement that breaks it and
//! stays quiet on the safe form, and none asks for what the runner does.

use migrate_core::lint::Finding;
use migrate_core::lint::postgres::{RULES, lint};
use migrate_core::{Dialect, Migrations};

/// The findings of a PostgreSQL folder holding `text` as its only file.
fn findings(text: &str) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("0001_linted.sql"), text).unwrap();
    let set =
        Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap_or_else(|e| panic!("{e}"));
    lint(&set, |_| true)
}

fn fires(rule: &str, bad: &str, good: &str) {
    assert!(
        RULES.iter().any(|(r, _)| *r == rule),
        "{rule} is not listed"
    );
    let found = findings(bad);
    assert!(
        found.iter().any(|f| f.rule == rule),
        "{rule} did not fire on {bad:?}: {found:#?}"
    );
    let found = findings(good);
    assert!(
        !found.iter().any(|f| f.rule == rule),
        "{rule} fired on {good:?}: {found:#?}"
    );
}

const NT: &str = "-- migrate:no-transaction\n";

#[test]
fn locks_and_rewrites() {
    fires(
        "require-concurrent-index-creation",
        "CREATE INDEX i ON users (email);",
        &format!("{NT}CREATE INDEX CONCURRENTLY i ON users (email);"),
    );
    // A table made in the same file is empty: no need.
    let found = findings("CREATE TABLE t (id int);\nCREATE INDEX i ON t (id);");
    assert!(found.is_empty(), "{found:#?}");
    // In a transactional file the advice is a file of its own.
    let found = findings("CREATE INDEX i ON users (email);");
    assert!(
        found[0].message.contains("-- migrate:no-transaction"),
        "{found:#?}"
    );
    fires(
        "require-concurrent-index-deletion",
        "DROP INDEX i;",
        &format!("{NT}DROP INDEX CONCURRENTLY i;"),
    );
    fires(
        "require-concurrent-reindex",
        "REINDEX INDEX i;",
        &format!("{NT}REINDEX INDEX CONCURRENTLY i;"),
    );
    fires(
        "require-concurrent-partition-detach",
        "ALTER TABLE events DETACH PARTITION events_2020;",
        &format!("{NT}ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;"),
    );
    fires(
        "adding-field-with-default",
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE users ADD COLUMN created timestamptz DEFAULT now();",
    );
    // Columns PostgreSQL fills row by row: a rewrite, never a failure.
    for spelled in [
        "ALTER TABLE users ADD COLUMN n bigserial NOT NULL;",
        "ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;",
        "ALTER TABLE users ADD COLUMN n int NOT NULL GENERATED ALWAYS AS (id * 2) STORED;",
    ] {
        let found = findings(spelled);
        let rules: Vec<&str> = found.iter().map(|f| f.rule).collect();
        assert!(
            rules.contains(&"adding-field-with-default"),
            "{spelled}: {found:#?}"
        );
        assert!(
            !rules.contains(&"adding-required-field"),
            "{spelled}: {found:#?}"
        );
    }
    fires(
        "adding-required-field",
        "ALTER TABLE users ADD COLUMN age int NOT NULL;",
        "ALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0;",
    );
    fires(
        "adding-not-nullable-field",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "ALTER TABLE users ADD CONSTRAINT email_set CHECK (email IS NOT NULL) NOT VALID;",
    );
    fires(
        "adding-foreign-key-constraint",
        "ALTER TABLE posts ADD CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id);",
        "ALTER TABLE posts ADD CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
    );
    fires(
        "constraint-missing-not-valid",
        "ALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0);",
        "ALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0) NOT VALID;",
    );
    fires(
        "adding-primary-key-constraint",
        "ALTER TABLE users ADD PRIMARY KEY (id);",
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_idx;",
    );
    fires(
        "disallow-unique-constraint",
        "ALTER TABLE users ADD CONSTRAINT email_unique UNIQUE (email);",
        "ALTER TABLE users ADD CONSTRAINT email_unique UNIQUE USING INDEX email_idx;",
    );
    fires(
        "changing-column-type",
        "ALTER TABLE users ALTER COLUMN id TYPE bigint;",
        "ALTER TABLE users ALTER COLUMN type SET NOT NULL;",
    );
    fires(
        "changing-column-type",
        "ALTER TABLE users ALTER id SET DATA TYPE bigint;",
        "ALTER TABLE users ADD COLUMN type text;",
    );
}

#[test]
fn drops_renames_and_domains() {
    fires(
        "ban-drop-column",
        "ALTER TABLE users DROP COLUMN email;",
        "ALTER TABLE users ADD COLUMN email text;",
    );
    fires(
        "ban-drop-table",
        "DROP TABLE users;",
        "CREATE TABLE users2 (id int);",
    );
    fires(
        "ban-drop-database",
        &format!("{NT}DROP DATABASE app;"),
        "DROP TABLE x;",
    );
    fires(
        "ban-drop-not-null",
        "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
        "ALTER TABLE users ALTER COLUMN email SET DEFAULT '';",
    );
    fires(
        "ban-truncate-cascade",
        "TRUNCATE users CASCADE;",
        "TRUNCATE users;",
    );
    fires(
        "renaming-column",
        "ALTER TABLE users RENAME COLUMN email TO mail;",
        "ALTER TABLE users RENAME TO people;",
    );
    fires(
        "renaming-column",
        "ALTER TABLE users RENAME email TO mail;",
        "ALTER TABLE users RENAME CONSTRAINT a TO b;",
    );
    fires(
        "renaming-table",
        "ALTER TABLE users RENAME TO people;",
        "ALTER TABLE users RENAME COLUMN a TO b;",
    );
    fires(
        "ban-alter-domain-with-add-constraint",
        "ALTER DOMAIN email ADD CONSTRAINT has_at CHECK (VALUE LIKE '%@%');",
        "ALTER DOMAIN email ADD CONSTRAINT has_at CHECK (VALUE LIKE '%@%') NOT VALID;",
    );
    fires(
        "ban-create-domain-with-constraint",
        "CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');",
        "CREATE DOMAIN email AS text;",
    );
}

#[test]
fn what_the_runner_does_is_not_asked_for() {
    // CONCURRENTLY where the runner wraps the file in a transaction is
    // refused by the scanner: the file does not load, named by squawk's rule.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_i.sql"),
        "CREATE INDEX CONCURRENTLY i ON users (email);",
    )
    .unwrap();
    let e = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap_err();
    assert_eq!(
        migrate_core::lint::load_rule(&e.0[0].kind),
        "ban-concurrent-index-creation-in-transaction"
    );
    // No timeout is ever demanded: the runner sets lock_timeout.
    let found = findings(
        "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN c int NOT NULL;\nALTER TABLE t ADD PRIMARY KEY (id);",
    );
    assert!(found.is_empty(), "{found:#?}");
    assert!(!RULES.iter().any(|(r, _)| r.contains("timeout")));
}

/// Allowances are found by PostgreSQL's own lexer: a function body in
/// dollar quotes (holding a lone `'` and a `--` that is text) neither hides
/// the allowance after it nor counts as one.
#[test]
fn allowances_are_read_as_postgresql_reads_the_file() {
    let body =
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT 'it''s' || $q$ don't $q$ $$;\n";
    let found = findings(&format!(
        "{body}-- migrate:allow ban-drop-table\nDROP TABLE users;\n"
    ));
    let drop = found.iter().find(|f| f.rule == "ban-drop-table").unwrap();
    assert!(drop.allowed, "{found:#?}");
    // A `-- migrate:allow` inside a dollar-quoted body is text, not an
    // allowance for the statement after the body.
    let found = findings(
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$\n-- migrate:allow all\nSELECT 1 $$;\nDROP TABLE users;\n",
    );
    let drop = found.iter().find(|f| f.rule == "ban-drop-table").unwrap();
    assert!(!drop.allowed, "{found:#?}");
    // A BEGIN inside a function body is not a transaction.
    let found = findings(&format!(
        "{NT}CREATE FUNCTION h() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n"
    ));
    assert!(
        !found
            .iter()
            .any(|f| f.rule == "ban-uncommitted-transaction"),
        "{found:#?}"
    );
    let found = findings(&format!("{NT}BEGIN;\nUPDATE users SET email = '';\n"));
    assert!(
        found
            .iter()
            .any(|f| f.rule == "ban-uncommitted-transaction" && f.line == 2),
        "{found:#?}"
    );
}

/// The findings of `text`, a migration after one that makes `users`.
fn after_users(text: &str) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_t.sql"),
        "CREATE TABLE users (id int, b int);",
    )
    .unwrap();
    std::fs::write(dir.path().join("0002_linted.sql"), text).unwrap();
    let set = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    lint(&set, |m| m.version == 2)
}

/// Volatility is the function's own, from PostgreSQL's catalog (or the
/// migrations' own definitions), each ADD part read alone.
#[test]
fn volatile_defaults_by_the_catalog_and_by_part() {
    let on_existing = |text: &str| -> Vec<String> {
        after_users(text)
            .into_iter()
            .filter(|f| f.rule == "adding-field-with-default")
            .map(|f| f.message)
            .collect()
    };
    for stable in [
        "now()",
        "statement_timestamp()",
        "txid_current()",
        "'0'::numeric(10, 2)",
    ] {
        let said = on_existing(&format!(
            "ALTER TABLE users ADD COLUMN c text DEFAULT {stable};"
        ));
        assert!(said.is_empty(), "{stable}: {said:?}");
    }
    for volatile in [
        "random()",
        "pg_catalog.gen_random_uuid()",
        "(clock_timestamp() + '1 day')",
        "nextval('s')",
    ] {
        let said = on_existing(&format!(
            "ALTER TABLE users ADD COLUMN c text DEFAULT {volatile};"
        ));
        assert!(
            said.len() == 1 && said[0].contains("VOLATILE"),
            "{volatile}: {said:?}"
        );
    }
    // An extension's function: unknown, said as such.
    let said = on_existing("ALTER TABLE users ADD COLUMN c uuid DEFAULT uuid_generate_v4();");
    assert!(
        said.len() == 1 && said[0].contains("uuid_generate_v4"),
        "{said:?}"
    );
    // One the migrations make: its own declaration.
    let said = on_existing(
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;\nALTER TABLE users ADD COLUMN c int DEFAULT f();",
    );
    assert!(said.is_empty(), "{said:?}");
    let said = on_existing(
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nALTER TABLE users ADD COLUMN c int DEFAULT f();",
    );
    assert!(said.len() == 1 && said[0].contains("VOLATILE"), "{said:?}");
    // Each part alone: the second column's volatile default is found, and
    // a SET DEFAULT of another part (new rows only) is no rewrite.
    let said = on_existing(
        "ALTER TABLE users ADD COLUMN c int DEFAULT 1, ADD COLUMN d uuid DEFAULT gen_random_uuid();",
    );
    assert_eq!(said.len(), 1, "{said:?}");
    let said =
        on_existing("ALTER TABLE users ADD COLUMN c int, ALTER COLUMN b SET DEFAULT random();");
    assert!(said.is_empty(), "{said:?}");
    let required = |text: &str| {
        after_users(text)
            .iter()
            .any(|f| f.rule == "adding-required-field")
    };
    assert!(!required(
        "ALTER TABLE users ADD COLUMN c int DEFAULT 0, ADD COLUMN d int NULL, ALTER COLUMN b SET NOT NULL;"
    ));
    assert!(required(
        "ALTER TABLE users ADD COLUMN c int DEFAULT 0, ADD COLUMN d int NOT NULL;"
    ));
}

/// PostgreSQL's transaction control: `COMMIT AND CHAIN` leaves one open,
/// `ROLLBACK TO` ends nothing, `PREPARE TRANSACTION` ends it.
#[test]
fn a_transaction_left_open_by_postgresqls_rules() {
    let open = |body: &str| {
        findings(&format!("{NT}{body}"))
            .iter()
            .any(|f| f.rule == "ban-uncommitted-transaction")
    };
    for left_open in [
        "START TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nUPDATE users SET email = '';",
        "BEGIN;\nUPDATE users SET email = '';\nCOMMIT AND CHAIN;",
        "BEGIN;\nSAVEPOINT s;\nROLLBACK TO SAVEPOINT s;",
    ] {
        assert!(open(left_open), "{left_open}");
    }
    for closed in [
        "BEGIN;\nUPDATE users SET email = '';\nCOMMIT AND NO CHAIN;",
        "BEGIN;\nUPDATE users SET email = '';\nABORT;",
        "BEGIN;\nUPDATE users SET email = '';\nPREPARE TRANSACTION 'x';",
        "BEGIN;\nUPDATE users SET email = '';\nEND;",
    ] {
        assert!(!open(closed), "{closed}");
    }
}
