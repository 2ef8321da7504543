//! `up`: apply pending migrations.

use std::path::PathBuf;

use clap::Args;
use migrate_core::Runner;
use migrate_core::naming::Direction;
use migrate_core::rusqlite::Connection;

use crate::context::Context;
use crate::{Failure, report};

#[derive(Debug, Clone, Args)]
pub(crate) struct UpArgs {
    /// Apply up to and including this version only.
    #[arg(long, value_name = "VERSION")]
    pub(crate) to: Option<u64>,
    /// Print what would be applied, change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Apply all pending migrations in one transaction: all or nothing.
    #[arg(long)]
    pub(crate) atomic: bool,
    /// Accept applied versions whose files are gone.
    #[arg(long)]
    pub(crate) allow_missing: bool,
    /// Accept pending versions older than the newest applied one.
    #[arg(long)]
    pub(crate) allow_out_of_order: bool,
    /// Take an online backup to PATH before the first change (a new file).
    #[arg(long, value_name = "PATH")]
    pub(crate) backup: Option<PathBuf>,
}

pub(crate) fn run(mut ctx: Context, args: UpArgs) -> Result<u8, Failure> {
    // A dry run never creates the database, and a run refused before its
    // first change leaves none behind: planned first against nothing.
    let new = !ctx.database.exists();
    if new && !args.dry_run {
        let planned = args
            .clone()
            .configure(ctx.runner())
            .dry_run(true)
            .run(&mut Connection::open_in_memory()?);
        if let Err(e) = planned {
            return Err(ctx.in_database(e));
        }
    }
    let mut conn = if args.dry_run && new {
        Connection::open_in_memory()?
    } else {
        ctx.open(true)?
    };
    if new && !args.dry_run {
        eprintln!("note: created the database {}", ctx.database.display());
    }
    let dry_run = args.dry_run;
    // What lint says of what is about to run, once the run has planned it:
    // warnings, but for what the database's rows make certain to fail,
    // which refuses the run before anything changes. The rows are read on a
    // connection of lint's own, read-only.
    let database = ctx.database.clone();
    let set = &ctx.set;
    let lint = move |pending: &[&migrate_core::Migration]| {
        let data = migrate_core::rusqlite::Connection::open_with_flags(
            &database,
            migrate_core::rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .ok();
        let versions: Vec<u64> = pending.iter().map(|m| m.version).collect();
        let findings =
            migrate_core::lint::lint_with(set, |m| versions.contains(&m.version), data.as_ref());
        refusals(findings)
    };
    let report = args
        .configure(ctx.runner())
        .before_apply(lint)
        .run(&mut conn)
        .map_err(|e| ctx.in_database(e))?;
    report::print(&report, dry_run, Direction::Up)?;
    Ok(0)
}

impl UpArgs {
    /// `runner` with these options (SQLite and PostgreSQL alike).
    pub(crate) fn configure(self, runner: Runner<'_>) -> Runner<'_> {
        runner
            .target(self.to)
            .dry_run(self.dry_run)
            .atomic(self.atomic)
            .allow_missing(self.allow_missing)
            .allow_out_of_order(self.allow_out_of_order)
            .backup_to(self.backup)
    }
}

/// What `up` does with lint's findings on what it is about to apply: each
/// is printed as a warning (but a statement that fails, which the run
/// reports itself, in full), and a certain failure on the database's rows
/// refuses the run.
pub(crate) fn refusals(findings: Vec<migrate_core::lint::Finding>) -> Result<(), Vec<String>> {
    let mut refused = Vec::new();
    for finding in findings {
        if finding.allowed {
            continue;
        }
        if finding.fails_on_data {
            refused.push(finding.to_string());
        } else if !matches!(finding.rule, "statement-fails" | "load") {
            eprintln!("lint: {finding}");
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        refused.push(
            "each would fail on the database's rows: change the migration as it says, or the rows; `-- migrate:allow RULE` on the line before a statement lets the run try it anyway"
                .into(),
        );
        Err(refused)
    }
}
