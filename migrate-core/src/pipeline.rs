//! The step pipeline: the one place where migrations are applied or
//! reverted, whatever their kind and however the run is grouped.
//!
//! Each group of steps (one step, or every step of an atomic run) goes
//! through the same stages: prepare outside the transaction, take the lock,
//! re-read the history under it, take the backup, run, record or remove the
//! history rows, check, commit. A step that runs outside a transaction
//! releases the lock to run and takes it again to record. The differences
//! between kinds, directions and modes are data ([`Unit`]), not code.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::backend::{Backend, StepError, Tally};
use crate::dsl::indexes;
use crate::dsl::pragmas;
use crate::error::{Error, Failure, MigrationError, Undone};
use crate::naming::{Direction, Kind};
use crate::plan::{Modified, PlanError};
use crate::runner::{Note, NoteKind, Report, Step};
use crate::source::{LoadError, LoadErrorKind, Migration};
use crate::sql::Script;

pub(crate) use crate::vocabulary::Set;

/// What a step runs.
pub(crate) enum Work<'a> {
    /// Statements of `text`: a file, or one section of it.
    Sql { text: &'a str, script: Script },
    /// A set.
    Set(Set),
}

/// One step of a run: a migration applied or reverted.
pub(crate) struct Unit<'a> {
    /// The migration.
    pub m: &'a Migration,
    /// The file whose text runs (a revert's down file).
    pub file: &'a str,
    /// What runs.
    pub work: Work<'a>,
    /// Applied (recorded after) or reverted (its record removed).
    pub direction: Direction,
}

