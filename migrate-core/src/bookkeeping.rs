//! Writing the history without running migrations: `baseline`, for a
//! database made by hand or by scripts, and `repair`, for applied files
//! edited without changing the schema they make, and for files deleted.
//!
//! Both first replay the files into an empty in-memory database and compare
//! the schema they make with the live one (the comparison `verify` makes);
//! any difference refuses the change, listed, with nothing written.

use std::time::Duration;

use crate::backend::Backend;
use crate::backend::Catalog;
use crate::error::{Error, Failure};
use crate::naming::{Direction, Kind};
use crate::plan::{HistoryRow, Modified, PlanError, State};
use crate::runner::{Runner, Step};
use crate::source::Migration;

/// What `baseline` or `repair` wrote to the history (in a dry run: would
/// write).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bookkeeping {
    /// Migrations recorded as applied without being run (`baseline`).
    pub recorded: Vec<Step>,
    /// Applied files whose new checksum was recorded (`repair`).
    pub rechecked: Vec<Modified>,
    /// Down files edited since their up ran, whose new checksum was
    /// recorded (`repair`).
    pub downs: Vec<Modified>,
    /// Rows removed because their files are gone (`repair`): version and
    /// the name the row holds.
    pub removed: Vec<(u64, String)>,
}

impl Bookkeeping {
    /// True when nothing was (or would be) written.
    pub fn is_empty(&self) -> bool {
        self.recorded.is_empty()
            && self.rechecked.is_empty()
            && self.removed.is_empty()
            && self.downs.is_empty()
    }
}

pub use crate::error::Mismatch;

impl Runner<'_> {
    /// [`Runner::baseline`] wherever `books` keep the history.
    pub(crate) fn baseline_in(
        &self,
        books: &mut dyn Books,
        version: u64,
    ) -> Result<Bookkeeping, Error> {
        let set = self.set();
        if !set.iter().any(|m| m.version == version) {
            return Err(PlanError::TargetNotFound {
                target: version,
                highest: set.as_slice().last().map(|m| m.version),
            }
            .into());
        }
        let applied = books.history(self)?;
        if !applied.is_empty() {
            return Err(Error::AlreadyManaged {
                applied: applied.len(),
            });
        }
        // Up to and including it in the set's order (diesel's folders are
        // ordered by their versions as text).
        let end = set
            .iter()
            .position(|m| m.version == version)
            .map_or(0, |i| i + 1);
        let chosen: Vec<&Migration> = set.iter().take(end).collect();
        books.mismatch(self, &chosen, true)?.refuse("baseline")?;
        let done = Bookkeeping {
            recorded: chosen.iter().map(|m| recorded_step(m)).collect(),
            ..Bookkeeping::default()
        };
        if self.is_dry_run() {
            return Ok(done);
        }
        books.write(self, &mut |db| {
            // Under the lock: another process may have migrated meanwhile.
            if !db.rows()?.is_empty() {
                return Err(Error::ChangedMeanwhile { version: None });
            }
            for m in &chosen {
                db.record_marked(m, "baseline", None)
                    .map_err(|cause| history_failed(Some(m.version), cause))?;
            }
            Ok(())
        })?;
        Ok(done)
    }

    /// [`Runner::repair`] wherever `books` keep the history.
    pub(crate) fn repair_in(&self, books: &mut dyn Books) -> Result<Bookkeeping, Error> {
        let set = self.set();
        let history = books.history(self)?;
        let mut done = Bookkeeping::default();
        let mut applied: Vec<&Migration> = Vec::new();
        for row in crate::plan::status(set.as_slice(), &history) {
            let m = set.iter().find(|m| m.version == row.version);
            let recorded = history.iter().find(|h| h.version == row.version);
            if let Some((m, h)) = m.zip(recorded) {
                done.downs.extend(crate::plan::down_edited(m, h));
            }
            match (row.state, m) {
                (State::Applied, Some(m)) => applied.push(m),
                (State::Modified, Some(m)) => {
                    if m.kind == Kind::Pragmas {
                        return Err(Error::PragmaSetEdited {
                            version: m.version,
                            file: m.file.to_string(),
                        });
                    }
                    applied.push(m);
                    let recorded = history.iter().find(|h| h.version == m.version);
                    done.rechecked.push(Modified {
                        version: m.version,
                        file: m.file.to_string(),
                        applied: recorded.map(|h| h.checksum.clone()).unwrap_or_default(),
                        now: m.checksum.to_string(),
                    });
                }
                (State::Missing, _) => done.removed.push((row.version, row.name.clone())),
                _ => {}
            }
        }
        if done.is_empty() {
            return Ok(done);
        }
        if !done.removed.is_empty() {
            refuse_removals(set.as_slice(), &history, &done)?;
        }
        // Edits and removals alike: the files left, as they are now, must
        // make the live schema. (A down file changes no schema.)
        let only_downs = done.rechecked.is_empty() && done.removed.is_empty();
        let mismatch = if only_downs {
            Default::default()
        } else {
            books.mismatch(self, &applied, false)?
        };
        if !mismatch.is_empty() {
            // The objects of deleted files are still in the database,
            // and the replay cannot make them.
            let operation = if done.removed.is_empty() {
                "repair"
            } else {
                "repair (rows of deleted files are removed only when the files left make the live schema; the \
                 deleted files' objects are still in the database: restore those files (is this the right \
                 folder?), or, to keep an edit, restore them, repair the edits, then delete them and repair again)"
            };
            return Err(Error::SchemaDiffers {
                operation,
                mismatch,
            });
        }
        if self.is_dry_run() {
            return Ok(done);
        }
        books.write(self, &mut |db| {
            for fix in &done.rechecked {
                let failed = |cause| history_failed(Some(fix.version), cause);
                // Under the lock, only the row as it was read.
                if db.recorded(fix.version).map_err(failed)?.as_deref()
                    != Some(fix.applied.as_str())
                {
                    return Err(Error::ChangedMeanwhile {
                        version: Some(fix.version),
                    });
                }
                db.set_checksum(fix.version, &fix.now).map_err(failed)?;
            }
            for fix in &done.downs {
                let now = set
                    .iter()
                    .find(|m| m.version == fix.version)
                    .and_then(Migration::down_checksum);
                db.set_down_checksum(fix.version, now.as_deref())
                    .map_err(|cause| history_failed(Some(fix.version), cause))?;
            }
            for (version, _) in &done.removed {
                db.remove(*version)
                    .map_err(|cause| history_failed(Some(*version), cause))?;
            }
            Ok(())
        })?;
        Ok(done)
    }
}

