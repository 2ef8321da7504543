//! `adopt`, through the real binary, on databases whose history another
//! tool wrote: refinery and rusqlite_migration run themselves (they are
//! crates), dbmate runs itself where it is installed (`.ci/run` installs
//! it), and the others' tables are made and filled as their sources do it
//! (the statements are quoted from them below).
//!
//! For each tool: adopt; `status` shows everything applied, marked as
//! adopted; `verify` is clean (the other tool's table is not drift); a new
//! file applies; the other tool's history is still there, row for row; and
//! the same database with a schema that differs from the files is refused
//! with its bytes unchanged.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use rusqlite::Connection;

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n";
const EMAIL: &str = "CREATE INDEX users_email ON users (email);\n";
const POSTS: &str = "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id));\n";

fn exec(db: &Path, sql: &str) {
    Connection::open(db).unwrap().execute_batch(sql).unwrap();
}

/// Every row of `table`, as text, in rowid order.
fn rows(db: &Path, table: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// One tool's case: its folder, how it made the database, where its
/// history is, and where it is after adopt.
struct Case {
    tool: &'static str,
    files: Vec<(&'static str, String)>,
    /// The next migration, in the tool's layout.
    next: (&'static str, String),
    /// Makes `app.db` as the tool does, with the first two files applied.
    make: fn(&Project),
    /// The tool's history table before adopt, and after it.
    table: &'static str,
    kept: &'static str,
    /// The versions it applied.
    applied: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            tool: "refinery",
            files: vec![
                ("V1__users.sql", USERS.into()),
                ("V2__email_index.sql", EMAIL.into()),
            ],
            next: ("V3__posts.sql", POSTS.into()),
            make: |p| {
                let ms = [("V1__users", USERS), ("V2__email_index", EMAIL)]
                    .map(|(name, sql)| refinery::Migration::unapplied(name, sql).unwrap());
                let mut conn = Connection::open(p.db()).unwrap();
                refinery::Runner::new(&ms).run(&mut conn).unwrap();
            },
            table: "refinery_schema_history",
            kept: "refinery_schema_history",
            applied: &["1", "2"],
        },
        Case {
            tool: "rusqlite_migration",
            files: vec![
                ("0001_users.sql", USERS.into()),
                ("0002_email_index.sql", EMAIL.into()),
            ],
            next: ("0003_posts.sql", POSTS.into()),
            make: |p| {
                let mut conn = Connection::open(p.db()).unwrap();
                rusqlite_migration::Migrations::new(vec![
                    rusqlite_migration::M::up(USERS),
                    rusqlite_migration::M::up(EMAIL),
                ])
                .to_latest(&mut conn)
                .unwrap();
            },
            table: "",
            kept: "",
            applied: &["1", "2"],
        },
        Case {
            tool: "sqlx",
            files: vec![
                ("20240101120000_users.sql", USERS.into()),
                ("20240102120000_email_index.sql", EMAIL.into()),
            ],
            next: ("20240103120000_posts.sql", POSTS.into()),
            make: |p| {
                // sqlx-sqlite 0.8, migrate.rs: ensure_migrations_table and
                // apply (the checksum is the SHA-384 of the file).
                exec(
                    &p.db(),
                    &format!(
                        "{USERS}{EMAIL}
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);"
                    ),
                );
                let conn = Connection::open(p.db()).unwrap();
                for (version, description, sql) in [
                    (20240101120000_i64, "users", USERS),
                    (20240102120000, "email index", EMAIL),
                ] {
                    use sha2::Digest;
                    let checksum = sha2::Sha384::digest(sql.as_bytes()).to_vec();
                    conn.execute(
                        "INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time ) \
                         VALUES ( ?1, ?2, TRUE, ?3, -1 )",
                        rusqlite::params![version, description, checksum],
                    )
                    .unwrap();
                    conn.execute(
                        "UPDATE _sqlx_migrations SET execution_time = ?1 WHERE version = ?2",
                        rusqlite::params![1_200_000_i64, version],
                    )
                    .unwrap();
                }
            },
            table: "_sqlx_migrations",
            kept: "_sqlx_migrations",
            applied: &["20240101120000", "20240102120000"],
        },
        Case {
            tool: "diesel",
            files: vec![
                ("2024-01-01-120000_users/up.sql", USERS.into()),
                (
                    "2024-01-01-120000_users/down.sql",
                    "DROP TABLE users;\n".into(),
                ),
                ("2024-01-02-120000_email_index/up.sql", EMAIL.into()),
                (
                    "2024-01-02-120000_email_index/down.sql",
                    "DROP INDEX users_email;\n".into(),
                ),
            ],
            next: ("2024-01-03-120000_posts/up.sql", POSTS.into()),
            make: |p| {
                // diesel_migrations 2, the SQLite table and its insert.
                exec(
                    &p.db(),
                    &format!(
                        "{USERS}{EMAIL}
CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('20240101120000', '2024-01-01 12:00:00');
INSERT INTO __diesel_schema_migrations (version) VALUES ('20240102120000');"
                    ),
                );
            },
            table: "__diesel_schema_migrations",
            kept: "__diesel_schema_migrations",
            applied: &["20240101120000", "20240102120000"],
        },
        Case {
            tool: "goose",
            files: vec![
                (
                    "00001_users.sql",
                    format!("-- +goose Up\n{USERS}\n-- +goose Down\nDROP TABLE users;\n"),
                ),
                (
                    "00002_email_index.sql",
                    format!("-- +goose Up\n{EMAIL}\n-- +goose Down\nDROP INDEX users_email;\n"),
                ),
            ],
            next: (
                "00003_posts.sql",
                format!("-- +goose Up\n{POSTS}\n-- +goose Down\nDROP TABLE posts;\n"),
            ),
            make: |p| {
                // goose v3, internal/dialect/dialectquery/sqlite3.go: the
                // table, its version-0 row, one row per up or down. Here 3
                // was applied, then reverted (`goose down`), so the file is
                // pending again.
                exec(
                    &p.db(),
                    &format!(
                        "CREATE TABLE goose_db_version (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		version_id INTEGER NOT NULL,
		is_applied INTEGER NOT NULL,
		tstamp TIMESTAMP DEFAULT (datetime('now'))
	);
INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1);
{USERS}INSERT INTO goose_db_version (version_id, is_applied) VALUES (1, 1);
{EMAIL}INSERT INTO goose_db_version (version_id, is_applied) VALUES (2, 1);
{POSTS}INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, 1);
DROP TABLE posts;
DELETE FROM goose_db_version WHERE version_id = 3;"
                    ),
                );
            },
            table: "goose_db_version",
            kept: "goose_db_version",
            applied: &["1", "2"],
        },
        Case {
            tool: "golang-migrate",
            files: vec![
                ("1_users.up.sql", USERS.into()),
                ("1_users.down.sql", "DROP TABLE users;\n".into()),
                ("2_email_index.up.sql", EMAIL.into()),
                ("2_email_index.down.sql", "DROP INDEX users_email;\n".into()),
            ],
            next: ("3_posts.up.sql", POSTS.into()),
            make: |p| {
                // golang-migrate v4, database/sqlite3/sqlite3.go:
                // ensureVersionTable and SetVersion (one row: the last
                // version, and whether it is dirty).
                exec(
                    &p.db(),
                    &format!(
                        "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);
  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);
{USERS}{EMAIL}
DELETE FROM schema_migrations;
INSERT INTO schema_migrations (version, dirty) VALUES (2, 0);"
                    ),
                );
            },
            table: "schema_migrations",
            kept: "golang_migrate_schema_migrations",
            applied: &["1", "2"],
        },
        Case {
            tool: "dbmate",
            files: vec![
                (
                    "20240101120000_users.sql",
                    format!("-- migrate:up\n{USERS}\n-- migrate:down\nDROP TABLE users;\n"),
                ),
                (
                    "20240102120000_email_index.sql",
                    format!("-- migrate:up\n{EMAIL}\n-- migrate:down\nDROP INDEX users_email;\n"),
                ),
            ],
            next: (
                "20240103120000_posts.sql",
                format!("-- migrate:up\n{POSTS}\n-- migrate:down\nDROP TABLE posts;\n"),
            ),
            make: |p| {
                if let Some(dbmate) = dbmate("its history is made as its source makes it") {
                    let out = Command::new(dbmate)
                        .current_dir(p.dir.path())
                        .env("DATABASE_URL", "sqlite:app.db")
                        .args(["--migrations-dir", "migrations", "--no-dump-schema", "up"])
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "dbmate: {}", stderr(&out));
                    return;
                }
                // dbmate v2, pkg/driver/sqlite/sqlite.go: its table, and
                // one row per applied version.
                exec(
                    &p.db(),
                    &format!(
                        "create table if not exists \"schema_migrations\" (version varchar(128) primary key);
{USERS}insert into \"schema_migrations\" (version) values ('20240101120000');
{EMAIL}insert into \"schema_migrations\" (version) values ('20240102120000');"
                    ),
                );
            },
            table: "schema_migrations",
            kept: "dbmate_schema_migrations",
            applied: &["20240101120000", "20240102120000"],
        },
        Case {
            tool: "flyway",
            files: vec![
                ("V1__users.sql", USERS.into()),
                ("V2__email_index.sql", EMAIL.into()),
            ],
            next: ("V3__posts.sql", POSTS.into()),
            make: |p| {
                // Flyway 10, database/sqlite/createMetaDataTable.sql, and
                // its rows for two SQL migrations.
                exec(
                    &p.db(),
                    &format!(
                        "CREATE TABLE \"flyway_schema_history\" (
    \"installed_rank\" INT NOT NULL PRIMARY KEY,
    \"version\" VARCHAR(50),
    \"description\" VARCHAR(200) NOT NULL,
    \"type\" VARCHAR(20) NOT NULL,
    \"script\" VARCHAR(1000) NOT NULL,
    \"checksum\" INT,
    \"installed_by\" VARCHAR(100) NOT NULL,
    \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
    \"execution_time\" INT NOT NULL,
    \"success\" BOOLEAN NOT NULL
);
CREATE INDEX \"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" (\"success\");
{USERS}{EMAIL}
INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
VALUES (1, '1', 'users', 'SQL', 'V1__users.sql', -1534129481, '', 3, 1),
       (2, '2', 'email index', 'SQL', 'V2__email_index.sql', 1092834810, '', 1, 1);"
                    ),
                );
            },
            table: "flyway_schema_history",
            kept: "flyway_schema_history",
            applied: &["1", "2"],
        },
    ]
}

