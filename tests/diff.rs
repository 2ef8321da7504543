//! `diff`: the migration from the schema you have to the schema you want,
//! written, then applied by the real runner to a real file with rows in it.
//! Each case that a peer's generator gets wrong is a test of its own; the
//! property test below runs seeded schema pairs through the whole round.

use migrate_core::diff::{Diff, Options, Side, diff};
use migrate_core::rusqlite::Connection;
use migrate_tests::{Fixture, column};

/// The diff from `from` to `to` (schema files' text).
fn between(from: &str, to: &str) -> Diff {
    diff(
        &Side::Sql { text: from },
        &Side::Sql { text: to },
        &Options::default(),
    )
    .unwrap_or_else(|e| panic!("diff failed: {e}\nfrom:\n{from}\nto:\n{to}"))
}

/// Why a diff from nothing to the schema file `to` is refused.
fn refused(to: &str) -> String {
    match diff(
        &Side::Sql { text: "" },
        &Side::Sql { text: to },
        &Options::default(),
    ) {
        Ok(d) => panic!("diff to {to:?} was made: {d:?}"),
        Err(e) => e.to_string(),
    }
}

/// A database made by `source` (the first migration), with `rows` run
/// after it (the second), and the diff to `target` written as the third
/// migration and its down; returns the fixture (not yet migrated to the
/// target) and the diff.
struct Round {
    f: Fixture,
    d: Diff,
}

impl Round {
    fn new(source: &str, rows: &str, target: &str) -> Round {
        Round::with(&[], source, rows, target)
    }

    /// [`Round::new`], with more files in the folder from the start.
    fn with(files: &[(&str, &str)], source: &str, rows: &str, target: &str) -> Round {
        let f = Fixture::new(&[("0001_source.sql", source), ("0002_rows.sql", rows)]);
        for (name, text) in files {
            f.write(name, text);
        }
        let set = f.set();
        let mut conn = Connection::open(f.db()).unwrap();
        set.runner().run(&mut conn).unwrap();
        let d = diff(
            &Side::Set(&set),
            &Side::Sql { text: target },
            &Options::default(),
        )
        .unwrap_or_else(|e| panic!("diff failed: {e}"));
        Round { f, d }
    }

    /// Writes the diff as migration 3 and applies it.
    fn up(&self) -> Connection {
        self.f.write("0003_diff.sql", &self.d.up);
        self.f.write("0003_diff.down.sql", &self.d.down);
        let mut conn = Connection::open(self.f.db()).unwrap();
        self.f
            .set()
            .runner()
            .run(&mut conn)
            .unwrap_or_else(|e| panic!("up failed: {e}\n{}", self.d.up));
        conn
    }

    /// The live database against `target`: empty when they are the same.
    fn left(&self, conn: &Connection, target: &str) -> String {
        diff(
            &Side::Database(conn),
            &Side::Sql { text: target },
            &Options::default(),
        )
        .unwrap()
        .up
    }
}

fn fk_violations(conn: &Connection) -> Vec<String> {
    column(
        conn,
        "SELECT \"table\" || ':' || rowid FROM pragma_foreign_key_check",
    )
}

#[test]
fn the_same_schema_spelled_differently_is_no_change() {
    let a =
        "CREATE TABLE t (id INTEGER PRIMARY KEY, c INT, g AS (c + 1));\nCREATE INDEX i ON t (c);";
    let b = "create table \"t\" (\n  \"id\" integer primary key,\n  c int,\n  g as (c+1) virtual\n);\ncreate index \"i\" on t(c);";
    assert!(between(a, b).is_empty(), "{:?}", between(a, b));
    assert!(between(b, a).is_empty());
}

#[test]
fn a_column_alter_can_add_is_added_in_place() {
    let from = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);";
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT NOT NULL DEFAULT 'x');";
    let d = between(from, to);
    assert_eq!(
        d.up,
        "ALTER TABLE \"t\" ADD COLUMN b TEXT NOT NULL DEFAULT 'x';\n"
    );
    assert!(d.rebuilt.is_empty());
    assert_eq!(d.down.matches("DROP COLUMN").count(), 1, "{}", d.down);
}

/// sqldef writes `ADD COLUMN … NOT NULL` with no default, which SQLite
/// refuses; here a rebuild copies the rows, and a table holding rows gets
/// a migration that fails on them rather than a wrong one.
#[test]
fn a_not_null_column_without_default_is_a_rebuild() {
    let from = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);";
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT NOT NULL);";
    let d = between(from, to);
    assert_eq!(d.rebuilt, ["t"]);
    let r = Round::new(from, "SELECT 1;", to);
    let conn = r.up();
    assert_eq!(r.left(&conn, to), "");
}

