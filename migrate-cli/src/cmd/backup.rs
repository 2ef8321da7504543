//! `backup`: an online, checked copy.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use crate::Failure;
use crate::context::Context;

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// Where the copy goes.
    pub(crate) dest: PathBuf,
    /// Replace DEST if it exists.
    #[arg(long)]
    pub(crate) force: bool,
}

pub(crate) fn run(mut ctx: Context, args: &BackupArgs) -> Result<u8, Failure> {
    let conn = ctx.open_existing()?;
    use std::io::IsTerminal;
    let show = io::stderr().is_terminal();
    let report = migrate_core::backup::backup(&conn, &args.dest, args.force, |p| {
        if show && p.total > 0 {
            eprint!(
                "\rbackup: {:>3}% ({}/{} pages)",
                p.copied * 100 / p.total,
                p.copied,
                p.total
            );
        }
        std::ops::ControlFlow::Continue(())
    });
    if show {
        eprintln!();
    }
    let report = report.map_err(|e| match e {
        // Here the way to replace it is this command's own flag.
        migrate_core::backup::BackupError::Exists(dest) => Failure {
            code: 1,
            error: format!(
                "{} already exists; pass --force to replace it with a new copy, or choose another path",
                dest.display()
            )
            .into(),
        },
        e => e.into(),
    })?;
    writeln!(
        io::stdout(),
        "backed up {} pages ({} KiB) to {}; integrity_check ok",
        report.pages,
        report.bytes / 1024,
        report.dest.display()
    )?;
    Ok(0)
}
