//! `lint` on real migration folders: each rule fires on a fixture that
//! breaks it and stays quiet on one written the safe way.

use migrate_core::lint::{Finding, RULES, Severity, lint};
use migrate_tests::Fixture;

/// The findings of the last migration, `text`, after `before`.
fn findings(before: &str, text: &str) -> Vec<Finding> {
    let f = Fixture::new(&[("0001_before.sql", before), ("0002_linted.sql", text)]);
    lint(&f.set(), |m| m.version == 2)
}

fn rules(found: &[Finding]) -> Vec<&'static str> {
    found.iter().map(|f| f.rule).collect()
}

/// Fires on `bad`, not on `good`, after `before`.
fn fires(rule: &str, before: &str, bad: &str, good: &str) {
    assert!(
        RULES.iter().any(|(r, _)| *r == rule),
        "{rule} is not listed"
    );
    let found = findings(before, bad);
    assert!(
        rules(&found).contains(&rule),
        "{rule} did not fire on {bad:?}: {found:#?}"
    );
    let found = findings(before, good);
    assert!(
        !rules(&found).contains(&rule),
        "{rule} fired on {good:?}: {found:#?}"
    );
}

const T: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER);";

/// A database at the first migration, `before`, holding `rows`; each
/// [`Applied::lint`] lints a second migration against it, read-only.
struct Applied {
    f: Fixture,
    data: migrate_core::rusqlite::Connection,
}

impl Applied {
    fn new(before: &str, rows: &str) -> Applied {
        let f = Fixture::new(&[
            ("0001_before.sql", before),
            ("0002_linted.sql", "SELECT 1;"),
        ]);
        let mut conn = f.conn();
        f.set().runner().target(Some(1)).run(&mut conn).unwrap();
        conn.execute_batch(rows).unwrap();
        drop(conn);
        let data = migrate_core::rusqlite::Connection::open_with_flags(
            f.db(),
            migrate_core::rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        Applied { f, data }
    }

    /// The findings of `text` as the second migration.
    fn lint(&self, text: &str) -> Vec<Finding> {
        self.f.write("0002_linted.sql", text);
        migrate_core::lint::lint_with(&self.f.set(), |m| m.version == 2, Some(&self.data))
    }
}

#[test]
fn add_column_rules_are_sqlites_own_refusals() {
    fires(
        "adding-not-nullable-field",
        T,
        "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;",
        "ALTER TABLE t ADD COLUMN c TEXT NOT NULL DEFAULT '';",
    );
    fires(
        "adding-field-with-volatile-default",
        T,
        "ALTER TABLE t ADD COLUMN c TEXT DEFAULT CURRENT_TIMESTAMP;",
        "ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'x';",
    );
    fires(
        "adding-stored-generated-field",
        T,
        "ALTER TABLE t ADD COLUMN c INTEGER AS (b * 2) STORED;",
        "ALTER TABLE t ADD COLUMN c INTEGER AS (b * 2) VIRTUAL;",
    );
    fires(
        "adding-foreign-key-with-default",
        &format!("{T}\nCREATE TABLE p (id INTEGER PRIMARY KEY);"),
        "ALTER TABLE t ADD COLUMN p_id INTEGER DEFAULT 1 REFERENCES p(id);",
        "ALTER TABLE t ADD COLUMN p_id INTEGER REFERENCES p(id);",
    );
}

#[test]
fn drops() {
    fires(
        "dropping-referenced-column",
        &format!("{T}\nCREATE INDEX t_a ON t (a);"),
        "ALTER TABLE t DROP COLUMN a;",
        "ALTER TABLE t DROP COLUMN b;",
    );
    fires(
        "ban-drop-column",
        T,
        "ALTER TABLE t DROP COLUMN b;",
        "ALTER TABLE t ADD COLUMN c TEXT;",
    );
    fires("ban-drop-table", T, "DROP TABLE t;", "CREATE TABLE u (id);");
    // A rebuild drops the old table to rename the new one into place.
    fires(
        "ban-drop-table",
        T,
        "DROP TABLE t;",
        "CREATE TABLE t_new (id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT '', b INTEGER);\n\
         INSERT INTO t_new SELECT * FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;",
    );
    fires(
        "dropping-referenced-table",
        &format!("{T}\nCREATE TABLE u (id);\nCREATE VIEW v AS SELECT id FROM t;"),
        "DROP TABLE t;",
        "DROP TABLE u;",
    );
    let parent = "CREATE TABLE p (id INTEGER PRIMARY KEY, n TEXT);\n\
                  CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id) ON DELETE CASCADE);";
    // Dropped and made again: the children's ON DELETE fires. The runner
    // itself runs the create-copy-drop-rename rebuild with foreign keys off
    // (a table renamed into place marks the file), so that is not flagged.
    let again = "DROP TABLE p;\nCREATE TABLE p (id INTEGER PRIMARY KEY, n TEXT NOT NULL);";
    let rebuild = "CREATE TABLE p_new (id INTEGER PRIMARY KEY, n TEXT NOT NULL);\n\
                   INSERT INTO p_new SELECT * FROM p;\nDROP TABLE p;\nALTER TABLE p_new RENAME TO p;";
    fires("rebuild-without-marker", parent, again, rebuild);
    fires(
        "rebuild-without-marker",
        parent,
        again,
        &format!("-- migrate:foreign-keys-off\n{again}"),
    );
}

#[test]
fn other_rules() {
    fires(
        "new-unique-index",
        T,
        "CREATE UNIQUE INDEX t_a ON t (a);",
        "CREATE TABLE u (x);\nCREATE UNIQUE INDEX u_x ON u (x);",
    );
    fires(
        "update-without-where",
        T,
        "UPDATE t SET a = 'x';",
        "UPDATE t SET a = 'x' WHERE id IN (SELECT id FROM t WHERE b > 1);",
    );
    fires(
        "delete-without-where",
        T,
        "DELETE FROM t;",
        "DELETE FROM t WHERE b IS NULL;",
    );
    // After a WITH clause, whose own WHERE is not the statement's.
    fires(
        "delete-without-where",
        T,
        "WITH old AS (SELECT id FROM t WHERE b > 1) DELETE FROM t;",
        "WITH old AS (SELECT id FROM t WHERE b > 1) DELETE FROM t WHERE id IN old;",
    );
    fires(
        "update-without-where",
        T,
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3) UPDATE t SET b = (SELECT max(x) FROM n);",
        "WITH n(x) AS (SELECT 1) UPDATE t SET b = (SELECT x FROM n) WHERE id = 1;",
    );
    fires(
        "statement-fails",
        T,
        "CREATE INDEX i ON nowhere (x);",
        "CREATE INDEX i ON t (a);",
    );
}

