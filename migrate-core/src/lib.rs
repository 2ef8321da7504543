#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The README shows a build script, whose `fn main` is the point.
#![allow(clippy::needless_doctest_main)]

// The public API, by layer (docs/DESIGN.md, "Layers"): the model's and
// the engine's types are re-exported at the root (the set, its plans and
// profile, the runner and its report, the history table, the errors); the
// set languages and the pragma catalogue are `dsl`; each operation is a
// module of its own (adopt, backup, doctor, maintenance, schema, testing,
// transfer, verify), and PostgreSQL is `postgres`. The hidden modules are
// the workspace's own plumbing: everything a user needs of them is at the
// root, and the macro crate and the CLI share the parsers and the
// discovery code through them, so that there is one of each; they are not
// an interface to build on.
#[doc(hidden)]
pub mod checksum;
pub mod dsl;
#[doc(hidden)]
pub mod naming;
#[doc(hidden)]
pub mod plan;
#[doc(hidden)]
pub mod profile;
#[doc(hidden)]
pub mod source;

/// `Debug` for the public errors, as anyhow prints one: the message, then
/// each cause not already in it. `fn main() -> Result<(), Error>` prints
/// `Debug`, and a derived one would show nested variants instead of the
/// sentence that says what to do. The variants are there to match on.
pub(crate) fn debug_as_message(
    e: &(dyn std::error::Error + 'static),
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    let message = e.to_string();
    f.write_str(&message)?;
    let mut heading = false;
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !heading {
                f.write_str("\n\nCaused by:")?;
                heading = true;
            }
            write!(f, "\n    {text}")?;
        }
        source = cause.source();
    }
    Ok(())
}
#[doc(hidden)]
pub mod sql;

#[cfg(feature = "sqlite")]
pub mod adopt;
#[cfg(feature = "sqlite")]
mod backend;
#[cfg(feature = "sqlite")]
pub mod backup;
#[cfg(feature = "sqlite")]
mod bookkeeping;
#[cfg(feature = "sqlite")]
mod db;
#[cfg(feature = "sqlite")]
pub mod diff;
#[cfg(feature = "sqlite")]
mod differences;
#[cfg(feature = "sqlite")]
pub mod doctor;
#[cfg(feature = "sqlite")]
#[doc(hidden)]
pub mod error;
#[cfg(feature = "sqlite")]
#[doc(hidden)]
pub mod history;
#[cfg(feature = "sqlite")]
mod introspect;
#[cfg(feature = "sqlite")]
pub mod lint;
#[cfg(feature = "sqlite")]
pub mod maintenance;
#[cfg(feature = "sqlite")]
mod pipeline;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
#[cfg(feature = "sqlite")]
mod runmark;
#[cfg(feature = "sqlite")]
#[doc(hidden)]
pub mod runner;
#[cfg(feature = "sqlite")]
pub mod schema;
#[cfg(feature = "sqlite")]
mod sets;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_history;
#[cfg(feature = "sqlite")]
pub mod testing;
#[cfg(feature = "sqlite")]
pub mod transfer;
#[cfg(feature = "sqlite")]
pub mod verify;
#[cfg(feature = "sqlite")]
mod vocabulary;

pub use naming::{Direction, Kind};
pub use plan::{DownTarget, Irreversible, Modified, PlanError, State, StatusRow};
pub use profile::Profile;
pub use source::{LoadError, LoadErrorKind, LoadErrors, Migration, Migrations};
pub use sql::Dialect;

#[cfg(feature = "sqlite")]
pub use adopt::{AdoptError, Adoption, Tool};
#[cfg(feature = "sqlite")]
pub use bookkeeping::{Bookkeeping, Mismatch};
#[cfg(feature = "sqlite")]
pub use error::{Cascade, DatabaseFailure, Error, Failure, MigrationError, Undone, Violation};
#[cfg(feature = "sqlite")]
pub use history::{DEFAULT_TABLE, Table};
#[cfg(feature = "sqlite")]
pub use runner::{DEFAULT_BUSY_TIMEOUT, Note, NoteKind, PlanWarning, Report, Runner, Step};
/// The rusqlite this crate was built with: any release from 0.38 to 0.43
/// (the app's own `rusqlite` dependency picks it; cargo allows one SQLite
/// per build). Use it as `migrate_core::rusqlite::Connection` to name the
/// same types without a dependency of your own.
#[cfg(feature = "sqlite")]
pub use rusqlite;
