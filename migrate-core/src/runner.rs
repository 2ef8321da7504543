//! The runner: validates the whole plan, then applies each migration in its
//! own `BEGIN IMMEDIATE` transaction and records it in the history table.

use std::time::Duration;

use crate::backend::Backend;
use crate::dsl::indexes;
use crate::error::Error;
use crate::history::Table;
use crate::naming::Kind;
use crate::pipeline::{self, Unit};
use crate::plan::{self, DownTarget, HistoryRow, PlanOptions};
use crate::source::{Migration, Migrations};
pub use crate::vocabulary::{Note, NoteKind, PlanWarning, Report, Step};

/// The busy timeout [`Migrations::open`] sets: how long a connection waits
/// for another's write lock before failing.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// PostgreSQL: the `lock_timeout` of each migration unless
/// [`Runner::lock_timeout`] says otherwise.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_millis(5000);

/// PostgreSQL: how long a run waits for another runner's migration lock
/// by default (see [`Runner::lock_wait`]).
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

/// The `expect` lines of the index sets among `migrations` whose query's
/// plan does not use their index, as `check` (the database's) finds it:
/// what `up` warns of and `verify` fails on, on either database.
pub(crate) fn failed_expects<'m>(
    migrations: impl IntoIterator<Item = &'m crate::source::Migration>,
    mut check: impl FnMut(&crate::dsl::indexes::Expect) -> Result<(), String>,
) -> Vec<PlanWarning> {
    let mut found = Vec::new();
    for m in migrations.into_iter().filter(|m| m.kind == Kind::Indexes) {
        let Ok(set) = indexes::parse(&m.text) else {
            continue;
        };
        for e in &set.expects {
            if let Err(plan) = check(e) {
                found.push(PlanWarning {
                    file: m.file.to_string(),
                    line: e.line,
                    query: e.query.clone(),
                    index: e.index.clone(),
                    plan,
                });
            }
        }
    }
    found
}

/// Applies a [`Migrations`] set to a connection.
#[derive(Debug, Clone)]
pub struct Runner<'m> {
    set: &'m Migrations,
    table: Table,
    options: PlanOptions,
    dry_run: bool,
    atomic: bool,
    backup_to: Option<std::path::PathBuf>,
    schema_only: bool,
    lock_timeout: Duration,
    statement_timeout: Option<Duration>,
    lock_wait: Option<Duration>,
    before_apply: Option<BeforeApply<'m>>,
    /// A backend's way of opening more connections (PostgreSQL's
    /// `Connector`, set by its `Runner::lock_connection`), kept opaque:
    /// the engine only carries it.
    #[cfg(feature = "postgres")]
    pub(crate) connector: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
}

/// What [`Runner::before_apply`] calls.
type Look<'m> = dyn Fn(&[&Migration]) -> Result<(), Vec<String>> + Send + Sync + 'm;

/// See [`Runner::before_apply`].
#[derive(Clone)]
struct BeforeApply<'m>(std::sync::Arc<Look<'m>>);

impl std::fmt::Debug for BeforeApply<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforeApply(..)")
    }
}

impl Migrations {
    /// A runner for this set, with default options.
    pub fn runner(&self) -> Runner<'_> {
        Runner::new(self)
    }

    /// Refuses a set written for another database than `wanted`. A set is
    /// loaded in one dialect (the loader and the macro give every file the
    /// folder's), so its first migration says: one comparison, on every
    /// app start.
    pub(crate) fn check_dialect(&self, wanted: crate::sql::Dialect) -> Result<(), Error> {
        let Some(m) = self.as_slice().first().filter(|m| m.dialect != wanted) else {
            return Ok(());
        };
        let file = m.file.to_string();
        Err(match wanted {
            crate::sql::Dialect::Postgres => Error::NotPostgres { file },
            _ => Error::NotSqlite { file },
        })
    }
}

