//! `schema`, `verify`, `baseline` and `repair` on PostgreSQL, against a
//! real server (see `pg_support.rs`): the catalogue dump, drift found by a
//! replay that leaves no trace, index sets and their `expect` lines, and
//! the history written without running the files.

#[path = "pg_support.rs"]
mod pg;

use migrate_core::Migrations;
use migrate_core::sql::Dialect;
use migrate_core::verify::ProblemKind;
use pg::{count, scratch, set};

/// Schemas other than PostgreSQL's own and `public`: a replay must leave none.
fn scratch_schemas(client: &mut postgres::Client) -> i64 {
    count(
        client,
        "SELECT count(*) FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema') \
         AND nspname NOT LIKE 'pg\\_%'",
    )
}

const NOTES: &str = include_str!("fixtures/pg/0001_notes.sql");
const NOTES_BODY: &str = include_str!("fixtures/pg/0002_notes_body.sql");
const TAGS: &str = "CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE tags (id serial PRIMARY KEY, note_id bigint REFERENCES notes (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (name <> ''), mood mood DEFAULT 'ok', UNIQUE (note_id, name));
CREATE VIEW tag_names AS SELECT name FROM tags;
CREATE SEQUENCE tickets START 100;
";
const INDEXES: &str = "index tags_mood on tags (mood) where mood = 'sad'
expect \"SELECT * FROM tags WHERE mood = 'sad' AND name = $1\" uses tags_mood
";

fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("0001_notes.sql", NOTES),
        ("0002_notes_body.sql", NOTES_BODY),
        ("0003_tags.sql", TAGS),
        ("0004_tags.indexes", INDEXES),
    ]
}

#[test]
fn the_dump_is_the_catalogue_normalised_and_the_same_however_made() {
    let (Some(mut a), Some(mut b)) = (scratch(), scratch()) else {
        return;
    };
    let (_dir, set) = set(&files());
    set.runner().run_postgres(a.client()).unwrap();
    // The same schema typed differently, in another order, by hand.
    b.client()
        .batch_execute(
            "create type mood as enum ('sad', 'ok');
             create function touch() returns trigger language plpgsql as $$
BEGIN
  NEW.touched := now();
  RETURN NEW;
END;
$$;
             create table notes (id BIGINT generated always as identity, body TEXT not null, touched TIMESTAMP WITH TIME ZONE, primary key (id));
             create sequence tickets start with 100;
             create table tags (id SERIAL primary key, note_id INT8 references notes on delete cascade,
               name text not null check (name <> ''), mood mood default 'ok', unique (note_id, name));
             create index tags_mood on tags (mood) where mood = 'sad';
             create index notes_body on notes (body);
             create view tag_names as select name from tags;
             create trigger notes_touch before update on notes for each row execute function touch();",
        )
        .unwrap();
    let table = migrate_core::Table::default();
    let dump_a = migrate_core::postgres::dump(a.client(), Some(&table)).unwrap();
    let dump_b = migrate_core::postgres::dump(b.client(), Some(&table)).unwrap();
    assert_eq!(dump_a, dump_b);
    // Each kind, in dependency order, names unqualified; no history table.
    let heads: Vec<&str> = dump_a
        .split("\n\n")
        .map(|p| p.lines().next().unwrap())
        .collect();
    assert_eq!(
        heads,
        [
            "CREATE TYPE mood AS ENUM ('sad', 'ok');",
            "CREATE SEQUENCE tags_id_seq AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1;",
            "CREATE SEQUENCE tickets AS bigint INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 100 CACHE 1;",
            "CREATE OR REPLACE FUNCTION touch()",
            "CREATE TABLE notes (",
            "CREATE TABLE tags (",
            "ALTER SEQUENCE tags_id_seq OWNED BY tags.id;",
            "CREATE INDEX notes_body ON notes USING btree (body);",
            "CREATE INDEX tags_mood ON tags USING btree (mood) WHERE (mood = 'sad'::mood);",
            "CREATE VIEW tag_names AS",
            "CREATE TRIGGER notes_touch BEFORE UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION touch();",
        ],
        "{dump_a}"
    );
    assert!(dump_a.contains("  CONSTRAINT tags_name_check CHECK ((name <> ''::text)),\n"));
    assert!(!dump_a.contains("schema_migrations"));
    let with_history = migrate_core::postgres::dump(a.client(), None).unwrap();
    assert!(with_history.contains("CREATE TABLE schema_migrations ("));
}

