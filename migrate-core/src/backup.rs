//! Online backups: other connections keep working while it copies, the
//! copy is checked, and it appears at its destination only whole and good.
//!
//! Two ways to copy. A rollback-journal database on a Unix file system is
//! copied as a file, in chunks of [`CHUNK_BYTES`], each under a read
//! transaction of the source connection (so no other connection can commit
//! while a chunk is read), with `PRAGMA data_version` unchanged across the
//! chunks (so every chunk comes from the same commit; otherwise the copy
//! starts again, and after three tries it is made under one read
//! transaction). The kernel copies the bytes (`copy_file_range`), several
//! times faster than the backup API, which reads and writes one page per
//! system call. A WAL database (whose latest pages may be in the `-wal`
//! file), an in-memory one, a connection inside a transaction, and other
//! platforms go through SQLite's online backup API, 1024 pages a step,
//! under one read transaction held for the whole copy: every page comes
//! from one commit, and a stream of commits cannot restart it.
//!
//! Wherever the copy comes from, it lands the same way: a locked scratch
//! file beside the destination, an integrity check, a sync, then a hard
//! link that never replaces an existing file (a rename with `force`). The
//! database's own files, by any name, are never a destination.

use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use crate::db::companion;

/// Pages copied per step of the backup API (4 MiB of 4 KiB pages): the
/// source is locked only during a step, so writers wait at most one step.
pub(crate) const PAGES_PER_STEP: i32 = 1024;
/// Bytes copied per read transaction when the file is copied: writers wait
/// at most one chunk (tens of milliseconds).
pub const CHUNK_BYTES: u64 = 64 << 20;
/// Chunked tries before the file is copied under one read transaction, so
/// that a steady stream of commits cannot keep a backup from finishing.
pub(crate) const CHUNKED_TRIES: u32 = 3;
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

pub use crate::error::{BackupError, ScratchClash};

/// Copies the main database of `conn` to `dest`. The copy is written to a
/// scratch file beside `dest`, checked with `PRAGMA integrity_check` (while
/// it is synced to disk), and renamed into place only when good.
/// `progress` is called after every step and may stop the backup. See the
/// [module documentation](self) for how the pages are copied.
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
    let (pages, bytes) = write_copy(conn, dest, force, |scratch| {
        match copy_file(conn, &scratch.file, &mut progress)? {
            Some(pages) => Ok(pages),
            None => copy_pages(conn, &scratch.path, &mut progress),
        }
    })?;
    Ok(BackupReport {
        dest: dest.to_path_buf(),
        pages,
        bytes,
    })
}

/// Writes a new copy of the database of `conn` at `dest`, the one way every
/// copy lands (backup, `VACUUM INTO`): the destination is checked
/// ([`check_dest`]), `copy` writes into a locked scratch file beside it,
/// the scratch is integrity-checked and synced, then published without
/// replacing an existing file unless `force`. Returns what `copy` returned
/// and the size of the copy.
pub(crate) fn write_copy<T>(
    conn: &Connection,
    dest: &Path,
    force: bool,
    copy: impl FnOnce(&Scratch) -> Result<T, BackupError>,
) -> Result<(T, u64), BackupError> {
    check_dest(conn, dest, force)?;
    let database = conn.path().filter(|p| !p.is_empty()).map(Path::new);
    let scratch = Scratch::beside(database, dest)?;
    let made = copy(&scratch)?;
    check_and_sync(&scratch.path, &scratch.file)?;
    let bytes = scratch.file.metadata()?.len();
    publish(&scratch.path, dest, force)?;
    Ok((made, bytes))
}

/// [`backup`] of the database of `conn`, which holds the write lock (the
/// runner's pre-change backup): read through a second, read-only
/// connection, which the lock keeps from seeing any other writer's change.
pub(crate) fn backup_locked(conn: &Connection, dest: &Path) -> Result<BackupReport, BackupError> {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return Err(BackupError::NoFile);
    };
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let source = Connection::open_with_flags(path, flags)?;
    let timeout: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
    source.busy_timeout(Duration::from_millis(timeout.max(0) as u64))?;
    backup(&source, dest, false, |_| ControlFlow::Continue(()))
}