#[test]
fn an_allowance_silences_one_statement_and_shows() {
    let found = findings(
        T,
        "-- migrate:allow ban-drop-column\nALTER TABLE t DROP COLUMN b;\nALTER TABLE t DROP COLUMN a;",
    );
    let drops: Vec<&Finding> = found
        .iter()
        .filter(|f| f.rule == "ban-drop-column")
        .collect();
    assert_eq!(drops.len(), 2, "{found:#?}");
    assert!(drops[0].allowed && drops[0].line == 2, "{found:#?}");
    assert!(!drops[1].allowed, "{found:#?}");
    assert!(
        drops[0]
            .to_string()
            .starts_with("0002_linted.sql:2: warning ban-drop-column (allowed): "),
        "{}",
        drops[0]
    );
    // Every spelling the scanner reads as the directive.
    for spelled in [
        "--migrate:allow ban-drop-column",
        "--   migrate:allow  ban-drop-column,all",
    ] {
        let found = findings(T, &format!("{spelled}\nALTER TABLE t DROP COLUMN b;"));
        assert!(found.iter().all(|f| f.allowed), "{spelled}: {found:#?}");
    }
    // Not in a string.
    let found = findings(
        T,
        "UPDATE t SET a = '-- migrate:allow all'\nWHERE id = 1;\nALTER TABLE t DROP COLUMN b;",
    );
    assert!(found.iter().any(|f| !f.allowed), "{found:#?}");
    // The directive is a comment to the runner, anywhere.
    let f = Fixture::new(&[
        ("0001_t.sql", T),
        (
            "0002_x.sql",
            "CREATE TABLE x (\n  id INTEGER -- migrate:allow anything\n);\n-- migrate:allow ban-drop-table\nDROP TABLE x;",
        ),
    ]);
    let mut conn = migrate_core::rusqlite::Connection::open(f.db()).unwrap();
    f.set().runner().run(&mut conn).unwrap();
}

