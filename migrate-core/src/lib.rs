#![doc = include_str!("../../README.md")]
// The README shows a build script, whose `fn main` is the point.
#![allow(clippy::needless_doctest_main)]

pub mod checksum;
pub mod dsl;
pub mod naming;
pub mod plan;
pub mod profile;
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
pub use runner::{Note, NoteKind, PlanWarning, Report, Runner, Step};
#[cfg(feature = "sqlite")]
pub use rusqlite;