fn project(case: &Case) -> Project {
    let files: Vec<(&str, &str)> = case.files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let p = Project::new(&files);
    (case.make)(&p);
    p
}

#[test]
fn each_tools_database_is_adopted_and_migrates_on() {
    for case in cases() {
        let tool = case.tool;
        let p = project(&case);
        let theirs = (!case.table.is_empty()).then(|| rows(&p.db(), case.table));

        // Before adopt, `up` would run the files again: refused (or, for
        // `user_version`, which apps also set, rolled back), pointing here.
        refuses(&p, &["up"], 1, &["migrate-cli adopt"]);
        // `status` says what `up` would (issue #22, messages).
        if !case.table.is_empty() {
            let out = p.cli(&["status"]);
            assert!(
                stderr(&out).contains("`migrate-cli adopt`"),
                "{tool}: {}",
                stderr(&out)
            );
        }

        let dry = ok(&p, &["adopt", "--dry-run"]);
        assert!(
            dry.contains(&format!("found {tool}'s history")),
            "{tool}: {dry}"
        );
        assert!(dry.contains("nothing was changed"), "{tool}: {dry}");

        let out = ok(&p, &["adopt"]);
        for v in case.applied {
            assert!(
                out.contains(&format!("recorded {v} ")),
                "{tool}: {v} not recorded: {out}"
            );
        }
        assert_eq!(
            out.matches("as applied (adopted from").count(),
            case.applied.len(),
            "{tool}: {out}"
        );
        if case.kept != case.table {
            assert!(
                out.contains(&format!("`{}` (renamed from `{}`", case.kept, case.table)),
                "{tool}: {out}"
            );
        }

        let status = ok(&p, &["status"]);
        assert!(
            status.contains(&format!(
                "{} applied, 0 pending, 0 modified, 0 missing",
                case.applied.len()
            )),
            "{tool}: {status}"
        );
        assert_eq!(
            status
                .matches(&format!("not run: adopted from {tool}"))
                .count(),
            case.applied.len(),
            "{tool}: {status}"
        );
        if tool == "diesel" {
            // The time diesel kept, in this tool's format.
            assert!(status.contains("2024-01-01T12:00:00.000Z"), "{status}");
        }
        let verify = p.cli(&["verify"]);
        assert_eq!(
            code(&verify),
            0,
            "{tool}: {}{}",
            stdout(&verify),
            stderr(&verify)
        );

        // The other tool's history, row for row, under the name reported.
        if let Some(theirs) = theirs {
            assert_eq!(rows(&p.db(), case.kept), theirs, "{tool}");
        } else {
            let conn = Connection::open(p.db()).unwrap();
            let v: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v, 2, "{tool}");
        }

        p.write(case.next.0, &case.next.1);
        let up = ok(&p, &["up"]);
        assert!(up.contains("applied "), "{tool}: {up}");
        let status = ok(&p, &["status"]);
        assert!(
            status.contains(&format!("{} applied, 0 pending", case.applied.len() + 1)),
            "{tool}: {status}"
        );
        assert!(
            Connection::open(p.db())
                .unwrap()
                .table_exists(None, "posts")
                .unwrap(),
            "{tool}"
        );

        // Once adopted, there is nothing left to adopt.
        refused(&p, &["adopt"], &["already has"]);
    }
}

