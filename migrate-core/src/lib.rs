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
//!     migrate_macros::embed_migrations!("migrations");
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("app.db");
//! // Open the file, wait up to 5 s for other writers, apply what is pending.
//! let conn = MIGRATIONS.open(&path)?;
//! conn.execute("INSERT INTO users (email) VALUES ('ada@example.com')", [])?;
//!
//! // Or step by step, with options (here on a new database, up to version
//! // 2, all or nothing):
//! # let path = dir.path().join("staging.db");
//! let mut conn = rusqlite::Connection::open(&path)?;
//! let report = MIGRATIONS.runner().target(Some(2)).atomic(true).run(&mut conn)?;
//! assert_eq!(report.applied.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The pure parts ([`naming`], [`checksum`], [`sql`], [`source`], [`plan`])
//! need no SQLite; build with `default-features = false` to get only them.

/// The README's code blocks, compiled as doctests so that they cannot rot
/// (the quick start there is the one above, written for a user's crate).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub mod checksum;
pub mod dsl;
pub mod naming;
pub mod plan;
pub mod source;
pub mod sql;

#[cfg(feature = "sqlite")]
mod backend;
#[cfg(feature = "sqlite")]
pub mod backup;
#[cfg(feature = "sqlite")]
mod db;
#[cfg(feature = "sqlite")]
pub mod doctor;
#[cfg(feature = "sqlite")]
pub mod error;
#[cfg(feature = "sqlite")]
pub mod history;
#[cfg(feature = "sqlite")]
mod introspect;
#[cfg(feature = "sqlite")]
pub mod maintenance;
#[cfg(feature = "sqlite")]
mod pipeline;
#[cfg(feature = "sqlite")]
pub mod runner;
#[cfg(feature = "sqlite")]
pub mod schema;
#[cfg(feature = "sqlite")]
pub mod sets;
#[cfg(feature = "sqlite")]
mod sqlite;
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
