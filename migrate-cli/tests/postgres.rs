//! The CLI on PostgreSQL through the real binary: `--database
//! postgresql://…` or `DATABASE_URL` selects it (see `tests/pg_support.rs`
//! for the server).

mod common;
#[path = "../../tests/pg_support.rs"]
mod pg;

use common::*;

#[test]
fn up_and_status_on_postgresql() {
    let Some(mut db) = pg::scratch() else { return };
    let url = db.url();
    let p = Project::new(&[
        (
            "0001_notes.sql",
            "CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);\n\
             CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.body := upper(NEW.body);\n  RETURN NEW;\nEND;\n$$;\n",
        ),
        (
            "0002_notes_body.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY notes_body ON notes (body);\n",
        ),
    ]);
    let cli = |args: &[&str]| p.bare(args).env("DATABASE_URL", &url).output().unwrap();
    let out = cli(&["status"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 applied, 2 pending"),
        "{}",
        stdout(&out)
    );
    let out = cli(&["up", "--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("applied 1 notes") && text.contains("applied 2 notes_body"),
        "{text}"
    );
    let out = cli(&["status", "--exit-code"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("2 applied, 0 pending"),
        "{}",
        stdout(&out)
    );
    let n: i64 = db
        .client()
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 2);

    // A failing migration names its file and line, and changes nothing.
    p.write(
        "0003_bad.sql",
        "ALTER TABLE notes\n  ADD COLUMN x nosuchtype;\n",
    );
    let out = cli(&["up"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("migration 3 (0003_bad.sql:2)")
            && stderr(&out).contains("nosuchtype"),
        "{}",
        stderr(&out)
    );
    // What the CLI cannot do there yet says so.
    let out = cli(&["down"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("`down` does not run on PostgreSQL yet"),
        "{}",
        stderr(&out)
    );
    let out = p
        .bare(&["-d", &url, "up", "--backup", "x.db"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("not available on PostgreSQL"),
        "{}",
        stderr(&out)
    );
    // A pragma set in the folder is named as SQLite's.
    std::fs::remove_file(p.dir.path().join("migrations/0003_bad.sql")).unwrap();
    p.write("0003_fast.pragmas", "journal_mode = wal\n");
    let out = cli(&["up"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("0003_fast.pragmas:1: pragma sets are SQLite's"),
        "{}",
        stderr(&out)
    );
}
