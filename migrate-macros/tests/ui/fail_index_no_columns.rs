static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/index_no_columns");

fn main() {
    let _ = MIGRATIONS.len();
}