/// Drizzle's rebuild ran `PRAGMA foreign_keys=OFF` inside its transaction,
/// where SQLite ignores it, so dropping the old parent deleted every child
/// through ON DELETE CASCADE. Here the children stay, also when the app's
/// pragma set turns foreign keys on.
#[test]
fn a_rebuild_keeps_cascading_children() {
    let from = "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\n\
                CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);";
    let rows = "INSERT INTO parent VALUES (1, 'a'), (2, 'b');\nINSERT INTO child VALUES (10, 1), (11, 2), (12, 2);";
    let to = "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\
              CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);";
    let r = Round::with(
        &[("0000_app.pragmas", "foreign_keys = on\n")],
        from,
        rows,
        to,
    );
    assert_eq!(r.d.rebuilt, ["parent"]);
    let conn = r.up();
    assert_eq!(column(&conn, "SELECT count(*) FROM child"), ["3"]);
    assert_eq!(column(&conn, "SELECT count(*) FROM parent"), ["2"]);
    assert!(fk_violations(&conn).is_empty());
    assert_eq!(r.left(&conn, to), "");
}

/// Atlas did not make a table's triggers again after a column change.
#[test]
fn a_rebuild_makes_the_tables_triggers_again() {
    let from = "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);\n\
                CREATE TABLE log (what TEXT);\n\
                CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('t ' || new.n); END;";
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT);\n\
              CREATE TABLE log (what TEXT);\n\
              CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('t ' || new.n); END;";
    let r = Round::new(from, "INSERT INTO t VALUES (1, 5);", to);
    assert_eq!(r.d.rebuilt, ["t"]);
    let conn = r.up();
    conn.execute("INSERT INTO t VALUES (2, 'x')", []).unwrap();
    assert_eq!(
        column(&conn, "SELECT what FROM log ORDER BY rowid"),
        ["t 5", "t x"]
    );
    assert_eq!(r.left(&conn, to), "");
}

/// Atlas made indexes again on every diff; here an index is only made when
/// it, or its table's rebuild, asks for it.
#[test]
fn an_unchanged_index_is_left_alone() {
    let from = "CREATE TABLE a (id INTEGER PRIMARY KEY, x INT);\nCREATE INDEX a_x ON a (x);\n\
                CREATE TABLE b (id INTEGER PRIMARY KEY, y INT);";
    let to = "CREATE TABLE a (id INTEGER PRIMARY KEY, x INT);\nCREATE INDEX a_x ON a (x);\n\
              CREATE TABLE b (id INTEGER PRIMARY KEY, y INT, z INT);";
    let d = between(from, to);
    assert!(!d.up.contains("a_x"), "{}", d.up);
    assert!(!d.down.contains("a_x"), "{}", d.down);
}

/// Prisma could not change a table a view uses.
#[test]
fn a_table_a_view_uses_is_changed_and_the_view_made_again() {
    let from = "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);\n\
                CREATE VIEW big AS SELECT id FROM t WHERE n > 10;\n\
                CREATE VIEW bigger AS SELECT id FROM big WHERE id > 1;";
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);\n\
              CREATE VIEW big AS SELECT id FROM t WHERE n > 10;\n\
              CREATE VIEW bigger AS SELECT id FROM big WHERE id > 1;";
    let r = Round::new(from, "INSERT INTO t VALUES (1, 20), (2, 30), (3, 1);", to);
    let conn = r.up();
    assert_eq!(column(&conn, "SELECT id FROM bigger"), ["2"]);
    assert_eq!(r.left(&conn, to), "");
}

/// sqldef skipped CHECK changes.
#[test]
fn a_check_change_is_made() {
    let from = "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER CHECK (n > 0));";
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER CHECK (n > 1));";
    let r = Round::new(from, "INSERT INTO t VALUES (1, 5);", to);
    assert_eq!(r.d.rebuilt, ["t"]);
    let conn = r.up();
    assert!(conn.execute("INSERT INTO t VALUES (2, 1)", []).is_err());
    assert_eq!(r.left(&conn, to), "");
}

#[test]
fn autoincrement_keeps_its_counter_through_a_rebuild() {
    let from = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER);";
    let rows = "INSERT INTO t (n) VALUES (1), (2), (3);\nDELETE FROM t WHERE id = 3;";
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL);";
    let r = Round::new(from, rows, to);
    let conn = r.up();
    conn.execute("INSERT INTO t (n) VALUES (9)", []).unwrap();
    assert_eq!(
        column(&conn, "SELECT max(id) FROM t"),
        ["4"],
        "id 3 is not given out again"
    );
}

