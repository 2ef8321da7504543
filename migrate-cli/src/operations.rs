//! The commands for running a live database: `schema`, `checkpoint`,
//! `optimize`, `vacuum`, `backup`, `doctor`.

use std::io::{self, Write};
use std::path::Path;

use migrate_core::Migrations;
use migrate_core::history::Table;
use migrate_core::rusqlite::Connection;

use crate::{
    BackupArgs, DoctorArgs, Failure, Global, Mode, SchemaArgs, VacuumArgs, in_database,
    open_existing, style,
};

pub(crate) fn schema(
    g: &Global,
    set: &Migrations,
    table: &Table,
    database: &Path,
    args: &SchemaArgs,
) -> Result<u8, Failure> {
    let conn = open_existing(database, g, set)?;
    let dump = migrate_core::schema::dump_with_pragmas(&conn, table, args.history)
        .map_err(|e| in_database(database, e.into()))?;
    io::stdout().lock().write_all(dump.as_bytes())?;
    Ok(0)
}

pub(crate) fn checkpoint(conn: &Connection, database: &Path, mode: Mode) -> Result<u8, Failure> {
    use migrate_core::maintenance::CheckpointMode;
    let mode = match mode {
        Mode::Passive => CheckpointMode::Passive,
        Mode::Full => CheckpointMode::Full,
        Mode::Restart => CheckpointMode::Restart,
        Mode::Truncate => CheckpointMode::Truncate,
    };
    let c = migrate_core::maintenance::checkpoint(conn, mode)
        .map_err(|e| in_database(database, e.into()))?;
    let mut out = io::stdout().lock();
    if c.not_wal {
        writeln!(out, "not in WAL mode: nothing to checkpoint")?;
        return Ok(0);
    }
    match c.wal_bytes_before {
        // TRUNCATE resets the WAL, and SQLite then reports 0 of 0 frames.
        Some(bytes) if bytes > 0 && c.wal_frames == 0 && !c.blocked => writeln!(
            out,
            "WAL checkpointed and truncated to 0 bytes (it was {} KiB)",
            bytes.div_ceil(1024)
        )?,
        _ if c.wal_frames == 0 && !c.blocked => {
            writeln!(out, "the WAL is empty: nothing to checkpoint")?
        }
        _ => writeln!(
            out,
            "{} of {} WAL frames checkpointed",
            c.checkpointed, c.wal_frames
        )?,
    }
    if c.blocked {
        eprintln!(
            "{} another connection kept the checkpoint from finishing; try again, or with --mode passive",
            style::error()
        );
        return Ok(1);
    }
    Ok(0)
}

pub(crate) fn optimize(conn: &Connection, database: &Path) -> Result<u8, Failure> {
    let tables =
        migrate_core::maintenance::optimize(conn).map_err(|e| in_database(database, e.into()))?;
    let mut out = io::stdout().lock();
    if tables.is_empty() {
        writeln!(out, "statistics are current; nothing to analyse")?;
    } else {
        writeln!(out, "analysed: {}", tables.join(", "))?;
    }
    Ok(0)
}

pub(crate) fn vacuum(conn: &Connection, database: &Path, args: &VacuumArgs) -> Result<u8, Failure> {
    use migrate_core::maintenance::{Vacuum, VacuumError};
    let how = match (&args.into, args.incremental) {
        (Some(path), _) => Vacuum::Into(path),
        (None, Some(n)) => Vacuum::Incremental(n),
        (None, None) => Vacuum::Full,
    };
    let r = migrate_core::maintenance::vacuum(conn, &how).map_err(|e| match e {
        VacuumError::Sqlite(e) => in_database(database, e.into()),
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

pub(crate) fn backup(conn: &Connection, args: &BackupArgs) -> Result<u8, Failure> {
    use std::io::IsTerminal;
    let show = io::stderr().is_terminal();
    let report = migrate_core::backup::backup(conn, &args.dest, args.force, |p| {
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
    let report = report?;
    writeln!(
        io::stdout(),
        "backed up {} pages ({} KiB) to {}; integrity_check ok",
        report.pages,
        report.bytes / 1024,
        report.dest.display()
    )?;
    Ok(0)
}

pub(crate) fn doctor(
    conn: &Connection,
    database: &Path,
    set: &Migrations,
    args: &DoctorArgs,
) -> Result<u8, Failure> {
    let c = migrate_core::doctor::doctor(conn, database, set, args.full)
        .map_err(|e| in_database(database, e.into()))?;
    let mut out = io::stdout().lock();
    if args.json {
        let problems: Vec<serde_json::Value> = c
            .problems
            .iter()
            .map(|p| serde_json::json!({"check": p.check, "message": p.message, "fix": p.fix}))
            .collect();
        let s = c.sizes;
        let doc = serde_json::json!({
            "database": database.display().to_string(),
            "ok": c.problems.is_empty(),
            "journal_mode": c.journal_mode,
            "problems": problems,
            "advice": c.advice,
            "sizes": {
                "page_size": s.page_size,
                "page_count": s.page_count,
                "freelist_count": s.freelist_count,
                "database_bytes": s.database_bytes,
                "wal_bytes": s.wal_bytes,
                "freelist_bytes": s.freelist_bytes,
            },
        });
        style::json(&mut out, &doc)?;
    } else {
        let s = c.sizes;
        writeln!(
            out,
            "database {} KiB ({} pages of {} bytes), WAL {} KiB, free {} KiB; journal_mode {}",
            s.database_bytes / 1024,
            s.page_count,
            s.page_size,
            s.wal_bytes / 1024,
            s.freelist_bytes / 1024,
            c.journal_mode
        )?;
        for p in &c.problems {
            let message = style::visible(&p.message);
            writeln!(out, "{} [{}] {message}", style::fail(), p.check)?;
            if let Some(fix) = &p.fix {
                writeln!(out, "     fix: {}", style::visible(fix))?;
            }
        }
        for a in &c.advice {
            writeln!(out, "advice: {}", style::visible(a))?;
        }
        if c.problems.is_empty() {
            writeln!(out, "{} no problems found", style::ok())?;
        } else {
            let n = c.problems.len();
            writeln!(out, "{n} {}", if n == 1 { "problem" } else { "problems" })?;
        }
    }
    Ok(if c.problems.is_empty() { 0 } else { 1 })
}