#[test]
fn verify_finds_nothing_on_a_migrated_database_and_leaves_no_trace() {
    let Some(mut db) = scratch() else { return };
    let c = db.connector();
    let (_dir, set) = set(&files());
    let client = db.client();
    set.runner()
        .lock_connection(c.clone())
        .run_postgres(client)
        .unwrap();
    let v = set
        .runner()
        .lock_connection(c.clone())
        .verify_postgres(client)
        .unwrap();
    assert!(v.problems.is_empty(), "{:#?}", v.problems);
    assert_eq!(v.applied, 4);
    assert_eq!(scratch_schemas(client), 0);
    // The session is left usable, with no transaction open.
    client.batch_execute("CREATE TABLE after (x int)").unwrap();
}

#[test]
fn verify_names_each_drift_and_index_and_plan_problem() {
    let Some(mut db) = scratch() else { return };
    let c = db.connector();
    let (_dir, set) = set(&files());
    let client = db.client();
    set.runner()
        .lock_connection(c.clone())
        .run_postgres(client)
        .unwrap();
    client
        .batch_execute(
            "ALTER TABLE notes ALTER body DROP NOT NULL;
             ALTER TABLE tags ADD COLUMN extra int;
             CREATE TABLE by_hand (x int);
             DROP VIEW tag_names;
             CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
             DROP INDEX tags_mood;
             CREATE INDEX tags_mood ON tags (note_id);",
        )
        .unwrap();
    let v = set
        .runner()
        .lock_connection(c.clone())
        .verify_postgres(client)
        .unwrap();
    let messages: Vec<String> = v.problems.iter().map(ToString::to_string).collect();
    let has = |needle: &str| {
        assert!(
            messages.iter().any(|m| m.contains(needle)),
            "no problem says {needle:?}: {messages:#?}"
        )
    };
    has("table `notes` was changed outside the migrations: column `body` is `body text`");
    has("column `extra` was added");
    has("table `by_hand` is not created by any migration");
    has("view `tag_names` is missing");
    has("function `touch()` was changed outside the migrations");
    has("0004_tags.indexes:1: index `tags_mood` has another definition");
    has(
        "0004_tags.indexes:2: the plan of \"SELECT * FROM tags WHERE mood = 'sad' AND name = $1\" does not use tags_mood",
    );
    assert!(
        v.problems
            .iter()
            .any(|p| matches!(&p.kind, ProblemKind::Plan { index, .. } if index == "tags_mood"))
    );
    assert_eq!(v.problems.len(), 7, "{messages:#?}");
    assert_eq!(scratch_schemas(client), 0);
}

#[test]
fn a_file_that_does_not_replay_is_said_and_leaves_nothing() {
    let Some(mut db) = scratch() else { return };
    let c = db.connector();
    let (dir, set) = set(&files()[..1]);
    let client = db.client();
    set.runner()
        .lock_connection(c.clone())
        .run_postgres(client)
        .unwrap();
    // A table made by hand that a later applied file used: the replay has
    // no such table in its scratch schema.
    client
        .batch_execute("CREATE TABLE outside (x int)")
        .unwrap();
    std::fs::write(
        dir.path().join("0002_copy.sql"),
        "CREATE TABLE copy AS SELECT * FROM outside;\nDROP TABLE outside;\n",
    )
    .unwrap();
    let set = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    set.runner()
        .lock_connection(c.clone())
        .run_postgres(client)
        .unwrap();
    let v = set
        .runner()
        .lock_connection(c.clone())
        .verify_postgres(client)
        .unwrap();
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert!(
        matches!(&v.problems[0].kind, ProblemKind::NotReplayed(why) if why.starts_with("0002_copy.sql:1: ")),
        "{:?}",
        v.problems
    );
    assert_eq!(scratch_schemas(client), 0);
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'copy'"
        ),
        1
    );
}

