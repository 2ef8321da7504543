//! Compile-time checks of `embed_migrations!`: one compile-fail case per
//! message, each with a reviewed `.stderr`, and pass cases.
//!
//! trybuild compiles the cases in its own project under
//! `target/tests/trybuild/migrate-macros`, which is their
//! `CARGO_MANIFEST_DIR`; the folders they embed are written there first.

use std::path::{Path, PathBuf};

/// A file of a fixture folder: name and bytes.
type File = (&'static str, &'static [u8]);

/// (folder, files) for every case.
const FIXTURES: &[(&str, &[File])] = &[
    ("ok", &[
        ("0003_settings.pragmas", b"preset safety\ncache_size = -8000\n"),
        ("0004_hot.indexes", b"index on users (id desc)\nexpect \"SELECT id FROM users ORDER BY id DESC\" uses idx_users_id\n"),
        ("0001_users.sql", b"CREATE TABLE users (id INTEGER PRIMARY KEY);\n"),
        ("0001_users.down.sql", b"DROP TABLE users;\n"),
        ("0002_noop.sql", b"-- nothing yet\n"),
        ("20240131120000_posts.sql", b"-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY)\n-- migrate:down\nDROP TABLE posts;\n"),
        ("README.md", b"# ignored\n"),
    ]),
    ("duplicate_version", &[
        ("1_a.sql", b"CREATE TABLE a (x);\n"),
        ("001_b.sql", b"CREATE TABLE b (x);\n"),
    ]),
    ("misnamed_file", &[("1-init.sql", b"CREATE TABLE a (x);\n")]),
    // diesel's and sqlx's folders hold blank down files: they embed.
    ("blank_downs", &[
        ("1_a.up.sql", b"CREATE TABLE a (x);\n"),
        ("1_a.down.sql", b""),
        ("2_b.up.sql", b"CREATE TABLE b (x);\n"),
        ("2_b.down.sql", b"\n  \n"),
    ]),
    ("invalid_utf8", &[("1_latin1.sql", b"CREATE TABLE a (x);\nINSERT INTO a VALUES ('caf\xe9');\n")]),
    ("empty_file", &[("1_empty.sql", b"\n   \n")]),
    ("journal_mode", &[("1_wal.sql", b"CREATE TABLE a (x);\nPRAGMA journal_mode = WAL;\n")]),
    ("no_rollback", &[("1_off.sql", b"-- migrate:no-transaction\nPRAGMA \"journal_mode\" = 'OFF';\n")]),
    ("set_without_rollback", &[("1_settings.pragmas", b"preset speed\njournal_mode = memory\n")]),
    ("pragma_out_of_range", &[("1_settings.pragmas", b"busy_timeout = 2147483648\n")]),
    ("synchronous", &[("1_sync.sql", b"-- speed things up\n\nPRAGMA synchronous = NORMAL;\n")]),
    ("vacuum", &[("1_vacuum.sql", b"DELETE FROM a;\nVACUUM;\n")]),
    ("down_vacuum", &[
        ("1_a.up.sql", b"CREATE TABLE a (x);\n"),
        ("1_a.down.sql", b"DROP TABLE a;\nVACUUM;\n"),
    ]),
    ("down_section", &[("1_a.sql", b"-- +goose Up\nCREATE TABLE a (x);\n\n-- +goose Down\nDROP TABLE a;\nPRAGMA journal_mode = off;\n")]),
    ("unknown_pragma", &[("1_settings.pragmas", b"preset balanced\njornal_mode = wal\n")]),
    ("bad_pragma_value", &[("1_settings.pragmas", b"synchronous = sometimes\n")]),
    ("bad_preset", &[("1_settings.pragmas", b"-- tuning\npreset fastest\n")]),
    ("index_syntax", &[("1_hot.indexes", b"index on users email\n")]),
    ("index_direction", &[("1_hot.indexes", b"index on users (email dsc)\n")]),
    ("index_no_columns", &[("1_hot.indexes", b"\nunique index on users ()\n")]),
    ("many_bad_files", &[
        ("1_ok.sql", b"CREATE TABLE a (x);\n"),
        ("2-dash.sql", b"CREATE TABLE b (x);\n"),
        ("3_empty.sql", b""),
        ("4_commit.sql", b"CREATE TABLE c (x);\nCOMMIT;\nCREATE TABLE d (x);\n"),
    ]),
];

fn write_fixtures(root: &Path) {
    for (folder, files) in FIXTURES {
        let dir = root.join(folder);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in *files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn ui() {
    let project: PathBuf =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("../tests/trybuild/migrate-macros");
    write_fixtures(&project.join("fixtures"));
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
