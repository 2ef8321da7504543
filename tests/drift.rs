//! verify's drift check and the schema dump, on real files.

use migrate_core::history::Table;
use migrate_core::schema;
use migrate_core::verify::verify;
use migrate_tests::Fixture;

const FILES: &[(&str, &str)] = &[
    (
        "1_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
    ),
    (
        "2_posts.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), body TEXT);\n\
         CREATE INDEX idx_posts_user ON posts (user_id);\n\
         CREATE TRIGGER posts_touch AFTER UPDATE ON posts BEGIN SELECT 1; END;\n\
         CREATE VIEW recent AS SELECT * FROM posts ORDER BY id DESC LIMIT 10;\n",
    ),
    (
        "3_rename.sql",
        "ALTER TABLE posts RENAME COLUMN body TO text;\nALTER TABLE users RENAME TO accounts;\n",
    ),
    ("4_hot.indexes", "unique index on accounts (email)\n"),
];

fn drifted(f: &Fixture) -> Vec<String> {
    let set = f.set();
    let conn = set.open(f.db()).unwrap();
    verify(&set, &conn, &Table::default())
        .unwrap()
        .problems
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_clean_database_has_no_drift_even_after_renames() {
    let f = Fixture::new(FILES);
    assert_eq!(drifted(&f), Vec::<String>::new());
}

#[test]
fn hand_made_changes_are_reported_by_name() {
    let f = Fixture::new(FILES);
    f.set().open(f.db()).unwrap();
    f.conn()
        .execute_batch(
            "CREATE TABLE notes (x);
             DROP INDEX idx_posts_user;
             CREATE INDEX idx_posts_text ON posts (text);
             DROP TRIGGER posts_touch;
             CREATE TRIGGER posts_touch AFTER DELETE ON posts BEGIN SELECT 2; END;
             ALTER TABLE accounts ADD COLUMN nick TEXT;
             DROP VIEW recent;",
        )
        .unwrap();
    let found = drifted(&f);
    let expected = [
        "drift: table `accounts` was changed outside the migrations: column `nick` was added",
        "drift: index `idx_posts_user` is missing",
        "drift: view `recent` is missing",
        "drift: trigger `posts_touch` was changed outside the migrations",
        "drift: table `notes` is not created by any migration",
        "drift: index `idx_posts_text` is not created by any migration",
    ];
    for e in expected {
        assert!(
            found.iter().any(|p| p.starts_with(e)),
            "missing {e:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn same_structure_written_differently_is_not_drift() {
    let f = Fixture::new(FILES);
    f.set().open(f.db()).unwrap();
    // Rebuild `posts` by hand with other spacing and case: same structure.
    f.conn()
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             BEGIN;
             DROP VIEW recent;
             CREATE TABLE posts_new (id integer primary key, user_id integer not null references accounts(id), text text);
             INSERT INTO posts_new SELECT * FROM posts;
             DROP TABLE posts;
             ALTER TABLE posts_new RENAME TO posts;
             CREATE INDEX idx_posts_user ON posts (user_id);
             CREATE TRIGGER posts_touch AFTER UPDATE ON posts BEGIN SELECT 1; END;
             CREATE VIEW recent AS SELECT * FROM posts ORDER BY id DESC LIMIT 10;
             COMMIT;",
        )
        .unwrap();
    assert_eq!(drifted(&f), Vec::<String>::new());
}

#[test]
fn schema_dump_is_identical_across_runs_and_databases() {
    let a = Fixture::new(FILES);
    let b = Fixture::new(FILES);
    let conn_a = a.set().open(a.db()).unwrap();
    let conn_b = b.set().open(b.db()).unwrap();
    let table = Table::default();
    let first = schema::dump_with_pragmas(&conn_a, &table, false).unwrap();
    assert_eq!(
        first,
        schema::dump_with_pragmas(&conn_a, &table, false).unwrap()
    );
    assert_eq!(
        first,
        schema::dump_with_pragmas(&conn_b, &table, false).unwrap()
    );
    assert!(
        first.starts_with("PRAGMA page_size = 4096;\nPRAGMA auto_vacuum = none;\n"),
        "{first}"
    );
    assert!(!first.contains("schema_migrations"));
    let with_history = schema::dump_with_pragmas(&conn_a, &table, true).unwrap();
    assert!(
        with_history.contains("CREATE TABLE IF NOT EXISTS \"schema_migrations\"")
            || with_history.contains("CREATE TABLE \"schema_migrations\""),
        "{with_history}"
    );
}

/// Drift is a list of values, which a later `diff` can turn into SQL.
#[test]
fn schema_differences_are_values() {
    use migrate_core::rusqlite::Connection;
    use schema::{Change, Difference, Schema};
    let want = Connection::open_in_memory().unwrap();
    want.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));
         CREATE INDEX by_user ON posts (user_id);
         CREATE VIEW v AS SELECT 1;",
    )
    .unwrap();
    let live = Connection::open_in_memory().unwrap();
    live.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, nickname TEXT);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));
         CREATE INDEX by_user ON posts (user_id DESC);
         CREATE TABLE extra (x);",
    )
    .unwrap();
    let (live, want) = (
        Schema::read(&live, None).unwrap(),
        Schema::read(&want, None).unwrap(),
    );
    let found = live.differences(&want, |_| false);
    let kinds: Vec<(&str, &str)> = found
        .iter()
        .map(|d| match d {
            Difference::Missing { name, .. } => ("missing", name.as_str()),
            Difference::Extra { name, .. } => ("extra", name.as_str()),
            Difference::Changed { name, .. } => ("changed", name.as_str()),
            _ => ("other", ""),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("changed", "users"),
            ("changed", "by_user"),
            ("missing", "v"),
            ("extra", "extra")
        ]
    );
    let Difference::Changed { changes, .. } = &found[0] else {
        unreachable!()
    };
    assert_eq!(
        changes,
        &[
            Change::ColumnAdded("nickname".into()),
            Change::Column {
                name: "email".into(),
                live: "TEXT".into(),
                want: "TEXT NOT NULL".into()
            }
        ]
    );
    assert_eq!(live.table("USERS").unwrap().columns.len(), 3);
    assert_eq!(want.indexes_of("posts").count(), 1);
}