#[test]
fn baseline_records_a_hand_made_schema_only_when_it_is_the_files_one() {
    let Some(mut db) = scratch() else { return };
    let c = db.connector();
    let (_dir, set) = set(&files());
    let client = db.client();
    client.batch_execute(NOTES).unwrap();
    // Not yet the schema of version 2: refused, nothing written.
    let err = set
        .runner()
        .lock_connection(c.clone())
        .baseline_postgres(client, 2)
        .unwrap_err();
    assert!(
        err.to_string().contains("index `notes_body` is missing"),
        "{err}"
    );
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'"
        ),
        0
    );
    client
        .batch_execute("CREATE INDEX notes_body ON notes (body)")
        .unwrap();
    let dry = set
        .runner()
        .lock_connection(c.clone())
        .dry_run(true)
        .baseline_postgres(client, 2)
        .unwrap();
    assert_eq!(dry.recorded.len(), 2);
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'"
        ),
        0
    );
    let done = set
        .runner()
        .lock_connection(c.clone())
        .baseline_postgres(client, 2)
        .unwrap();
    assert_eq!(done.recorded.len(), 2);
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM schema_migrations WHERE origin = 'baseline'"
        ),
        2
    );
    // Twice is refused; `up` goes on from there.
    assert!(
        set.runner()
            .lock_connection(c.clone())
            .baseline_postgres(client, 2)
            .is_err()
    );
    let report = set
        .runner()
        .lock_connection(c.clone())
        .run_postgres(client)
        .unwrap();
    let applied: Vec<u64> = report.applied.iter().map(|s| s.version).collect();
    assert_eq!(applied, [3, 4]);
    assert!(
        set.runner()
            .lock_connection(c.clone())
            .verify_postgres(client)
            .unwrap()
            .problems
            .is_empty()
    );
    assert_eq!(scratch_schemas(client), 0);
}

#[test]
fn repair_rerecords_harmless_edits_removes_deleted_files_and_refuses_real_changes() {
    let Some(mut db) = scratch() else { return };
    let c = db.connector();
    let (dir, set) = set(&files());
    let client = db.client();
    set.runner()
        .lock_connection(c.clone())
        .run_postgres(client)
        .unwrap();
    // A comment added: the same schema.
    std::fs::write(
        dir.path().join("0003_tags.sql"),
        format!("-- tags for notes\n{TAGS}"),
    )
    .unwrap();
    let edited = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    let done = edited
        .runner()
        .lock_connection(c.clone())
        .repair_postgres(client)
        .unwrap();
    assert_eq!(done.rechecked.len(), 1);
    assert!(
        edited
            .runner()
            .lock_connection(c.clone())
            .verify_postgres(client)
            .unwrap()
            .problems
            .is_empty()
    );
    // A real change: refused, the history as it was.
    std::fs::write(
        dir.path().join("0003_tags.sql"),
        TAGS.replace("name text NOT NULL", "name varchar(20) NOT NULL"),
    )
    .unwrap();
    let changed = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    let err = changed
        .runner()
        .lock_connection(c.clone())
        .repair_postgres(client)
        .unwrap_err();
    assert!(err.to_string().contains("column `name`"), "{err}");
    assert!(
        edited
            .runner()
            .lock_connection(c.clone())
            .verify_postgres(client)
            .unwrap()
            .problems
            .is_empty()
    );
    // A deleted newest file: the database is ahead of the folder (an old
    // checkout looks the same), so its row stays (issue #22.3).
    std::fs::write(
        dir.path().join("0003_tags.sql"),
        format!("-- tags for notes\n{TAGS}"),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("0004_tags.indexes")).unwrap();
    let fewer = Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    let err = fewer
        .runner()
        .lock_connection(c.clone())
        .repair_postgres(client)
        .unwrap_err();
    assert!(err.to_string().contains("ahead of these files"), "{err}");
    assert_eq!(count(client, "SELECT count(*) FROM schema_migrations"), 4);
    assert_eq!(scratch_schemas(client), 0);
}

#[test]
fn the_history_may_live_in_a_schema_of_its_own() {
    let Some(mut db) = scratch() else { return };
    let c = db.connector();
    let (_dir, set) = set(&files());
    let client = db.client();
    let table = migrate_core::Table::new("ops.migrations").unwrap();
    // The schema must exist: named, nothing changed.
    let err = set
        .runner()
        .lock_connection(c.clone())
        .table(table.clone())
        .run_postgres(client)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the history table's schema `ops` does not exist; create it first"),
        "{err}"
    );
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        0
    );
    client.batch_execute("CREATE SCHEMA ops").unwrap();
    let runner = || set.runner().lock_connection(c.clone()).table(table.clone());
    assert_eq!(runner().run_postgres(client).unwrap().applied.len(), 4);
    assert_eq!(count(client, "SELECT count(*) FROM ops.migrations"), 4);
    assert!(runner().run_postgres(client).unwrap().applied.is_empty());
    assert!(
        runner()
            .verify_postgres(client)
            .unwrap()
            .problems
            .is_empty()
    );
    // A table of the same name in the current schema is the user's own.
    client
        .batch_execute("CREATE TABLE migrations (x int)")
        .unwrap();
    let v = runner().verify_postgres(client).unwrap();
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert!(
        v.problems[0]
            .message
            .contains("table `migrations` is not created by any migration")
    );
}

