//! Regressions for the ways outside testing found to lose data or report a
//! wrong result (issue #11), each on real SQLite files.

use migrate_core::error::Failure;
use migrate_core::rusqlite::Connection;
use migrate_core::{Error, Migrations};
use migrate_tests::{Fixture, column};

const PARENT_AND_CHILD: &str = "PRAGMA foreign_keys = ON;";

/// A database with `users` and three tables that reference it, each with
/// another ON DELETE action, foreign keys on.
fn owners_and_pets() -> Fixture {
    let f = Fixture::new(&[(
        "1_init.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
         CREATE TABLE pets (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES users (id) ON DELETE CASCADE);
         CREATE TABLE notes (id INTEGER PRIMARY KEY, author INTEGER REFERENCES users ON DELETE SET NULL);
         INSERT INTO users VALUES (1, 'a'), (2, 'b');
         INSERT INTO pets VALUES (1, 1), (2, 1), (3, 2);
         INSERT INTO notes VALUES (1, 2);",
    )]);
    let mut conn = f.conn();
    conn.execute_batch(PARENT_AND_CHILD).unwrap();
    f.set().runner().run(&mut conn).unwrap();
    f
}

fn fk_conn(f: &Fixture) -> Connection {
    let conn = f.conn();
    conn.execute_batch(PARENT_AND_CHILD).unwrap();
    conn
}

fn counts(conn: &Connection) -> Vec<String> {
    column(
        conn,
        "SELECT (SELECT count(*) FROM pets) || ' ' || (SELECT count(author) FROM notes)",
    )
}

#[test]
fn a_rebuild_written_without_the_pragma_keeps_every_child_row() {
    // Rebuild spellings: quoted names, schema prefixes, other case, the
    // rename-away form.
    let rebuilds = [
        "CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
         INSERT INTO users_new SELECT id, coalesce(email, '') FROM users;
         DROP TABLE users;
         ALTER TABLE users_new RENAME TO users;",
        "CREATE TABLE \"__new_users\" (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
         INSERT INTO `__new_users` SELECT id, coalesce(email, '') FROM [users];
         DROP TABLE IF EXISTS main.\"USERS\";
         ALTER TABLE main.[__new_users] RENAME TO `Users`;",
        "PRAGMA \"foreign_keys\" = 'off';
         CREATE TABLE n (id INTEGER PRIMARY KEY, email TEXT);
         INSERT INTO n SELECT * FROM users; DROP TABLE users; ALTER TABLE n RENAME TO users;",
        "PRAGMA main.foreign_keys = 256;
         CREATE TABLE n (id INTEGER PRIMARY KEY, email TEXT);
         INSERT INTO n SELECT * FROM users; DROP TABLE users; ALTER TABLE n RENAME TO users;",
    ];
    for sql in rebuilds {
        let f = owners_and_pets();
        f.write("2_rebuild.sql", sql);
        let mut conn = fk_conn(&f);
        f.set()
            .runner()
            .run(&mut conn)
            .unwrap_or_else(|e| panic!("{sql}\n{e}"));
        assert_eq!(counts(&conn), ["3 1"], "{sql}");
        assert_eq!(column(&conn, "PRAGMA foreign_keys"), ["1"], "restored");
    }
}

#[test]
fn a_drop_that_would_cascade_is_stopped_and_names_what_it_would_touch() {
    for sql in [
        "DROP TABLE users;",
        "drop /* c */ table if exists \"users\";",
        "CREATE TABLE kept (x); DROP TABLE main.[USERS];",
    ] {
        let f = owners_and_pets();
        let before = std::fs::read(f.db()).unwrap();
        f.write("2_drop.sql", sql);
        let e = f.set().runner().run(&mut fk_conn(&f)).unwrap_err();
        let Error::Migration(m) = &e else {
            panic!("{sql}: {e}")
        };
        let Failure::CascadingDrop { table, children } = &m.cause else {
            panic!("{sql}: {e}")
        };
        assert_eq!(table, "users");
        let found: Vec<(&str, &str, u64)> = children
            .iter()
            .map(|c| (c.table.as_str(), c.action.as_str(), c.rows))
            .collect();
        assert_eq!(
            found,
            [("notes", "SET NULL", 1), ("pets", "CASCADE", 3)],
            "{sql}"
        );
        let text = e.to_string();
        for part in [
            "DROP TABLE users",
            "delete 3 rows of `pets`",
            "`notes`",
            "foreign-keys-off",
        ] {
            assert!(text.contains(part), "{part:?} in {text}");
        }
        assert_eq!(std::fs::read(f.db()).unwrap(), before, "{sql}: unchanged");
    }
}

