//! The runner on PostgreSQL, against a real server (see `pg_support.rs`):
//! apply, the startup check, a failure rolled back with its line, an edited
//! file refused, the lock timeout, and eight runners at once.

#[path = "pg_support.rs"]
mod pg;

use std::time::Duration;

use migrate_core::Migrations;
use migrate_core::sql::Dialect;
use pg::{count, scratch, set};

const NOTES: &str = include_str!("fixtures/pg/0001_notes.sql");
const NOTES_BODY: &str = include_str!("fixtures/pg/0002_notes_body.sql");

#[test]
fn applies_each_migration_once_and_then_nothing() {
    let Some(mut db) = scratch() else { return };
    let (_dir, set) = set(&[
        ("0001_notes.sql", NOTES),
        ("0002_notes_body.sql", NOTES_BODY),
    ]);
    let client = db.client();
    let report = set.runner().run_postgres(client).unwrap();
    let applied: Vec<u64> = report.applied.iter().map(|s| s.version).collect();
    assert_eq!(applied, [1, 2]);
    // The trigger function's body ran as one statement; the index built
    // CONCURRENTLY outside a transaction is valid.
    client
        .batch_execute("INSERT INTO notes (body) VALUES ('a'); UPDATE notes SET body = 'b'")
        .unwrap();
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM notes WHERE touched IS NOT NULL"
        ),
        1
    );
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_index WHERE indexrelid = 'notes_body'::regclass AND indisvalid"
        ),
        1
    );
    // The history, and nothing more to do.
    assert_eq!(count(client, "SELECT count(*) FROM schema_migrations"), 2);
    assert!(
        set.runner()
            .run_postgres(client)
            .unwrap()
            .applied
            .is_empty()
    );
    let status = set.runner().status_postgres(client).unwrap();
    assert!(
        status
            .iter()
            .all(|r| r.state == migrate_core::State::Applied),
        "{status:?}"
    );
    // No advisory lock is left behind.
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        0
    );
}

#[test]
fn a_failing_migration_is_rolled_back_and_named_at_its_line() {
    let Some(mut db) = scratch() else { return };
    let (_dir, set) = set(&[
        ("0001_t.sql", "CREATE TABLE t (x int);"),
        (
            "0002_bad.sql",
            "CREATE TABLE u (y int);\n\nINSERT INTO u\n  VALUES (nope);\n",
        ),
    ]);
    let client = db.client();
    let e = set.runner().run_postgres(client).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("migration 2 (0002_bad.sql:4)"), "{text}");
    assert!(
        text.contains("column \"nope\" does not exist") && text.contains("SQLSTATE 42703"),
        "{text}"
    );
    assert!(text.contains("applied before it in this run: 1"), "{text}");
    // Its first statement went with it; 1 stays.
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'u'"
        ),
        0
    );
    assert_eq!(count(client, "SELECT count(*) FROM schema_migrations"), 1);
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        0
    );
}

#[test]
fn an_edited_applied_file_stops_everything() {
    let Some(mut db) = scratch() else { return };
    let (dir, set) = set(&[("0001_t.sql", "CREATE TABLE t (x int);")]);
    set.runner().run_postgres(db.client()).unwrap();
    std::fs::write(dir.path().join("0001_t.sql"), "CREATE TABLE t (x bigint);").unwrap();
    std::fs::write(dir.path().join("0002_u.sql"), "CREATE TABLE u (x int);").unwrap();
    let edited = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    let e = edited.runner().run_postgres(db.client()).unwrap_err();
    assert!(
        e.to_string().contains("applied migrations were edited"),
        "{e}"
    );
    assert_eq!(
        count(
            db.client(),
            "SELECT count(*) FROM pg_tables WHERE tablename = 'u'"
        ),
        0
    );
    // A set loaded as SQLite's is not run here.
    let sqlite = Migrations::from_dir(dir.path()).unwrap();
    let e = sqlite.runner().run_postgres(db.client()).unwrap_err();
    assert!(matches!(e, migrate_core::Error::NotPostgres { .. }), "{e}");
}