impl<'m> Runner<'m> {
    /// A runner with the defaults: history in `schema_migrations`, apply
    /// everything, one transaction per migration, refuse missing and
    /// out-of-order versions.
    pub fn new(set: &'m Migrations) -> Runner<'m> {
        Runner {
            set,
            table: Table::default(),
            options: PlanOptions::default(),
            dry_run: false,
            atomic: false,
            backup_to: None,
            schema_only: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            statement_timeout: None,
            lock_wait: Some(DEFAULT_LOCK_WAIT),
            before_apply: None,
            #[cfg(feature = "postgres")]
            connector: None,
        }
    }

    /// PostgreSQL: how long one migration may wait for a lock on a table
    /// before it gives up (`lock_timeout`, set for each migration once the
    /// migration lock is held); default 5 s. A migration stuck behind a
    /// long query would otherwise hold every query queued behind its own
    /// lock.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// PostgreSQL: how long a run waits for the migration lock while
    /// another runner holds it; `None` waits as long as it takes. Default
    /// 60 s; past it the run fails, naming the session that holds the
    /// lock, with nothing changed.
    pub fn lock_wait(mut self, wait: Option<Duration>) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Calls `look` with the migrations a run is about to apply, once it has
    /// planned them and before the first runs (not when nothing is
    /// pending): what the CLI lints there, with no second read of the
    /// history. When `look` gives reasons, the run stops there with
    /// [`Error::Refused`], nothing changed.
    pub fn before_apply(
        mut self,
        look: impl Fn(&[&Migration]) -> Result<(), Vec<String>> + Send + Sync + 'm,
    ) -> Self {
        self.before_apply = Some(BeforeApply(std::sync::Arc::new(look)));
        self
    }

    /// PostgreSQL: how long one statement of a migration may run
    /// (`statement_timeout`); none by default.
    pub fn statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The PostgreSQL timeouts: lock and statement.
    #[cfg(feature = "postgres")]
    pub(crate) fn timeouts(&self) -> (Duration, Option<Duration>) {
        (self.lock_timeout, self.statement_timeout)
    }

    /// The wait for another runner's migration lock ([`Runner::lock_wait`]).
    #[cfg(feature = "postgres")]
    pub(crate) fn lock_wait_of(&self) -> Option<Duration> {
        self.lock_wait
    }

    /// Keeps the history in `table` instead of `schema_migrations`.
    pub fn table(mut self, table: Table) -> Self {
        self.table = table;
        self
    }

    /// Applies up to and including `version` only.
    pub fn target(mut self, version: Option<u64>) -> Self {
        self.options.target = version;
        self
    }

    /// Reports the plan without changing anything.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Applies all pending migrations in one transaction: all or nothing.
    pub fn atomic(mut self, yes: bool) -> Self {
        self.atomic = yes;
        self
    }

    /// Takes an online backup to `path` before the first change (only when
    /// something is pending; an existing file is refused).
    pub fn backup_to(mut self, path: Option<std::path::PathBuf>) -> Self {
        self.backup_to = path;
        self
    }

    /// The set it runs.
    pub(crate) fn set(&self) -> &Migrations {
        self.set
    }

    /// The history table.
    pub(crate) fn history_table(&self) -> &Table {
        &self.table
    }

    /// A dry run: nothing is written.
    pub(crate) fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Skips pragma sets: for replaying the schema into an in-memory
    /// database, which cannot hold persistent pragmas.
    pub(crate) fn schema_only(mut self) -> Self {
        self.schema_only = true;
        self
    }

    /// Whether pragma sets are skipped ([`Runner::schema_only`]).
    pub(crate) fn is_schema_only(&self) -> bool {
        self.schema_only
    }

    /// Accepts applied versions that have no file.
    pub fn allow_missing(mut self, yes: bool) -> Self {
        self.options.allow_missing = yes;
        self
    }

    /// Accepts pending versions lower than the highest applied one.
    pub fn allow_out_of_order(mut self, yes: bool) -> Self {
        self.options.allow_out_of_order = yes;
        self
    }

    /// Adds a warning to `report` for each `expect` line of the index sets
    /// it applied whose query's plan does not use its index (`check` says
    /// why, as the plan).
    pub(crate) fn plan_warnings(
        &self,
        report: &mut Report,
        check: impl FnMut(&crate::dsl::indexes::Expect) -> Result<(), String>,
    ) {
        let applied = report
            .applied
            .iter()
            .filter_map(|s| self.set.iter().find(|m| m.version == s.version));
        let warnings = failed_expects(applied, check);
        report.warnings.extend(warnings);
    }

    /// [`Runner::redo`] on any database: `act` reverts (`Some(target)`) or
    /// applies (`None`) with the runner it is given.
    pub(crate) fn redo_with(
        &self,
        mut act: impl FnMut(&Runner<'_>, Option<DownTarget>) -> Result<Report, Error>,
    ) -> Result<Report, Error> {
        let mut report = act(self, Some(DownTarget::Steps(1)))?;
        let Some(version) = report
            .reverted
            .first()
            .or(report.planned.first())
            .map(|s| s.version)
        else {
            return Ok(report);
        };
        let up = if self.dry_run {
            // Nothing was reverted, so the plan of the up half is its step.
            let m = self.set.iter().find(|m| m.version == version);
            Report {
                planned: m
                    .map(|m| Unit::apply(m).map(|u| u.planned()))
                    .transpose()?
                    .into_iter()
                    .collect(),
                ..Report::default()
            }
        } else {
            // Up to that version only, and no second backup.
            let again = Runner {
                backup_to: None,
                options: PlanOptions {
                    target: Some(version),
                    ..self.options
                },
                ..self.clone()
            };
            act(&again, None)?
        };
        report.applied = up.applied;
        report.planned.extend(up.planned);
        report.skipped.extend(up.skipped);
        report.notes.extend(up.notes);
        report.warnings.extend(up.warnings);
        Ok(report)
    }

    /// What every run checks of the set, whatever the database: it was
    /// loaded for `dialect`, and the build is current (no embedded file
    /// edited since).
    pub(crate) fn check_set(&self, dialect: crate::sql::Dialect) -> Result<(), Error> {
        self.set.check_dialect(dialect)?;
        let stale = self.set.stale_files();
        if !stale.is_empty() {
            return Err(Error::StaleBuild { files: stale });
        }
        Ok(())
    }

    /// Applies what is pending, through `db`.
    pub(crate) fn up(&self, db: &mut impl Backend) -> Result<Report, Error> {
        // The startup check: the history is exactly the set. (A target
        // short of the last version takes the full check, which says
        // whether it is below what is applied.)
        let to_the_end = self
            .options
            .target
            .is_none_or(|t| self.set.as_slice().last().is_some_and(|m| m.version == t));
        if to_the_end && db.is_current(self.set.as_slice(), !self.dry_run)? {
            return Ok(Report::default());
        }
        let history = db.history()?;
        if history.is_empty()
            && let Some(tool) = db.managed_by(self.set.as_slice())?
        {
            return Err(Error::ManagedBy { tool });
        }
        let plan = plan::plan(self.set.as_slice(), &history, self.options)?;
        if let Some(look) = self
            .before_apply
            .as_ref()
            .filter(|_| !plan.pending.is_empty())
        {
            (look.0)(&plan.pending).map_err(Error::Refused)?;
        }
        // Validated at load time; parsed again only for what runs now, on
        // every core.
        let units = crate::source::par_map(plan.pending, Unit::apply)
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        self.execute(db, &units, &history)
    }

    /// Reverts down to `target`, through `db`.
    pub(crate) fn revert(
        &self,
        db: &mut impl Backend,
        target: DownTarget,
    ) -> Result<Report, Error> {
        let history = db.history()?;
        let chosen = plan::down(self.set.as_slice(), &history, target)?;
        // Every refusal comes before the first change.
        let mut units = chosen
            .into_iter()
            .map(Unit::revert)
            .collect::<Result<Vec<_>, _>>()?;
        // An index set drops only the indexes it made: not one that an
        // earlier migration had made already (the set found it there).
        let applied: Vec<u64> = history.iter().map(|h| h.version).collect();
        for unit in &mut units {
            if let pipeline::Work::Set(pipeline::Set::DropIndexes(set)) = &mut unit.work {
                let before =
                    pipeline::indexes_before(self.set.as_slice(), &applied, unit.m.version);
                set.indexes
                    .retain(|i| !before.contains(&i.name.to_ascii_lowercase()));
            }
        }
        self.execute(db, &units, &history)
    }

    /// Runs `units`, planned on `history`, through the pipeline (or lists
    /// them, in a dry run).
    fn execute(
        &self,
        db: &mut impl Backend,
        units: &[Unit],
        history: &[HistoryRow],
    ) -> Result<Report, Error> {
        let mut report = Report::default();
        if units.is_empty() {
            return Ok(report);
        }
        // A dry run refuses what the run would.
        if self.atomic {
            pipeline::refuse_outside_atomic(units)?;
        }
        if self.dry_run {
            report.planned = units.iter().map(Unit::planned).collect();
            return Ok(report);
        }
        db.check_can_run(self.backup_to.as_deref())?;
        let recorded: Vec<u64> = history.iter().map(|h| h.version).collect();
        // The index sets in force: their indexes outlive any later step.
        let declared = self
            .set
            .iter()
            .filter(|m| m.kind == crate::naming::Kind::Indexes && recorded.contains(&m.version))
            .filter_map(|m| {
                Some((
                    m.version,
                    m.file.to_string(),
                    crate::dsl::indexes::parse(&m.text).ok()?,
                ))
            })
            .collect();
        let options = pipeline::Options {
            atomic: self.atomic,
            backup_to: self.backup_to.as_deref(),
            recorded: &recorded,
            declared,
        };
        pipeline::run(db, units, &options, &mut report)?;
        Ok(report)
    }
}