/// Refuses a destination that is the database of `conn` or one of its
/// journal files, however it is named (a link, `..`, another spelling of
/// the folder), and an existing destination unless `force`.
pub(crate) fn check_dest(conn: &Connection, dest: &Path, force: bool) -> Result<(), BackupError> {
    if let Some(database) = conn.path().filter(|p| !p.is_empty()) {
        same_file_guard(Path::new(database), dest)?;
    }
    if !force && std::fs::symlink_metadata(dest).is_ok() {
        return Err(BackupError::Exists(dest.to_path_buf()));
    }
    Ok(())
}

/// [`check_dest`]'s comparison, for any command that writes a new file
/// beside a database (backup, `vacuum --into`).
pub(crate) fn same_file_guard(database: &Path, dest: &Path) -> Result<(), BackupError> {
    let what = |suffix: &str| match suffix {
        "" => "the file",
        "-wal" => "the WAL file",
        "-journal" => "the rollback journal",
        _ => "the shared-memory file",
    };
    let files = std::iter::once("").chain(crate::db::COMPANIONS);
    let same = |what| BackupError::SameFile {
        dest: dest.to_path_buf(),
        database: database.to_path_buf(),
        what,
    };
    // By name: where `dest` would land, folder links resolved.
    let database_at = absolute(database);
    let dest_at = absolute(dest);
    for suffix in files.clone() {
        if let (Some(d), Some(db)) = (&dest_at, &database_at)
            && *d == companion(db, suffix)
        {
            return Err(same(what(suffix)));
        }
    }
    // By identity: a hard link, or a name that resolves otherwise.
    if let Ok(target) = std::fs::metadata(dest) {
        for suffix in files {
            if let Ok(file) = std::fs::metadata(companion(database, suffix))
                && same_inode(&target, &file)
            {
                return Err(same(what(suffix)));
            }
        }
    }
    Ok(())
}

/// `path` made absolute with its folder's links resolved (the file itself
/// need not exist).
fn absolute(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let folder = std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()?;
    Some(folder.join(name))
}

#[cfg(unix)]
fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_inode(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Puts the checked copy at `dest`: never over an existing file unless
/// `force` (a hard link fails when the name is taken, so two processes
/// cannot both think they wrote it), then syncs the folder so that the new
/// name survives a crash.
fn publish(scratch: &Path, dest: &Path, force: bool) -> Result<(), BackupError> {
    if force {
        std::fs::rename(scratch, dest)?;
    } else {
        match std::fs::hard_link(scratch, dest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BackupError::Exists(dest.to_path_buf()));
            }
            // A file system without hard links: the check and the rename
            // are two steps there.
            Err(_) if std::fs::symlink_metadata(dest).is_ok() => {
                return Err(BackupError::Exists(dest.to_path_buf()));
            }
            Err(_) => std::fs::rename(scratch, dest)?,
        }
    }
    let folder = dest.parent().filter(|d| !d.as_os_str().is_empty());
    // Make the new name durable; not every platform can sync a folder.
    if let Ok(d) = File::open(folder.unwrap_or(Path::new("."))) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Copies through the backup API into `path`; returns the page count.
fn copy_pages(
    conn: &Connection,
    path: &Path,
    progress: &mut impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<u64, BackupError> {
    let mut dst = open_scratch(path)?;
    // The scratch file is thrown away on any failure, so it needs no journal
    // and no syncs while it is written: one sync of the whole file follows,
    // before it is renamed into place.
    dst.query_row("PRAGMA journal_mode = off", [], |_| Ok(()))?;
    dst.execute_batch("PRAGMA synchronous = off")?;
    // (A memory-mapped source reads faster, but its pages count as resident
    // memory the size of the database; plain reads keep memory flat.)
    // One read transaction of the source for the whole copy: every page
    // comes from one snapshot, and a stream of commits by other connections
    // cannot restart the copy (it would, between steps, without one). In WAL
    // mode writers go on meanwhile; only a checkpoint waits for the copy.
    let snapshot = if conn.is_autocommit() {
        let tx = conn.unchecked_transaction()?;
        tx.query_row("PRAGMA schema_version", [], |_| Ok(()))?;
        Some(tx)
    } else {
        None
    };
    let total = step_all(conn, &mut dst, progress)?;
    drop(snapshot);
    // A WAL source makes a WAL copy (the mode is in the file header). The
    // last connection's close checkpoints the WAL into the file and removes
    // it, so the file stands alone (`check_and_sync` makes sure).
    dst.close().map_err(|(_, e)| e)?;
    Ok(total)
}

/// The scratch file, opened as a plain path: never read as a `file:` URI.
fn open_scratch(path: &Path) -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags)
}