impl<'a> Unit<'a> {
    /// The step that applies `m`. Files were validated when the set was
    /// loaded; they are parsed again only for what runs now.
    pub fn apply(m: &'a Migration) -> Result<Unit<'a>, Error> {
        let first = |errors| first_problem(&m.file, errors);
        let work = match m.kind {
            Kind::Pragmas => Work::Set(Set::Pragmas(pragmas::parse(&m.text).map_err(first)?)),
            Kind::Indexes => Work::Set(Set::Indexes(indexes::parse(&m.text).map_err(first)?)),
            _ => Work::Sql {
                text: &m.text,
                script: m
                    .script()
                    .map_err(|e| invalid(&m.file, e.line, LoadErrorKind::Sql(e)))?,
            },
        };
        Ok(Unit {
            m,
            file: &m.file,
            work,
            direction: Direction::Up,
        })
    }

    /// The step that reverts `m`, or why it cannot be reverted.
    pub fn revert(m: &'a Migration) -> Result<Unit<'a>, Error> {
        let refuse = |reason| {
            Error::Plan(PlanError::Irreversible {
                version: m.version,
                file: m.file.to_string(),
                reason,
            })
        };
        let work = match m.kind {
            Kind::Pragmas => return Err(refuse(crate::plan::Irreversible::PragmaSet)),
            Kind::Indexes => Work::Set(Set::DropIndexes(
                indexes::parse(&m.text).map_err(|errors| first_problem(&m.file, errors))?,
            )),
            _ => {
                let down = m.down_script().map_err(|e| {
                    let file = m.down.as_ref().map_or(&m.file, |d| &d.file);
                    invalid(file, e.line, LoadErrorKind::Sql(e))
                })?;
                let Some((file, text, script)) = down else {
                    return Err(refuse(crate::plan::Irreversible::NoDown));
                };
                if script.statements.is_empty() {
                    return Err(refuse(crate::plan::Irreversible::EmptyDown {
                        file: file.to_owned(),
                    }));
                }
                return Ok(Unit {
                    m,
                    file,
                    work: Work::Sql { text, script },
                    direction: Direction::Down,
                });
            }
        };
        Ok(Unit {
            m,
            file: &m.file,
            work,
            direction: Direction::Down,
        })
    }

    /// Runs inside the group's transaction (else before the history write).
    pub fn transactional(&self) -> bool {
        match &self.work {
            Work::Sql { script, .. } => !script.no_transaction,
            Work::Set(Set::Pragmas(_)) => false,
            Work::Set(_) => true,
        }
    }

    fn foreign_keys_off(&self) -> bool {
        matches!(&self.work, Work::Sql { script, .. } if script.foreign_keys_off)
    }

    fn step(&self, duration: Duration) -> Step {
        Step {
            version: self.m.version,
            name: self.m.name.to_string(),
            kind: self.m.kind,
            file: self.file.to_owned(),
            direction: self.direction,
            duration,
        }
    }

    /// The step as a dry run lists it.
    pub fn planned(&self) -> Step {
        self.step(Duration::ZERO)
    }

    /// Whether this step still has to run, judged under the lock: another
    /// process may have applied (or reverted) it since the plan was made.
    /// `fail` says what a failed read left.
    fn due(&self, db: &mut impl Backend, fail: impl Fn(Failure) -> Error) -> Result<bool, Error> {
        let recorded = db.recorded(self.m.version).map_err(fail)?;
        let Some(checksum) = recorded else {
            return Ok(self.direction == Direction::Up);
        };
        if checksum != *self.m.checksum {
            return Err(PlanError::Modified(vec![Modified {
                version: self.m.version,
                file: self.m.file.to_string(),
                applied: checksum,
                now: self.m.checksum.to_string(),
            }])
            .into());
        }
        Ok(self.direction == Direction::Down)
    }

    /// Runs the step's statements or set; returns notes for the report.
    fn execute(&self, db: &mut impl Backend) -> Result<Vec<NoteKind>, StepError> {
        match &self.work {
            Work::Sql { text, script } => {
                db.execute_all(text, &script.statements, !script.no_transaction)?;
                Ok(Vec::new())
            }
            Work::Set(set) => db.apply_set(set),
        }
    }

    /// A failure before this step changed anything: what earlier steps of
    /// the run did stays, and is said (`before`); only when there are none
    /// did the run change nothing.
    fn not_started(&self, cause: Failure, before: &[u64]) -> Error {
        let undone = if before.is_empty() {
            Undone::NothingStarted
        } else {
            Undone::Migration
        };
        self.failure(None, None, cause, before, undone)
    }

    fn failure(
        &self,
        line: Option<u32>,
        statement: Option<String>,
        cause: Failure,
        before: &[u64],
        undone: Undone,
    ) -> Error {
        Error::Migration(Box::new(MigrationError {
            version: self.m.version,
            name: self.m.name.to_string(),
            file: self.file.to_owned(),
            line,
            statement,
            direction: self.direction,
            applied_before: before.to_vec(),
            undone,
            cause,
        }))
    }
}

/// The indexes (lowercased names) that the migrations applied before
/// `version`, in the set's order, leave in the database: what an index set
/// of that version found there and so did not make. Read from the files'
/// statements (`CREATE INDEX`, `DROP INDEX`, `DROP TABLE`, table renames)
/// and the earlier index sets.
pub(crate) fn indexes_before(set: &[Migration], applied: &[u64], version: u64) -> Vec<String> {
    use crate::sql::IndexEffect;
    // Each index, with its table.
    let mut made: Vec<(String, String)> = Vec::new();
    let earlier = set
        .iter()
        .take_while(|m| m.version != version)
        .filter(|m| applied.contains(&m.version));
    for m in earlier {
        match m.kind {
            Kind::Indexes => {
                for i in indexes::parse(&m.text)
                    .map(|s| s.indexes)
                    .unwrap_or_default()
                {
                    made.push((i.name.to_ascii_lowercase(), i.table.to_ascii_lowercase()));
                }
            }
            Kind::Pragmas => {}
            _ => {
                let Ok(script) = m.script() else { continue };
                for s in &script.statements {
                    match crate::sql::index_effect(s.text(&m.text)) {
                        Some(IndexEffect::Create { name, table }) => {
                            made.retain(|(n, _)| *n != name);
                            made.push((name, table));
                        }
                        Some(IndexEffect::Drop(names)) => made.retain(|(n, _)| !names.contains(n)),
                        Some(IndexEffect::DropTable(tables)) => {
                            made.retain(|(_, t)| !tables.contains(t));
                        }
                        Some(IndexEffect::RenameTable { from, to }) => {
                            for (_, t) in made.iter_mut().filter(|(_, t)| *t == from) {
                                t.clone_from(&to);
                            }
                        }
                        None => {}
                    }
                }
            }
        }
    }
    made.into_iter().map(|(n, _)| n).collect()
}

/// The first problem a parser found in a set that was valid when loaded.
fn first_problem(file: &str, errors: Vec<crate::dsl::DslError>) -> Error {
    use crate::dsl::{DslError, DslErrorKind};
    // A parser that fails names at least one problem.
    let e = errors
        .into_iter()
        .next()
        .unwrap_or_else(|| DslError::new(1, DslErrorKind::Syntax("the set does not parse".into())));
    invalid(file, e.line, LoadErrorKind::Dsl(e))
}

fn invalid(file: &str, line: u32, kind: LoadErrorKind) -> Error {
    Error::Load(
        LoadError {
            file: file.into(),
            line: Some(line),
            kind,
        }
        .into(),
    )
}

/// How a run is grouped, and what it does besides its steps.
pub(crate) struct Options<'r> {
    /// Every step in one transaction: all or nothing.
    pub atomic: bool,
    /// A copy of the database taken before the first change.
    pub backup_to: Option<&'r Path>,
    /// The versions the history held when the run was planned.
    pub recorded: &'r [u64],
    /// The applied index sets (version, file, set) when it was planned.
    pub declared: Vec<Declared>,
}

pub(crate) use crate::vocabulary::Declared;

/// The versions a run takes as recorded: those of its plan's history, as
/// its own steps (and the steps other processes did for it) change them.
/// Each step checks them against the history under the lock.
struct Known {
    versions: std::collections::BTreeSet<u64>,
    /// The index sets in force, as the run's steps change them.
    declared: Vec<Declared>,
}

impl Known {
    /// `Ok` when the history, counted under the lock, still holds what
    /// `unit` was planned on: for a step up, every version below it that
    /// the run takes as recorded is there (another process's `down` may
    /// have reverted one); for a step down, no version above it was
    /// applied that the run does not know of (another process's `up`).
    fn holds(&self, unit: &Unit, tally: &Tally) -> Result<(), Failure> {
        let v = unit.m.version;
        match unit.direction {
            Direction::Up => {
                let below = self.versions.range(..v).count() as u64;
                if tally.below < below {
                    return Err(Failure::PlanMoved {
                        direction: Direction::Up,
                        found: tally.below,
                        expected: below,
                    });
                }
            }
            Direction::Down => {
                let above = self.versions.range(v.saturating_add(1)..).count() as u64;
                if tally.above > above {
                    return Err(Failure::PlanMoved {
                        direction: Direction::Down,
                        found: tally.above,
                        expected: above,
                    });
                }
            }
        }
        Ok(())
    }

