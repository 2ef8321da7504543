static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/empty_file");

fn main() {
    let _ = MIGRATIONS.len();
}
