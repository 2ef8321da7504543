//! `doctor`: audit the database.

use std::io::{self, Write};

use clap::Args;

use crate::context::Context;
use crate::{Failure, style};

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Print JSON: {"database", "ok", "journal_mode", "problems": [{"check", "fails", "message", "fix"}], "advice", "sizes"}.
    #[arg(long)]
    pub(crate) json: bool,
    /// Run integrity_check (reads every page) instead of quick_check.
    #[arg(long)]
    pub(crate) full: bool,
}

pub(crate) fn run(mut ctx: Context, args: &DoctorArgs) -> Result<u8, Failure> {
    let conn = ctx.open_existing()?;
    let database = ctx.database.clone();
    let c = migrate_core::doctor::doctor(&conn, &database, &ctx.set, args.full)
        .map_err(|e| ctx.in_database(e.into()))?;
    // Integrity, foreign keys and pragmas fail the checkup; indexes to add
    // or drop are advice, shown the same way and exiting 0.
    let failing = c.problems.iter().filter(|p| p.check.fails()).count();
    let mut out = io::stdout().lock();
    if args.json {
        let problems: Vec<serde_json::Value> = c
            .problems
            .iter()
            .map(|p| {
                serde_json::json!({"check": p.check.as_str(), "fails": p.check.fails(), "message": p.message, "fix": p.fix})
            })
            .collect();
        let s = c.sizes;
        let doc = serde_json::json!({
            "database": database.display().to_string(),
            "ok": failing == 0,
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
            if p.check.fails() {
                writeln!(out, "{} [{}] {message}", style::fail(), p.check)?;
            } else {
                writeln!(out, "advice [{}] {message}", p.check)?;
            }
            if let Some(fix) = &p.fix {
                writeln!(out, "     fix: {}", style::visible(fix))?;
            }
        }
        for a in &c.advice {
            writeln!(out, "advice: {}", style::visible(a))?;
        }
        if failing == 0 {
            writeln!(out, "{} no problems found", style::ok())?;
        } else {
            writeln!(out, "{}", style::count(failing, "problem"))?;
        }
    }
    Ok(if failing == 0 { 0 } else { 1 })
}
