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

/// A generated table: what it means, rendered in two spellings.
#[derive(Clone, Debug)]
struct GenTable {
    columns: Vec<GenColumn>,
    /// Indexes into `columns`.
    primary_key: Vec<usize>,
    autoincrement: bool,
    pk_conflict: Option<&'static str>,
    strict: bool,
    without_rowid: bool,
}

#[derive(Clone, Debug)]
struct GenColumn {
    name: String,
    ty: &'static str,
    collation: Option<&'static str>,
    not_null: Option<Option<&'static str>>,
    default: Option<&'static str>,
    unique: Option<Option<&'static str>>,
    check: Option<(Option<String>, i64)>,
    reference: Option<(&'static str, &'static str, bool)>,
    generated: Option<bool>,
}

impl GenTable {
    fn random(rng: &mut migrate_tests::Rng) -> GenTable {
        let strict = rng.below(4) == 0;
        let types: &[&str] = if strict {
            &["INT", "INTEGER", "TEXT", "REAL", "BLOB", "ANY"]
        } else {
            &[
                "INT",
                "INTEGER",
                "TEXT",
                "REAL",
                "BLOB",
                "VARCHAR(10)",
                "",
                "DOUBLE PRECISION",
            ]
        };
        let conflicts = [
            None,
            Some("ROLLBACK"),
            Some("FAIL"),
            Some("IGNORE"),
            Some("REPLACE"),
        ];
        let n = 1 + rng.below(4);
        let mut columns: Vec<GenColumn> = (0..n)
            .map(|i| GenColumn {
                name: format!("c{i}"),
                ty: types[rng.below(types.len())],
                collation: [None, None, Some("NOCASE"), Some("RTRIM")][rng.below(4)],
                not_null: (rng.below(3) == 0).then(|| conflicts[rng.below(5)]),
                default: [
                    None,
                    None,
                    Some("0"),
                    Some("'x'"),
                    Some("-1"),
                    Some("CURRENT_TIMESTAMP"),
                ][rng.below(6)],
                unique: (rng.below(4) == 0).then(|| conflicts[rng.below(5)]),
                check: (rng.below(3) == 0).then(|| {
                    let name = (rng.below(3) == 0).then(|| format!("k{i}"));
                    (name, rng.below(3) as i64)
                }),
                reference: (rng.below(4) == 0).then(|| {
                    (
                        ["id", "code"][rng.below(2)],
                        ["CASCADE", "SET NULL", "NO ACTION", "RESTRICT"][rng.below(4)],
                        rng.below(2) == 0,
                    )
                }),
                generated: None,
            })
            .collect();
        if rng.below(4) == 0 {
            columns.push(GenColumn {
                name: format!("c{n}"),
                ty: if strict { "INT" } else { "" },
                collation: None,
                not_null: None,
                default: None,
                unique: None,
                check: None,
                reference: None,
                generated: Some(rng.below(2) == 0),
            });
        }
        let mut primary_key = Vec::new();
        if rng.below(3) != 0 {
            primary_key.push(rng.below(n));
            if rng.below(3) == 0 && n > 1 {
                let other = (primary_key[0] + 1) % n;
                primary_key.push(other);
            }
        }
        // SQLite merges a UNIQUE into the same key's PRIMARY KEY, and
        // refuses two conflict clauses on it.
        if let [only] = primary_key[..] {
            columns[only].unique = None;
        }
        let single_integer = primary_key.len() == 1 && columns[primary_key[0]].ty == "INTEGER";
        let without_rowid = !primary_key.is_empty() && rng.below(4) == 0;
        let autoincrement = single_integer && !without_rowid && rng.below(2) == 0;
        GenTable {
            columns,
            primary_key,
            autoincrement,
            pk_conflict: conflicts[rng.below(5)],
            strict,
            without_rowid,
        }
    }