/// verify's problems carry their kind: a drift problem holds the
/// difference itself.
#[test]
fn verify_problems_have_kinds() {
    use migrate_core::verify::ProblemKind;
    let f = Fixture::new(FILES);
    let set = f.set();
    let conn = set.open(f.db()).unwrap();
    conn.execute_batch("CREATE TABLE notes (x); DROP INDEX idx_accounts_email;")
        .unwrap();
    let v = verify(&set, &conn, &Table::default()).unwrap();
    let kinds: Vec<&ProblemKind> = v.problems.iter().map(|p| &p.kind).collect();
    assert!(
        kinds.iter().any(|k| matches!(k, ProblemKind::Drift(schema::Difference::Extra { name, .. }) if name == "notes")),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| matches!(k, ProblemKind::Index { existing: None, index, .. } if index == "idx_accounts_email")),
        "{kinds:?}"
    );
    for p in &v.problems {
        assert_eq!(p.message, p.kind.to_string());
    }
}

/// Every property that changes what a table or index accepts or returns,
/// both ways: written differently with the same meaning, the schemas are
/// the same; with one property changed, the difference is reported.
#[test]
fn every_property_is_compared_and_spelling_is_not() {
    use migrate_core::rusqlite::Connection;
    use schema::Schema;
    let read = |sql: &str| {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);\n{sql}"
        ))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        Schema::read(&conn, None).unwrap()
    };
    // (what, live, files)
    let same: &[(&str, &str, &str)] = &[
        (
            "spacing, case and quotes",
            "CREATE TABLE t (a INT, b TEXT)",
            "create table \"T\" ( [a] int ,`b`   text )",
        ),
        (
            "CHECK column or table, parentheses",
            "CREATE TABLE t (a INT CHECK (a > 0))",
            "CREATE TABLE t (a INT, CHECK ((\"a\" > 0)))",
        ),
        (
            "UNIQUE column or table",
            "CREATE TABLE t (a INT UNIQUE)",
            "CREATE TABLE t (a INT, UNIQUE (a))",
        ),
        (
            "UNIQUE twice",
            "CREATE TABLE t (a INT UNIQUE, UNIQUE (a))",
            "CREATE TABLE t (a INT UNIQUE)",
        ),
        (
            "explicit BINARY",
            "CREATE TABLE t (a TEXT COLLATE BINARY)",
            "CREATE TABLE t (a TEXT)",
        ),
        (
            "ON CONFLICT ABORT is the default",
            "CREATE TABLE t (a INT NOT NULL ON CONFLICT ABORT)",
            "CREATE TABLE t (a INT NOT NULL)",
        ),
        (
            "rowid alias either way",
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
            "CREATE TABLE t (id INTEGER, PRIMARY KEY (id DESC))",
        ),
        (
            "AUTOINCREMENT either way",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)",
            "CREATE TABLE t (id INTEGER, PRIMARY KEY (id AUTOINCREMENT))",
        ),
        (
            "parent key named or not",
            "CREATE TABLE t (x REFERENCES p)",
            "CREATE TABLE t (x REFERENCES p (id))",
        ),
        (
            "NO ACTION said or not",
            "CREATE TABLE t (x REFERENCES p ON DELETE NO ACTION)",
            "CREATE TABLE t (x REFERENCES p)",
        ),
        (
            "DEFERRABLE INITIALLY IMMEDIATE is immediate",
            "CREATE TABLE t (x REFERENCES p DEFERRABLE INITIALLY IMMEDIATE)",
            "CREATE TABLE t (x REFERENCES p)",
        ),
        (
            "default in parentheses",
            "CREATE TABLE t (a DEFAULT (0), b DEFAULT ('x'))",
            "CREATE TABLE t (a DEFAULT 0, b DEFAULT 'x')",
        ),
        (
            "type spacing",
            "CREATE TABLE t (a VARCHAR( 10 ))",
            "CREATE TABLE t (a varchar(10))",
        ),
        (
            "generated spacing",
            "CREATE TABLE t (a INT, b INT AS (a*2))",
            "CREATE TABLE t (a INT, b INT GENERATED ALWAYS AS ( ( a * 2 ) ) VIRTUAL)",
        ),
        (
            "expression index spacing",
            "CREATE TABLE t (a); CREATE INDEX i ON t (lower(a))",
            "CREATE TABLE t (a); CREATE INDEX i ON t ( LOWER( \"a\" ) )",
        ),
        (
            "partial index spacing",
            "CREATE TABLE t (a); CREATE INDEX i ON t (a) WHERE a > 0",
            "CREATE TABLE t (a); CREATE INDEX i ON t (a) WHERE (a>0)",
        ),
        (
            "fts5 quoting",
            "CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'porter')",
            "create virtual table \"t\" using FTS5 (body,tokenize='porter')",
        ),
        (
            "foreign keys in another order",
            "CREATE TABLE t (x REFERENCES p, y REFERENCES p (code))",
            "CREATE TABLE t (x, y, FOREIGN KEY (y) REFERENCES p (code), FOREIGN KEY (x) REFERENCES p)",
        ),
        (
            "view spelling",
            "CREATE VIEW v AS SELECT code FROM p",
            "create view \"v\" as select \"code\" from P",
        ),
        (
            "CHECKs in another order",
            "CREATE TABLE t (a CHECK (a > 0), b CHECK (b > 0))",
            "CREATE TABLE t (a, b, CHECK (b > 0), CHECK (a > 0))",
        ),
    ];
    let differ: &[(&str, &str, &str)] = &[
        (
            "CHECK missing",
            "CREATE TABLE t (a INT)",
            "CREATE TABLE t (a INT CHECK (a > 0))",
        ),
        (
            "CHECK different",
            "CREATE TABLE t (a INT CHECK (a > 1))",
            "CREATE TABLE t (a INT CHECK (a > 0))",
        ),
        (
            "CHECK named",
            "CREATE TABLE t (a INT CONSTRAINT positive CHECK (a > 0))",
            "CREATE TABLE t (a INT CHECK (a > 0))",
        ),
        (
            "COLLATE NOCASE",
            "CREATE TABLE t (a TEXT)",
            "CREATE TABLE t (a TEXT COLLATE NOCASE)",
        ),
        (
            "column UNIQUE",
            "CREATE TABLE t (a INT)",
            "CREATE TABLE t (a INT UNIQUE)",
        ),
        (
            "table UNIQUE",
            "CREATE TABLE t (a INT, b INT, UNIQUE (a))",
            "CREATE TABLE t (a INT, b INT, UNIQUE (a, b))",
        ),
        (
            "UNIQUE collation",
            "CREATE TABLE t (a TEXT, UNIQUE (a))",
            "CREATE TABLE t (a TEXT, UNIQUE (a COLLATE NOCASE))",
        ),
        (
            "STRICT",
            "CREATE TABLE t (a INT)",
            "CREATE TABLE t (a INT) STRICT",
        ),
        (
            "WITHOUT ROWID",
            "CREATE TABLE t (a INT PRIMARY KEY)",
            "CREATE TABLE t (a INT PRIMARY KEY) WITHOUT ROWID",
        ),
        (
            "AUTOINCREMENT",
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)",
        ),
        (
            "NOT NULL ON CONFLICT",
            "CREATE TABLE t (a INT NOT NULL)",
            "CREATE TABLE t (a INT NOT NULL ON CONFLICT IGNORE)",
        ),
        (
            "UNIQUE ON CONFLICT",
            "CREATE TABLE t (a INT UNIQUE ON CONFLICT REPLACE)",
            "CREATE TABLE t (a INT UNIQUE)",
        ),
        (
            "PRIMARY KEY ON CONFLICT",
            "CREATE TABLE t (id INTEGER PRIMARY KEY ON CONFLICT REPLACE)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
        ),
        (
            "INTEGER PRIMARY KEY DESC is no rowid alias",
            "CREATE TABLE t (id INTEGER PRIMARY KEY DESC)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
        ),
        (
            "generated expression",
            "CREATE TABLE t (a INT, b AS (a * 2))",
            "CREATE TABLE t (a INT, b AS (a * 3))",
        ),
        (
            "generated STORED",
            "CREATE TABLE t (a INT, b AS (a * 2) STORED)",
            "CREATE TABLE t (a INT, b AS (a * 2))",
        ),
        (
            "DEFERRABLE",
            "CREATE TABLE t (x REFERENCES p)",
            "CREATE TABLE t (x REFERENCES p DEFERRABLE INITIALLY DEFERRED)",
        ),
        (
            "table DEFERRABLE",
            "CREATE TABLE t (x, FOREIGN KEY (x) REFERENCES p DEFERRABLE INITIALLY DEFERRED)",
            "CREATE TABLE t (x, FOREIGN KEY (x) REFERENCES p)",
        ),
        (
            "ON DELETE",
            "CREATE TABLE t (x REFERENCES p ON DELETE CASCADE)",
            "CREATE TABLE t (x REFERENCES p)",
        ),
        (
            "parent column",
            "CREATE TABLE t (x REFERENCES p (code))",
            "CREATE TABLE t (x REFERENCES p)",
        ),
        (
            "column order",
            "CREATE TABLE t (a INT, b INT)",
            "CREATE TABLE t (b INT, a INT)",
        ),
        (
            "column name case",
            "CREATE TABLE t (Name TEXT)",
            "CREATE TABLE t (name TEXT)",
        ),
        (
            "default",
            "CREATE TABLE t (a DEFAULT 'A')",
            "CREATE TABLE t (a DEFAULT 'a')",
        ),
        (
            "type",
            "CREATE TABLE t (a INT)",
            "CREATE TABLE t (a INTEGER)",
        ),
        (
            "expression index",
            "CREATE TABLE t (a); CREATE INDEX i ON t (lower(a))",
            "CREATE TABLE t (a); CREATE INDEX i ON t (upper(a))",
        ),
        (
            "partial index",
            "CREATE TABLE t (a); CREATE INDEX i ON t (a) WHERE a > 0",
            "CREATE TABLE t (a); CREATE INDEX i ON t (a) WHERE a > 1",
        ),
        (
            "fts5 options",
            "CREATE VIRTUAL TABLE t USING fts5(body)",
            "CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'porter')",
        ),
        (
            "fts5 against a plain table",
            "CREATE TABLE t (body)",
            "CREATE VIRTUAL TABLE t USING fts5(body)",
        ),
        (
            "view column case",
            "CREATE VIEW v AS SELECT code AS Code FROM p",
            "CREATE VIEW v AS SELECT code AS code FROM p",
        ),
        (
            "string in a CHECK",
            "CREATE TABLE t (a CHECK (a <> 'X'))",
            "CREATE TABLE t (a CHECK (a <> 'x'))",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, a, b) in same {
        for (live, want) in [(a, b), (b, a)] {
            let found = read(live).differences(&read(want), |_| false);
            if !found.is_empty() {
                wrong.push(format!("{what}: reported as different: {found:?}"));
            }
        }
    }
    for (what, a, b) in differ {
        for (live, want) in [(a, b), (b, a)] {
            if read(live).differences(&read(want), |_| false).is_empty() {
                wrong.push(format!("{what}: not reported ({live} / {want})"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