#[test]
fn deletes_of_a_data_migration_still_cascade() {
    let f = owners_and_pets();
    f.write("2_cleanup.sql", "DELETE FROM users WHERE id = 1;");
    let mut conn = fk_conn(&f);
    f.set().runner().run(&mut conn).unwrap();
    assert_eq!(counts(&conn), ["1 1"]);
    // A drop whose children reference no row of it is fine.
    f.write(
        "3_empty.sql",
        "DELETE FROM pets; DELETE FROM notes; DROP TABLE users;",
    );
    f.set().runner().run(&mut conn).unwrap();
}

#[test]
fn a_connection_without_rollback_is_refused_before_anything_runs() {
    let f = Fixture::new(&[("1_t.sql", "CREATE TABLE t (x);")]);
    for (setup, what) in [
        ("PRAGMA journal_mode = OFF", "journal_mode is off"),
        ("PRAGMA journal_mode = MEMORY", "journal_mode is memory"),
        ("PRAGMA query_only = 1", "query_only"),
    ] {
        let mut conn = f.conn();
        conn.execute_batch(setup).unwrap();
        let e = f.set().runner().run(&mut conn).unwrap_err();
        assert!(e.to_string().contains(what), "{setup}: {e}");
        assert!(column(&f.conn(), "SELECT name FROM sqlite_master").is_empty());
    }
}

#[test]
fn pragma_sets_that_void_rollback_are_refused_when_loaded() {
    for value in ["off", "OFF", "memory", "'memory'", "5", "3"] {
        let f = Fixture::new(&[("1_fast.pragmas", &format!("journal_mode = {value}\n"))]);
        let e = Migrations::from_dir(f.migrations())
            .unwrap_err()
            .to_string();
        // journal_mode has no numbers in SQLite: `5` and `3` are bad values.
        assert!(
            e.contains("1_fast.pragmas:1")
                && (e.contains("rollback")
                    || (value.starts_with(char::is_numeric) && e.contains("bad value"))),
            "{value}: {e}"
        );
    }
}

#[test]
fn a_history_write_that_does_not_go_in_fails_the_migration() {
    let triggers = [
        "CREATE TRIGGER skip BEFORE INSERT ON schema_migrations BEGIN SELECT RAISE(IGNORE); END;",
        "CREATE TRIGGER undo AFTER INSERT ON schema_migrations BEGIN DELETE FROM schema_migrations WHERE version = new.version; END;",
        "CREATE TRIGGER alter_sum AFTER INSERT ON schema_migrations BEGIN UPDATE schema_migrations SET checksum = 'x' WHERE version = new.version; END;",
        "CREATE TRIGGER forget AFTER INSERT ON schema_migrations BEGIN DELETE FROM schema_migrations WHERE version < new.version; END;",
    ];
    for trigger in triggers {
        let f = Fixture::new(&[("1_a.sql", "CREATE TABLE a (x);")]);
        f.run_with(|r| r).unwrap();
        f.conn().execute_batch(trigger).unwrap();
        f.write("2_b.sql", "CREATE TABLE b (x);");
        for atomic in [false, true] {
            let e = f.run_with(|r| r.atomic(atomic)).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains("did not go in as written") && text.contains("rolled back"),
                "{trigger}: {text}"
            );
            let conn = f.conn();
            assert!(column(&conn, "SELECT name FROM sqlite_master WHERE name = 'b'").is_empty());
            assert_eq!(
                column(&conn, "SELECT version FROM schema_migrations"),
                ["1"]
            );
        }
    }
}

#[test]
fn a_rebuild_that_renames_the_old_table_away_keeps_the_rows_and_says_why_it_stops() {
    let f = owners_and_pets();
    f.write(
        "2_rebuild.sql",
        "ALTER TABLE users RENAME TO users_old;
         CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
         INSERT INTO users SELECT id, coalesce(email, '') FROM users_old;
         DROP TABLE users_old;",
    );
    let mut conn = fk_conn(&f);
    let e = f.set().runner().run(&mut conn).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("`users_old` no longer exists") && text.contains("rolled back"),
        "{text}"
    );
    assert_eq!(counts(&conn), ["3 1"]);
}