    /// The table with its constraints on its columns where they can be,
    /// plainly written. With `other`, every constraint that can be is on
    /// the table instead, names quoted, keywords in lower case, defaults
    /// spelled out and spacing changed: the same meaning.
    fn sql(&self, other: bool, rng: &mut migrate_tests::Rng) -> String {
        let kw = |s: &str| {
            if other {
                s.to_ascii_lowercase()
            } else {
                s.to_owned()
            }
        };
        let quote = |rng: &mut migrate_tests::Rng, name: &str| {
            if other {
                match rng.below(4) {
                    0 => format!("\"{name}\""),
                    1 => format!("[{name}]"),
                    2 => format!("`{name}`"),
                    _ => name.to_ascii_uppercase(),
                }
            } else {
                name.to_owned()
            }
        };
        let sp = |rng: &mut migrate_tests::Rng| {
            if other {
                ["  ", "\n  ", " "][rng.below(3)]
            } else {
                " "
            }
        };
        let mut parts = Vec::new();
        let mut table_parts = Vec::new();
        let column_pk = !other && self.primary_key.len() == 1;
        for (i, c) in self.columns.iter().enumerate() {
            // The declaration keeps the name's case: result columns are
            // named by it. References to it may use any case.
            let mut s = quote(rng, &c.name);
            if s.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                s = c.name.clone();
            }
            if !c.ty.is_empty() {
                s += &format!("{}{}", sp(rng), kw(c.ty));
            }
            if let Some(coll) = c.collation {
                s += &format!(" {} {coll}", kw("COLLATE"));
            } else if other && rng.below(2) == 0 {
                s += " collate binary";
            }
            if let Some(conflict) = c.not_null {
                s += &kw(" NOT NULL");
                if let Some(r) = conflict {
                    s += &kw(&format!(" ON CONFLICT {r}"));
                } else if other && rng.below(2) == 0 {
                    s += " on conflict abort";
                }
            }
            if let Some(d) = c.default {
                s += &if other {
                    format!(" default ({d})")
                } else {
                    format!(" DEFAULT {d}")
                };
            }
            if column_pk && self.primary_key[0] == i {
                s += " PRIMARY KEY";
                if let Some(r) = self.pk_conflict {
                    s += &format!(" ON CONFLICT {r}");
                }
                if self.autoincrement {
                    s += " AUTOINCREMENT";
                }
            }
            let check = |c: &GenColumn, name: &str| {
                let (n, v) = c.check.as_ref().unwrap();
                let n = n
                    .as_ref()
                    .map_or(String::new(), |n| format!("{} {n} ", kw("CONSTRAINT")));
                if other {
                    format!("{n}check ((({name} >= {v})))")
                } else {
                    format!("{n}CHECK ({name} >= {v})")
                }
            };
            let reference = |(to, action, deferred): (&str, &str, bool)| {
                let mut r = format!(
                    "{} p ({to}) {} {}",
                    kw("REFERENCES"),
                    kw("ON DELETE"),
                    kw(action)
                );
                if deferred {
                    r += &kw(" DEFERRABLE INITIALLY DEFERRED");
                } else if other {
                    r += " deferrable initially immediate";
                }
                r
            };
            let name = quote(rng, &c.name);
            if let Some(conflict) = c.unique {
                let r = conflict.map_or(String::new(), |r| kw(&format!(" ON CONFLICT {r}")));
                if other {
                    table_parts.push(format!("unique ({name}){r}"));
                } else {
                    s += &format!(" UNIQUE{r}");
                }
            }
            if c.check.is_some() {
                if other {
                    table_parts.push(check(c, &name));
                } else {
                    s += &format!(" {}", check(c, &c.name));
                }
            }
            if let Some(r) = c.reference {
                if other {
                    table_parts.push(format!("foreign key ({name}) {}", reference(r)));
                } else {
                    s += &format!(" {}", reference(r));
                }
            }
            if let Some(stored) = c.generated {
                let first = &self.columns[0].name;
                s += &if other {
                    format!(
                        " generated always as ((({first}  ||  'g'))) {}",
                        if stored { "stored" } else { "virtual" }
                    )
                } else {
                    format!(
                        " AS ({first} || 'g'){}",
                        if stored { " STORED" } else { "" }
                    )
                };
            }
            parts.push(s);
        }
        if !column_pk && !self.primary_key.is_empty() {
            let names: Vec<String> = self
                .primary_key
                .iter()
                .map(|&i| quote(rng, &self.columns[i].name))
                .collect();
            let auto = if self.autoincrement {
                kw(" AUTOINCREMENT")
            } else {
                String::new()
            };
            let r = self
                .pk_conflict
                .map_or(String::new(), |r| kw(&format!(" ON CONFLICT {r}")));
            table_parts.push(format!(
                "{} ({}{auto}){r}",
                kw("PRIMARY KEY"),
                names.join(", ")
            ));
        }
        if other {
            // Table constraints stand in any order.
            for i in (1..table_parts.len()).rev() {
                table_parts.swap(i, rng.below(i + 1));
            }
        }
        parts.extend(table_parts);
        let mut options = Vec::new();
        if self.without_rowid {
            options.push(kw("WITHOUT ROWID"));
        }
        if self.strict {
            options.push(kw("STRICT"));
        }
        format!(
            "{} t ({}){}{}",
            kw("CREATE TABLE"),
            parts.join(","),
            if options.is_empty() { "" } else { " " },
            options.join(", ")
        )
    }

    /// The same table with one property changed, and what was changed;
    /// `None` when the change picked does not apply to this table.
    fn mutate(&self, rng: &mut migrate_tests::Rng) -> Option<(GenTable, &'static str)> {
        let mut t = self.clone();
        let plain: Vec<usize> = (0..t.columns.len())
            .filter(|&i| t.columns[i].generated.is_none())
            .collect();
        let i = plain[rng.below(plain.len())];
        let c = &mut t.columns[i];
        let what = match rng.below(12) {
            0 => {
                c.collation = if c.collation == Some("NOCASE") {
                    None
                } else {
                    Some("NOCASE")
                };
                "collation"
            }
            1 => {
                c.check = match c.check.take() {
                    Some((n, v)) => Some((n, v + 1)),
                    None => Some((None, 0)),
                };
                "check"
            }
            2 | 3 if t.primary_key == [i] => return None,
            2 => {
                c.unique = if c.unique.is_some() { None } else { Some(None) };
                "unique"
            }
            3 => {
                c.unique = Some(Some(if c.unique == Some(Some("IGNORE")) {
                    "FAIL"
                } else {
                    "IGNORE"
                }));
                "unique conflict"
            }
            4 => {
                c.not_null = Some(Some(if c.not_null == Some(Some("IGNORE")) {
                    "FAIL"
                } else {
                    "IGNORE"
                }));
                "not null conflict"
            }
            5 => {
                c.reference = match c.reference {
                    Some((to, action, d)) => Some((to, action, !d)),
                    None => return None,
                };
                "deferred"
            }
            6 => {
                c.reference = match c.reference {
                    Some((to, "CASCADE", d)) => Some((to, "SET NULL", d)),
                    Some((to, _, d)) => Some((to, "CASCADE", d)),
                    None => Some(("id", "CASCADE", false)),
                };
                "foreign key"
            }
            7 => {
                c.default = if c.default == Some("0") {
                    Some("1")
                } else {
                    Some("0")
                };
                "default"
            }
            8 if !t.without_rowid && !t.autoincrement => {
                t.strict = !t.strict;
                let fits = ["INT", "INTEGER", "TEXT", "REAL", "BLOB", "ANY"];
                if t.strict && t.columns.iter().any(|c| !fits.contains(&c.ty)) {
                    return None;
                }
                "strict"
            }
            9 if !t.primary_key.is_empty() && !t.autoincrement => {
                t.without_rowid = !t.without_rowid;
                "without rowid"
            }
            10 if t.columns.len() > 1 => {
                t.columns.swap(0, 1);
                if t.columns.iter().any(|c| c.generated.is_some()) {
                    return None;
                }
                t.primary_key = t
                    .primary_key
                    .iter()
                    .map(|&k| if k < 2 { 1 - k } else { k })
                    .collect();
                "column order"
            }
            11 if !t.primary_key.is_empty() => {
                t.pk_conflict = if t.pk_conflict == Some("IGNORE") {
                    None
                } else {
                    Some("IGNORE")
                };
                "primary key conflict"
            }
            _ => return None,
        };
        Some((t, what))
    }
}