#[test]
fn up_warns_of_an_expect_whose_plan_does_not_use_its_index() {
    let Some(mut db) = scratch() else { return };
    let c = db.connector();
    let mut files = files();
    files.push((
        "0005_more.indexes",
        "index tags_name on tags (name)\nexpect \"SELECT * FROM tags WHERE name = $1\" uses tags_name\n\
         expect \"SELECT * FROM tags WHERE note_id > 3\" uses tags_name\n",
    ));
    let (_dir, set) = set(&files);
    let client = db.client();
    let report = set
        .runner()
        .lock_connection(c.clone())
        .run_postgres(client)
        .unwrap();
    assert_eq!(report.applied.len(), 5);
    let warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "0005_more.indexes:3: the plan of \"SELECT * FROM tags WHERE note_id > 3\" does not use tags_name: "
        ),
        "{warnings:?}"
    );
    // The session is left with no transaction open.
    client.batch_execute("CREATE TABLE after (x int)").unwrap();
}

#[test]
fn adopt_reads_each_tools_postgresql_history_as_that_tool_does() {
    use migrate_core::adopt::{Kept, Tool};
    let two = [
        ("0001_notes.sql", NOTES),
        ("0002_notes_body.sql", NOTES_BODY),
    ];
    // Each tool's table as its PostgreSQL driver makes it, with the rows
    // it writes for versions 1 and 2.
    let cases: [(&str, Tool, &str); 5] = [
        (
            "sqlx",
            Tool::Sqlx,
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, \
             execution_time BIGINT NOT NULL);
             INSERT INTO _sqlx_migrations VALUES (1, 'notes', '2024-01-02 03:04:05+00', true, '\\x00', 1), \
             (2, 'notes body', now(), true, '\\x00', 1);",
        ),
        (
            "goose",
            Tool::Goose,
            "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, \
             is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id));
             INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (3, true), (3, false);",
        ),
        (
            "golang-migrate",
            Tool::GolangMigrate,
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES (2, false);",
        ),
        (
            "diesel",
            Tool::Diesel,
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
             INSERT INTO __diesel_schema_migrations (version) VALUES ('1'), ('2');",
        ),
        (
            "flyway",
            Tool::Flyway,
            "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), \
             description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, \
             checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), \
             execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL);
             INSERT INTO flyway_schema_history VALUES (1, '1', 'notes', 'SQL', 'V1__notes.sql', 0, 'app', now(), 1, true), \
             (2, '2', 'body', 'SQL', 'V2__body.sql', 0, 'app', now(), 1, true);",
        ),
    ];
    for (name, tool, history) in cases {
        let Some(mut db) = scratch() else { return };
        let c = db.connector();
        let (_dir, set) = set(&two);
        let client = db.client();
        client.batch_execute(NOTES).unwrap();
        client
            .batch_execute("CREATE INDEX notes_body ON notes (body)")
            .unwrap();
        client.batch_execute(history).unwrap();
        let adopted = set
            .runner()
            .lock_connection(c.clone())
            .adopt_postgres(client, None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(adopted.tool, tool, "{name}");
        let versions: Vec<u64> = adopted.recorded.iter().map(|a| a.version).collect();
        assert_eq!(versions, [1, 2], "{name}");
        assert_eq!(
            count(
                client,
                "SELECT count(*) FROM schema_migrations WHERE origin = $1"
                    .replace("$1", &format!("'{}'", tool.name()))
                    .as_str()
            ),
            2,
            "{name}"
        );
        if tool == Tool::GolangMigrate {
            assert_eq!(
                adopted.kept,
                Kept::Renamed {
                    from: "schema_migrations".into(),
                    to: "golang_migrate_schema_migrations".into()
                }
            );
        }
        if tool == Tool::Sqlx {
            assert_eq!(
                adopted.recorded[0].applied_at.as_deref(),
                Some("2024-01-02 03:04:05+00")
            );
            assert_eq!(
                count(
                    client,
                    "SELECT count(*) FROM schema_migrations WHERE applied_at = '2024-01-02 03:04:05+00'"
                ),
                1
            );
        }
        assert!(
            set.runner()
                .lock_connection(c.clone())
                .run_postgres(client)
                .unwrap()
                .applied
                .is_empty(),
            "{name}"
        );
        assert!(
            set.runner()
                .lock_connection(c.clone())
                .verify_postgres(client)
                .unwrap()
                .problems
                .is_empty(),
            "{name}"
        );
    }
}

