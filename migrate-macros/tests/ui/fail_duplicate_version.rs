static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/duplicate_version");

fn main() {
    let _ = MIGRATIONS.len();
}