#[test]
fn a_database_whose_schema_differs_from_the_files_is_refused_unchanged() {
    for case in cases() {
        let p = project(&case);
        exec(&p.db(), "ALTER TABLE users ADD COLUMN nickname TEXT");
        refused(&p, &["adopt"], &["adopt refused", "nickname"]);
        // The same with the tool named.
        refused(&p, &["adopt", "--from", case.tool], &["nickname"]);
    }
}

#[test]
fn a_half_done_migration_of_the_other_tool_is_refused() {
    let cases = cases();
    let case = |tool: &str| cases.iter().find(|c| c.tool == tool).unwrap();

    let p = project(case("golang-migrate"));
    exec(&p.db(), "UPDATE schema_migrations SET dirty = 1");
    refused(
        &p,
        &["adopt"],
        &["golang-migrate marks version 2 dirty", "migrate force 2"],
    );

    let p = project(case("sqlx"));
    exec(
        &p.db(),
        "UPDATE _sqlx_migrations SET success = FALSE WHERE version = 20240102120000",
    );
    refused(
        &p,
        &["adopt"],
        &["sqlx recorded version 20240102120000 as failed"],
    );

    let p = project(case("flyway"));
    exec(
        &p.db(),
        "UPDATE flyway_schema_history SET success = 0 WHERE installed_rank = 2",
    );
    refused(&p, &["adopt"], &["flyway recorded version 2 as failed"]);
}

