//! A migration set and a history make a plan, or the reason there is none.
//!
//! Pure given both: no SQLite here, so every rule is tested on plain data.

use std::fmt;

use crate::naming::Kind;
use crate::source::Migration;

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// The applied version.
    pub version: u64,
    /// The name it had when applied.
    pub name: String,
    /// `sql`, `pragmas` or `indexes`.
    pub kind: String,
    /// The checksum of the file that was applied.
    pub checksum: String,
    /// When, in UTC (ISO 8601 with milliseconds).
    pub applied_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// `None` when this tool ran it; `baseline`, or the tool it was adopted
    /// from, when it was recorded without running.
    pub origin: Option<String>,
    /// The checksum of its separate down file as it was when the up ran
    /// (`None`: no down file then, or a row of a build before this column).
    pub down_checksum: Option<String>,
}

/// What the runner may tolerate, and how far it goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Apply up to and including this version; `None` applies everything.
    pub target: Option<u64>,
    /// Accept applied versions that have no file.
    pub allow_missing: bool,
    /// Accept pending versions below the highest applied one.
    pub allow_out_of_order: bool,
}

/// Why a set cannot be applied to a database as it stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Applied files edited since they ran.
    #[error("{}", list(.0, "applied migrations were edited after they ran (restore the files from version control; to change the schema, add a new migration; if only comments or spacing changed, `Runner::repair` re-records them)"))]
    Modified(Vec<Modified>),
    /// Down files edited since their up ran.
    #[error("{}", list(.0, "down migrations were edited after their up ran, so they may not undo what ran (read each; if it is right, `Runner::repair` records it, and the revert can go on)"))]
    DownEdited(Vec<Modified>),
    /// Applied versions with no file.
    #[error(
        "the database has applied migrations that are not in the migrations folder: {} (the database is ahead of this code, or branches diverged: run the newer code, or accept it with `Runner::allow_missing`; if the files were deleted on purpose, `Runner::repair` removes their rows)",
        versions(.0)
    )]
    Missing(Vec<(u64, String)>),
    /// Pending versions below the highest applied one.
    #[error(
        "pending migrations are older than the newest applied one ({highest}): {} (a branch merged late? renumber them above {highest}, or accept them with `Runner::allow_out_of_order`)",
        versions(.pending)
    )]
    OutOfOrder {
        /// The highest applied version.
        highest: u64,
        /// The pending versions below it, with their files.
        pending: Vec<(u64, String)>,
    },
    /// `--to` names no migration of the set.
    #[error("target version {target} is not a migration of this set; the versions go up to {}", .highest.map_or("none".into(), |h| h.to_string()))]
    TargetNotFound {
        /// The version asked for.
        target: u64,
        /// The highest version of the set.
        highest: Option<u64>,
    },
    /// The target is below what is applied: going back is a revert.
    #[error(
        "target version {target} is below the applied version {applied}; applying never goes back: revert down \
         to {target} instead"
    )]
    TargetBelowApplied {
        /// The version asked for.
        target: u64,
        /// The highest applied version.
        applied: u64,
    },
    /// Most of the history is unknown to the folder: its applied versions
    /// have no file there, or a file that differs. The likely cause is the
    /// wrong folder (another app's, an old checkout, an empty one).
    #[error(
        "{} of the database's {applied} applied migrations are not in the migrations folder as they ran ({}): \
         is this the folder the database was migrated from? (a wrong `--dir`, another app's folder, an old \
         checkout). Run again with the right folder; if it is the right one, restore the \
         edited files from version control (`Runner::repair` re-records edits of comments or spacing only, and \
         removes no rows while the folder lacks most of the history)",
        .unknown.len(), versions(.unknown)
    )]
    WrongFolder {
        /// How many rows the history holds.
        applied: usize,
        /// The applied versions missing from the folder or edited there,
        /// with their names.
        unknown: Vec<(u64, String)>,
    },
    /// Applied versions above the folder's newest file: the database is
    /// ahead of these files, which `repair` does not take for deletions.
    #[error(
        "the database has applied migrations newer than the newest file of the migrations folder ({newest}): {}; \
         the database is ahead of these files (an older checkout, another branch, the wrong folder?), and \
         removing those rows would make the next run apply them again. Run the newer code, \
         or accept it with `Runner::allow_missing`; to drop a newest migration on purpose, restore its file and \
         revert it (`down`) before deleting it",
        versions(.ahead)
    )]
    Ahead {
        /// The newest version of the folder.
        newest: u64,
        /// The applied versions above it, with their names.
        ahead: Vec<(u64, String)>,
    },
    /// A migration to revert that cannot be reverted.
    #[error("version {version} ({file}) cannot be reverted: {reason}")]
    Irreversible {
        /// Its version.
        version: u64,
        /// Its file.
        file: String,
        /// Why not.
        reason: Irreversible,
    },
}