#[test]
fn renames_are_stated_not_guessed() {
    let from = "CREATE TABLE people (id INTEGER PRIMARY KEY, mail TEXT);";
    let to = "CREATE TABLE members ( -- migrate:renamed-from people\n  id INTEGER PRIMARY KEY,\n  email TEXT -- migrate:renamed-from mail\n);";
    let r = Round::new(from, "INSERT INTO people VALUES (1, 'a@b');", to);
    assert!(r.d.up.contains("RENAME TO \"members\""), "{}", r.d.up);
    assert!(
        r.d.up.contains("RENAME COLUMN \"mail\" TO \"email\""),
        "{}",
        r.d.up
    );
    assert!(r.d.rebuilt.is_empty());
    let conn = r.up();
    assert_eq!(column(&conn, "SELECT email FROM members"), ["a@b"]);
    // The schema file can keep its directives: the rename is done.
    assert_eq!(r.left(&conn, to), "");
    // Without them a rename is a drop and a create, and says what it loses.
    let plain = "CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT);";
    let d = between(from, plain);
    assert!(
        d.losses.iter().any(|l| l.contains("people")),
        "{:?}",
        d.losses
    );
}

#[test]
fn the_down_goes_back_and_says_what_it_cannot_restore() {
    let from = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);";
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);";
    let r = Round::new(from, "INSERT INTO t VALUES (1, 'x', 'y');", to);
    assert!(
        r.d.losses.iter().any(|l| l.contains("\"b\"")),
        "{:?}",
        r.d.losses
    );
    assert!(r.d.up.contains("-- drops the column \"b\""), "{}", r.d.up);
    assert!(r.d.down.contains("not restored"), "{}", r.d.down);
    let conn = r.up();
    drop(conn);
    let mut conn = Connection::open(r.f.db()).unwrap();
    r.f.set()
        .runner()
        .down(&mut conn, migrate_core::DownTarget::Steps(1))
        .unwrap();
    assert_eq!(r.left(&conn, from), "");
    assert_eq!(column(&conn, "SELECT a FROM t"), ["x"]);
}

#[test]
fn a_bad_schema_file_is_named_by_line() {
    let e = refused("CREATE TABLE a (id INTEGER);\n\nCREATE INDEX i ON nowhere (x);");
    assert!(
        e.to_string()
            .starts_with("line 3: no such table: main.nowhere"),
        "{e}"
    );
    let e = refused("CREATE TABLE a (id);\nINSERT INTO a VALUES (1);");
    assert!(
        e.to_string()
            .starts_with("line 2: a schema file holds CREATE statements"),
        "{e}"
    );
}

#[test]
fn a_temp_object_is_no_part_of_a_schema() {
    let e = refused("CREATE TABLE a (id);\nCREATE TEMP TABLE scratch (x);");
    assert!(
        e.to_string()
            .starts_with("line 2: `CREATE TEMP TABLE scratch (x);` makes a TEMP object"),
        "{e}"
    );
}

/// What SQLite makes a TEMP object, however it is spelled.
#[test]
fn every_spelling_of_a_temp_object_is_refused() {
    for (text, line) in [
        ("CREATE TABLE a (id);\nCREATE TABLE temp.scratch (x);", 2),
        ("CREATE TEMPORARY VIEW v AS SELECT 1;", 1),
        (
            "CREATE TABLE a (id);\n\ncreate temp trigger tr after insert on a begin select 1; end;",
            3,
        ),
        ("CREATE TABLE \"temp\".\"t\" (x);", 1),
    ] {
        let e = refused(text);
        assert!(
            e.to_string().starts_with(&format!("line {line}: `"))
                && e.to_string().contains("TEMP object"),
            "{text}: {e}"
        );
    }
    // A table merely named like it is no temp object.
    let d = between("", "CREATE TABLE \"temp_x\" (id);");
    assert!(d.up.contains("temp_x"));
}

#[test]
fn a_schema_file_may_be_in_any_order() {
    let to = "CREATE VIEW v AS SELECT id FROM t;\nCREATE INDEX i ON t (id);\nCREATE TABLE t (id INTEGER PRIMARY KEY);";
    let d = between("", to);
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(&d.up).unwrap();
    assert_eq!(column(&conn, "SELECT count(*) FROM v"), ["0"]);
}

