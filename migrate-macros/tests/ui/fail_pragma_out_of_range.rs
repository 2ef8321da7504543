static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("fixtures/pragma_out_of_range");

fn main() {
    let _ = MIGRATIONS.len();
}