#[test]
fn adopt_refuses_half_done_histories_and_up_names_the_other_tool() {
    let two = [
        ("0001_notes.sql", NOTES),
        ("0002_notes_body.sql", NOTES_BODY),
    ];
    let refusals = [
        (
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES (2, true);",
            "golang-migrate marks version 2 dirty",
        ),
        (
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, \
             execution_time BIGINT NOT NULL);
             INSERT INTO _sqlx_migrations VALUES (1, 'notes', now(), true, '\\x00', 1), (2, 'b', now(), false, '\\x00', 1);",
            "sqlx recorded version 2 as failed",
        ),
        (
            "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, \
             is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id));
             INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (7, true);",
            "goose recorded version 7 as applied, but no migration file here has that version",
        ),
    ];
    for (history, says) in refusals {
        let Some(mut db) = scratch() else { return };
        let c = db.connector();
        let (_dir, set) = set(&two);
        let client = db.client();
        client.batch_execute(NOTES).unwrap();
        client.batch_execute(history).unwrap();
        let err = set
            .runner()
            .lock_connection(c.clone())
            .adopt_postgres(client, None)
            .unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
        assert_eq!(
            count(
                client,
                "SELECT count(*) FROM pg_tables WHERE tablename IN ('schema_migrations', 'golang_migrate_schema_migrations') AND schemaname = 'public'"
            ),
            i64::from(says.starts_with("golang")),
        );
        // `up` would run the files again over the other tool's work.
        let err = set
            .runner()
            .lock_connection(c.clone())
            .run_postgres(client)
            .unwrap_err();
        assert!(
            err.to_string().contains("adopt")
                || err.to_string().contains("not a migrate history table"),
            "{err}"
        );
    }
}

/// Issue #23.3: the replay behind verify, baseline, repair and adopt cannot
/// reach the live database: a pg_dump-style `setval` on a qualified name,
/// `nextval`, a function that writes a qualified table, an advisory lock
/// and a NOTIFY all act on a scratch database, and leave the live one as
/// it was (its sequence, its rows, no notification heard). Files that the
/// live database already answers (`CREATE EXTENSION`, `CREATE SCHEMA`,
/// `SET search_path`) replay.
#[test]
fn the_replay_changes_nothing_in_the_live_database() {
    let Some(mut db) = scratch() else { return };
    let c = db.connector();
    let (_dir, set) = set(&[
        (
            "0001_items.sql",
            "CREATE EXTENSION IF NOT EXISTS pgcrypto;\nCREATE SCHEMA reporting;\nSET search_path = public;\n\
             CREATE TABLE items (id serial PRIMARY KEY, name text);\nCREATE TABLE log (msg text);\n\
             CREATE FUNCTION note(m text) RETURNS void LANGUAGE sql AS $$ INSERT INTO public.log VALUES (m) $$;\n",
        ),
        (
            "0002_seed.sql",
            "INSERT INTO public.items (id, name) VALUES (1, 'a'), (2, 'b');\n\
             SELECT pg_catalog.setval('public.items_id_seq', 2, true);\n\
             SELECT nextval('public.items_id_seq');\n\
             SELECT public.note('seeded');\n\
             SELECT pg_advisory_xact_lock(4242);\n\
             NOTIFY migrate_replay_test, 'replayed';\n",
        ),
    ]);
    let runner = || set.runner().lock_connection(c.clone());
    runner().run_postgres(db.client()).unwrap();
    let mut listener = db.connect();
    listener
        .batch_execute("LISTEN migrate_replay_test")
        .unwrap();
    let client = db.client();
    client
        .batch_execute("SELECT setval('items_id_seq', 102); INSERT INTO log VALUES ('live')")
        .unwrap();
    let v = runner().verify_postgres(client).unwrap();
    assert!(v.problems.is_empty(), "{:#?}", v.problems);
    runner().repair_postgres(client).unwrap();
    assert_eq!(count(client, "SELECT last_value FROM items_id_seq"), 102);
    assert_eq!(count(client, "SELECT count(*) FROM log"), 2);
    assert_eq!(count(client, "SELECT count(*) FROM items"), 2);
    // Other tests replay at the same time: only this session's count.
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_database \
             WHERE datname LIKE 'migrate\\_replay\\_' || pg_backend_pid() || '\\_%'"
        ),
        0,
        "a scratch database was left"
    );
    // A round trip brings in whatever was sent meanwhile.
    listener.batch_execute("SELECT 1").unwrap();
    let heard = listener.notifications().len();
    assert_eq!(heard, 0, "the live database heard the replay's NOTIFY");
    // A role that may not create databases is told why drift is not
    // checked, and nothing changes.
    client
        .batch_execute("DROP ROLE IF EXISTS migrate_no_createdb; CREATE ROLE migrate_no_createdb LOGIN; GRANT ALL ON ALL TABLES IN SCHEMA public TO migrate_no_createdb; GRANT USAGE ON SCHEMA public TO migrate_no_createdb")
        .unwrap();
    let mut weak = db.connect();
    weak.batch_execute("SET ROLE migrate_no_createdb").unwrap();
    let v = runner().verify_postgres(&mut weak).unwrap();
    let said: Vec<String> = v.problems.iter().map(|p| p.message.clone()).collect();
    assert!(
        said.len() == 1 && said[0].contains("may not create databases: grant it CREATEDB"),
        "{said:#?}"
    );
}