#[test]
fn the_runner_makes_safe_what_lint_does_not_ask_for() {
    // A file marked for foreign keys off: no marker rule.
    let parent = "CREATE TABLE p (id INTEGER PRIMARY KEY);\n\
                  CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id) ON DELETE CASCADE);";
    let found = findings(
        parent,
        "-- migrate:foreign-keys-off\nDROP TABLE p;\nCREATE TABLE p (id INTEGER PRIMARY KEY);",
    );
    assert!(
        !rules(&found).contains(&"rebuild-without-marker"),
        "{found:#?}"
    );
    // A unique index on a table this very migration makes: nothing to fail on.
    let found = findings(
        "-- nothing yet",
        "CREATE TABLE t (a);\nCREATE UNIQUE INDEX t_a ON t (a);",
    );
    assert!(found.is_empty(), "{found:#?}");
    // Only what is chosen is linted; the rest is replayed.
    let f = Fixture::new(&[
        ("0001_t.sql", "CREATE TABLE t (id);"),
        ("0002_d.sql", "DROP TABLE t;"),
    ]);
    assert!(lint(&f.set(), |m| m.version == 1).is_empty());
    assert_eq!(
        lint(&f.set(), |_| true).iter().map(|f| f.severity).max(),
        Some(Severity::Warning)
    );
}

/// A pragma set that turns legacy_alter_table on for the app's (and the
/// runner's) connections: a rename then leaves views and triggers naming
/// the old table.
#[test]
fn renames_under_legacy_alter_table() {
    let before = "CREATE TABLE t (id INTEGER PRIMARY KEY);\nCREATE VIEW v AS SELECT id FROM t;";
    let with = |pragmas: Option<&str>| {
        let f = Fixture::new(&[
            ("0001_before.sql", before),
            ("0002_rename.sql", "ALTER TABLE t RENAME TO t2;"),
        ]);
        if let Some(p) = pragmas {
            f.write("0000_app.pragmas", p);
        }
        lint(&f.set(), |m| m.version == 2)
    };
    let found = with(Some("legacy_alter_table = on\n"));
    assert!(
        rules(&found).contains(&"renaming-with-legacy-alter-table"),
        "{found:#?}"
    );
    assert!(found[0].message.contains("view \"v\""), "{found:#?}");
    assert!(with(None).is_empty(), "{:#?}", with(None));
    assert!(with(Some("legacy_alter_table = off\n")).is_empty());
}

/// The rebuild `CREATE TABLE t_new (columns); INSERT …; DROP TABLE t;
/// ALTER TABLE t_new RENAME TO t;` of `t (id, a)` into `columns`, its
/// index made again after it.
fn rebuild(columns: &str) -> String {
    format!(
        "CREATE TABLE t_new ({columns});\nINSERT INTO t_new (id, a) SELECT id, a FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;\nCREATE UNIQUE INDEX t_a ON t (a);\n"
    )
}

const TU: &str =
    "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\nCREATE UNIQUE INDEX t_a ON t (a);";

