//! `down`: revert applied migrations, newest first.

use std::path::PathBuf;

use clap::Args;
use migrate_core::naming::Direction;
use migrate_core::plan::DownTarget;

use crate::context::Context;
use crate::{Failure, report};

#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    /// Revert every applied migration above this version (0: all of them).
    #[arg(long, value_name = "VERSION", conflicts_with = "steps")]
    pub(crate) to: Option<u64>,
    /// Revert the last N applied migrations (default: the last one).
    #[arg(long, value_name = "N")]
    pub(crate) steps: Option<usize>,
    /// Print what would be reverted, change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Take an online backup to PATH before the first change (a new file).
    #[arg(long, value_name = "PATH")]
    pub(crate) backup: Option<PathBuf>,
}

impl DownArgs {
    /// What to revert: down to `--to`, or the last `--steps` (default 1).
    pub(crate) fn target(&self) -> DownTarget {
        match (self.to, self.steps) {
            (Some(v), _) => DownTarget::To(v),
            (None, n) => DownTarget::Steps(n.unwrap_or(1)),
        }
    }
}

pub(crate) fn run(mut ctx: Context, args: DownArgs) -> Result<u8, Failure> {
    let target = args.target();
    let mut conn = ctx.open_existing()?;
    let report = ctx
        .runner()
        .dry_run(args.dry_run)
        .backup_to(args.backup)
        .down(&mut conn, target)
        .map_err(|e| ctx.in_database(e))?;
    report::print(&report, args.dry_run, Direction::Down)?;
    Ok(0)
}
