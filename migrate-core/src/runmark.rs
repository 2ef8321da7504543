//! The mark of a step running outside a transaction on SQLite.
//!
//! While such a step runs, no lock of SQLite's is held, and another reader
//! sees its work half done. So the runner holds an exclusive OS lock on a
//! file beside the database, `NAME-migrate-run`, from before the step's
//! lock is given up until the step is recorded, and counts its holds in
//! it. `verify` reads the file before and after it takes its snapshot: free
//! both times with the same count, no step was under way at the snapshot.
//!
//! The lock is the kernel's (`flock`), so a crashed runner leaves no false
//! mark. The file stays (removing it would race a runner opening it); it
//! is a few bytes, only made by folders with such steps. The database file
//! itself is never opened here: closing a second descriptor of it would
//! drop SQLite's own POSIX locks.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// The mark's path for `conn`'s main database; `None` for a database in
/// memory or a temporary one.
fn path(conn: &Connection) -> Option<PathBuf> {
    let db = conn.path().filter(|p| !p.is_empty())?;
    Some(PathBuf::from(format!("{db}-migrate-run")))
}

/// A held mark: the lock goes with it.
#[derive(Debug)]
pub(crate) struct Held(File);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Takes the mark, counting one more hold. `None` when there is no file
/// to mark (memory, a folder not writable) or another runner keeps it
/// past a short wait (its mark then says the same).
pub(crate) fn hold(conn: &Connection) -> Option<Held> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path(conn)?)
        .ok()?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if start.elapsed() < Duration::from_millis(200) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
    let count = count_of(&mut file).unwrap_or(0);
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| write!(file, "{}", count.wrapping_add(1)));
    Some(Held(file))
}

/// What the mark says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// No step outside a transaction is running; the count of holds.
    Free(u64),
    /// A step outside a transaction is running.
    Held,
}

/// Looks at the mark without keeping it.
pub(crate) fn look(conn: &Connection) -> Seen {
    let Some(mut file) = path(conn).and_then(|p| File::open(p).ok()) else {
        return Seen::Free(0);
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let count = count_of(&mut file).unwrap_or(0);
            let _ = file.unlock();
            Seen::Free(count)
        }
        Err(TryLockError::WouldBlock) => Seen::Held,
        // A file system without locks: nothing can be told from it.
        Err(TryLockError::Error(_)) => Seen::Free(0),
    }
}

fn count_of(file: &mut File) -> Option<u64> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