/// Checks the copy at `path` while `written` (the same file) is synced to
/// disk: the check reads what the sync writes out, so the two overlap.
fn check_and_sync(path: &Path, written: &File) -> Result<(), BackupError> {
    let (check, synced) = std::thread::scope(|s| {
        let sync = s.spawn(|| written.sync_all());
        let check = (|| {
            let copy = open_scratch(path)?;
            let check: String = copy.query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))?;
            copy.close().map_err(|(_, e)| e)?;
            Ok::<_, rusqlite::Error>(check)
        })();
        (check, sync.join())
    });
    let check = check?;
    if check != "ok" {
        return Err(BackupError::Corrupt(check));
    }
    synced.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    // Closing the checking connection may have folded a WAL into the file.
    written.sync_all()?;
    if companion(path, "-wal").exists() {
        return Err(BackupError::Io(std::io::Error::other(
            "the copy's WAL could not be folded into it",
        )));
    }
    Ok(())
}

/// Copies the database file into `out` in chunks, each under a read
/// transaction, all from one commit; returns the page count, or `None` when
/// the file alone is not the database (WAL mode, no file, an open
/// transaction, not Unix): then the backup API copies it.
#[cfg(unix)]
fn copy_file(
    conn: &Connection,
    out: &File,
    progress: &mut impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<Option<u64>, BackupError> {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if !conn.is_autocommit() {
        return Ok(None);
    }
    let path = Path::new(path);
    let source = source_file(path)?;
    // One backup at a time reads this file (the handle's offset is shared).
    let source = source
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for attempt in 0..=CHUNKED_TRIES {
        // The last try copies under one read transaction: it cannot be spoiled.
        let chunk = if attempt < CHUNKED_TRIES {
            CHUNK_BYTES
        } else {
            u64::MAX
        };
        match copy_once(conn, (path, &source), out, chunk, progress)? {
            Attempt::Copied(pages) => return Ok(Some(pages)),
            Attempt::Wal => return Ok(None),
            Attempt::Spoiled => {}
        }
    }
    unreachable!("the last try copies under one read transaction")
}

#[cfg(not(unix))]
fn copy_file(
    _: &Connection,
    _: &File,
    _: &mut impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<Option<u64>, BackupError> {
    Ok(None)
}

/// How one try at copying the file went.
#[cfg(unix)]
enum Attempt {
    /// Every chunk from one commit: the page count.
    Copied(u64),
    /// Another connection committed between two chunks.
    Spoiled,
    /// The database is in WAL mode: the file alone is not all of it.
    Wal,
}

/// One try: `chunk` bytes per read transaction, until the end or until a
/// commit by another connection shows in `PRAGMA data_version`.
#[cfg(unix)]
fn copy_once(
    conn: &Connection,
    (path, source): (&Path, &File),
    mut out: &File,
    chunk: u64,
    progress: &mut impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<Attempt, BackupError> {
    use std::io::{Read, Seek, SeekFrom};
    out.set_len(0)?;
    out.seek(SeekFrom::Start(0))?;
    let mut from: Option<i64> = None; // the data_version of the first chunk
    let (mut page_size, mut pages, mut copied) = (0u64, 0u64, 0u64);
    loop {
        let tx = conn.unchecked_transaction()?;
        let number = |pragma: &str| tx.query_row(pragma, [], |r| r.get::<_, i64>(0));
        // Reading it starts the read transaction: no other connection can
        // commit until `tx` ends.
        let version = number("PRAGMA data_version")?;
        match from {
            Some(first) if first != version => return Ok(Attempt::Spoiled),
            Some(_) => {}
            None => {
                let mode: String = tx.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                if mode.eq_ignore_ascii_case("wal") {
                    return Ok(Attempt::Wal);
                }
                page_size = number("PRAGMA page_size")?.max(1) as u64;
                pages = number("PRAGMA page_count")?.max(0) as u64;
                from = Some(version);
            }
        }
        let n = chunk.min(page_size * pages - copied);
        let mut reader = source;
        reader.seek(SeekFrom::Start(copied))?;
        // The kernel copies (copy_file_range where the file system can).
        if std::io::copy(&mut reader.take(n), &mut out)? != n {
            return Err(BackupError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{} is shorter than its page count says", path.display()),
            )));
        }
        copied += n;
        drop(tx);
        let now = Progress {
            copied: copied / page_size,
            total: pages,
        };
        if progress(now).is_break() {
            return Err(BackupError::Interrupted);
        }
        if copied == page_size * pages {
            return Ok(Attempt::Copied(pages));
        }
    }
}

/// A read handle on the database file at `path`, opened once per process
/// and never closed. Closing any descriptor of a file drops every POSIX
/// lock this process holds on it, including those of SQLite connections
/// (the hazard in SQLite's "How To Corrupt" §2.2); keeping it open is how
/// SQLite itself avoids that.
#[cfg(unix)]
fn source_file(path: &Path) -> std::io::Result<std::sync::Arc<std::sync::Mutex<File>>> {
    use std::os::unix::fs::MetadataExt;
    use std::sync::{Arc, Mutex, PoisonError};
    type Open = Vec<((u64, u64), Arc<Mutex<File>>)>;
    static OPEN: Mutex<Open> = Mutex::new(Vec::new());
    let id = |m: std::fs::Metadata| (m.dev(), m.ino());
    let wanted = id(std::fs::metadata(path)?);
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, file)) = open.iter().find(|(k, _)| *k == wanted) {
        return Ok(file.clone());
    }
    let file = File::open(path)?;
    let got = id(file.metadata()?);
    let file = Arc::new(Mutex::new(file));
    open.push((got, file.clone()));
    if got != wanted {
        return Err(std::io::Error::other(format!(
            "{} was replaced while the backup opened it; try again",
            path.display()
        )));
    }
    Ok(file)
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