/// A generated schema: tables with typed columns, NOT NULL with defaults,
/// CHECKs, collations, generated columns, foreign keys (CASCADE, SET NULL,
/// self-references), STRICT, WITHOUT ROWID, AUTOINCREMENT, plain, partial
/// and expression indexes, a logging trigger, views and a view on a view.
#[derive(Debug, Clone)]
struct GenSchema {
    tables: Vec<GenTable>,
    /// Views over tables (by name): `(view, table)`; `table` may be a view.
    views: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct GenTable {
    name: String,
    columns: Vec<GenColumn>,
    strict: bool,
    without_rowid: bool,
    autoincrement: bool,
    /// `(name, column, partial, on an expression)`.
    indexes: Vec<(String, String, bool, bool)>,
    trigger: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct GenColumn {
    name: String,
    ty: &'static str,
    not_null: bool,
    default: bool,
    check: bool,
    nocase: bool,
    /// A generated column over this table's `id`: stored or not.
    generated: Option<bool>,
    /// `(parent table, ON DELETE action)`.
    references: Option<(String, &'static str)>,
}

impl GenColumn {
    fn random(rng: &mut migrate_tests::Rng, name: String, parents: &[String]) -> GenColumn {
        let ty = ["INTEGER", "REAL", "TEXT"][rng.below(3)];
        let references = (rng.below(4) == 0 && !parents.is_empty()).then(|| {
            (
                parents[rng.below(parents.len())].clone(),
                ["CASCADE", "SET NULL", "NO ACTION"][rng.below(3)],
            )
        });
        let generated = (references.is_none() && rng.below(6) == 0).then(|| rng.below(2) == 0);
        let plain = generated.is_none() && references.is_none();
        GenColumn {
            name,
            ty: if references.is_some() || generated.is_some() {
                "INTEGER"
            } else {
                ty
            },
            not_null: plain && rng.below(3) == 0,
            default: plain && rng.below(2) == 0,
            check: plain && rng.below(4) == 0,
            nocase: plain && ty == "TEXT" && rng.below(3) == 0,
            generated,
            references,
        }
    }

    fn default_value(&self) -> &'static str {
        match self.ty {
            "INTEGER" => "7",
            "REAL" => "1.5",
            _ => "'d'",
        }
    }

    fn sql(&self) -> String {
        let mut s = format!("{} {}", self.name, self.ty);
        if let Some(stored) = self.generated {
            s.push_str(&format!(
                " AS (id * 2) {}",
                if stored { "STORED" } else { "VIRTUAL" }
            ));
            return s;
        }
        if self.not_null {
            s.push_str(" NOT NULL");
        }
        if self.default || self.not_null {
            s.push_str(&format!(" DEFAULT {}", self.default_value()));
        }
        if self.check {
            s.push_str(&match self.ty {
                "TEXT" => format!(" CHECK (length({}) > 0)", self.name),
                _ => format!(" CHECK ({} > 0)", self.name),
            });
        }
        if self.nocase {
            s.push_str(" COLLATE NOCASE");
        }
        if let Some((parent, action)) = &self.references {
            s.push_str(&format!(" REFERENCES {parent}(id) ON DELETE {action}"));
        }
        s
    }

    /// A value for row `id` that every constraint of this generator accepts.
    fn value(&self, id: usize) -> String {
        if self.references.is_some() {
            return "1".into();
        }
        match self.ty {
            "INTEGER" => format!("{}", id * 10 + 1),
            "REAL" => format!("{}.25", id),
            _ => format!("'v{id}'"),
        }
    }
}

impl GenTable {
    fn sql(&self) -> String {
        let mut parts = vec![format!(
            "id INTEGER PRIMARY KEY{}",
            if self.autoincrement {
                " AUTOINCREMENT"
            } else {
                ""
            }
        )];
        parts.extend(self.columns.iter().map(GenColumn::sql));
        let mut options = Vec::new();
        if self.strict {
            options.push("STRICT");
        }
        if self.without_rowid {
            options.push("WITHOUT ROWID");
        }
        let mut s = format!(
            "CREATE TABLE {} (\n  {}\n){};\n",
            self.name,
            parts.join(",\n  "),
            options.join(", ")
        );
        for (name, column, partial, expression) in &self.indexes {
            let key = if *expression {
                format!("(coalesce({column}, 0))")
            } else {
                column.clone()
            };
            let cond = if *partial {
                format!(" WHERE {column} IS NOT NULL")
            } else {
                String::new()
            };
            s.push_str(&format!(
                "CREATE INDEX {name} ON {} ({key}){cond};\n",
                self.name
            ));
        }
        if self.trigger {
            s.push_str(&format!(
                "CREATE TRIGGER {0}_log AFTER INSERT ON {0} BEGIN INSERT INTO log VALUES ('{0} ' || new.id); END;\n",
                self.name
            ));
        }
        s
    }

    fn plain_columns(&self) -> impl Iterator<Item = &GenColumn> {
        self.columns.iter().filter(|c| c.generated.is_none())
    }
}

impl GenSchema {
    fn random(rng: &mut migrate_tests::Rng) -> GenSchema {
        let mut tables: Vec<GenTable> = Vec::new();
        for t in 0..3 + rng.below(4) {
            let name = format!("t{t}");
            let mut parents: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
            parents.push(name.clone());
            let columns: Vec<GenColumn> = (0..1 + rng.below(4))
                .map(|c| GenColumn::random(rng, format!("c{c}"), &parents))
                .collect();
            let strict = rng.below(5) == 0;
            let autoincrement = rng.below(5) == 0;
            let mut table = GenTable {
                name,
                columns,
                strict,
                without_rowid: !autoincrement && rng.below(5) == 0,
                autoincrement,
                indexes: Vec::new(),
                trigger: rng.below(3) == 0,
            };
            if rng.below(2) == 0 {
                let column = table.columns[rng.below(table.columns.len())].name.clone();
                table.indexes.push((
                    format!("{}_i{}", table.name, rng.below(100)),
                    column,
                    rng.below(2) == 0,
                    rng.below(3) == 0,
                ));
            }
            tables.push(table);
        }
        let mut views = Vec::new();
        if rng.below(2) == 0 {
            let over = tables[rng.below(tables.len())].name.clone();
            views.push(("v0".to_owned(), over));
            if rng.below(2) == 0 {
                views.push(("v1".to_owned(), "v0".to_owned()));
            }
        }
        GenSchema { tables, views }
    }

    fn sql(&self) -> String {
        let mut s = String::from("CREATE TABLE log (what TEXT);\n");
        for t in &self.tables {
            s.push_str(&t.sql());
        }
        for (view, over) in &self.views {
            s.push_str(&format!(
                "CREATE VIEW {view} AS SELECT id FROM {over} WHERE id > 0;\n"
            ));
        }
        s
    }

    /// Three rows in every table, parents first.
    fn rows(&self) -> String {
        let mut s = String::new();
        for t in &self.tables {
            for id in 1..=3 {
                let mut names = vec!["id".to_owned()];
                let mut values = vec![id.to_string()];
                for c in t.plain_columns() {
                    names.push(c.name.clone());
                    values.push(c.value(id));
                }
                s.push_str(&format!(
                    "INSERT INTO {} ({}) VALUES ({});\n",
                    t.name,
                    names.join(", "),
                    values.join(", ")
                ));
            }
        }
        s
    }

    fn referenced(&self, table: &str) -> bool {
        self.tables.iter().any(|t| {
            t.name != table
                && t.columns
                    .iter()
                    .any(|c| c.references.as_ref().is_some_and(|(p, _)| p == table))
        }) || self.views.iter().any(|(_, over)| over == table)
    }

    /// One change; `true` when `ALTER TABLE` can make it in place.
    fn mutate(&mut self, rng: &mut migrate_tests::Rng) -> (String, bool) {
        let ti = rng.below(self.tables.len());
        let parents: Vec<String> = self.tables.iter().map(|t| t.name.clone()).collect();
        let t = &mut self.tables[ti];
        let used = |t: &GenTable, c: &str| t.indexes.iter().any(|i| i.1 == c);
        match rng.below(14) {
            0 => {
                let name = format!("n{}", rng.below(1000));
                let mut c = GenColumn::random(rng, name, &parents);
                c.not_null = false;
                c.check = false;
                // STORED columns and REFERENCES with a default go in place
                // only on an empty table.
                let alter = c.generated != Some(true) && !(c.references.is_some() && c.default);
                t.columns.push(c);
                (format!("{}: column added", t.name), alter)
            }
            1 => {
                let i = rng.below(t.columns.len());
                let c = t.columns[i].clone();
                if t.columns.len() > 1 && !used(t, &c.name) {
                    t.columns.remove(i);
                    let alter = c.references.is_none() && c.generated.is_none() && !c.check;
                    return (format!("{}: column {} dropped", t.name, c.name), alter);
                }
                (String::from("nothing"), true)
            }
            2 => {
                let at = rng.below(t.columns.len());
                let c = &mut t.columns[at];
                if c.generated.is_none() && c.references.is_none() {
                    c.ty = match c.ty {
                        "INTEGER" => "REAL",
                        "REAL" => "TEXT",
                        _ => "TEXT",
                    };
                    c.nocase &= c.ty == "TEXT";
                }
                (format!("{}: a column's type", t.name), false)
            }
            3 => {
                if let Some(c) = plain_column(t, rng) {
                    c.not_null = !c.not_null;
                }
                (format!("{}: NOT NULL", t.name), false)
            }
            4 => {
                if let Some(c) = plain_column(t, rng) {
                    c.default = !c.default;
                }
                (format!("{}: a default", t.name), false)
            }
            5 => {
                if let Some(c) = plain_column(t, rng) {
                    c.check = !c.check;
                }
                (format!("{}: a CHECK", t.name), false)
            }
            6 => {
                let at = rng.below(t.columns.len());
                let c = &mut t.columns[at];
                if c.ty == "TEXT" && c.generated.is_none() {
                    c.nocase = !c.nocase;
                }
                (format!("{}: a collation", t.name), false)
            }
            7 => {
                t.strict = !t.strict;
                (format!("{}: STRICT", t.name), false)
            }
            8 => {
                if !t.autoincrement {
                    t.without_rowid = !t.without_rowid;
                }
                (format!("{}: WITHOUT ROWID", t.name), false)
            }
            9 => {
                if t.columns.len() > 1 {
                    t.columns.swap(0, 1);
                }
                (format!("{}: column order", t.name), false)
            }
            10 => {
                if t.indexes.is_empty() {
                    let column = t.columns[0].name.clone();
                    t.indexes
                        .push((format!("{}_x", t.name), column, false, false));
                } else {
                    t.indexes[0].2 = !t.indexes[0].2;
                }
                (format!("{}: an index", t.name), true)
            }
            11 => {
                t.trigger = !t.trigger;
                (format!("{}: its trigger", t.name), true)
            }
            12 => {
                let name = t.name.clone();
                if ti > 0 && ti == self.tables.len() - 1 && !self.referenced(&name) {
                    self.tables.remove(ti);
                    return (format!("{name} dropped"), true);
                }
                // A name no table had: a table dropped and one added under
                // its name would be one table changed.
                let n = 10 + self.tables.len() + rng.below(1000);
                let columns = vec![GenColumn::random(rng, "c0".into(), &parents)];
                self.tables.push(GenTable {
                    name: format!("t{n}"),
                    columns,
                    strict: false,
                    without_rowid: false,
                    autoincrement: false,
                    indexes: Vec::new(),
                    trigger: false,
                });
                (format!("t{n} added"), true)
            }
            _ => {
                if self.views.is_empty() {
                    let over = self.tables[0].name.clone();
                    self.views.push(("v0".into(), over));
                } else if self.views.len() == 1 {
                    self.views.clear();
                }
                ("a view".into(), true)
            }
        }
    }
}

/// A column of `t` chosen by `rng`, when it is a plain one (neither
/// generated nor a foreign key), for a change of its own properties.
fn plain_column<'t>(
    t: &'t mut GenTable,
    rng: &mut migrate_tests::Rng,
) -> Option<&'t mut GenColumn> {
    let at = rng.below(t.columns.len());
    Some(&mut t.columns[at]).filter(|c| c.generated.is_none() && c.references.is_none())
}

