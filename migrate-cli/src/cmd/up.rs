//! `up`: apply pending migrations.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use migrate_core::Report;
use migrate_core::rusqlite::Connection;

use crate::context::Context;
use crate::{Failure, style};

#[derive(Debug, Args)]
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
    // A dry run never creates the database.
    let mut conn = if args.dry_run && !ctx.database.exists() {
        Connection::open_in_memory()?
    } else {
        ctx.open(true)?
    };
    let report = ctx
        .set
        .runner()
        .table(ctx.table.clone())
        .target(args.to)
        .dry_run(args.dry_run)
        .atomic(args.atomic)
        .allow_missing(args.allow_missing)
        .allow_out_of_order(args.allow_out_of_order)
        .backup_to(args.backup)
        .run(&mut conn)
        .map_err(|e| ctx.in_database(e))?;
    if let Some(path) = &report.backup {
        eprintln!(
            "note: backed up to {} before the first change",
            path.display()
        );
    }
    print_report(&report, args.dry_run)?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    for warning in &report.warnings {
        eprintln!("{} {warning}", style::warning());
    }
    Ok(0)
}

pub(crate) fn print_report(report: &Report, dry_run: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if dry_run {
        if report.planned.is_empty() {
            writeln!(out, "nothing to apply")?;
        }
        for s in &report.planned {
            writeln!(out, "would apply {} {} ({})", s.version, s.name, s.file)?;
        }
        return Ok(());
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
        writeln!(out, "skipped {v} (applied by another process meanwhile)")?;
    }
    if report.applied.is_empty() && report.skipped.is_empty() {
        writeln!(out, "nothing to apply; the database is up to date")?;
    } else {
        let total: Duration = report.applied.iter().map(|s| s.duration).sum();
        writeln!(
            out,
            "{} applied in {:.1} ms",
            report.applied.len(),
            ms(total)
        )?;
    }
    Ok(())
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
