static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!(migrations);

fn main() {
    let _ = MIGRATIONS.len();
}