/// Generated tables: two spellings of one table compare equal, and one
/// property changed is reported. Seeded (`MIGRATE_TEST_SEED`); the seed
/// and the SQL are printed on failure.
#[test]
fn generated_tables_compare_by_meaning() {
    use migrate_core::rusqlite::Connection;
    use schema::Schema;
    let seed: u64 = std::env::var("MIGRATE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x007a_b1e5);
    let mut rng = migrate_tests::Rng(seed);
    let read = |sql: &str| {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);\n{sql}"
        ))
        .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{sql}"));
        Schema::read(&conn, None).unwrap()
    };
    let (mut same, mut changed) = (0, 0);
    for _ in 0..400 {
        let table = GenTable::random(&mut rng);
        let (a, b) = (table.sql(false, &mut rng), table.sql(true, &mut rng));
        let found = read(&a).differences(&read(&b), |_| false);
        assert!(
            found.is_empty(),
            "seed {seed}: same meaning reported as different:\n{a}\n{b}\n{found:#?}"
        );
        same += 1;
        if let Some((mutated, what)) = table.mutate(&mut rng) {
            let m = mutated.sql(true, &mut rng);
            let found = read(&a).differences(&read(&m), |_| false);
            assert!(
                !found.is_empty(),
                "seed {seed}: {what} changed, not reported:\n{a}\n{m}"
            );
            changed += 1;
        }
    }
    assert!(same == 400 && changed > 150, "{same} {changed}");
}
