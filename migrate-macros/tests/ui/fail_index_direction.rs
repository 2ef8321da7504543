static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/index_direction");

fn main() {
    let _ = MIGRATIONS.len();
}