/// The scratch file beside the destination (same file system, so the
/// rename is atomic): one name per destination, so a backup interrupted
/// by a kill leaves nothing that the next backup to the same place does
/// not reuse, and locked while in use, so two backups to one destination
/// cannot write it at once. Removed with its -wal/-shm/-journal unless it
/// became the destination.
pub(crate) struct Scratch {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
}

impl Scratch {
    /// The scratch file for `dest`, checked first against `database` and
    /// its journal files, by name and by identity: every file it creates,
    /// empties or removes (itself, its `-wal`, `-journal`, `-shm`). Its
    /// path is absolute, so that SQLite never reads it as a `file:` URI.
    fn beside(database: Option<&Path>, dest: &Path) -> Result<Scratch, BackupError> {
        let name = dest
            .file_name()
            .map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
        // Beside the name `dest` (not where a link at `dest` points: the
        // rename into place must stay in one folder, on one file system).
        let folder = dest.parent().filter(|p| !p.as_os_str().is_empty());
        let folder = folder.unwrap_or(Path::new("."));
        let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
        let path = folder.join(format!(".{name}.migrate-partial"));
        if let Some(database) = database {
            for suffix in std::iter::once("").chain(crate::db::COMPANIONS) {
                let file = companion(&path, suffix);
                if let Err(BackupError::SameFile { what, .. }) = same_file_guard(database, &file) {
                    return Err(BackupError::ScratchIsDatabase(Box::new(ScratchClash {
                        dest: dest.to_path_buf(),
                        scratch: path,
                        file,
                        database: database.to_path_buf(),
                        what,
                    })));
                }
            }
        }
        // A backup that just finished removes the name while this one opens
        // it: then the file locked here is not the one named; open again.
        for _ in 0..3 {
            let file = Scratch::open_locked(dest, &path)?;
            let opened = file.metadata()?;
            if std::fs::metadata(&path).is_ok_and(|named| same_inode(&named, &opened)) {
                let scratch = Scratch { path, file };
                scratch.remove_companions();
                scratch.file.set_len(0)?;
                return Ok(scratch);
            }
        }
        Err(BackupError::Busy {
            dest: dest.to_path_buf(),
            scratch: path,
        })
    }

    /// Opens (or creates) the scratch file and locks it.
    fn open_locked(dest: &Path, path: &Path) -> Result<File, BackupError> {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                let folder = dest.parent().filter(|d| !d.as_os_str().is_empty());
                let folder = folder.unwrap_or(Path::new("."));
                std::io::Error::new(
                    e.kind(),
                    format!("cannot write in {}: {e}", folder.display()),
                )
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(BackupError::Busy {
                    dest: dest.to_path_buf(),
                    scratch: path.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        Ok(file)
    }

    fn remove_companions(&self) {
        for suffix in crate::db::COMPANIONS {
            let _ = std::fs::remove_file(companion(&self.path, suffix));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Removed while still locked: a waiting backup then opens a new file.
        let _ = std::fs::remove_file(&self.path);
        self.remove_companions();
    }
}
