//! The example app's migrations: embedded by the macro, loaded by the
//! run-time loader, applied to a real file, schema pinned by a snapshot.

use migrate_core::history::Table;
use migrate_core::{Error, Migration, Migrations};
use migrate_tests::Fixture;

static EMBEDDED: Migrations = migrate_macros::embed_migrations!("../examples/flashmath/migrations");

#[test]
fn macro_and_loader_agree_on_every_checksum() {
    let loaded = Migrations::from_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/flashmath/migrations"
    ))
    .unwrap();
    assert_eq!(EMBEDDED.as_slice(), loaded.as_slice());
    assert_eq!(EMBEDDED.len(), 9);
}

#[test]
fn example_database_verifies_clean_and_keeps_its_pragmas() {
    let f = Fixture::new(&[]);
    let conn = EMBEDDED.open(f.db()).unwrap();
    let v = migrate_core::verify::verify(&EMBEDDED, &conn, &Table::default()).unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.applied, 9);
    for (pragma, value) in [
        ("journal_mode", "wal"),
        ("synchronous", "1"),
        ("cache_size", "-64000"),
        ("mmap_size", "268435456"),
        ("busy_timeout", "5000"),
        ("foreign_keys", "1"),
        ("temp_store", "2"),
    ] {
        assert_eq!(
            migrate_tests::column(&conn, &format!("PRAGMA {pragma}")),
            [value],
            "{pragma}"
        );
    }
}

#[test]
fn crlf_copy_of_the_example_has_the_same_checksums() {
    let f = Fixture::new(&[]);
    for m in EMBEDDED.iter() {
        f.write(&m.file, &m.text.replace('\n', "\r\n"));
    }
    let crlf = f.set();
    let sums = |s: &Migrations| s.iter().map(|m| m.checksum.to_string()).collect::<Vec<_>>();
    assert_eq!(sums(&crlf), sums(&EMBEDDED));
}

static ONE: [Migration; 1] = [Migration::embedded(
    1,
    "users",
    migrate_core::Kind::Sql,
    "1_users.sql",
    "CREATE TABLE users (id INTEGER PRIMARY KEY);",
    "x",
    None,
    false,
)];

#[test]
fn stale_embedded_set_says_rebuild() {
    let f = Fixture::new(&[(
        "1_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
    )]);
    let dir: &'static str = Box::leak(f.migrations().display().to_string().into_boxed_str());
    let set = Migrations::embedded(&ONE, Some(dir));
    assert!(set.stale_files().is_empty());
    f.write(
        "2_posts.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
    );
    let e = set.runner().run(&mut f.conn()).unwrap_err();
    assert!(
        matches!(&e, Error::StaleBuild { files } if files == &["+2_posts.sql"]),
        "{e}"
    );
    assert!(e.to_string().contains("rebuild"), "{e}");
    assert!(!f.db().exists() || migrate_tests::tables(&f.conn()).is_empty());
}