#[test]
fn a_migration_that_waits_for_a_busy_table_gives_up_at_the_lock_timeout() {
    let Some(mut db) = scratch() else { return };
    let (_dir, first) = set(&[("0001_t.sql", "CREATE TABLE t (x int);")]);
    first.runner().run_postgres(db.client()).unwrap();
    // Another session holds the table.
    let mut holder = db.connect();
    holder
        .batch_execute("BEGIN; LOCK TABLE t IN ACCESS SHARE MODE")
        .unwrap();
    let (_dir2, next) = set(&[
        ("0001_t.sql", "CREATE TABLE t (x int);"),
        ("0002_alter.sql", "ALTER TABLE t ADD COLUMN y int;"),
    ]);
    let e = next
        .runner()
        .lock_timeout(Duration::from_millis(200))
        .run_postgres(db.client())
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("migration 2 (0002_alter.sql:1)"), "{text}");
    assert!(
        text.contains("SQLSTATE 55P03") && text.contains("lock_timeout"),
        "{text}"
    );
    // The lock it waited for, and who holds it.
    let pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    assert!(
        text.contains(&format!(
            "`t` is held in AccessShareLock by process {pid} (idle in transaction; its last statement: BEGIN; LOCK TABLE t IN ACCESS SHARE MODE)"
        )),
        "{text}"
    );
    holder.batch_execute("ROLLBACK").unwrap();
    assert_eq!(
        count(db.client(), "SELECT count(*) FROM schema_migrations"),
        1
    );
    // Once the table is free, it applies.
    assert_eq!(
        next.runner()
            .run_postgres(db.client())
            .unwrap()
            .applied
            .len(),
        1
    );
}

/// Eight runners at once, their no-transaction steps locked by a session
/// lock (`with_lock_connection` false) or by a transaction of a second
/// connection.
fn eight_runners(with_lock_connection: bool) {
    let Some(db) = scratch() else { return };
    let files: Vec<(String, String)> = (1..=12)
        .map(|i| {
            let text = if i % 4 == 0 {
                format!(
                    "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY t{}_x ON t{} (x);\n",
                    i - 1,
                    i - 1
                )
            } else {
                format!(
                    "CREATE TABLE t{i} (x int); INSERT INTO t{i} SELECT generate_series(1, 1000);"
                )
            };
            (format!("{i:04}_m.sql"), text)
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (_dir, set) = set(&refs);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let mut client = db.connect();
                let set = &set;
                let config = with_lock_connection
                    .then(|| migrate_core::postgres::Connector::new(&db.conn).unwrap());
                s.spawn(move || {
                    set.runner()
                        .lock_connection(config)
                        .run_postgres(&mut client)
                        .map(|r| r.applied.len())
                })
            })
            .collect();
        let applied: usize = handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap_or_else(|e| panic!("{e}")))
            .sum();
        assert_eq!(applied, 12, "each migration applied by exactly one runner");
    });
    let mut client = db.connect();
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM schema_migrations"),
        12
    );
    assert_eq!(count(&mut client, "SELECT count(*) FROM t1"), 1000);
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        0
    );
}

#[test]
fn eight_runners_at_once_apply_each_migration_once() {
    eight_runners(false);
}

#[test]
fn eight_runners_with_lock_connections_apply_each_migration_once() {
    eight_runners(true);
}

