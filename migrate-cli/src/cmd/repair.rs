//! `repair`: re-record applied files edited without changing the schema
//! they make, and remove the rows of files that are gone.

use clap::Args;

use crate::context::Context;
use crate::{Failure, report};

#[derive(Debug, Args)]
pub(crate) struct RepairArgs {
    /// Compare and print what would change, change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

pub(crate) fn run(mut ctx: Context, args: RepairArgs) -> Result<u8, Failure> {
    let mut conn = ctx.open_existing()?;
    let done = ctx
        .runner()
        .dry_run(args.dry_run)
        .repair(&mut conn)
        .map_err(|e| ctx.in_database(e))?;
    report::print_bookkeeping(&done, args.dry_run)?;
    Ok(0)
}
