static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/set_without_rollback");

fn main() {
    let _ = MIGRATIONS.len();
}