#[test]
fn index_sets_run_on_postgresql_checked_against_the_catalogue() {
    let Some(mut db) = scratch() else { return };
    let table =
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, status text NOT NULL);";
    let indexes = "unique index on items (name)\nindex idx_open on items (status desc) where status = 'open'\n";
    let (_dir, hot) = set(&[("0001_items.sql", table), ("0002_hot.indexes", indexes)]);
    let client = db.client();
    hot.runner().run_postgres(client).unwrap();
    let defs: Vec<String> = client
        .query(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'items' ORDER BY indexname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(defs.len(), 3, "{defs:?}");
    assert!(
        defs.iter()
            .any(|d| d.contains("UNIQUE INDEX idx_items_name ON public.items USING btree (name)")),
        "{defs:?}"
    );
    assert!(
        defs.iter().any(|d| d.contains(
            "idx_open ON public.items USING btree (status DESC) WHERE (status = 'open'::text)"
        )),
        "{defs:?}"
    );
    // Reverted: the set's indexes are dropped.
    hot.runner()
        .down_postgres(client, migrate_core::DownTarget::Steps(1))
        .unwrap();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'items'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 1, "only the primary key");
    // An index of that name, defined otherwise, is a conflict; the same
    // definition, written another way, is not.
    client
        .batch_execute("CREATE INDEX idx_open ON items (name)")
        .unwrap();
    let e = hot.runner().run_postgres(client).unwrap_err();
    assert!(
        e.to_string()
            .contains("index `idx_open` already exists with another definition"),
        "{e}"
    );
    client
        .batch_execute("DROP INDEX idx_open; CREATE INDEX idx_open ON items (status DESC) WHERE status = 'open'")
        .unwrap();
    assert_eq!(hot.runner().run_postgres(client).unwrap().applied.len(), 1);
    // Every unknown table and column at once, with its line.
    let (_dir2, bad) = set(&[
        ("0001_items.sql", table),
        ("0002_hot.indexes", indexes),
        (
            "0003_more.indexes",
            "index on items (nope, nah)\nindex on itemz (id)\n",
        ),
    ]);
    let e = bad.runner().run_postgres(client).unwrap_err().to_string();
    assert!(
        e.contains("3 names the index set gives are not in the database"),
        "{e}"
    );
    assert!(
        e.contains("line 2: table `itemz` does not exist; did you mean `items`?"),
        "{e}"
    );
}

#[test]
fn a_history_row_that_does_not_go_in_rolls_its_migration_back() {
    let Some(mut db) = scratch() else { return };
    let (_dir, first) = set(&[("0001_t.sql", "CREATE TABLE t (x int);")]);
    let client = db.client();
    first.runner().run_postgres(client).unwrap();
    // A trigger that drops every new history row.
    client
        .batch_execute(
            "CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
             CREATE TRIGGER swallow BEFORE INSERT ON schema_migrations FOR EACH ROW EXECUTE FUNCTION drop_row();",
        )
        .unwrap();
    let (_dir2, next) = set(&[
        ("0001_t.sql", "CREATE TABLE t (x int);"),
        ("0002_u.sql", "CREATE TABLE u (x int);"),
    ]);
    let e = next.runner().run_postgres(client).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("migration 2 (0002_u.sql)"), "{text}");
    assert!(
        text.contains("its history row in `schema_migrations` did not go in as written")
            && text.contains("swallow"),
        "{text}"
    );
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'u'"
        ),
        0,
        "the migration went with its history row"
    );
    // No transaction is left open: the session goes on.
    client
        .batch_execute("DROP TRIGGER swallow ON schema_migrations")
        .unwrap();
    assert_eq!(next.runner().run_postgres(client).unwrap().applied.len(), 1);
}

#[test]
fn a_migration_that_changes_the_search_path_does_not_move_the_history() {
    let Some(mut db) = scratch() else { return };
    let client = db.client();
    client
        .batch_execute("CREATE SCHEMA other; CREATE TABLE other.schema_migrations (version bigint)")
        .unwrap();
    let (_dir, set) = set(&[
        // As pg_dump writes its output.
        (
            "0001_dump.sql",
            "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.t (x int);\n",
        ),
        (
            "0002_other.sql",
            "SET search_path = other;\nCREATE TABLE public.u (x int);\n",
        ),
        ("0003_more.sql", "CREATE TABLE public.v (x int);\n"),
    ]);
    let report = set.runner().run_postgres(client).unwrap();
    assert_eq!(report.applied.len(), 3);
    client.batch_execute("SET search_path = public").unwrap();
    assert_eq!(
        count(client, "SELECT count(*) FROM public.schema_migrations"),
        3
    );
    assert_eq!(
        count(client, "SELECT count(*) FROM other.schema_migrations"),
        0
    );
    assert!(
        set.runner()
            .run_postgres(client)
            .unwrap()
            .applied
            .is_empty()
    );
}

