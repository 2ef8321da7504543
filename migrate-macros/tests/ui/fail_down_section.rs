static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/down_section");

fn main() {
    let _ = MIGRATIONS.len();
}