/// Every column of every table, each value quoted, in row order: what a
/// migration must keep.
fn contents(conn: &Connection, schema: &GenSchema, kept: &GenSchema) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in &schema.tables {
        let Some(other) = kept.tables.iter().find(|k| k.name == t.name) else {
            continue;
        };
        for c in t.plain_columns() {
            // Kept, with the same type: the values must be the same.
            if !other
                .plain_columns()
                .any(|k| k.name == c.name && k.ty == c.ty)
            {
                continue;
            }
            let values = column(
                conn,
                &format!(
                    "SELECT group_concat(quote({}), ',') FROM (SELECT {} FROM {} ORDER BY id)",
                    c.name, c.name, t.name
                ),
            );
            out.push((format!("{}.{}", t.name, c.name), values.join("")));
        }
        let rows = column(conn, &format!("SELECT count(*) FROM {}", t.name));
        out.push((format!("{} rows", t.name), rows.join("")));
    }
    out
}

/// Seeded pairs of schemas, several changes at once: for each, rows are
/// seeded, the diff is written and applied by the runner (with a pragma
/// set that turns foreign keys on), then the schema is the target's, no
/// kept value changed, no foreign key is broken, triggers fire, views
/// select, the diff again is empty, the down gives the source back, and a
/// change ALTER can make rebuilt nothing. `MIGRATE_TEST_SEED` picks the
/// seed; the seed and both schemas are printed on failure.
#[test]
fn generated_schema_pairs_round_trip() {
    let seed: u64 = std::env::var("MIGRATE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00d1_ff5e);
    let mut rng = migrate_tests::Rng(seed);
    let mut rebuilds = 0;
    let mut altered_only = 0;
    for pair in 0..40 {
        let source = GenSchema::random(&mut rng);
        let mut target = source.clone();
        let mut changes = Vec::new();
        let mut alter = true;
        for _ in 0..1 + rng.below(3) {
            let (what, in_place) = target.mutate(&mut rng);
            changes.push(what);
            alter &= in_place;
        }
        let (s, t) = (source.sql(), target.sql());
        let context =
            format!("seed {seed}, pair {pair}, changes {changes:?}\nsource:\n{s}\ntarget:\n{t}");
        // A target SQLite refuses is the generator's, not the diff's.
        if Connection::open_in_memory()
            .unwrap()
            .execute_batch(&t)
            .is_err()
        {
            continue;
        }
        let r = std::panic::catch_unwind(|| {
            Round::with(
                &[("0000_app.pragmas", "foreign_keys = on\n")],
                &s,
                &source.rows(),
                &t,
            )
        })
        .unwrap_or_else(|_| panic!("{context}"));
        if r.d.is_empty() {
            // Nothing changed that the database can tell: the right answer.
            assert_eq!(r.d.down, "", "{context}");
            continue;
        }
        if alter {
            assert!(
                r.d.rebuilt.is_empty(),
                "{context}\nrebuilt {:?}:\n{}",
                r.d.rebuilt,
                r.d.up
            );
            altered_only += 1;
        }
        rebuilds += r.d.rebuilt.len();
        let before = contents(&Connection::open(r.f.db()).unwrap(), &source, &target);
        r.f.write("0003_diff.sql", &r.d.up);
        r.f.write("0003_diff.down.sql", &r.d.down);
        let conn =
            r.f.set()
                .open(r.f.db())
                .unwrap_or_else(|e| panic!("{context}\nup failed: {e}\n{}", r.d.up));
        assert_eq!(r.left(&conn, &t), "", "{context}\nup:\n{}", r.d.up);
        assert_eq!(
            contents(&conn, &source, &target),
            before,
            "{context}\nup:\n{}",
            r.d.up
        );
        assert!(fk_violations(&conn).is_empty(), "{context}");
        for table in target.tables.iter().filter(|t| t.trigger) {
            let logged = |c: &Connection| column(c, "SELECT count(*) FROM log");
            let n = logged(&conn);
            conn.execute_batch(&format!("INSERT INTO {} (id) VALUES (100)", table.name))
                .ok();
            if column(
                &conn,
                &format!("SELECT count(*) FROM {} WHERE id = 100", table.name),
            ) == ["1"]
            {
                assert_ne!(logged(&conn), n, "{context}\n{} did not log", table.name);
                conn.execute_batch(&format!("DELETE FROM {} WHERE id = 100", table.name))
                    .unwrap();
            }
        }
        for (view, _) in &target.views {
            column(&conn, &format!("SELECT count(*) FROM {view}"));
        }
        drop(conn);
        let mut conn = Connection::open(r.f.db()).unwrap();
        r.f.set()
            .runner()
            .down(&mut conn, migrate_core::DownTarget::Steps(1))
            .unwrap_or_else(|e| panic!("{context}\ndown failed: {e}\n{}", r.d.down));
        assert_eq!(r.left(&conn, &s), "", "{context}\ndown:\n{}", r.d.down);
        assert!(fk_violations(&conn).is_empty(), "{context}");
        // The rows the source had, in the columns both sides keep alike.
        assert_eq!(
            contents(&conn, &source, &target),
            before,
            "{context}\ndown:\n{}",
            r.d.down
        );
    }
    assert!(
        rebuilds > 10 && altered_only > 0,
        "{rebuilds} rebuilds, {altered_only} in place"
    );
}

/// The problems the up migration from `from` to `to` would meet on a
/// database made by `from` and then `rows`.
fn data_problems(from: &str, rows: &str, to: &str) -> Vec<migrate_core::diff::DataProblem> {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(from).unwrap();
    conn.execute_batch(rows).unwrap();
    let d = diff(
        &Side::Database(&conn),
        &Side::Sql { text: to },
        &Options::default(),
    )
    .unwrap();
    // The same, asked of a folder-to-schema diff with the database as data.
    let again = migrate_core::diff::check_data(
        &Side::Sql { text: from },
        &Side::Sql { text: to },
        &Options::default(),
        &conn,
    )
    .unwrap();
    assert_eq!(d.data, again);
    d.data
}

fn says(problems: &[migrate_core::diff::DataProblem], fails: bool, text: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.fails == fails && p.message.contains(text)),
        "no {} problem saying {text:?} in {problems:#?}",
        if fails { "failing" } else { "warning" }
    );
}