/// Why a migration cannot be reverted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Irreversible {
    /// A SQL migration with no down file and no down section.
    #[error(
        "it has no down migration; add a `.down.sql` file of the same version beside it that undoes it, or \
         write both halves in the file: a line `-- migrate:up` first, its statements, then a line \
         `-- migrate:down` and the statements that undo them (an edit of the applied file, which \
         `Runner::repair` then records)"
    )]
    NoDown,
    /// A down file or section without a statement: nothing says how to
    /// undo the migration.
    #[error(
        "its down migration ({file}) has no statement; write the SQL that undoes it (or a statement such as \
         `SELECT 1;` if undoing it needs nothing)"
    )]
    EmptyDown {
        /// The down file (or the migration's own file, for a section).
        file: String,
    },
    /// A pragma set: what it replaced was never recorded, and some of its
    /// settings rewrite the whole file.
    #[error(
        "it is a pragma set, and pragma sets are not reversible: the values they replaced were not recorded, \
         and page_size, auto_vacuum and journal_mode rewrite the file; write a new pragma set with the values \
         you want"
    )]
    PragmaSet,
}

/// How far a revert goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownTarget {
    /// The last `n` applied migrations (highest versions first).
    Steps(usize),
    /// Every applied migration above this version (0: all of them).
    To(u64),
}

/// The applied migrations a revert to `target` undoes, highest version
/// first, each with its file; or why not: an applied version with no file,
/// or a file edited since it ran.
///
/// ```
/// use migrate_core::plan::{down, DownTarget};
/// let set = migrate_core::Migrations::from_dir("migrations").unwrap();
/// // Nothing is applied, so nothing is reverted.
/// assert!(down(set.as_slice(), &[], DownTarget::To(0)).unwrap().is_empty());
/// ```
pub fn down<'a>(
    set: &'a [Migration],
    history: &[HistoryRow],
    target: DownTarget,
) -> Result<Vec<&'a Migration>, PlanError> {
    let order = Order::of(set);
    let not_found = |t| PlanError::TargetNotFound {
        target: t,
        highest: set.last().map(|m| m.version),
    };
    let floor = match target {
        DownTarget::To(0) | DownTarget::Steps(_) => None,
        DownTarget::To(t) if order.find(t).is_none() && !history.iter().any(|r| r.version == t) => {
            return Err(not_found(t));
        }
        DownTarget::To(t) => Some(order.rank(t).ok_or_else(|| not_found(t))?),
    };
    // Newest first, in the set's order (a row without a file sorts last,
    // so that it is named rather than passed over).
    let mut applied: Vec<&HistoryRow> = history.iter().collect();
    applied.sort_by_key(|r| std::cmp::Reverse(order.rank(r.version).unwrap_or(u64::MAX)));
    let chosen: Vec<&HistoryRow> = match target {
        DownTarget::Steps(n) => applied.into_iter().take(n).collect(),
        DownTarget::To(_) => applied
            .into_iter()
            .take_while(|r| floor.is_none_or(|f| order.rank(r.version).is_none_or(|k| k > f)))
            .collect(),
    };
    let mut missing = Vec::new();
    let mut modified = Vec::new();
    let mut downs = Vec::new();
    let mut out = Vec::with_capacity(chosen.len());
    for row in chosen {
        match order.find(row.version).map(|i| &set[i]) {
            None => missing.push((row.version, row.name.clone())),
            Some(m) if m.checksum != row.checksum => modified.push(Modified {
                version: row.version,
                file: m.file.to_string(),
                applied: row.checksum.clone(),
                now: m.checksum.to_string(),
            }),
            Some(m) => {
                downs.extend(down_edited(m, row));
                out.push(m);
            }
        }
    }
    if let Some(e) = wrong_folder(history, &missing, &modified) {
        return Err(e);
    }
    if !missing.is_empty() {
        return Err(PlanError::Missing(missing));
    }
    if !modified.is_empty() {
        return Err(PlanError::Modified(modified));
    }
    if !downs.is_empty() {
        return Err(PlanError::DownEdited(downs));
    }
    Ok(out)
}

