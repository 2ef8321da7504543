//! Online backups through SQLite's backup API: other connections keep
//! working while it copies, the copy is checked, and it appears at its
//! destination only whole and good.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

/// Pages copied per step (4 MiB of 4 KiB pages): the source is locked only
/// during a step, so writers wait at most one step.
const PAGES_PER_STEP: i32 = 1024;
/// The pause when another connection holds a lock the step needs.
const BUSY_PAUSE: Duration = Duration::from_millis(20);

/// How far a backup is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Pages copied so far.
    pub copied: u64,
    /// Pages in the source.
    pub total: u64,
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The destination.
    pub dest: PathBuf,
    /// Pages copied.
    pub pages: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Why a backup did not complete. In every case the destination is as it
/// was, and the scratch file is removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The destination exists and overwriting was not asked for.
    #[error("{} already exists; pass --force to replace it, or choose another path", .0.display())]
    Exists(PathBuf),
    /// The copy failed its integrity check.
    #[error("the copy failed its integrity check ({0}); the destination was not written")]
    Corrupt(String),
    /// The caller stopped it.
    #[error("the backup was interrupted; the destination was not written")]
    Interrupted,
    /// SQLite refused.
    #[error("backup failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file system refused.
    #[error("backup failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Copies the main database of `conn` to `dest`. The copy is written to a
/// scratch file beside `dest`, checked with `PRAGMA integrity_check`, and
/// renamed into place only when good. `progress` is called after every step
/// and may stop the backup.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let conn = rusqlite::Connection::open(dir.path().join("app.db"))?;
/// conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
/// let dest = dir.path().join("copy.db");
/// migrate_core::backup::backup(&conn, &dest, false, |_| std::ops::ControlFlow::Continue(()))?;
/// let copy = rusqlite::Connection::open(&dest)?;
/// assert_eq!(copy.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0))?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn backup(
    conn: &Connection,
    dest: &Path,
    force: bool,
    mut progress: impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<BackupReport, BackupError> {
    if dest.exists() && !force {
        return Err(BackupError::Exists(dest.to_path_buf()));
    }
    let scratch = Scratch::beside(dest);
    let pages = copy(conn, &scratch.0, &mut progress)?;
    let bytes = std::fs::metadata(&scratch.0)?.len();
    std::fs::rename(&scratch.0, dest)?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename durable; not every platform can sync a folder.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(BackupReport {
        dest: dest.to_path_buf(),
        pages,
        bytes,
    })
}

/// Copies into `path` and checks the copy; returns the page count.
fn copy(
    conn: &Connection,
    path: &Path,
    progress: &mut impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<u64, BackupError> {
    let mut dst = Connection::open(path)?;
    // The scratch file is thrown away on any failure, so it needs no journal
    // and no syncs while it is written: one sync of the whole file follows,
    // before it is renamed into place.
    dst.query_row("PRAGMA journal_mode = off", [], |_| Ok(()))?;
    dst.execute_batch("PRAGMA synchronous = off")?;
    // (A memory-mapped source reads faster, but its pages count as resident
    // memory the size of the database; plain reads keep memory flat.)
    let total = step_all(conn, &mut dst, progress)?;
    let check: String = dst.query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(BackupError::Corrupt(check));
    }
    // A WAL source makes a WAL copy (the mode is in the file header). The
    // last connection's close checkpoints the WAL into the file and removes
    // it, so the file stands alone; make sure before it is renamed.
    dst.close().map_err(|(_, e)| e)?;
    std::fs::File::open(path)?.sync_all()?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        return Err(BackupError::Io(std::io::Error::other(
            "the copy's WAL could not be folded into it",
        )));
    }
    Ok(total)
}

/// Runs the backup steps to the end; returns the page count.
fn step_all(
    conn: &Connection,
    dst: &mut Connection,
    progress: &mut impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<u64, BackupError> {
    let b = Backup::new(conn, dst)?;
    loop {
        let step = b.step(PAGES_PER_STEP)?;
        let p = b.progress();
        let now = Progress {
            copied: (p.pagecount - p.remaining).max(0) as u64,
            total: p.pagecount.max(0) as u64,
        };
        if progress(now).is_break() {
            return Err(BackupError::Interrupted);
        }
        match step {
            StepResult::Done => return Ok(now.total),
            StepResult::More => {}
            _ => std::thread::sleep(BUSY_PAUSE),
        }
    }
}

/// A scratch file beside the destination (same file system, so the rename
/// is atomic), removed with its -wal/-shm/-journal unless renamed away.
struct Scratch(PathBuf);

impl Scratch {
    fn beside(dest: &Path) -> Scratch {
        let name = dest
            .file_name()
            .map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
        let path = dest.with_file_name(format!(".{name}.migrate-partial-{}", std::process::id()));
        let scratch = Scratch(path);
        scratch.remove();
        scratch
    }

    fn remove(&self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.remove();
    }
}
