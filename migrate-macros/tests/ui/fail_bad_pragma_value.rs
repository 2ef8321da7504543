static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/bad_pragma_value");

fn main() {
    let _ = MIGRATIONS.len();
}