/// The down file of `m` when it is not the one in place when `row` ran.
pub(crate) fn down_edited(m: &Migration, row: &HistoryRow) -> Option<Modified> {
    let recorded = row.down_checksum.as_ref()?;
    let now = m.down_checksum();
    (now.as_ref() != Some(recorded)).then(|| Modified {
        version: row.version,
        file: m
            .down
            .as_ref()
            .map_or_else(|| m.file.to_string(), |d| d.file.to_string()),
        applied: recorded.clone(),
        now: now.unwrap_or_else(|| "no down file".to_owned()),
    })
}

/// Where versions stand in a set's order. A set in numeric order (every
/// layout but versioned folders whose versions differ in length, which
/// diesel orders as text) ranks a version by its number, so that a row
/// without a file still has its place; any other set ranks by position.
struct Order {
    /// Each version's position in the set.
    positions: std::collections::HashMap<u64, usize>,
    numeric: bool,
}

impl Order {
    fn of(set: &[Migration]) -> Order {
        Order {
            positions: set
                .iter()
                .enumerate()
                .map(|(i, m)| (m.version, i))
                .collect(),
            numeric: set.windows(2).all(|w| w[0].version < w[1].version),
        }
    }

    /// The position of `version` in the set.
    fn find(&self, version: u64) -> Option<usize> {
        self.positions.get(&version).copied()
    }

    /// The rank of `version`; `None` for a version the set does not hold,
    /// when the set is not in numeric order.
    fn rank(&self, version: u64) -> Option<u64> {
        if self.numeric {
            return Some(version);
        }
        self.find(version).map(|i| i as u64)
    }
}

/// An applied migration whose file changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modified {
    /// The version.
    pub version: u64,
    /// The file as it is now.
    pub file: String,
    /// The checksum recorded when it was applied.
    pub applied: String,
    /// The checksum of the file now.
    pub now: String,
}

impl fmt::Display for Modified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "version {} ({}): applied with checksum {}, the file now has {}",
            self.version, self.file, self.applied, self.now
        )
    }
}

fn list(items: &[Modified], head: &str) -> String {
    let mut s = head.to_owned();
    for m in items {
        s.push_str("\n  ");
        s.push_str(&m.to_string());
    }
    s
}

/// [`PlanError::WrongFolder`] when most of `history` (more than half) is
/// missing from the folder or differs from its files.
pub(crate) fn wrong_folder(
    history: &[HistoryRow],
    missing: &[(u64, String)],
    modified: &[Modified],
) -> Option<PlanError> {
    let unknown = missing.len() + modified.len();
    if unknown == 0 || history.len() < 2 || unknown * 2 <= history.len() {
        return None;
    }
    let mut unknown: Vec<(u64, String)> = missing.to_vec();
    unknown.extend(modified.iter().map(|m| {
        let name = history.iter().find(|h| h.version == m.version);
        (
            m.version,
            name.map_or_else(|| m.file.clone(), |h| h.name.clone()),
        )
    }));
    unknown.sort();
    Some(PlanError::WrongFolder {
        applied: history.len(),
        unknown,
    })
}

