//! `redo`: revert the last applied migration, then apply it again.

use std::path::PathBuf;

use clap::Args;

use migrate_core::naming::Direction;

use crate::context::Context;
use crate::{Failure, report};

#[derive(Debug, Args)]
pub(crate) struct RedoArgs {
    /// Print what would be reverted and applied, change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Take an online backup to PATH before the first change (a new file).
    #[arg(long, value_name = "PATH")]
    pub(crate) backup: Option<PathBuf>,
}

pub(crate) fn run(mut ctx: Context, args: RedoArgs) -> Result<u8, Failure> {
    let mut conn = ctx.open_existing()?;
    let report = ctx
        .runner()
        .dry_run(args.dry_run)
        .backup_to(args.backup)
        .redo(&mut conn)
        .map_err(|e| ctx.in_database(e))?;
    report::print(&report, args.dry_run, Direction::Down)?;
    Ok(0)
}