/// What `repair` never takes for deleted files: a folder that holds none
/// of the applied versions, or most of them not as they ran (the wrong
/// folder), and applied versions above the folder's newest file (the
/// database is ahead of the files). Removing those rows would make the
/// next run apply the migrations again.
fn refuse_removals(
    set: &[Migration],
    history: &[HistoryRow],
    done: &Bookkeeping,
) -> Result<(), Error> {
    // The removed rows are the rows without a file: all of them when the
    // folder shares no version with the history.
    let removed = &done.removed;
    if let Some(wrong) = crate::plan::wrong_folder(history, removed, &done.rechecked) {
        return Err(wrong.into());
    }
    if removed.len() == history.len() {
        return Err(PlanError::WrongFolder {
            applied: history.len(),
            unknown: removed.clone(),
        }
        .into());
    }
    let newest = set.iter().map(|m| m.version).max().unwrap_or(0);
    let ahead: Vec<(u64, String)> = removed
        .iter()
        .filter(|(v, _)| *v > newest)
        .cloned()
        .collect();
    if !ahead.is_empty() {
        return Err(PlanError::Ahead { newest, ahead }.into());
    }
    Ok(())
}

/// Where `baseline` and `repair` read and write the history: a SQLite
/// connection or a PostgreSQL client.
pub(crate) trait Books {
    /// The tables of other tools' histories, for `adopt`.
    fn catalog(&mut self) -> &mut dyn Catalog;

    /// The history, read before the write lock is taken.
    fn history(&mut self, runner: &Runner) -> Result<Vec<HistoryRow>, Error>;

    /// How the live schema differs from the one `chosen` make, replayed
    /// where nothing is kept; with `pragmas`, the persistent pragmas their
    /// pragma sets give are checked too.
    fn mismatch(
        &mut self,
        runner: &Runner,
        chosen: &[&Migration],
        pragmas: bool,
    ) -> Result<Mismatch, Error>;

    /// Runs `write` in one transaction under the write lock, then commits
    /// it; any error rolls it back.
    fn write(
        &mut self,
        runner: &Runner,
        write: &mut dyn FnMut(&mut dyn Marks) -> Result<(), Error>,
    ) -> Result<(), Error>;
}

/// The history writes of `baseline` and `repair`, in the open transaction
/// of [`Books::write`] (besides the backend's own `recorded` and `remove`).
pub(crate) trait Marks: Backend {
    /// The tables of other tools' histories, read again under the lock.
    fn catalog(&mut self) -> &mut dyn Catalog;
    /// Every history row, read again under the lock.
    fn rows(&mut self) -> Result<Vec<HistoryRow>, Error>;
    /// Records `m` as applied without running it, marked with `origin`.
    fn record_marked(
        &mut self,
        m: &Migration,
        origin: &str,
        applied_at: Option<&str>,
    ) -> Result<(), Failure>;
    /// Writes `checksum` into `version`'s row, checked.
    fn set_checksum(&mut self, version: u64, checksum: &str) -> Result<(), Failure>;
    /// Writes the down file's checksum into `version`'s row, checked.
    fn set_down_checksum(&mut self, version: u64, checksum: Option<&str>) -> Result<(), Failure>;
}

impl Mismatch {
    /// Refuses `operation`, listing why, unless nothing differs.
    pub(crate) fn refuse(self, operation: &'static str) -> Result<(), Error> {
        if self.is_empty() {
            return Ok(());
        }
        Err(Error::SchemaDiffers {
            operation,
            mismatch: self,
        })
    }
}

pub(crate) fn history_failed(version: Option<u64>, cause: Failure) -> Error {
    Error::History { version, cause }
}

fn recorded_step(m: &Migration) -> Step {
    Step {
        version: m.version,
        name: m.name.to_string(),
        kind: m.kind,
        file: m.file.to_string(),
        direction: Direction::Up,
        duration: Duration::ZERO,
    }
}
