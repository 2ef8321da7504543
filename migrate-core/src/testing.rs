//! Helpers for users' own tests: apply a set to a fresh database file, check
//! every query-plan assertion, and get the schema for a snapshot.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;
use crate::history::Table;
use crate::source::Migrations;

/// Applies `set` to a fresh database file (through [`Migrations::open`], so
/// the connection profile and every migration kind run as in production),
/// checks every `expect` line of its index sets, and returns the normalised
/// schema, ready for `insta::assert_snapshot!`: the persistent pragmas
/// first, as `migrate-cli schema` prints them, then every object (the
/// history table and the shadow tables of virtual tables left out).
///
/// ```
/// static MIGRATIONS: migrate_core::Migrations =
///     migrate_macros::embed_migrations!("migrations");
/// let schema = migrate_core::testing::schema(&MIGRATIONS).unwrap();
/// assert!(schema.contains("CREATE TABLE users"));
/// ```
pub fn schema(set: &Migrations) -> Result<String, Error> {
    let db = ScratchFile::new();
    let conn = set.open(&db.0)?;
    let verification = crate::verify::verify(set, &conn, &Table::default())?;
    if !verification.problems.is_empty() {
        return Err(Error::Verify {
            problems: verification
                .problems
                .iter()
                .map(ToString::to_string)
                .collect(),
        });
    }
    Ok(crate::schema::dump_with_pragmas(
        &conn,
        &Table::default(),
        false,
    )?)
}

/// A database path in the temp dir, removed (with its -wal and -shm) on drop.
struct ScratchFile(PathBuf);

impl ScratchFile {
    fn new() -> ScratchFile {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        ScratchFile(std::env::temp_dir().join(format!(
            "migrate-testing-{}-{n}-{nanos}.db",
            std::process::id()
        )))
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        for suffix in std::iter::once("").chain(crate::db::COMPANIONS) {
            let _ = std::fs::remove_file(crate::db::companion(&self.0, suffix));
        }
    }
}
