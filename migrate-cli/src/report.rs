//! What `up`, `down` and `redo` print about a run: one line per step on
//! stdout, then a total; the backup, notes and warnings on stderr.

use std::io::{self, Write};
use std::time::Duration;

use migrate_core::Report;
use migrate_core::naming::Direction;

use crate::style;

/// Prints `report`. `direction` is the command's: what "nothing to do"
/// means, and what a skipped step was.
pub(crate) fn print(report: &Report, dry_run: bool, direction: Direction) -> io::Result<()> {
    let nothing = match direction {
        Direction::Up => "nothing to apply",
        Direction::Down => "nothing to revert",
    };
    if let Some(path) = &report.backup {
        eprintln!(
            "note: backed up to {} before the first change",
            path.display()
        );
    }
    let mut out = io::stdout().lock();
    if dry_run {
        if report.planned.is_empty() {
            writeln!(out, "{nothing}")?;
        }
        for s in &report.planned {
            let verb = match s.direction {
                Direction::Up => "would apply",
                Direction::Down => "would revert",
            };
            writeln!(out, "{verb} {} {} ({})", s.version, s.name, s.file)?;
        }
        return Ok(());
    }
    let steps = || report.reverted.iter().chain(&report.applied);
    for s in steps() {
        let verb = match s.direction {
            Direction::Up => "applied",
            Direction::Down => "reverted",
        };
        writeln!(
            out,
            "{verb} {} {} ({:.1} ms)",
            s.version,
            s.name,
            ms(s.duration)
        )?;
    }
    let meanwhile = match direction {
        Direction::Up => "applied by another process meanwhile",
        Direction::Down => "reverted by another process meanwhile",
    };
    for v in &report.skipped {
        writeln!(out, "skipped {v} ({meanwhile})")?;
    }
    if steps().next().is_none() && report.skipped.is_empty() {
        match direction {
            Direction::Up => writeln!(out, "{nothing}; the database is up to date")?,
            Direction::Down => writeln!(out, "{nothing}")?,
        }
    } else {
        let total: Duration = steps().map(|s| s.duration).sum();
        let mut counts = Vec::new();
        if !report.reverted.is_empty()
            || (direction == Direction::Down && report.applied.is_empty())
        {
            counts.push(format!("{} reverted", report.reverted.len()));
        }
        if !report.applied.is_empty() || direction == Direction::Up {
            counts.push(format!("{} applied", report.applied.len()));
        }
        writeln!(out, "{} in {:.1} ms", counts.join(" and "), ms(total))?;
    }
    drop(out);
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    for warning in &report.warnings {
        eprintln!("{} {warning}", style::warning());
    }
    Ok(())
}

/// Prints what `baseline` or `repair` wrote (or would write).
pub(crate) fn print_bookkeeping(done: &migrate_core::Bookkeeping, dry_run: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    // Past tense for what was done, "would" for a dry run.
    let said = |will: &str, done: &str| {
        if dry_run {
            format!("would {will}")
        } else {
            done.to_owned()
        }
    };
    if done.is_empty() {
        writeln!(out, "nothing to record")?;
    }
    for s in &done.recorded {
        writeln!(
            out,
            "{} {} {} as applied (not run)",
            said("record", "recorded"),
            s.version,
            style::visible(&s.name)
        )?;
    }
    let rechecked = done.rechecked.iter().map(|m| ("", m));
    for (what, m) in rechecked.chain(done.downs.iter().map(|m| ("the down of ", m))) {
        writeln!(
            out,
            "{} {what}{} ({}): checksum {} -> {}",
            said("re-record", "re-recorded"),
            m.version,
            style::visible(&m.file),
            m.applied,
            m.now
        )?;
    }
    for (version, name) in &done.removed {
        writeln!(
            out,
            "{} the row of {version} ({}): its file is gone",
            said("remove", "removed"),
            style::visible(name)
        )?;
    }
    Ok(())
}

/// A duration in milliseconds, for printing with one decimal.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
