//! lint against a real PostgreSQL server (see `pg_support.rs`): the lock
//! each statement takes is the one the server takes, the catalog of
//! function volatilities is the server's, and the data rules count the
//! server's rows, read-only.

#[path = "pg_support.rs"]
mod pg;

use migrate_core::lint::postgres::{catalog_volatility, lint_with, lock_of};
use migrate_core::lint::{Finding, Severity};
use migrate_core::{Dialect, Migrations};

const SETUP: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text, age int, code text);
CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint, title text);
CREATE TABLE events (id bigint, at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE events_2 (id bigint, at timestamptz);
CREATE INDEX users_age ON users (age);
CREATE RULE users_r AS ON UPDATE TO users DO ALSO NOTIFY users;
ALTER TABLE users ADD CONSTRAINT users_id_check CHECK (id > 0) NOT VALID;";

const ORDER: [&str; 8] = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

/// The strongest lock `statement` takes on `table`, as the server holds it
/// inside a transaction that is rolled back.
fn server_lock(client: &mut postgres::Client, statement: &str, table: &str) -> String {
    let mut tx = client.transaction().unwrap();
    // By oid: a rename or a drop leaves the name behind.
    let oid: u32 = tx
        .query_one("SELECT to_regclass($1)::oid", &[&table])
        .unwrap()
        .get(0);
    tx.batch_execute(statement)
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    let modes: Vec<String> = tx
        .query(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = $1",
            &[&oid],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tx.rollback().unwrap();
    modes
        .into_iter()
        .max_by_key(|m| ORDER.iter().position(|o| o == m))
        .unwrap_or_default()
}

#[test]
fn the_lock_lint_names_is_the_lock_the_server_takes() {
    let Some(mut db) = pg::scratch() else { return };
    db.client().batch_execute(SETUP).unwrap();
    let cases = [
        ("ALTER TABLE users ADD COLUMN n int", "users"),
        ("ALTER TABLE users ADD COLUMN n int DEFAULT 0", "users"),
        ("ALTER TABLE users DROP COLUMN age", "users"),
        ("ALTER TABLE users ALTER COLUMN age TYPE bigint", "users"),
        ("ALTER TABLE users ALTER COLUMN email SET NOT NULL", "users"),
        (
            "ALTER TABLE users ALTER COLUMN email DROP NOT NULL",
            "users",
        ),
        ("ALTER TABLE users ALTER COLUMN age SET DEFAULT 1", "users"),
        (
            "ALTER TABLE users ALTER COLUMN age SET STATISTICS 500",
            "users",
        ),
        (
            "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0)",
            "users",
        ),
        (
            "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT VALID",
            "users",
        ),
        ("ALTER TABLE users ADD CONSTRAINT u UNIQUE (email)", "users"),
        (
            "ALTER TABLE posts ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users (id)",
            "posts",
        ),
        (
            "ALTER TABLE posts ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
            "posts",
        ),
        (
            "ALTER TABLE posts ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
            "users",
        ),
        ("ALTER TABLE users RENAME COLUMN email TO mail", "users"),
        ("ALTER TABLE users RENAME TO people", "users"),
        ("ALTER TABLE users SET (fillfactor = 70)", "users"),
        ("ALTER TABLE users CLUSTER ON users_pkey", "users"),
        ("ALTER TABLE users SET WITHOUT CLUSTER", "users"),
        (
            "ALTER TABLE users ALTER COLUMN age SET (n_distinct = 100)",
            "users",
        ),
        (
            "ALTER TABLE users ALTER COLUMN age RESET (n_distinct)",
            "users",
        ),
        (
            "ALTER TABLE users ALTER COLUMN email SET STORAGE EXTERNAL",
            "users",
        ),
        ("ALTER TABLE users DISABLE TRIGGER ALL", "users"),
        ("ALTER TABLE users ENABLE TRIGGER USER", "users"),
        ("ALTER TABLE users DISABLE RULE users_r", "users"),
        ("ALTER TABLE users REPLICA IDENTITY FULL", "users"),
        ("ALTER TABLE users OWNER TO CURRENT_USER", "users"),
        (
            "ALTER TABLE users ADD CONSTRAINT v CHECK (age > 0) NOT VALID, VALIDATE CONSTRAINT v",
            "users",
        ),
        (
            "ALTER TABLE users VALIDATE CONSTRAINT users_id_check",
            "users",
        ),
        ("ALTER TABLE users SET LOGGED", "users"),
        ("ALTER TABLE users ALTER COLUMN age DROP DEFAULT", "users"),
        (
            "ALTER TABLE users ADD COLUMN f bigint REFERENCES posts (id)",
            "users",
        ),
        (
            "ALTER TABLE users ADD COLUMN n int, ALTER COLUMN age SET STATISTICS 5",
            "users",
        ),
        (
            "ALTER TABLE events ATTACH PARTITION events_2 FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
            "events",
        ),
        ("ALTER TABLE events DETACH PARTITION events_1", "events"),
        ("CREATE INDEX i ON users (email)", "users"),
        ("CREATE UNIQUE INDEX i ON users (email)", "users"),
        ("DROP INDEX users_age", "users"),
        ("DROP TABLE posts", "posts"),
        ("TRUNCATE posts", "posts"),
        ("UPDATE users SET age = 1", "users"),
        ("DELETE FROM users", "users"),
        ("INSERT INTO users (id) VALUES (1)", "users"),
        (
            "CREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
            "users",
        ),
        ("REINDEX TABLE users", "users"),
    ];
    let mut wrong = Vec::new();
    for (statement, table) in cases {
        let said = lock_of(statement).map(|l| {
            let camel: String = l
                .split(' ')
                .map(|w| {
                    let lower = w.to_ascii_lowercase();
                    let mut c = lower.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            format!("{camel}Lock")
        });
        // The FOREIGN KEY's lock on the referenced table is the same as on
        // the table altered (SHARE ROW EXCLUSIVE on both).
        let taken = server_lock(db.client(), statement, table);
        if said.as_deref() != Some(taken.as_str()) {
            wrong.push(format!(
                "{statement} on {table}: lint says {said:?}, the server takes {taken}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_volatility_catalog_is_the_servers() {
    let Some(mut db) = pg::scratch() else { return };
    let version: i32 = db
        .client()
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .unwrap()
        .get(0);
    if version / 10000 != 15 {
        eprintln!("skipped: the catalog is PostgreSQL 15's, the server is {version}");
        return;
    }
    let rows = db
        .client()
        .query(
            "SELECT proname::text, CASE WHEN bool_or(provolatile = 'v') THEN 'v' \
             WHEN bool_or(provolatile = 's') THEN 's' ELSE 'i' END \
             FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace GROUP BY proname",
            &[],
        )
        .unwrap();
    assert!(rows.len() > 2000);
    let mut wrong = Vec::new();
    for r in rows {
        let (name, v): (String, String) = (r.get(0), r.get(1));
        if catalog_volatility(&name) != v.chars().next() {
            wrong.push(format!(
                "{name}: {v} on the server, {:?} here",
                catalog_volatility(&name)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // What the hand-written list this replaced got wrong: these two are
    // STABLE, so a default calling them is stored once, not per row.
    assert_eq!(catalog_volatility("statement_timestamp"), Some('s'));
    assert_eq!(catalog_volatility("txid_current"), Some('s'));
}

/// The findings of `text` as the last of the folder, after `SETUP` (which
/// the server already has), counted on the server.
fn lint_on(db: &mut pg::Scratch, text: &str) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("0001_setup.sql"), SETUP).unwrap();
    std::fs::write(dir.path().join("0002_linted.sql"), text).unwrap();
    let set = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    lint_with(&set, |m| m.version == 2, db.client())
}

fn one(found: &[Finding], rule: &str) -> Finding {
    found
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule}: {found:#?}"))
        .clone()
}

/// Every table's rows, constraints and indexes, to show lint changed none.
fn state(client: &mut postgres::Client) -> String {
    let mut out = String::new();
    for q in [
        "SELECT string_agg(format('%s %s %s %s', id, email, age, code), ';' ORDER BY id) FROM users",
        "SELECT string_agg(format('%s %s', id, user_id), ';' ORDER BY id) FROM posts",
        "SELECT string_agg(conname::text, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid IN ('users'::regclass, 'posts'::regclass)",
        "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY 1) FROM pg_index WHERE indrelid IN ('users'::regclass, 'posts'::regclass)",
        "SELECT string_agg(attname::text || ':' || atttypid::regtype::text || ':' || attnotnull, ',' ORDER BY attname) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0",
    ] {
        let v: Option<String> = client.query_one(q, &[]).unwrap().get(0);
        out.push_str(&v.unwrap_or_default());
        out.push('\n');
    }
    out
}

#[test]
fn data_rules_count_the_servers_rows_and_change_nothing() {
    let Some(mut db) = pg::scratch() else { return };
    db.client().batch_execute(SETUP).unwrap();
    db.client()
        .batch_execute(
            "INSERT INTO users VALUES (1, 'a@x', 30, '1'), (2, 'a@x', -1, 'x'), (3, NULL, 40, '3');
             INSERT INTO posts VALUES (1, 1, 't'), (2, 9, 't'), (3, NULL, 't');",
        )
        .unwrap();
    let before = state(db.client());
    let certain = |found: &[Finding], rule: &str, said: &str| {
        let f = one(found, rule);
        assert_eq!(f.severity, Severity::Error, "{f}");
        assert!(f.fails_on_data, "{f}");
        assert!(
            f.message.contains(said),
            "{rule} does not say {said:?}: {f}"
        );
        assert!(
            f.message.contains("\"users\" holds 3 rows")
                || f.message.contains("\"posts\" holds 3 rows"),
            "{f}"
        );
    };
    let found = lint_on(&mut db, "ALTER TABLE users ADD COLUMN n int NOT NULL;");
    certain(
        &found,
        "adding-required-field",
        "takes ACCESS EXCLUSIVE on \"users\"",
    );
    let found = lint_on(
        &mut db,
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    );
    certain(
        &found,
        "adding-not-nullable-field",
        "1 of them hold NULL in \"email\"",
    );
    let found = lint_on(
        &mut db,
        "ALTER TABLE users ADD CONSTRAINT adult CHECK (age >= 0);",
    );
    certain(
        &found,
        "constraint-missing-not-valid",
        "1 of them break CHECK (age >= 0)",
    );
    let found = lint_on(
        &mut db,
        "ALTER TABLE posts ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users;",
    );
    certain(
        &found,
        "adding-foreign-key-constraint",
        "1 of them name a \"users\" row that is not there",
    );
    let found = lint_on(
        &mut db,
        "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);",
    );
    certain(
        &found,
        "disallow-unique-constraint",
        "1 values of (email) are held by more than one row",
    );
    let found = lint_on(&mut db, "CREATE UNIQUE INDEX u ON users (lower(email));");
    certain(&found, "new-unique-index", "1 values of (lower(email))");
    // A partial index counts only the rows it covers.
    let found = lint_on(
        &mut db,
        "CREATE UNIQUE INDEX u ON users (email) WHERE age > 0;",
    );
    let f = one(&found, "new-unique-index");
    assert!(!f.fails_on_data, "{f}");
    let found = lint_on(
        &mut db,
        "ALTER TABLE users ALTER COLUMN code TYPE int USING code::int;",
    );
    certain(
        &found,
        "changing-column-type",
        "a value does not convert to int",
    );
    let found = lint_on(&mut db, "ALTER TABLE users ALTER COLUMN age TYPE bigint;");
    let f = one(&found, "changing-column-type");
    assert_eq!(f.severity, Severity::Warning, "{f}");
    assert!(f.message.contains("every value converts to bigint"), "{f}");
    // Names as PostgreSQL folds them: unquoted to lower case, quoted kept.
    let found = lint_on(
        &mut db,
        "ALTER TABLE Users ALTER COLUMN EMAIL SET NOT NULL;",
    );
    certain(
        &found,
        "adding-not-nullable-field",
        "1 of them hold NULL in \"email\"",
    );
    db.client()
        .batch_execute("CREATE TABLE \"Mixed\" (\"Col\" int); INSERT INTO \"Mixed\" VALUES (NULL);")
        .unwrap();
    let found = lint_on(
        &mut db,
        "ALTER TABLE \"Mixed\" ALTER COLUMN \"Col\" SET NOT NULL;",
    );
    let f = one(&found, "adding-not-nullable-field");
    assert!(
        f.fails_on_data && f.message.contains("\"Mixed\" holds 1 rows"),
        "{f}"
    );
    db.client().batch_execute("DROP TABLE \"Mixed\"").unwrap();
    // Sizes and counts where nothing fails.
    let found = lint_on(&mut db, "ALTER TABLE users DROP COLUMN email;");
    let f = one(&found, "ban-drop-column");
    assert!(
        f.message.contains("2 of them hold a value in \"email\""),
        "{f}"
    );
    // An ALTER TABLE before it that changes no value leaves it certain.
    let found = lint_on(
        &mut db,
        "ALTER TABLE users ADD COLUMN z int;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    );
    certain(&found, "adding-not-nullable-field", "1 of them hold NULL");
    // A write before it makes a count uncertain: a warning.
    let found = lint_on(
        &mut db,
        "UPDATE users SET email = '' WHERE email IS NULL;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    );
    let f = one(&found, "adding-not-nullable-field");
    assert_eq!(f.severity, Severity::Warning, "{f}");
    assert!(f.message.contains("may not fail"), "{f}");
    // Volatility asked of the server: a function the server has (made
    // outside the migrations) and declares STABLE is no rewrite.
    db.client()
        .batch_execute(
            "CREATE FUNCTION house_default() RETURNS int LANGUAGE sql STABLE AS $$ SELECT 1 $$;",
        )
        .unwrap();
    let found = lint_on(
        &mut db,
        "ALTER TABLE users ADD COLUMN h int DEFAULT house_default();",
    );
    assert!(
        !found.iter().any(|f| f.rule == "adding-field-with-default"),
        "{found:#?}"
    );
    assert_eq!(state(db.client()), before, "lint changed the server");
}

/// What lint calls a certain failure on PostgreSQL is the server's own
/// answer: for seeded rows and seeded changes, the statement run on the
/// server (in a transaction rolled back) fails whenever lint says a
/// finding fails on the data, and lint says so whenever it fails. The
/// seed (`MIGRATE_TEST_SEED`) and the case are printed on failure.
#[test]
fn certain_failures_are_the_servers_own_answer() {
    let Some(mut db) = pg::scratch() else { return };
    let seed = migrate_tests::seed(0x9e5e_ed01);
    let mut rng = migrate_tests::Rng(seed | 1);
    db.client().batch_execute(SETUP).unwrap();
    let mut tally = (0, 0);
    for case in 0..60 {
        let emails = ["NULL", "'a@x'", "'b@x'", "'12'"];
        let ages = ["NULL", "1", "-1", "40"];
        let rows: Vec<String> = (0..rng.below(4))
            .map(|i| {
                format!(
                    "({}, {}, {}, {})",
                    i + 1,
                    emails[rng.below(4)],
                    ages[rng.below(4)],
                    emails[rng.below(4)]
                )
            })
            .collect();
        let posts: Vec<String> = (0..rng.below(3))
            .map(|i| format!("({i}, {})", ["NULL", "0", "9"][rng.below(3)]))
            .collect();
        let changes = [
            "ALTER TABLE users ADD COLUMN n int NOT NULL;",
            "ALTER TABLE users ADD COLUMN n int NOT NULL DEFAULT 0;",
            "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
            "ALTER TABLE users ALTER COLUMN age SET NOT NULL;",
            "ALTER TABLE users ADD CONSTRAINT c CHECK (age >= 0);",
            "ALTER TABLE users ADD CONSTRAINT c CHECK (age >= 0) NOT VALID;",
            "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);",
            "ALTER TABLE users ADD CONSTRAINT u UNIQUE NULLS NOT DISTINCT (email);",
            "CREATE UNIQUE INDEX u ON users (lower(email));",
            "CREATE UNIQUE INDEX u ON users (code) WHERE age > 0;",
            "ALTER TABLE posts ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users (id);",
            "ALTER TABLE users ALTER COLUMN code TYPE int USING code::int;",
            "ALTER TABLE users ALTER COLUMN email TYPE varchar(3);",
        ];
        let change = changes[rng.below(changes.len())];
        let said = format!("seed {seed}, case {case}: users {rows:?}, posts {posts:?}\n{change}");
        let client = db.client();
        client.batch_execute("TRUNCATE users, posts").unwrap();
        if !rows.is_empty() {
            client
                .batch_execute(&format!(
                    "INSERT INTO users (id, email, age, code) VALUES {}",
                    rows.join(", ")
                ))
                .unwrap();
        }
        if !posts.is_empty() {
            client
                .batch_execute(&format!(
                    "INSERT INTO posts (id, user_id) VALUES {}",
                    posts.join(", ")
                ))
                .unwrap();
        }
        let found = lint_on(&mut db, change);
        let mut tx = db.client().transaction().unwrap();
        let run = tx.batch_execute(change);
        tx.rollback().unwrap();
        migrate_tests::lint_agrees(&found, run, &said, &mut tally);
    }
    // The generator reaches failing cases.
    let (certain, failed) = tally;
    assert!(certain >= 3, "{certain} certain, {failed} failed");
}