    /// `unit`'s version is recorded (or not) now.
    fn set(&mut self, unit: &Unit, recorded: bool) {
        let v = unit.m.version;
        if recorded {
            self.versions.insert(v);
        } else {
            self.versions.remove(&v);
        }
        self.declare(unit, recorded);
    }

    /// `unit`, an index set, is in force (or not) from now on.
    fn declare(&mut self, unit: &Unit, in_force: bool) {
        let v = unit.m.version;
        self.declared.retain(|(d, ..)| *d != v);
        if in_force && let Work::Set(Set::Indexes(set)) = &unit.work {
            self.declared
                .push((v, unit.m.file.to_string(), set.clone()));
        }
    }
}

/// Runs `units` in order: each in its own transaction, or all in one.
pub(crate) fn run(
    db: &mut impl Backend,
    units: &[Unit],
    options: &Options,
    report: &mut Report,
) -> Result<(), Error> {
    let mut known = Known {
        versions: options.recorded.iter().copied().collect(),
        declared: options.declared.clone(),
    };
    if !options.atomic {
        for unit in units {
            group(db, std::slice::from_ref(unit), options, &mut known, report)?;
        }
        return Ok(());
    }
    refuse_outside_atomic(units)?;
    group(db, units, options, &mut known, report)
}

/// An atomic run refuses, before anything, a step that cannot be in its
/// one transaction.
pub(crate) fn refuse_outside_atomic(units: &[Unit]) -> Result<(), Error> {
    match units.iter().find(|u| !u.transactional()) {
        Some(u) => Err(Error::NotAtomic {
            version: u.m.version,
            file: u.file.to_owned(),
        }),
        None => Ok(()),
    }
}

/// One group through the pipeline; whatever happens, the transaction is
/// closed and the settings changed for it are put back.
fn group(
    db: &mut impl Backend,
    units: &[Unit],
    options: &Options,
    known: &mut Known,
    report: &mut Report,
) -> Result<(), Error> {
    let result = try_group(db, units, options, known, report);
    db.rollback();
    result
}

fn try_group(
    db: &mut impl Backend,
    units: &[Unit],
    options: &Options,
    known: &mut Known,
    report: &mut Report,
) -> Result<(), Error> {
    let Some(first) = units.first() else {
        return Ok(());
    };
    let undone = if options.atomic {
        Undone::Run
    } else {
        Undone::Migration
    };
    let foreign_keys_off = units.iter().any(Unit::foreign_keys_off);
    // Before the group's first change: what earlier groups of this run did
    // stays, and is said (nothing at all changed only when there are none).
    let before = done(report, first.direction);
    let not_started = |cause| first.not_started(cause, &before);
    db.prepare(foreign_keys_off).map_err(not_started)?;
    db.begin_for(first.m.version).map_err(not_started)?;
    let mut due = Vec::with_capacity(units.len());
    for unit in units {
        if unit.due(db, not_started)? {
            due.push(unit);
        } else {
            // Another process did it: recorded (up) or removed (down).
            known.set(unit, unit.direction == Direction::Up);
            report.skipped.push(unit.m.version);
        }
    }
    let Some(&head) = due.first() else {
        return Ok(());
    };
    // The steps whose statements could change the history (they name it,
    // or a trigger could reach it) are watched: counted again after them.
    let mut watch = false;
    for unit in &due {
        if let Work::Sql { text, .. } = unit.work
            && unit.transactional()
        {
            watch |= db.may_touch_history(text).map_err(not_started)?;
        }
    }
    // Under the lock: the plan still holds (the history is re-derived
    // for every step, in both directions).
    let tally = db.tally(head.m.version, watch).map_err(not_started)?;
    known.holds(head, &tally).map_err(not_started)?;
    if let Some(dest) = options.backup_to
        && report.backup.is_none()
    {
        // Under the lock, so that the copy is the database exactly as this
        // run's first change finds it.
        db.backup(dest)?;
        report.backup = Some(dest.to_owned());
    }
    if !first.transactional() {
        untransacted(db, first, before, report)?;
        known.set(first, first.direction == Direction::Up);
        return Ok(());
    }

    let mut ran: Vec<Ran> = Vec::with_capacity(due.len());
    for unit in due {
        let start = Instant::now();
        let failed = |(line, statement, cause), ran: &[Ran]| {
            unit.failure(line, statement, cause, &done_before(&before, ran), undone)
        };
        let mut notes = unit.execute(db).map_err(|e| failed(e, &ran))?;
        // An index set's indexes outlive later steps: a table rebuild
        // drops them, and they are built again here, said in the report.
        known.declare(unit, unit.direction == Direction::Up);
        if matches!(unit.work, Work::Sql { .. }) && !known.declared.is_empty() {
            let restored = db
                .restore_indexes(&known.declared)
                .map_err(|cause| failed((None, None, cause), &ran))?;
            notes.extend(restored);
        }
        // The step's statements leave the history as they found it (a
        // trigger of another table may write to it): checked before this
        // run's own history writes, which follow the group's last step.
        let after = if watch {
            db.tally(head.m.version, true)
                .map_err(|cause| failed((None, None, cause), &ran))?
        } else {
            tally
        };
        if (after.total, after.sum) != (tally.total, tally.sum) {
            let cause = Failure::HistoryTouched {
                rows_before: tally.total,
                rows_after: after.total,
            };
            return Err(failed((None, None, cause), &ran));
        }
        ran.push((unit, start.elapsed(), notes));
    }
    // The history writes go in after the last step of the group: in an
    // atomic run, one statement prepared once (after each step's DDL it
    // would be prepared again).
    let last = ran.last().expect("a step ran").0;
    for (i, (unit, duration, _)) in ran.iter().enumerate() {
        let written = match unit.direction {
            Direction::Up => db.record(unit.m, *duration),
            Direction::Down => db.remove(unit.m.version),
        };
        written.map_err(|cause| {
            unit.failure(None, None, cause, &done_before(&before, &ran[..i]), undone)
        })?;
    }
    let fail = |cause| {
        let earlier = &ran[..ran.len() - 1];
        last.failure(None, None, cause, &done_before(&before, earlier), undone)
    };
    db.check(foreign_keys_off).map_err(fail)?;
    db.commit().map_err(fail)?;
    for (unit, duration, notes) in ran {
        known.set(unit, unit.direction == Direction::Up);
        finish(report, unit, duration, notes);
    }
    Ok(())
}

/// A step outside a transaction (a `no-transaction` file, a pragma set):
/// the lock is released while it runs and taken again to record it, which
/// happens only if no other process recorded it meanwhile.
fn untransacted(
    db: &mut impl Backend,
    unit: &Unit,
    before: Vec<u64>,
    report: &mut Report,
) -> Result<(), Error> {
    let fail = |(line, statement, cause): StepError| {
        unit.failure(line, statement, cause, &before, Undone::Nothing)
    };
    // The lock a backend keeps past the transaction (PostgreSQL's session
    // lock) is taken before the re-read's transaction ends, and given back
    // on every path.
    db.hold_outside_transaction()
        .map_err(|cause| unit.not_started(cause, &before))?;
    let result = untransacted_held(db, unit, &before, report, fail);
    db.release_outside_transaction();
    result
}

/// [`untransacted`], with the backend's lock held.
fn untransacted_held(
    db: &mut impl Backend,
    unit: &Unit,
    before: &[u64],
    report: &mut Report,
    fail: impl Fn(StepError) -> Error,
) -> Result<(), Error> {
    // Releasing the lock comes before the step runs: nothing of it is done.
    db.commit()
        .map_err(|cause| unit.not_started(cause, before))?;
    let start = Instant::now();
    let executed = unit.execute(db);
    let settled = db.settle(matches!(unit.work, Work::Sql { .. }));
    let notes = executed.map_err(&fail)?;
    settled.map_err(|e| fail((None, None, e)))?;
    if let Work::Sql { text, .. } = &unit.work {
        db.check_outside(text).map_err(|e| fail((None, None, e)))?;
    }
    let duration = start.elapsed();
    db.begin_for(unit.m.version)
        .map_err(|e| fail((None, None, e)))?;
    if unit.due(db, |e| fail((None, None, e)))? {
        let written = match unit.direction {
            Direction::Up => db.record(unit.m, duration),
            Direction::Down => db.remove(unit.m.version),
        };
        written.map_err(|e| fail((None, None, e)))?;
    }
    db.commit().map_err(|e| fail((None, None, e)))?;
    finish(report, unit, duration, notes);
    Ok(())
}

/// A step of a group that ran: how long it took, and its notes.
type Ran<'u, 'a> = (&'u Unit<'a>, Duration, Vec<NoteKind>);

/// The versions done before a failing step: those of earlier groups, then
/// the steps of its own group that ran before it.
fn done_before(before: &[u64], ran: &[Ran]) -> Vec<u64> {
    let group = ran.iter().map(|(u, ..)| u.m.version);
    before.iter().copied().chain(group).collect()
}

/// The versions this run applied (or reverted) so far.
fn done(report: &Report, direction: Direction) -> Vec<u64> {
    let steps = match direction {
        Direction::Up => &report.applied,
        Direction::Down => &report.reverted,
    };
    steps.iter().map(|s| s.version).collect()
}

fn finish(report: &mut Report, unit: &Unit, duration: Duration, notes: Vec<NoteKind>) {
    let step = unit.step(duration);
    match unit.direction {
        Direction::Up => report.applied.push(step),
        Direction::Down => report.reverted.push(step),
    }
    report.notes.extend(notes.into_iter().map(|kind| Note {
        file: unit.file.to_owned(),
        kind,
    }));
}
