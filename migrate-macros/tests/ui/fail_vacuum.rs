static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/vacuum");

fn main() {
    let _ = MIGRATIONS.len();
}