#[test]
fn rebuilds_that_change_types_or_add_constraints() {
    // A type of another affinity; VARCHAR and TEXT are one affinity.
    fires(
        "changing-column-type",
        TU,
        &rebuild("id INTEGER PRIMARY KEY, a INTEGER"),
        &rebuild("id INTEGER PRIMARY KEY, a VARCHAR(20), b TEXT"),
    );
    // SQLite's order of rules, not the type's look: FLOATING POINT holds
    // INT (integer affinity), CHARINT too; DOUBLE PRECISION and REAL are
    // one; NATIVE CHARACTER is text.
    let real =
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a REAL);\nCREATE UNIQUE INDEX t_a ON t (a);";
    fires(
        "changing-column-type",
        real,
        &rebuild("id INTEGER PRIMARY KEY, a FLOATING POINT"),
        &rebuild("id INTEGER PRIMARY KEY, a DOUBLE PRECISION"),
    );
    fires(
        "changing-column-type",
        TU,
        &rebuild("id INTEGER PRIMARY KEY, a CHARINT"),
        &rebuild("id INTEGER PRIMARY KEY, a NATIVE CHARACTER(70)"),
    );
    // In a STRICT table INT and INTEGER are one type; ANY is another.
    let strict =
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a INT) STRICT;\nCREATE UNIQUE INDEX t_a ON t (a);";
    fires(
        "changing-column-type",
        strict,
        &rebuild("id INTEGER PRIMARY KEY, a ANY) STRICT; --"),
        &rebuild("id INTEGER PRIMARY KEY, a INTEGER) STRICT; --"),
    );
    // STRICT with the same affinity is a change: it refuses what does not fit.
    fires(
        "changing-column-type",
        TU,
        &rebuild("id INTEGER PRIMARY KEY, a TEXT) STRICT; --"),
        &rebuild("id INTEGER PRIMARY KEY, a CLOB"),
    );
    for added in [
        "id INTEGER PRIMARY KEY, a TEXT NOT NULL",
        "id INTEGER PRIMARY KEY, a TEXT CHECK (length(a) < 10)",
        "id INTEGER PRIMARY KEY, a TEXT, b INTEGER REFERENCES t_new(id)",
        "id INTEGER PRIMARY KEY, a TEXT, b TEXT UNIQUE",
    ] {
        fires(
            "rebuild-adds-constraint",
            TU,
            &rebuild(added),
            &rebuild("id INTEGER PRIMARY KEY, a TEXT, c TEXT"),
        );
    }
    // The UNIQUE index the rebuild makes again is not new.
    let found = findings(TU, &rebuild("id INTEGER PRIMARY KEY, a TEXT, c TEXT"));
    assert!(found.is_empty(), "{found:#?}");
    // One it did not have is.
    let found = findings(
        TU,
        &format!(
            "{}CREATE UNIQUE INDEX t_c ON t (c);\n",
            rebuild("id INTEGER PRIMARY KEY, a TEXT, c TEXT")
        ),
    );
    assert_eq!(rules(&found), ["new-unique-index"], "{found:#?}");
}

/// The rows of a database, against a rebuild: counted; a certain failure is
/// an error, unless a statement before it writes to the table.
#[test]
fn rebuild_rows_are_counted_in_the_database() {
    let db = Applied::new(
        TU,
        "INSERT INTO t (a) VALUES ('12'), ('a long text here'), (NULL);",
    );
    let lint_file = |text: &str| db.lint(text);
    let one = |found: &[Finding], rule: &str| -> Finding {
        found
            .iter()
            .find(|x| x.rule == rule)
            .unwrap_or_else(|| panic!("no {rule}: {found:#?}"))
            .clone()
    };
    // '12' becomes 12: stored differently, not a failure.
    let found = lint_file(&rebuild("id INTEGER PRIMARY KEY, a INTEGER"));
    let retyped = one(&found, "changing-column-type");
    assert_eq!(retyped.severity, Severity::Warning, "{retyped}");
    assert!(
        retyped
            .message
            .contains("1 values of \"t\".\"a\" are stored differently"),
        "{retyped}"
    );
    // STRICT INTEGER refuses 'a long text here': certain.
    let found = lint_file(&rebuild("id INTEGER PRIMARY KEY, a INTEGER) STRICT; --"));
    let retyped = one(&found, "changing-column-type");
    assert_eq!(retyped.severity, Severity::Error, "{retyped}");
    assert!(retyped.fails_on_data, "{retyped}");
    // A CHECK two rows break, NOT NULL one row breaks.
    let found = lint_file(&rebuild(
        "id INTEGER PRIMARY KEY, a TEXT NOT NULL CHECK (length(a) < 5)",
    ));
    let added = one(&found, "rebuild-adds-constraint");
    assert_eq!(added.severity, Severity::Error, "{added}");
    assert!(added.fails_on_data);
    assert!(
        added
            .message
            .contains("1 rows of \"t\" break the new CHECK"),
        "{added}"
    );
    assert!(
        added.message.contains("1 rows of \"t\" hold NULL"),
        "{added}"
    );
    // The rows it breaks deleted first, in the same file: not certain.
    let found = lint_file(&format!(
        "DELETE FROM t WHERE a IS NULL OR length(a) >= 5;\n{}",
        rebuild("id INTEGER PRIMARY KEY, a TEXT NOT NULL CHECK (length(a) < 5)")
    ));
    let added = one(&found, "rebuild-adds-constraint");
    assert_eq!(added.severity, Severity::Warning, "{added}");
    assert!(!added.fails_on_data);
    // A constraint no row breaks.
    let found = lint_file(&rebuild(
        "id INTEGER PRIMARY KEY, a TEXT CHECK (length(a) < 100)",
    ));
    let added = one(&found, "rebuild-adds-constraint");
    assert_eq!(added.severity, Severity::Warning, "{added}");
    assert!(
        added
            .message
            .contains("no row of the database breaks it now"),
        "{added}"
    );
}