fn versions(v: &[(u64, String)]) -> String {
    v.iter()
        .map(|(v, n)| format!("{v} ({})", crate::naming::visible(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a run would apply, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'a> {
    /// The migrations to apply, in version order.
    pub pending: Vec<&'a Migration>,
}

/// Checks `history` against `set` and lists what to apply.
///
/// ```
/// use migrate_core::plan::{plan, PlanOptions};
/// let set = migrate_core::Migrations::from_dir("migrations").unwrap();
/// let p = plan(set.as_slice(), &[], PlanOptions::default()).unwrap();
/// assert_eq!(p.pending.len(), set.len());
/// ```
pub fn plan<'a>(
    set: &'a [Migration],
    history: &[HistoryRow],
    options: PlanOptions,
) -> Result<Plan<'a>, PlanError> {
    let order = Order::of(set);
    let find = |v: u64| order.find(v).map(|i| &set[i]);

    let modified: Vec<Modified> = history
        .iter()
        .filter_map(|row| {
            let m = find(row.version)?;
            (m.checksum != row.checksum).then(|| Modified {
                version: row.version,
                file: m.file.to_string(),
                applied: row.checksum.clone(),
                now: m.checksum.to_string(),
            })
        })
        .collect();
    let missing: Vec<(u64, String)> = history
        .iter()
        .filter(|row| find(row.version).is_none())
        .map(|row| (row.version, row.name.clone()))
        .collect();
    let missing_counts = if options.allow_missing {
        &[][..]
    } else {
        &missing[..]
    };
    if let Some(e) = wrong_folder(history, missing_counts, &modified) {
        return Err(e);
    }
    if !modified.is_empty() {
        return Err(PlanError::Modified(modified));
    }
    if !missing.is_empty() && !options.allow_missing {
        return Err(PlanError::Missing(missing));
    }

    // The newest applied version in the set's order, with its rank.
    let highest_applied = history
        .iter()
        .filter_map(|r| Some((order.rank(r.version)?, r.version)))
        .max();
    let mut target_rank = None;
    if let Some(target) = options.target {
        let Some(rank) = find(target).and_then(|_| order.rank(target)) else {
            return Err(PlanError::TargetNotFound {
                target,
                highest: set.last().map(|m| m.version),
            });
        };
        if let Some((_, applied)) = highest_applied.filter(|&(a, _)| a > rank) {
            return Err(PlanError::TargetBelowApplied { target, applied });
        }
        target_rank = Some(rank);
    }

    let applied: std::collections::HashSet<u64> = history.iter().map(|r| r.version).collect();
    let rank = |m: &Migration| order.rank(m.version).unwrap_or(u64::MAX);
    let pending: Vec<&Migration> = set
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .filter(|m| target_rank.is_none_or(|t| rank(m) <= t))
        .collect();

    if let Some((highest_rank, highest)) = highest_applied.filter(|_| !options.allow_out_of_order) {
        let early: Vec<(u64, String)> = pending
            .iter()
            .filter(|m| rank(m) < highest_rank)
            .map(|m| (m.version, m.file.to_string()))
            .collect();
        if !early.is_empty() {
            return Err(PlanError::OutOfOrder {
                highest,
                pending: early,
            });
        }
    }
    Ok(Plan { pending })
}

/// The state of one version, for `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Applied, and the file is unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but the file changed since.
    Modified,
    /// Applied, but there is no file for it.
    Missing,
}

impl State {
    /// The lowercase name shown by `status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Modified => "modified",
            State::Missing => "missing",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// The version.
    pub version: u64,
    /// The name, from the file or else from the history.
    pub name: String,
    /// The kind, from the file or else from the history.
    pub kind: String,
    /// Where it stands.
    pub state: State,
    /// The file, when there is one.
    pub file: Option<String>,
    /// When it was applied.
    pub applied_at: Option<String>,
    /// How long it took.
    pub duration_ms: Option<u64>,
    /// Recorded without running: `baseline`, or the tool it was adopted
    /// from (see [`HistoryRow::origin`]).
    pub origin: Option<String>,
}

