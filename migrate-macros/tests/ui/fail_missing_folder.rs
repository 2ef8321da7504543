static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/no_such_folder");

fn main() {
    let _ = MIGRATIONS.len();
}
