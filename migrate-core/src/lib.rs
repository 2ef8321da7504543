//! # migrate-core
//!
//! SQLite-first schema migrations. Numbered files in a folder are embedded
//! and checksummed at compile time by `migrate_macros::embed_migrations!`
//! (or loaded at run time with [`Migrations::from_dir`]); the [`Runner`]
//! validates the whole plan, then applies each pending migration in its own
//! `BEGIN IMMEDIATE` transaction and records it in `schema_migrations`.
//!
//! ## Quick start
//!
//! ```
//! static MIGRATIONS: migrate_core::Migrations =
//!     migrate_macros::embed_migrations!("../examples/flashmath/migrations");
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("app.db");
//! // Open the file, wait up to 5 s for other writers, apply what is pending.
//! let conn = MIGRATIONS.open(&path)?;
//! conn.execute("INSERT INTO users (email, display_name) VALUES ('ada@example.com', 'Ada')", [])?;
//!
//! // Step by step, with options:
//! let mut conn = rusqlite::Connection::open(&path)?;
//! let report = MIGRATIONS.runner().dry_run(true).run(&mut conn)?;
//! assert!(report.planned.is_empty(), "already up to date");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The pure parts ([`naming`], [`checksum`], [`sql`], [`source`], [`plan`])
//! need no SQLite; build with `default-features = false` to get only them.

pub mod checksum;
pub mod dsl;
pub mod naming;
pub mod plan;
pub mod source;
pub mod sql;

#[cfg(feature = "sqlite")]
pub mod backup;
#[cfg(feature = "sqlite")]
pub mod doctor;
#[cfg(feature = "sqlite")]
pub mod error;
#[cfg(feature = "sqlite")]
pub mod history;
#[cfg(feature = "sqlite")]
pub mod maintenance;
#[cfg(feature = "sqlite")]
pub mod runner;
#[cfg(feature = "sqlite")]
pub mod schema;
#[cfg(feature = "sqlite")]
pub mod sets;
#[cfg(feature = "sqlite")]
pub mod testing;
#[cfg(feature = "sqlite")]
pub mod verify;

pub use naming::Kind;
pub use source::{LoadError, LoadErrors, Migration, Migrations};

#[cfg(feature = "sqlite")]
pub use error::{Error, MigrationError};
#[cfg(feature = "sqlite")]
pub use runner::{Report, Runner, Step};
#[cfg(feature = "sqlite")]
pub use rusqlite;
