//! `down`: revert applied migrations, newest first.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use migrate_core::Report;
use migrate_core::plan::DownTarget;

use crate::Failure;
use crate::cmd::up::ms;
use crate::context::Context;

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

pub(crate) fn run(mut ctx: Context, args: DownArgs) -> Result<u8, Failure> {
    let target = match (args.to, args.steps) {
        (Some(v), _) => DownTarget::To(v),
        (None, n) => DownTarget::Steps(n.unwrap_or(1)),
    };
    let mut conn = ctx.open_existing()?;
    let report = ctx
        .set
        .runner()
        .table(ctx.table.clone())
        .dry_run(args.dry_run)
        .backup_to(args.backup)
        .down(&mut conn, target)
        .map_err(|e| ctx.in_database(e))?;
    print_report(&report, args.dry_run)?;
    Ok(0)
}

/// Prints what a revert (or a redo) did, or would do.
pub(crate) fn print_report(report: &Report, dry_run: bool) -> io::Result<()> {
    if let Some(path) = &report.backup {
        eprintln!(
            "note: backed up to {} before the first change",
            path.display()
        );
    }
    let mut out = io::stdout().lock();
    if dry_run {
        if report.planned.is_empty() {
            writeln!(out, "nothing to revert")?;
        }
        for s in &report.planned {
            let verb = match s.direction {
                migrate_core::naming::Direction::Down => "would revert",
                migrate_core::naming::Direction::Up => "would apply",
            };
            writeln!(out, "{verb} {} {} ({})", s.version, s.name, s.file)?;
        }
        return Ok(());
    }
    for s in &report.reverted {
        writeln!(
            out,
            "reverted {} {} ({:.1} ms)",
            s.version,
            s.name,
            ms(s.duration)
        )?;
    }
    for s in &report.applied {
        writeln!(
            out,
            "applied {} {} ({:.1} ms)",
            s.version,
            s.name,
            ms(s.duration)
        )?;
    }
    for v in &report.skipped {
        writeln!(out, "skipped {v} (changed by another process meanwhile)")?;
    }
    if report.reverted.is_empty() && report.skipped.is_empty() {
        writeln!(out, "nothing to revert")?;
    } else {
        let steps = report.reverted.iter().chain(&report.applied);
        let total: Duration = steps.map(|s| s.duration).sum();
        let applied = match report.applied.len() {
            0 => String::new(),
            n => format!(" and {n} applied"),
        };
        writeln!(
            out,
            "{} reverted{applied} in {:.1} ms",
            report.reverted.len(),
            ms(total)
        )?;
    }
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    Ok(())
}