#[test]
fn a_file_sent_at_once_still_names_the_failing_line() {
    let Some(mut db) = scratch() else { return };
    let client = db.client();
    // A runtime error carries no position: the line comes from running the
    // file again a statement at a time.
    let (_dir, failing) = set(&[(
        "0001_users.sql",
        "CREATE TABLE users (id int PRIMARY KEY);\nINSERT INTO users VALUES (1);\n\
         INSERT INTO users VALUES (2);\nINSERT INTO users VALUES (1);\n",
    )]);
    let e = failing
        .runner()
        .run_postgres(client)
        .unwrap_err()
        .to_string();
    assert!(e.contains("migration 1 (0001_users.sql:4)"), "{e}");
    assert!(
        e.contains("duplicate key value violates unique constraint"),
        "{e}"
    );
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'users'"
        ),
        0
    );
    // The last statement without its semicolon, after a line comment.
    let (_dir2, last) = set(&[(
        "0001_users.sql",
        "CREATE TABLE users (id int PRIMARY KEY);\nINSERT INTO users VALUES (1) -- the first",
    )]);
    last.runner().run_postgres(client).unwrap();
    assert_eq!(count(client, "SELECT count(*) FROM users"), 1);
}

#[test]
fn a_timeout_in_a_file_sent_at_once_is_not_waited_for_twice() {
    let Some(mut db) = scratch() else { return };
    let (_dir, first) = set(&[("0001_t.sql", "CREATE TABLE t (x int);")]);
    first.runner().run_postgres(db.client()).unwrap();
    let mut holder = db.connect();
    holder
        .batch_execute("BEGIN; LOCK TABLE t IN ACCESS SHARE MODE")
        .unwrap();
    let (_dir2, next) = set(&[
        ("0001_t.sql", "CREATE TABLE t (x int);"),
        (
            "0002_two.sql",
            "CREATE TABLE u (x int);\nALTER TABLE t ADD COLUMN y int;\n",
        ),
    ]);
    let e = next
        .runner()
        .lock_timeout(Duration::from_millis(300))
        .run_postgres(db.client())
        .unwrap_err()
        .to_string();
    assert!(e.contains("migration 2 (0002_two.sql)"), "{e}");
    assert!(
        e.contains("SQLSTATE 55P03") && e.contains("`t` is held in AccessShareLock"),
        "{e}"
    );
    assert!(e.contains("a timeout is not run again"), "{e}");
    holder.batch_execute("ROLLBACK").unwrap();
    assert_eq!(
        count(
            db.client(),
            "SELECT count(*) FROM pg_tables WHERE tablename = 'u'"
        ),
        0
    );
}

#[test]
fn an_error_inside_a_function_says_where_the_server_was() {
    let Some(mut db) = scratch() else { return };
    let (_dir, set) = set(&[(
        "0001_boom.sql",
        "CREATE FUNCTION boom() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE EXCEPTION 'no luck';\nEND\n$$;\nSELECT boom();\n",
    )]);
    let e = set
        .runner()
        .run_postgres(db.client())
        .unwrap_err()
        .to_string();
    assert!(e.contains("migration 1 (0001_boom.sql:6)"), "{e}");
    assert!(
        e.contains("no luck (at: PL/pgSQL function boom() line 3 at RAISE)"),
        "{e}"
    );
}

