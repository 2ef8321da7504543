static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/many_bad_files");

fn main() {
    let _ = MIGRATIONS.len();
}