#[test]
fn dropping_a_temp_table_of_the_same_name_is_not_a_cascade() {
    let f = owners_and_pets();
    f.write(
        "2_scratch.sql",
        "CREATE TEMP TABLE users (id INTEGER PRIMARY KEY); DROP TABLE temp.users;",
    );
    let mut conn = fk_conn(&f);
    f.set().runner().run(&mut conn).unwrap();
    assert_eq!(counts(&conn), ["3 1"]);
}

/// Issue #22.15: `DROP TABLE users` with no schema drops a temp table of
/// that name when there is one (SQLite looks in temp first), so it is no
/// cascade; once the temp table is gone, the same statement is checked
/// against main's children again.
#[test]
fn an_unqualified_drop_of_a_temp_table_is_not_a_cascade() {
    let f = owners_and_pets();
    f.write(
        "2_scratch.sql",
        "CREATE TEMP TABLE users (id INTEGER PRIMARY KEY);\nINSERT INTO users VALUES (1);\nDROP TABLE users;",
    );
    let mut conn = fk_conn(&f);
    f.set().runner().run(&mut conn).unwrap();
    assert_eq!(counts(&conn), ["3 1"]);
    f.write("3_real.sql", "DROP TABLE users;");
    let e = f.set().runner().run(&mut conn).unwrap_err();
    assert!(e.to_string().contains("DROP TABLE users"), "{e}");
    assert_eq!(counts(&conn), ["3 1"]);
}

/// drizzle leaves its runner's transaction to switch foreign keys off for a
/// rebuild (`COMMIT; PRAGMA foreign_keys=OFF; BEGIN; … COMMIT; PRAGMA
/// foreign_keys=ON; BEGIN;`): the file runs as a foreign-keys-off
/// migration, in one transaction, and keeps every child row.
#[test]
fn drizzles_foreign_keys_workaround_runs_as_a_foreign_keys_off_migration() {
    for sql in [
        "COMMIT;--> statement-breakpoint\nPRAGMA foreign_keys=OFF;--> statement-breakpoint\nBEGIN;--> statement-breakpoint\n\
         CREATE TABLE `__new_users` (`id` integer PRIMARY KEY, `email` text DEFAULT '' NOT NULL);--> statement-breakpoint\n\
         INSERT INTO `__new_users`(\"id\", \"email\") SELECT \"id\", coalesce(\"email\", '') FROM `users`;--> statement-breakpoint\n\
         DROP TABLE `users`;--> statement-breakpoint\n\
         ALTER TABLE `__new_users` RENAME TO `users`;--> statement-breakpoint\n\
         COMMIT;--> statement-breakpoint\nPRAGMA foreign_keys=ON;--> statement-breakpoint\nBEGIN;",
        "commit; pragma foreign_keys = off; begin transaction;
         create table n (id integer primary key, email text);
         insert into n select * from users; drop table users; alter table n rename to users;
         end; pragma foreign_keys = on; begin immediate;",
    ] {
        let f = owners_and_pets();
        f.write("2_rebuild.sql", sql);
        let mut conn = fk_conn(&f);
        let report = f
            .set()
            .runner()
            .run(&mut conn)
            .unwrap_or_else(|e| panic!("{sql}\n{e}"));
        assert_eq!(report.applied.len(), 1);
        assert_eq!(counts(&conn), ["3 1"], "{sql}");
        assert_eq!(column(&conn, "PRAGMA foreign_keys"), ["1"], "restored");
    }
    // Only the whole pattern: a COMMIT in the middle of a file is still
    // refused.
    let f = owners_and_pets();
    f.write(
        "2_half.sql",
        "COMMIT;\nPRAGMA foreign_keys=OFF;\nBEGIN;\nDROP TABLE users;\n",
    );
    let e = Migrations::from_dir(f.migrations())
        .unwrap_err()
        .to_string();
    assert!(e.contains("2_half.sql:1") && e.contains("COMMIT"), "{e}");
}
