static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/no_rollback");

fn main() {
    let _ = MIGRATIONS.len();
}
