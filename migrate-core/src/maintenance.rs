//! Day-to-day maintenance of a live database, done the way SQLite's
//! documentation says is safe: checkpoints through `wal_checkpoint`,
//! statistics through `PRAGMA optimize`, space through VACUUM. Nothing here
//! touches `-wal`, `-shm` or journal files directly.

use std::path::Path;

use rusqlite::Connection;

use crate::db::execute;

/// How hard a checkpoint tries (SQLite's `wal_checkpoint` modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckpointMode {
    /// Copy what it can without waiting for readers or writers.
    #[default]
    Passive,
    /// Wait for writers, then copy everything.
    Full,
    /// Like full, then wait until readers are done with the WAL.
    Restart,
    /// Like restart, then truncate the WAL file to zero bytes.
    Truncate,
}

impl CheckpointMode {
    fn sql(self) -> &'static str {
        match self {
            CheckpointMode::Passive => "PASSIVE",
            CheckpointMode::Full => "FULL",
            CheckpointMode::Restart => "RESTART",
            CheckpointMode::Truncate => "TRUNCATE",
        }
    }
}

/// What a checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// The database is not in WAL mode: there was nothing to do.
    pub not_wal: bool,
    /// Another connection kept it from finishing (modes other than passive).
    pub blocked: bool,
    /// Frames in the WAL.
    pub wal_frames: i64,
    /// Frames copied into the database.
    pub checkpointed: i64,
    /// For [`CheckpointMode::Truncate`]: the size of the `-wal` file before
    /// (SQLite reports 0 frames once it has emptied the WAL).
    pub wal_bytes_before: Option<u64>,
}

/// Runs `PRAGMA wal_checkpoint(mode)`.
pub fn checkpoint(conn: &Connection, mode: CheckpointMode) -> rusqlite::Result<Checkpoint> {
    let wal_bytes_before = match (mode, conn.path().filter(|p| !p.is_empty())) {
        (CheckpointMode::Truncate, Some(path)) => {
            std::fs::metadata(crate::db::companion(Path::new(path), "-wal"))
                .ok()
                .map(|m| m.len())
        }
        _ => None,
    };
    let (busy, log, done): (i64, i64, i64) =
        conn.query_row(&format!("PRAGMA wal_checkpoint({})", mode.sql()), [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok(Checkpoint {
        not_wal: log < 0,
        blocked: busy != 0,
        wal_frames: log.max(0),
        checkpointed: done.max(0),
        wal_bytes_before,
    })
}

/// Runs `PRAGMA optimize` over every table (mask 0x10002: a fresh
/// connection has run no queries, so the default would look at nothing),
/// with the analysis limit SQLite recommends (400 rows per index) so that it
/// stays fast on large tables. Returns the tables it analysed.
pub fn optimize(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    execute(conn, "PRAGMA analysis_limit = 400")?;
    let before = analysed(conn)?;
    execute(conn, "PRAGMA optimize = 0x10002")?;
    let mut tables: Vec<String> = analysed(conn)?
        .into_iter()
        .filter(|row| !before.contains(row))
        .filter_map(|row| row.split_once(' ').map(|(t, _)| t.to_owned()))
        .collect();
    tables.dedup();
    Ok(tables)
}

/// The statistics rows (`table stat`), to tell which tables were analysed.
fn analysed(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let has_stats: bool = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")?
        .exists([])?;
    if !has_stats {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT tbl || ' ' || coalesce(idx, '') || ' ' || coalesce(stat, '') FROM sqlite_stat1 ORDER BY 1")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Which VACUUM to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vacuum<'a> {
    /// Rebuild the whole file (needs free disk space about its size).
    Full,
    /// Free up to this many pages (0: all) from the freelist; needs
    /// `auto_vacuum = incremental`.
    Incremental(u32),
    /// Write a compacted copy to a new file, leaving the database as it is.
    Into(&'a Path),
}

/// Sizes around a VACUUM, in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VacuumReport {
    /// Pages before.
    pub pages_before: i64,
    /// Pages after (of the database, not of an `Into` copy).
    pub pages_after: i64,
    /// Free pages before.
    pub free_before: i64,
    /// Free pages after.
    pub free_after: i64,
    /// The page size, in bytes.
    pub page_size: i64,
}

/// Why a VACUUM was not run.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum VacuumError {
    /// Incremental vacuum on a database without `auto_vacuum = incremental`.
    #[error(
        "incremental vacuum needs auto_vacuum = incremental (this database has auto_vacuum = {found}); set it in a pragma set (`auto_vacuum = incremental`, which runs the one full VACUUM it needs), or run a full vacuum"
    )]
    NotIncremental {
        /// The database's auto_vacuum mode.
        found: &'static str,
    },
    /// `Into` a file that exists.
    #[error("{} already exists; VACUUM INTO writes a new file, so choose another path", .0.display())]
    Exists(std::path::PathBuf),
    /// The destination is the database itself or one of its files.
    #[error(transparent)]
    SameFile(crate::backup::BackupError),
    /// Writing the copy failed (a full disk, a folder that cannot be
    /// written); nothing was left at the destination.
    #[error("writing the compacted copy {} failed: {source}; {} was not created (the database was only read)", .dest.display(), .dest.display())]
    Into {
        /// The destination.
        dest: std::path::PathBuf,
        /// What failed.
        #[source]
        source: crate::backup::BackupError,
    },
    /// SQLite refused.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// `VACUUM INTO` with a backup's rules: the copy is written to a locked
/// scratch file beside `dest`, checked, synced, and only then linked into
/// place (never over an existing file); a kill or a full disk leaves
/// nothing at `dest`.
fn vacuum_into(conn: &Connection, dest: &Path) -> Result<(), crate::backup::BackupError> {
    crate::backup::write_copy(conn, dest, false, |scratch| {
        // SQLite writes into an existing file only when it is empty, as the
        // scratch file is.
        let target = scratch.path.to_string_lossy().into_owned();
        conn.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    })
    .map(|_| ())
}

/// Runs the VACUUM asked for.
pub fn vacuum(conn: &Connection, how: &Vacuum<'_>) -> Result<VacuumReport, VacuumError> {
    let int = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    let pages_before = int("PRAGMA page_count")?;
    let free_before = int("PRAGMA freelist_count")?;
    match how {
        Vacuum::Full => execute(conn, "VACUUM")?,
        Vacuum::Incremental(pages) => {
            let mode = int("PRAGMA auto_vacuum")?;
            if mode != 2 {
                let found = if mode == 1 { "full" } else { "none" };
                return Err(VacuumError::NotIncremental { found });
            }
            execute(conn, &format!("PRAGMA incremental_vacuum({pages})"))?;
        }
        Vacuum::Into(path) => {
            vacuum_into(conn, path).map_err(|e| match e {
                crate::backup::BackupError::Exists(p) => VacuumError::Exists(p),
                e @ (crate::backup::BackupError::SameFile { .. }
                | crate::backup::BackupError::ScratchIsDatabase(_)) => VacuumError::SameFile(e),
                other => VacuumError::Into {
                    dest: path.to_path_buf(),
                    source: other,
                },
            })?;
        }
    }
    Ok(VacuumReport {
        pages_before,
        pages_after: int("PRAGMA page_count")?,
        free_before,
        free_after: int("PRAGMA freelist_count")?,
        page_size: int("PRAGMA page_size")?,
    })
}

/// The message and its causes (see [`crate::Error`]).
impl std::fmt::Debug for VacuumError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::debug_as_message(self, f)
    }
}
