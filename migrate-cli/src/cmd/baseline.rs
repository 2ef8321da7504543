//! `baseline`: record migrations as applied without running them, for a
//! database whose schema was made another way.

use clap::Args;

use crate::context::Context;
use crate::{Failure, report};

#[derive(Debug, Args)]
pub(crate) struct BaselineArgs {
    /// Record every migration up to and including this version.
    #[arg(long, value_name = "VERSION")]
    pub(crate) to: u64,
    /// Compare and print what would be recorded, change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

pub(crate) fn run(mut ctx: Context, args: BaselineArgs) -> Result<u8, Failure> {
    let mut conn = ctx.open_existing()?;
    let done = ctx
        .runner()
        .dry_run(args.dry_run)
        .baseline(&mut conn, args.to)
        .map_err(|e| ctx.in_database(e))?;
    report::print_bookkeeping(&done, args.dry_run)?;
    Ok(0)
}