#[test]
fn the_rows_a_change_would_fail_on_are_named() {
    let p = data_problems(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);",
        "INSERT INTO t VALUES (1, NULL), (2, 'x'), (3, NULL);",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL);",
    );
    says(
        &p,
        true,
        "\"a\" becomes NOT NULL, and 2 rows of \"t\" hold NULL in \"a\" (first: 1, 3)",
    );
    let p = data_problems(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);",
        "INSERT INTO t VALUES (1, 'x'), (2, 'x'), (3, 'y');",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT UNIQUE);",
    );
    says(
        &p,
        true,
        "(a) becomes UNIQUE, and 1 values of it are held by more than one row",
    );
    let p = data_problems(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);",
        "INSERT INTO t VALUES (1, 5), (2, -1);",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER CHECK (n >= 0));",
    );
    says(
        &p,
        true,
        "1 rows of \"t\" break the new CHECK (n >= 0) (first: 2)",
    );
    let p = data_problems(
        "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER);",
        "INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (10, 1), (11, 2);",
        "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id));",
    );
    says(
        &p,
        true,
        "1 rows of \"c\" name a \"p\" row that is not there (p_id) (first: 11)",
    );
    let p = data_problems(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);",
        "INSERT INTO t VALUES (1, 'abc'), (2, '12');",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER) STRICT;",
    );
    says(
        &p,
        true,
        "1 values of \"t\".\"a\" do not fit \"a\" INTEGER STRICT (first: 'abc')",
    );
    let p = data_problems(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);",
        "INSERT INTO t VALUES (1, 'abc'), (2, '12');",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER);",
    );
    says(
        &p,
        false,
        "1 values of \"t\".\"a\" are stored differently as \"a\" INTEGER (first: '12' becomes 12)",
    );
}