/// What a statement writes is SQLite's own answer (its authorizer), so a
/// trigger's DELETE counts as a write to its table: rows counted before it
/// are not a certain failure after it.
#[test]
fn a_trigger_that_writes_the_table_makes_the_count_uncertain() {
    let db = Applied::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\nCREATE TABLE u (id INTEGER PRIMARY KEY);\nCREATE TRIGGER u_clears_t AFTER INSERT ON u BEGIN DELETE FROM t; END;",
        "INSERT INTO t (a) VALUES ('x');",
    );
    let lint_file = |text: &str| db.lint(text);
    let found = lint_file("ALTER TABLE t ADD COLUMN c TEXT NOT NULL;");
    assert!(found[0].fails_on_data, "{found:#?}");
    // A column added before it changes no row: still certain.
    let found =
        lint_file("ALTER TABLE t ADD COLUMN b TEXT;\nALTER TABLE t ADD COLUMN c TEXT NOT NULL;");
    let added = found
        .iter()
        .find(|x| x.rule == "adding-not-nullable-field")
        .unwrap();
    assert!(added.fails_on_data, "{found:#?}");
    let found =
        lint_file("INSERT INTO u (id) VALUES (1);\nALTER TABLE t ADD COLUMN c TEXT NOT NULL;");
    let added = found
        .iter()
        .find(|x| x.rule == "adding-not-nullable-field")
        .unwrap();
    assert!(!added.fails_on_data, "{found:#?}");
    assert_eq!(added.severity, Severity::Warning);
}

/// A certain failure of a rebuild needs the copy read: columns copied
/// under other names, or an expression, or a filter, and the counts by
/// name are said but not certain (up would refuse a migration that works).
#[test]
fn a_rebuild_copy_lint_cannot_read_is_never_certain() {
    let db = Applied::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, title TEXT);",
        "INSERT INTO t (title) VALUES ('a'), ('b');",
    );
    let lint_file = |text: &str| db.lint(text);
    let rebuild = |copy: &str| {
        format!(
            "CREATE TABLE n (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n{copy}\nDROP TABLE t;\nALTER TABLE n RENAME TO t;"
        )
    };
    // title copied into name: works, nothing certain.
    for copy in [
        "INSERT INTO n (id, name) SELECT id, title FROM t;",
        "INSERT INTO n SELECT id, title FROM t;",
        "INSERT INTO n SELECT * FROM t;",
        "INSERT INTO n (id, name) SELECT t.id, t.title AS name FROM main.t;",
    ] {
        let found = lint_file(&rebuild(copy));
        assert!(
            !found
                .iter()
                .any(|x| x.fails_on_data || x.severity == Severity::Error),
            "{copy}: {found:#?}"
        );
    }
    // Read: nothing copied into name, and t has rows: certain.
    let found = lint_file(&rebuild("INSERT INTO n (id) SELECT id FROM t;"));
    let added = found
        .iter()
        .find(|x| x.rule == "rebuild-adds-constraint")
        .unwrap();
    assert!(added.fails_on_data, "{found:#?}");
    // Not read (an expression, a filter): said, never certain.
    for copy in [
        "INSERT INTO n (id, name) SELECT id, coalesce(title, '') FROM t;",
        "INSERT INTO n (id) SELECT id FROM t WHERE id > 5;",
    ] {
        let found = lint_file(&rebuild(copy));
        assert!(!found.iter().any(|x| x.fails_on_data), "{copy}: {found:#?}");
    }
    // The rows the copy reads deleted before it: not certain either.
    let found = lint_file(&format!(
        "DELETE FROM t;\n{}",
        rebuild("INSERT INTO n (id) SELECT id FROM t;")
    ));
    assert!(!found.iter().any(|x| x.fails_on_data), "{found:#?}");
}

