static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/unknown_pragma");

fn main() {
    let _ = MIGRATIONS.len();
}
