//! `migrate-cli diff` through the real binary: the example app's schema
//! file edited, the migration written with `--write`, applied, verified and
//! reverted; and the mistakes a user makes on the way.

mod common;

use common::*;

const FLASHMATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/flashmath");

/// A project holding the example app's migrations and its schema file.
fn flashmath() -> Project {
    let p = Project::new(&[]);
    for entry in std::fs::read_dir(format!("{FLASHMATH}/migrations")).unwrap() {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        p.write(&entry.file_name().to_string_lossy(), &text);
    }
    let schema = std::fs::read_to_string(format!("{FLASHMATH}/schema.sql")).unwrap();
    std::fs::write(p.dir.path().join("schema.sql"), schema).unwrap();
    p
}

fn edit_schema(p: &Project, from: &str, to: &str) {
    let path = p.dir.path().join("schema.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from:?} is not in the schema file");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn the_example_apps_schema_file_to_a_migration_and_back() {
    let p = flashmath();
    ok(&p, &["up"]);
    ok(&p, &["schema"]);
    // The schema file is what the migrations make: nothing to write.
    let out = p.cli(&["diff", "--to", "schema.sql"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("no difference"), "{}", stderr(&out));

    // One change ALTER makes, one that needs a rebuild of a table with a
    // cascading child and a trigger on another table.
    let users_last =
        "    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))\n);";
    edit_schema(
        &p,
        users_last,
        &users_last.replace("))\n);", ")),\n    nickname     TEXT\n);"),
    );
    edit_schema(
        &p,
        "quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 0)",
        "quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 0 AND quantity < 1000)",
    );
    let conn = migrate_core::rusqlite::Connection::open(p.db()).unwrap();
    conn.execute_batch(
        "INSERT INTO users (id, email, display_name) VALUES (1, 'a@b', 'A');
         INSERT INTO inventory (user_id, item_id, quantity) VALUES (1, 'gem', 3);",
    )
    .unwrap();
    drop(conn);
    let printed = ok(&p, &["diff", "--to", "schema.sql"]);
    assert!(
        printed.contains("ADD COLUMN nickname     TEXT"),
        "{printed}"
    );
    assert!(!printed.contains("\"users\" is rebuilt"), "{printed}");
    assert!(printed.contains("\"inventory\" is rebuilt"), "{printed}");
    let written = ok(&p, &["diff", "--to", "schema.sql", "--write", "nicknames"]);
    assert!(written.contains("_nicknames.sql"), "{written}");
    assert!(written.contains("_nicknames.down.sql"), "{written}");
    ok(&p, &["up"]);
    ok(&p, &["verify"]);
    let conn = migrate_core::rusqlite::Connection::open(p.db()).unwrap();
    let rows: i64 = conn
        .query_row(
            "SELECT quantity FROM inventory WHERE item_id = 'gem'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 3, "the rebuild kept the row");
    drop(conn);
    // Applied: nothing left to write.
    let out = p.cli(&["diff", "--to", "schema.sql"]);
    assert_eq!(stdout(&out), "", "{}", stderr(&out));
    // And back.
    ok(&p, &["down"]);
    ok(&p, &["verify"]);
    let before = std::fs::read_to_string(format!("{FLASHMATH}/schema.sql")).unwrap();
    std::fs::write(p.dir.path().join("before.sql"), before).unwrap();
    let out = p.cli(&["diff", "--from", "sqlite:app.db", "--to", "before.sql"]);
    assert_eq!(stdout(&out), "", "{}", stderr(&out));
}

#[test]
fn a_diff_reads_and_changes_nothing() {
    let p = flashmath();
    ok(&p, &["up"]);
    edit_schema(
        &p,
        "    name       TEXT NOT NULL,\n",
        "    name       TEXT,\n",
    );
    let before = bytes(&p.db());
    let out = p.cli(&["diff", "--from", "app.db", "--to", "schema.sql"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("\"leagues\" is rebuilt"),
        "{}",
        stdout(&out)
    );
    assert!(bytes(&p.db()) == before, "the database changed");
    let listed = |p: &Project| {
        std::fs::read_dir(p.dir.path().join("migrations"))
            .unwrap()
            .count()
    };
    let files = listed(&p);
    p.cli(&["diff", "--to", "schema.sql"]);
    assert_eq!(listed(&p), files, "a diff without --write wrote a file");
}

#[test]
fn mistakes_are_named() {
    let p = flashmath();
    refuses(
        &p,
        &["diff", "--to", "nope.sql"],
        1,
        &["--to nope.sql", "no such file"],
    );
    std::fs::write(
        p.dir.path().join("bad.sql"),
        "CREATE TABLE a (id);\nDELETE FROM a;\n",
    )
    .unwrap();
    refuses(
        &p,
        &["diff", "--to", "bad.sql"],
        1,
        &["line 2", "CREATE statements", "DELETE FROM a"],
    );
    std::fs::write(
        p.dir.path().join("typo.sql"),
        "CREATE TABLE a (id);\n\nCREATE INDEX i ON b (x);\n",
    )
    .unwrap();
    refuses(
        &p,
        &["diff", "--to", "typo.sql"],
        1,
        &["line 3", "no such table"],
    );
    std::fs::write(p.dir.path().join("notdb"), "hello").unwrap();
    refuses(
        &p,
        &["diff", "--to", "notdb"],
        1,
        &["--to notdb", "not a SQLite database"],
    );
    refuses(
        &p,
        &["diff", "--to", "schema.sql", "--write", "no good!"],
        2,
        &["invalid migration name"],
    );
    refuses(
        &p,
        &["diff", "--to", "sqlite::memory:"],
        2,
        &["--to", "memory"],
    );
    refuses(
        &p,
        &["diff", "--to", "postgres://x@y/z"],
        2,
        &["--to", "postgres://"],
    );
    // A PostgreSQL URL in the environment does not take a SQLite diff away.
    let out = p
        .bare(&["diff", "--to", "schema.sql"])
        .env("DATABASE_URL", "postgres://nobody@localhost/none")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_migration_that_would_fail_on_the_rows_is_not_written() {
    let p = flashmath();
    ok(&p, &["up"]);
    let conn = migrate_core::rusqlite::Connection::open(p.db()).unwrap();
    conn.execute_batch(
        "INSERT INTO users (id, email, display_name) VALUES (1, 'a@b', 'A'), (2, 'c@d', 'B');
         INSERT INTO sessions (user_id, operation) VALUES (1, 'add'), (2, 'mul');",
    )
    .unwrap();
    drop(conn);
    edit_schema(
        &p,
        "    finished_at TEXT\n",
        "    finished_at TEXT NOT NULL\n",
    );
    let files = std::fs::read_dir(p.dir.path().join("migrations"))
        .unwrap()
        .count();
    // The folder is the source; the database's rows are the data.
    refuses(
        &p,
        &[
            "diff",
            "--to",
            "schema.sql",
            "--write",
            "finish",
            "--data",
            "app.db",
        ],
        1,
        &[
            "would fail",
            "\"finished_at\" becomes NOT NULL, and 2 rows of \"sessions\" hold NULL",
            "nothing was written",
        ],
    );
    assert_eq!(
        std::fs::read_dir(p.dir.path().join("migrations"))
            .unwrap()
            .count(),
        files
    );
    // A database as the source is checked without asking.
    refuses(
        &p,
        &["diff", "--from", "app.db", "--to", "schema.sql"],
        1,
        &["would fail"],
    );
    // What is lost is said, and written.
    edit_schema(
        &p,
        "    finished_at TEXT NOT NULL\n",
        "    finished_at TEXT\n",
    );
    edit_schema(
        &p,
        "    operation  TEXT    NOT NULL CHECK (operation IN ('add', 'sub', 'mul', 'div')),\n",
        "",
    );
    let out = p.cli(&["diff", "--from", "app.db", "--to", "schema.sql"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "warning: drops the column \"operation\" of \"sessions\", which holds 2 values"
        ),
        "{}",
        stderr(&out)
    );
}

/// dbmate's and goose's one-file layouts: the rebuild's directive goes
/// once, before both sections, and holds for the down too (the children of
/// a rebuilt parent survive both ways).
#[test]
fn single_file_layouts_take_the_directive_once() {
    let source = "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\n\
                  CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);\n";
    for (first, up, down) in [
        (
            "20240101000000_start.sql",
            "-- migrate:up\n",
            "-- migrate:down\n",
        ),
        ("00001_start.sql", "-- +goose Up\n", "-- +goose Down\n"),
    ] {
        let p = Project::new(&[(
            first,
            &format!("{up}{source}{down}DROP TABLE child;\nDROP TABLE parent;\n"),
        )]);
        std::fs::write(
            p.dir.path().join("schema.sql"),
            source.replace("name TEXT", "name TEXT NOT NULL DEFAULT ''"),
        )
        .unwrap();
        ok(&p, &["up"]);
        let conn = migrate_core::rusqlite::Connection::open(p.db()).unwrap();
        conn.execute_batch(
            "INSERT INTO parent VALUES (1, 'a'); INSERT INTO child VALUES (10, 1), (11, 1);",
        )
        .unwrap();
        drop(conn);
        let written = ok(&p, &["diff", "--to", "schema.sql", "--write", "named"]);
        let file = written.lines().next().unwrap().to_owned();
        let text = std::fs::read_to_string(p.dir.path().join(&file)).unwrap();
        assert!(text.starts_with("-- migrate:foreign-keys-off\n"), "{text}");
        assert_eq!(
            text.matches("-- migrate:foreign-keys-off").count(),
            1,
            "{text}"
        );
        ok(&p, &["up"]);
        ok(&p, &["down"]);
        let conn = migrate_core::rusqlite::Connection::open(p.db()).unwrap();
        let children: i64 = conn
            .query_row("SELECT count(*) FROM child", [], |r| r.get(0))
            .unwrap();
        assert_eq!(children, 2, "{first}: the down's rebuild deleted children");
    }
}