#[test]
fn what_a_change_loses_is_counted() {
    let p = data_problems(
        "CREATE TABLE gone (id INTEGER PRIMARY KEY);\nCREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);",
        "INSERT INTO gone VALUES (1), (2);\nINSERT INTO t VALUES (1, 'x', NULL), (2, 'y', 'z');",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT);",
    );
    says(&p, false, "drops \"gone\" with its 2 rows");
    says(
        &p,
        false,
        "drops the column \"a\" of \"t\", which holds 2 values",
    );
    // Nothing to lose, nothing said.
    let p = data_problems(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);",
        "INSERT INTO t VALUES (1, NULL);",
        "CREATE TABLE t (id INTEGER PRIMARY KEY);",
    );
    assert!(p.is_empty(), "{p:#?}");
}

/// FTS5 and R*Tree tables are compared by their declaration and made
/// again whole; their shadow tables, `sqlite_sequence`, `sqlite_stat1`
/// and the history table are never part of a diff.
#[test]
fn virtual_and_internal_tables() {
    let from = "CREATE VIRTUAL TABLE docs USING fts5(title, body);\n\
                CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1);\n\
                CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INT);\nCREATE INDEX t_n ON t (n);";
    let r = Round::new(
        from,
        "INSERT INTO docs VALUES ('a', 'b');\nINSERT INTO t (n) VALUES (1);\nANALYZE;",
        from,
    );
    assert!(r.d.is_empty(), "{}", r.d.up);
    let conn = Connection::open(r.f.db()).unwrap();
    assert_eq!(
        column(&conn, "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 't'"),
        ["1"]
    );
    // The database itself, history and statistics and all, is the schema.
    assert_eq!(r.left(&conn, from), "");
    let to = from.replace("fts5(title, body)", "fts5(title, body, tags)");
    let d = between(from, &to);
    assert!(d.up.contains("DROP TABLE \"docs\""), "{}", d.up);
    assert!(d.up.contains("USING fts5(title, body, tags)"), "{}", d.up);
    assert!(
        !d.up.contains("docs_data") && !d.up.contains("docs_idx"),
        "{}",
        d.up
    );
    assert!(
        d.losses.iter().any(|l| l.contains("docs")),
        "{:?}",
        d.losses
    );
    assert!(!d.up.contains("boxes"), "{}", d.up);
}

