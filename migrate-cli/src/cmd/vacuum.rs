//! `vacuum`: reclaim free pages, or write a compacted copy.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use crate::Failure;
use crate::context::Context;

#[derive(Debug, Args)]
pub(crate) struct VacuumArgs {
    /// Free up to N pages (0: all free pages); needs auto_vacuum = incremental.
    #[arg(long, value_name = "N", conflicts_with = "into")]
    pub(crate) incremental: Option<u32>,
    /// Write a compacted copy to PATH (a new file), leaving the database as it is.
    #[arg(long, value_name = "PATH")]
    pub(crate) into: Option<PathBuf>,
}

pub(crate) fn run(mut ctx: Context, args: &VacuumArgs) -> Result<u8, Failure> {
    let conn = ctx.open_existing()?;
    use migrate_core::maintenance::{Vacuum, VacuumError};
    let how = match (&args.into, args.incremental) {
        (Some(path), _) => Vacuum::Into(path),
        (None, Some(n)) => Vacuum::Incremental(n),
        (None, None) => Vacuum::Full,
    };
    let r = migrate_core::maintenance::vacuum(&conn, &how).map_err(|e| match e {
        VacuumError::Sqlite(e) => ctx.in_database(e.into()),
        other => other.into(),
    })?;
    let kib = |pages: i64| pages * r.page_size / 1024;
    let mut out = io::stdout().lock();
    match how {
        Vacuum::Into(path) => writeln!(out, "wrote a compacted copy to {}", path.display())?,
        _ => writeln!(
            out,
            "{} KiB -> {} KiB ({} free pages -> {})",
            kib(r.pages_before),
            kib(r.pages_after),
            r.free_before,
            r.free_after
        )?,
    }
    Ok(0)
}