#[test]
fn what_adopt_cannot_map_is_refused_naming_it() {
    let cases = cases();
    let case = |tool: &str| cases.iter().find(|c| c.tool == tool).unwrap();

    // An applied version whose file is gone.
    let p = project(case("goose"));
    std::fs::remove_file(p.dir.path().join("migrations/00002_email_index.sql")).unwrap();
    refused(
        &p,
        &["adopt"],
        &["goose recorded version 2 as applied, but no migration file"],
    );

    // user_version counts more migrations than there are files.
    let p = project(case("rusqlite_migration"));
    std::fs::remove_file(p.dir.path().join("migrations/0002_email_index.sql")).unwrap();
    refused(&p, &["adopt"], &["PRAGMA user_version is 2", "has 1"]);

    // A version that is not a number.
    let p = project(case("dbmate"));
    exec(
        &p.db(),
        "INSERT INTO schema_migrations (version) VALUES ('2024_fix')",
    );
    refused(
        &p,
        &["adopt"],
        &["`schema_migrations` holds the version `2024_fix`"],
    );

    // Rails.
    let p = project(case("dbmate"));
    exec(
        &p.db(),
        "CREATE TABLE ar_internal_metadata (key TEXT PRIMARY KEY, value TEXT)",
    );
    refused(
        &p,
        &["adopt"],
        &[
            "ar_internal_metadata",
            "Rails",
            "migrate-cli baseline --to V",
        ],
    );

    // Two tools' histories: which one is for the user to say.
    let p = project(case("goose"));
    exec(
        &p.db(),
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
         run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    );
    refused(
        &p,
        &["adopt"],
        &[
            "diesel in `__diesel_schema_migrations`",
            "goose in `goose_db_version`",
            "`--from`",
        ],
    );
    ok(&p, &["adopt", "--from", "goose"]);

    // The tool named is not the one here.
    let p = project(case("goose"));
    refused(
        &p,
        &["adopt", "--from", "sqlx"],
        &["no sqlx history (no table `_sqlx_migrations`)"],
    );
    refused(
        &p,
        &["adopt", "--from", "rusqlite_migration"],
        &["PRAGMA user_version is 0"],
    );
    let p = project(case("dbmate"));
    refused(
        &p,
        &["adopt", "--from", "golang-migrate"],
        &[
            "`schema_migrations` is not golang-migrate's",
            "version, dirty",
        ],
    );
    refuses(
        &p,
        &["adopt", "--from", "rails"],
        2,
        &["--from rails: not a tool adopt reads", "goose"],
    );

    // No tool at all.
    let p = Project::new(&[("0001_users.sql", USERS)]);
    exec(&p.db(), USERS);
    refused(
        &p,
        &["adopt"],
        &[
            "no other migration tool's history",
            "migrate-cli baseline --to V",
        ],
    );

    // The name to keep the other tool's table under is taken.
    let p = project(case("golang-migrate"));
    exec(&p.db(), "CREATE TABLE golang_migrate_schema_migrations (x)");
    refused(
        &p,
        &["adopt"],
        &["`golang_migrate_schema_migrations`, is taken", "`--table`"],
    );
    // With another name for this tool's history, the table stays put.
    let out = ok(&p, &["--table", "migrate_history", "adopt"]);
    assert!(out.contains("`schema_migrations`, unchanged"), "{out}");
}