/// Issue #23.5: what drift sees on PostgreSQL is every property that
/// changes what the database accepts or returns. Each hand change below,
/// made to a database its files migrated, is reported; the files replayed
/// as they are report nothing (written differently, the same schema reads
/// the same: `the_dump_is_the_catalogue_normalised_and_the_same_however_made`).
#[test]
fn drift_sees_every_property_on_postgresql() {
    const BASE: &str =
        "CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);
CREATE TABLE tags (id serial PRIMARY KEY, label text);
CREATE SEQUENCE tickets;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$;
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW named AS SELECT id, name FROM items WHERE name IS NOT NULL;
CREATE MATERIALIZED VIEW counted AS SELECT count(*) AS n FROM items;
";
    let changes = [
        (
            "a rule",
            "CREATE RULE quiet AS ON INSERT TO items DO INSTEAD NOTHING",
        ),
        (
            "a disabled trigger",
            "ALTER TABLE items DISABLE TRIGGER items_touch",
        ),
        (
            "a replica trigger",
            "ALTER TABLE items ENABLE REPLICA TRIGGER items_touch",
        ),
        (
            "a sequence's maximum",
            "ALTER SEQUENCE tickets MAXVALUE 1000",
        ),
        (
            "a sequence's increment",
            "ALTER SEQUENCE tickets INCREMENT BY 2",
        ),
        ("a sequence's cycle", "ALTER SEQUENCE tickets CYCLE"),
        (
            "a serial's sequence",
            "ALTER SEQUENCE tags_id_seq INCREMENT BY 10",
        ),
        (
            "an identity's options",
            "ALTER TABLE items ALTER COLUMN id SET INCREMENT BY 5",
        ),
        (
            "a column's storage",
            "ALTER TABLE items ALTER COLUMN name SET STORAGE PLAIN",
        ),
        (
            "a column's compression",
            "ALTER TABLE items ALTER COLUMN name SET COMPRESSION pglz",
        ),
        (
            "the replica identity",
            "ALTER TABLE items REPLICA IDENTITY FULL",
        ),
        (
            "a view's check option",
            "ALTER VIEW named SET (check_option = cascaded)",
        ),
        (
            "an aggregate",
            "CREATE AGGREGATE total(int) (SFUNC = int4pl, STYPE = int)",
        ),
        (
            "a collation",
            "CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
        ),
        ("inheritance", "CREATE TABLE more_tags () INHERITS (tags)"),
        (
            "a matview without data",
            "DROP MATERIALIZED VIEW counted; CREATE MATERIALIZED VIEW counted AS SELECT count(*) AS n FROM items WITH NO DATA",
        ),
    ];
    let mut missed = Vec::new();
    for (what, change) in changes {
        let Some(mut db) = scratch() else { return };
        let c = db.connector();
        let (_dir, set) = set(&[("0001_base.sql", BASE)]);
        let runner = || set.runner().lock_connection(c.clone());
        runner().run_postgres(db.client()).unwrap();
        let v = runner().verify_postgres(db.client()).unwrap();
        assert!(
            v.problems.is_empty(),
            "{what}: before the change: {:#?}",
            v.problems
        );
        db.client()
            .batch_execute(change)
            .unwrap_or_else(|e| panic!("{what}: {}", pg::why(&e)));
        let v = runner().verify_postgres(db.client()).unwrap();
        if v.problems.is_empty() {
            missed.push(what);
        }
    }
    assert!(missed.is_empty(), "not reported: {missed:?}");
}
