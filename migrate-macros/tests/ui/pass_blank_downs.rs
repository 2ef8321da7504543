// Blank down files (diesel's and sqlx's folders hold them) embed; reverting
// one is refused at run time, naming the file.
static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/blank_downs");

fn main() {
    let versions: Vec<u64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(versions, [1, 2]);
    let mut conn = migrate_core::rusqlite::Connection::open_in_memory().unwrap();
    MIGRATIONS.runner().run(&mut conn).unwrap();
    let e = MIGRATIONS
        .runner()
        .down(&mut conn, migrate_core::DownTarget::Steps(1))
        .unwrap_err();
    assert!(e.to_string().contains("2_b.down.sql"), "{e}");
}