#[test]
fn flyways_baseline_row_counts_every_version_up_to_it() {
    let cases = cases();
    let flyway = cases.iter().find(|c| c.tool == "flyway").unwrap();
    let p = project(flyway);
    // `flyway baseline -baselineVersion=2` on a database made by hand: one
    // BASELINE row, no SQL rows.
    exec(
        &p.db(),
        "DELETE FROM flyway_schema_history;
         INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, installed_by, execution_time, success)
         VALUES (1, '2', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', '', 0, 1);",
    );
    let out = ok(&p, &["adopt"]);
    assert!(
        out.contains("recorded 1 users") && out.contains("recorded 2 email_index"),
        "{out}"
    );
}

#[test]
fn a_view_with_a_tools_name_and_columns_is_not_its_history() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    exec(
        &p.db(),
        &format!(
            "{USERS}CREATE VIEW goose_db_version AS SELECT 1 AS id, 1 AS version_id, 1 AS is_applied, 0 AS tstamp;"
        ),
    );
    refused(&p, &["adopt"], &["no other migration tool's history"]);
}

#[test]
fn a_history_table_of_an_earlier_build_gains_the_origin_column_only_when_marked() {
    // The table as builds before `origin` made it, with one row.
    let p = Project::new(&[("0001_users.sql", USERS), ("0002_email_index.sql", EMAIL)]);
    ok(&p, &["up", "--to", "1"]);
    exec(
        &p.db(),
        "ALTER TABLE schema_migrations RENAME TO old; \
         CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, \
         checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER NOT NULL); \
         INSERT INTO schema_migrations SELECT version, name, kind, checksum, applied_at, duration_ms FROM old; \
         DROP TABLE old;",
    );
    let status = ok(&p, &["status"]);
    assert!(status.contains("1 applied, 1 pending"), "{status}");
    ok(&p, &["up"]);
    let columns = |db: &Path| -> Vec<String> {
        let conn = Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('schema_migrations')")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(
        !columns(&p.db()).contains(&"origin".to_string()),
        "up leaves the table as it was"
    );
    assert!(ok(&p, &["status"]).contains("2 applied, 0 pending"));

    // baseline into an empty table of that shape adds the column.
    let p = Project::new(&[("0001_users.sql", USERS)]);
    exec(
        &p.db(),
        &format!(
            "{USERS}CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, \
                  kind TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER NOT NULL);"
        ),
    );
    ok(&p, &["baseline", "--to", "1"]);
    assert!(columns(&p.db()).contains(&"origin".to_string()));
    assert!(ok(&p, &["status"]).contains("not run: baseline"));
}

#[test]
fn a_goose_down_row_takes_its_version_back() {
    // goose before v3 recorded a down as a row with is_applied false.
    let cases = cases();
    let goose = cases.iter().find(|c| c.tool == "goose").unwrap();
    let p = project(goose);
    p.write(goose.next.0, &goose.next.1);
    exec(
        &p.db(),
        &format!(
            "{POSTS}INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, 1);
             DROP TABLE posts; INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, 0);"
        ),
    );
    let out = ok(&p, &["adopt"]);
    assert!(
        out.contains("2 applied") && !out.contains("recorded 3"),
        "{out}"
    );
    assert!(ok(&p, &["status"]).contains("2 applied, 1 pending"));
}

/// Adopted, then reverted to nothing: the database is this tool's (its
/// history table is there), so `up` applies every file again, though the
/// other tool's table still lists its versions.
#[test]
fn an_adopted_database_reverted_to_nothing_migrates_up_again() {
    let mut reverted = 0;
    for case in cases() {
        let p = project(&case);
        ok(&p, &["adopt"]);
        let out = p.cli(&["down", "--to", "0"]);
        if code(&out) != 0 {
            // A layout without down files cannot go back to nothing.
            assert!(
                stderr(&out).contains("down"),
                "{}: {}",
                case.tool,
                stderr(&out)
            );
            continue;
        }
        let status = ok(&p, &["status"]);
        assert!(!status.contains("adopt"), "{}: {status}", case.tool);
        let out = ok(&p, &["up"]);
        assert!(out.contains("applied"), "{}: {out}", case.tool);
        assert!(ok(&p, &["verify"]).starts_with("ok"), "{}", case.tool);
        reverted += 1;
    }
    assert!(
        reverted >= 3,
        "only {reverted} layouts went back to nothing"
    );
}
