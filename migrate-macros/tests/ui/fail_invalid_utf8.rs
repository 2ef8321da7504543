static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/invalid_utf8");

fn main() {
    let _ = MIGRATIONS.len();
}
