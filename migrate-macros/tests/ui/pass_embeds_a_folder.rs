static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/ok");

fn main() {
    let versions: Vec<u64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(versions, [1, 2, 3, 4, 20240131120000]);
    let first = MIGRATIONS.iter().next().unwrap();
    assert_eq!(first.down.as_ref().unwrap().text, "DROP TABLE users;\n");
    assert_eq!(first.checksum, migrate_core::checksum::checksum(first.text.as_bytes()));
    let dir = tempfile_free_path();
    let conn = MIGRATIONS.open(&dir).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE name IN ('users', 'posts')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    std::fs::remove_file(&dir).unwrap();
}

fn tempfile_free_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("migrate-trybuild-{}.db", std::process::id()))
}