/// After a rename a name means another column than the database's, so a
/// count by that name is not certain; a column added changes nothing.
#[test]
fn a_rename_before_it_makes_the_count_uncertain() {
    let db = Applied::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);",
        "INSERT INTO t (a) VALUES ('x'), ('x');",
    );
    let unique = |text: &str| {
        db.lint(text)
            .into_iter()
            .find(|x| x.rule == "new-unique-index")
            .unwrap()
    };
    assert!(unique("CREATE UNIQUE INDEX t_a ON t (a);").fails_on_data);
    assert!(
        unique("ALTER TABLE t ADD COLUMN b TEXT;\nCREATE UNIQUE INDEX t_a ON t (a);").fails_on_data
    );
    let renamed = unique(
        "ALTER TABLE t RENAME COLUMN a TO old_a;\nALTER TABLE t ADD COLUMN a TEXT;\nCREATE UNIQUE INDEX t_a ON t (a);",
    );
    assert!(!renamed.fails_on_data, "{renamed}");
}

/// `IF EXISTS` / `IF NOT EXISTS`, quotes and `main.` read as the scanner
/// reads them: the table dropped is the one named, and a statement that
/// does nothing (no such table, an index already there) loses nothing.
#[test]
fn if_exists_and_spellings_of_a_drop() {
    let before = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\nCREATE VIEW v AS SELECT id FROM t;\nCREATE INDEX t_a ON t (a);";
    for drop in [
        "DROP TABLE IF EXISTS t;",
        "DROP TABLE main.t;",
        "drop table if exists \"T\";",
        "DROP TABLE IF EXISTS main.[t];",
    ] {
        let found = findings(before, drop);
        assert!(
            rules(&found).contains(&"ban-drop-table")
                && rules(&found).contains(&"dropping-referenced-table"),
            "{drop}: {found:#?}"
        );
        assert!(found[0].message.contains("\"t\""), "{found:#?}");
    }
    for nothing in ["DROP TABLE IF EXISTS gone;", "DROP TABLE IF EXISTS temp.t;"] {
        let found = findings(before, nothing);
        assert!(found.is_empty(), "{nothing}: {found:#?}");
    }
    let found = findings(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\nCREATE INDEX t_a ON t (a);",
        "CREATE UNIQUE INDEX IF NOT EXISTS t_a ON t (a);",
    );
    assert!(found.is_empty(), "{found:#?}");
}