/// Every version of the set and of the history, with its state.
pub fn status(set: &[Migration], history: &[HistoryRow]) -> Vec<StatusRow> {
    let by_version: std::collections::HashMap<u64, &HistoryRow> =
        history.iter().map(|r| (r.version, r)).collect();
    let mut rows: Vec<StatusRow> = set
        .iter()
        .map(|m| {
            let row = by_version.get(&m.version).copied();
            StatusRow {
                version: m.version,
                name: m.name.to_string(),
                kind: m.kind.as_str().to_owned(),
                state: match row {
                    None => State::Pending,
                    Some(r) if r.checksum != m.checksum => State::Modified,
                    Some(_) => State::Applied,
                },
                file: Some(m.file.to_string()),
                applied_at: row.map(|r| r.applied_at.clone()),
                duration_ms: row.map(|r| r.duration_ms),
                origin: row.and_then(|r| r.origin.clone()),
            }
        })
        .collect();
    let in_set: std::collections::HashSet<u64> = set.iter().map(|m| m.version).collect();
    for r in history {
        if !in_set.contains(&r.version) {
            rows.push(StatusRow {
                version: r.version,
                name: r.name.clone(),
                kind: Kind::from_name(&r.kind).map_or(r.kind.clone(), |k| k.as_str().to_owned()),
                state: State::Missing,
                file: None,
                applied_at: Some(r.applied_at.clone()),
                duration_ms: Some(r.duration_ms),
                origin: r.origin.clone(),
            });
        }
    }
    // In the set's order (a row without a file, in a set ordered as text,
    // last).
    let order = Order::of(set);
    rows.sort_by_key(|r| (order.rank(r.version).unwrap_or(u64::MAX), r.version));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(version: u64, sql: &'static str) -> Migration {
        Migration::embedded(version, "m", Kind::Sql, "f.sql", sql, sql, None, false)
    }

    fn row(version: u64, checksum: &str) -> HistoryRow {
        HistoryRow {
            version,
            name: "m".into(),
            kind: "sql".into(),
            checksum: checksum.into(),
            applied_at: "2026-01-01T00:00:00.000Z".into(),
            duration_ms: 1,
            origin: None,
            down_checksum: None,
        }
    }

    fn versions(p: Plan<'_>) -> Vec<u64> {
        p.pending.iter().map(|m| m.version).collect()
    }

    #[test]
    fn plans_what_is_not_applied() {
        let set = [m(1, "a"), m(2, "b"), m(3, "c")];
        let p = plan(&set, &[row(1, "a")], PlanOptions::default()).unwrap();
        assert_eq!(versions(p), [2, 3]);
        let p = plan(
            &set,
            &[row(1, "a"), row(2, "b"), row(3, "c")],
            PlanOptions::default(),
        )
        .unwrap();
        assert!(p.pending.is_empty());
    }

    #[test]
    fn refuses_modified_missing_and_out_of_order() {
        let set = [m(1, "a"), m(2, "b"), m(3, "c")];
        let e = plan(&set, &[row(1, "x")], PlanOptions::default()).unwrap_err();
        assert!(matches!(&e, PlanError::Modified(v) if v[0].applied == "x" && v[0].now == "a"));
        let e = plan(&set, &[row(1, "a"), row(9, "z")], PlanOptions::default()).unwrap_err();
        assert_eq!(e, PlanError::Missing(vec![(9, "m".into())]));
        let e = plan(&set, &[row(1, "a"), row(3, "c")], PlanOptions::default()).unwrap_err();
        assert!(matches!(e, PlanError::OutOfOrder { highest: 3, .. }));
    }

    #[test]
    fn options_allow_what_they_name() {
        let set = [m(1, "a"), m(2, "b"), m(3, "c")];
        let lenient = PlanOptions {
            allow_missing: true,
            allow_out_of_order: true,
            ..PlanOptions::default()
        };
        let p = plan(&set, &[row(1, "a"), row(3, "c"), row(9, "z")], lenient).unwrap();
        assert_eq!(versions(p), [2]);
    }

    #[test]
    fn target_limits_the_plan() {
        let set = [m(1, "a"), m(2, "b"), m(3, "c")];
        let to = |t| PlanOptions {
            target: Some(t),
            ..PlanOptions::default()
        };
        assert_eq!(versions(plan(&set, &[], to(2)).unwrap()), [1, 2]);
        assert!(matches!(
            plan(&set, &[], to(7)),
            Err(PlanError::TargetNotFound { .. })
        ));
        let e = plan(&set, &[row(1, "a"), row(2, "b"), row(3, "c")], to(2)).unwrap_err();
        assert_eq!(
            e,
            PlanError::TargetBelowApplied {
                target: 2,
                applied: 3
            }
        );
    }

    #[test]
    fn status_names_each_state() {
        let set = [m(1, "a"), m(2, "b"), m(3, "c")];
        let states: Vec<State> = status(&set, &[row(1, "a"), row(2, "x"), row(5, "e")])
            .iter()
            .map(|r| r.state)
            .collect();
        assert_eq!(
            states,
            [
                State::Applied,
                State::Modified,
                State::Pending,
                State::Missing
            ]
        );
    }
}