/// The indexes of applied index sets are part of the source: a target
/// that leaves them out keeps them, and says so, unless asked.
#[test]
fn index_sets_stay_what_they_are() {
    let f = Fixture::new(&[
        (
            "0001_t.sql",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);",
        ),
        ("0002_hot.indexes", "index on t (a)\n"),
    ]);
    let set = f.set();
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);";
    let d = diff(
        &Side::Set(&set),
        &Side::Sql { text: to },
        &Options::default(),
    )
    .unwrap();
    assert!(d.is_empty(), "{}", d.up);
    assert_eq!(d.kept_indexes, ["idx_t_a"]);
    let drop = Options {
        drop_set_indexes: true,
        ..Options::default()
    };
    let d = diff(&Side::Set(&set), &Side::Sql { text: to }, &drop).unwrap();
    assert_eq!(d.up, "DROP INDEX \"idx_t_a\";\n");
    // A rebuild of the table makes the set's index again, kept.
    let to = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT);";
    let d = diff(
        &Side::Set(&set),
        &Side::Sql { text: to },
        &Options::default(),
    )
    .unwrap();
    assert_eq!(d.rebuilt, ["t"]);
    assert!(d.up.contains("idx_t_a"), "{}", d.up);
}

/// Names SQLite needs quoted: keywords, spaces, quotes inside.
#[test]
fn names_that_need_quotes() {
    let from = "CREATE TABLE \"order\" (id INTEGER PRIMARY KEY, \"my col\" TEXT, \"we\"\"ird\" INT, \"old name\" TEXT);\n\
                CREATE INDEX \"order by\" ON \"order\" (\"my col\");";
    let to = "CREATE TABLE \"order\" (\n  id INTEGER PRIMARY KEY,\n  \"my col\" TEXT NOT NULL DEFAULT '',\n  \"we\"\"ird\" INT,\n  \
              \"new name\" TEXT, -- migrate:renamed-from \"old name\"\n  \"a b\" TEXT\n);\n\
              CREATE INDEX \"order by\" ON \"order\" (\"my col\");";
    let r = Round::new(
        from,
        "INSERT INTO \"order\" VALUES (1, 'x', 2, 'kept');",
        to,
    );
    assert!(
        r.d.up
            .contains("RENAME COLUMN \"old name\" TO \"new name\""),
        "{}",
        r.d.up
    );
    assert_eq!(r.d.rebuilt, ["order"]);
    let conn = r.up();
    assert_eq!(
        column(&conn, "SELECT \"new name\" FROM \"order\""),
        ["kept"]
    );
    assert_eq!(r.left(&conn, to), "");
    drop(conn);
    let mut conn = Connection::open(r.f.db()).unwrap();
    r.f.set()
        .runner()
        .down(&mut conn, migrate_core::DownTarget::Steps(1))
        .unwrap();
    assert_eq!(r.left(&conn, from), "");
    assert_eq!(
        column(&conn, "SELECT \"old name\" FROM \"order\""),
        ["kept"]
    );
}