/// Issue #22.4 on PostgreSQL: reverting an index set drops only the
/// indexes it made; one an earlier SQL migration had made identically
/// stays, and so does the migration's unique guarantee.
#[test]
fn reverting_an_index_set_keeps_the_indexes_it_found() {
    let Some(mut db) = scratch() else { return };
    let (_dir, set) = set(&[
        (
            "1_users.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\nCREATE UNIQUE INDEX idx_users_email ON users (email);\n",
        ),
        (
            "2_hot.indexes",
            "unique index idx_users_email on users (email)\nindex idx_users_name on users (name)\n",
        ),
    ]);
    let client = db.client();
    set.runner().run_postgres(client).unwrap();
    set.runner()
        .down_postgres(client, migrate_core::DownTarget::Steps(1))
        .unwrap();
    let names = |client: &mut postgres::Client| -> Vec<String> {
        client
            .query(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'users' ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(names(client), ["idx_users_email", "users_pkey"]);
    assert!(
        client
            .batch_execute("INSERT INTO users VALUES (1, 'a', 'x'), (2, 'a', 'y')")
            .is_err()
    );
}

/// Issue #22.6 on PostgreSQL: a table rebuild drops the indexes an earlier
/// index set declared; they are built again in the same transaction and
/// the report says so.
#[test]
fn a_table_rebuild_keeps_the_indexes_of_applied_index_sets() {
    let Some(mut db) = scratch() else { return };
    let (dir, set) = set(&[
        (
            "1_notes.sql",
            "CREATE TABLE notes (id bigint PRIMARY KEY, user_id bigint, body text);\n",
        ),
        ("2_hot.indexes", "index idx_notes_user on notes (user_id)\n"),
    ]);
    let client = db.client();
    set.runner().run_postgres(client).unwrap();
    std::fs::write(
        dir.path().join("3_rebuild.sql"),
        "CREATE TABLE notes_new (id bigint PRIMARY KEY, user_id bigint, body text NOT NULL DEFAULT '');\n\
         INSERT INTO notes_new SELECT id, user_id, coalesce(body, '') FROM notes;\n\
         DROP TABLE notes;\nALTER TABLE notes_new RENAME TO notes;\n",
    )
    .unwrap();
    let set = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    let report = set.runner().run_postgres(client).unwrap();
    let notes: Vec<String> = report.notes.iter().map(ToString::to_string).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("3_rebuild.sql: dropped the index `idx_notes_user`")),
        "{notes:?}"
    );
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_notes_user'"
        ),
        1
    );
}

/// Issue #22.13 on PostgreSQL: the down file's checksum is kept when the up
/// runs (a history table of an earlier build gains the column), and a down
/// edited since is refused; repair records it.
#[test]
fn an_edited_down_file_is_refused() {
    let Some(mut db) = scratch() else { return };
    let files = [
        (
            "1_users.up.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        ),
        ("1_users.down.sql", "DROP TABLE users;\n"),
    ];
    let (dir, set) = pg::set(&files);
    let client = db.client();
    // The history table as a build before `down_checksum` made it.
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, kind text NOT NULL, \
             checksum text NOT NULL, applied_at timestamptz NOT NULL, duration_ms bigint NOT NULL, origin text)",
        )
        .unwrap();
    set.runner().run_postgres(client).unwrap();
    let recorded = count(
        client,
        &format!(
            "SELECT count(*) FROM schema_migrations WHERE down_checksum = '{}'",
            set.iter().next().unwrap().down_checksum().unwrap()
        ),
    );
    assert_eq!(recorded, 1);
    std::fs::write(
        dir.path().join("1_users.down.sql"),
        "DROP TABLE users; -- edited\n",
    )
    .unwrap();
    let edited = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    let e = edited
        .runner()
        .down_postgres(client, migrate_core::DownTarget::To(0))
        .unwrap_err();
    assert!(e.to_string().contains("edited after their up ran"), "{e}");
    let done = edited.runner().repair_postgres(client).unwrap();
    assert_eq!(done.downs.len(), 1);
    edited
        .runner()
        .down_postgres(client, migrate_core::DownTarget::To(0))
        .unwrap();
    assert_eq!(count(client, "SELECT count(*) FROM schema_migrations"), 0);
}
