static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/synchronous");

fn main() {
    let _ = MIGRATIONS.len();
}