/// A transaction left open by a no-transaction file, by SQLite's own rules
/// of transaction control: a SAVEPOINT outside a transaction opens one and
/// its RELEASE commits it; ROLLBACK TO (however spelled) ends nothing.
#[test]
fn a_transaction_left_open_by_sqlites_rules() {
    const NT: &str = "-- migrate:no-transaction\n";
    let open = |body: &str| {
        findings(T, &format!("{NT}{body}"))
            .iter()
            .any(|f| f.rule == "ban-uncommitted-transaction")
    };
    for left_open in [
        "BEGIN;\nUPDATE t SET a = 1 WHERE id = 1;",
        "BEGIN IMMEDIATE TRANSACTION;\nUPDATE t SET a = 1 WHERE id = 1;",
        "SAVEPOINT s;\nUPDATE t SET a = 1 WHERE id = 1;",
        "SAVEPOINT s;\nSAVEPOINT inner;\nRELEASE inner;",
        "BEGIN;\nUPDATE t SET a = 1 WHERE id = 1;\nROLLBACK TRANSACTION TO SAVEPOINT s;",
        "BEGIN;\nSAVEPOINT s;\nROLLBACK TO s;",
    ] {
        assert!(open(left_open), "{left_open}");
    }
    for closed in [
        "BEGIN;\nUPDATE t SET a = 1 WHERE id = 1;\nCOMMIT;",
        "BEGIN DEFERRED;\nUPDATE t SET a = 1 WHERE id = 1;\nEND TRANSACTION;",
        "BEGIN;\nUPDATE t SET a = 1 WHERE id = 1;\nROLLBACK TRANSACTION;",
        "SAVEPOINT s;\nUPDATE t SET a = 1 WHERE id = 1;\nRELEASE SAVEPOINT s;",
        "SAVEPOINT \"S\";\nRELEASE s;",
        "UPDATE t SET a = 1 WHERE id = 1;",
    ] {
        assert!(!open(closed), "{closed}");
    }
}

