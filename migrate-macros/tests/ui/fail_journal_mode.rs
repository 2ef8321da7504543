static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/journal_mode");

fn main() {
    let _ = MIGRATIONS.len();
}
