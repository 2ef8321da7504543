//! FlashMath, the seed app: its schema as embedded migrations.

/// The app's migrations, embedded and checked at compile time.
pub static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("migrations");