/// What lint calls a certain failure is the database's own answer: for
/// seeded tables of rows and seeded changes (columns added every way
/// SQLite refuses on rows, UNIQUE indexes, rebuilds adding NOT NULL, CHECK
/// and STRICT types), the real runner on a copy of the database fails
/// whenever lint says a finding fails on the data, and lint says so
/// whenever the run fails. The seed
/// (`MIGRATE_TEST_SEED`) and the case are printed on failure.
#[test]
fn certain_failures_are_the_databases_own_answer() {
    let seed = migrate_tests::seed(0x11a7_5eed);
    let mut rng = migrate_tests::Rng(seed);
    let mut tally = (0, 0);
    for case in 0..60 {
        let before = "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER);";
        let values = ["NULL", "'x'", "'X'", "'12'", "7", "-1", "x'00'"];
        let rows: Vec<String> = (0..rng.below(4))
            .map(|_| {
                format!(
                    "INSERT INTO t (a, b) VALUES ({}, {});",
                    values[rng.below(values.len())],
                    values[rng.below(values.len())]
                )
            })
            .collect();
        let types = ["TEXT", "INTEGER", "REAL", "BLOB", ""];
        let defaults = [
            "",
            " DEFAULT 0",
            " DEFAULT NULL",
            " DEFAULT CURRENT_TIMESTAMP",
            " DEFAULT (random())",
        ];
        let column = |rng: &mut migrate_tests::Rng| -> String {
            let t = types[rng.below(types.len())];
            match rng.below(5) {
                0 => format!("c {t} AS (b * 2) {}", ["STORED", "VIRTUAL"][rng.below(2)]),
                1 => format!("c INTEGER REFERENCES p (id){}", defaults[rng.below(3)]),
                _ => format!(
                    "c {t}{}{}",
                    ["", " NOT NULL"][rng.below(2)],
                    defaults[rng.below(defaults.len())]
                ),
            }
        };
        let rebuild = |columns: &str| {
            format!(
                "CREATE TABLE n ({columns});\nINSERT INTO n (id, a, b) SELECT id, a, b FROM t;\nDROP TABLE t;\nALTER TABLE n RENAME TO t;"
            )
        };
        let change = match rng.below(4) {
            0 | 1 => format!("ALTER TABLE t ADD COLUMN {};", column(&mut rng)),
            2 => format!(
                "CREATE UNIQUE INDEX u ON t ({});",
                [
                    "a",
                    "b",
                    "a, b",
                    "a COLLATE NOCASE DESC",
                    "b) WHERE (b > 0",
                    "lower(a)"
                ][rng.below(6)]
            ),
            _ => rebuild(
                [
                    "id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER",
                    "id INTEGER PRIMARY KEY, a TEXT, b INTEGER CHECK (b > 0)",
                    "id INTEGER PRIMARY KEY, a TEXT, b INTEGER) STRICT; --",
                    "id INTEGER PRIMARY KEY, a INTEGER, b INTEGER NOT NULL) STRICT; --",
                    "id INTEGER PRIMARY KEY, a TEXT UNIQUE, b INTEGER",
                ][rng.below(5)],
            ),
        };
        let said = format!("seed {seed}, case {case}:\n{}\n{change}", rows.join("\n"));
        let f = Fixture::new(&[("0001_before.sql", before), ("0002_change.sql", &change)]);
        let mut conn = f.conn();
        f.set().runner().target(Some(1)).run(&mut conn).unwrap();
        conn.execute_batch(&rows.join("\n")).unwrap();
        drop(conn);
        let found = {
            let data = migrate_core::rusqlite::Connection::open_with_flags(
                f.db(),
                migrate_core::rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap();
            migrate_core::lint::lint_with(&f.set(), |m| m.version == 2, Some(&data))
        };
        let mut conn = f.conn();
        let run = f.set().runner().run(&mut conn).map(|_| ());
        migrate_tests::lint_agrees(&found, run, &said, &mut tally);
    }
    // The generator reaches both sides.
    let (certain, failed) = tally;
    assert!(
        certain > 5 && failed > certain / 2,
        "{certain} certain, {failed} failed"
    );
}

/// A UNIQUE index fails on duplicates however it is made: a statement with
/// a collation, an order or a partial condition (only the rows it covers
/// count), or an index set (`.indexes`), whose index already held is not
/// made again.
#[test]
fn unique_indexes_every_way_they_are_made() {
    let db = Applied::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER);",
        "INSERT INTO t (a, b) VALUES ('x', 1), ('X', -1), ('y', 1);",
    );
    let certain = |text: &str| {
        db.lint(text)
            .iter()
            .find(|f| f.rule == "new-unique-index")
            .map(|f| f.fails_on_data)
    };
    assert_eq!(certain("CREATE UNIQUE INDEX u ON t (a);"), Some(false));
    assert_eq!(
        certain("CREATE UNIQUE INDEX u ON t (a COLLATE NOCASE DESC);"),
        Some(true)
    );
    assert_eq!(
        certain("CREATE UNIQUE INDEX u ON t (lower(a));"),
        Some(true)
    );
    assert_eq!(certain("CREATE UNIQUE INDEX u ON t (b);"), Some(true));
    assert_eq!(
        certain("CREATE UNIQUE INDEX u ON t (b) WHERE b > 0 AND (a >= 'y');"),
        Some(false)
    );
    assert_eq!(
        certain("CREATE UNIQUE INDEX u ON t (b) WHERE a <> 'y';"),
        Some(false)
    );
    assert_eq!(
        certain("CREATE UNIQUE INDEX u ON t (b) WHERE b >= 0;"),
        Some(true)
    );
    // Other spellings: quotes, no spaces, a schema on the index's name.
    assert_eq!(
        certain(
            "CREATE UNIQUE INDEX IF NOT EXISTS main.u ON t(\"a\" COLLATE \"NOCASE\" ASC)WHERE a IS NOT NULL;"
        ),
        Some(true)
    );
    assert_eq!(
        certain("create unique index u on t(b)where b>=0"),
        Some(true)
    );
    assert_eq!(
        certain("CREATE UNIQUE INDEX u ON t ([b]) WHERE b<0;"),
        Some(false)
    );
    // An index set.
    db.f.write("0002_linted.sql", "SELECT 1;");
    db.f.write(
        "0003_u.indexes",
        "index t_a on t (a)\nunique index t_b on t (b)\n",
    );
    let found = migrate_core::lint::lint_with(&db.f.set(), |m| m.version == 3, Some(&db.data));
    assert!(
        found.len() == 1
            && found[0].rule == "new-unique-index"
            && found[0].line == 2
            && found[0].fails_on_data,
        "{found:#?}"
    );
    db.f.write("0003_u.indexes", "unique index t_b on t (b) where b < 0\n");
    let found = migrate_core::lint::lint_with(&db.f.set(), |m| m.version == 3, Some(&db.data));
    assert!(found.len() == 1 && !found[0].fails_on_data, "{found:#?}");
}
