//! `verify`: the database against its migrations, reading only.

use std::io::{self, Write};

use clap::Args;

use crate::context::Context;
use crate::{Failure, style};

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Print JSON: {"database", "ok", "applied", "pending": [...], "problems": [{"file", "line", "message"}]}.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(mut ctx: Context, args: &VerifyArgs) -> Result<u8, Failure> {
    let conn = ctx.open_existing()?;
    // Verify only reads: SQLite itself refuses any write on this connection.
    conn.execute_batch("PRAGMA query_only = 1")?;
    let v = match migrate_core::verify::verify(&ctx.set, &conn, &ctx.table) {
        // Not a failure of the database: nothing was checked yet.
        Err(e @ migrate_core::Error::RunInProgress { .. }) => {
            eprintln!("not verified: {e}");
            return Ok(3);
        }
        found => found.map_err(|e| ctx.in_database(e))?,
    };
    print_verification(&v, &ctx.database.display().to_string(), args)
}

/// Prints what `verify` found; the exit code is 1 when something does not
/// hold.
pub(crate) fn print_verification(
    v: &migrate_core::verify::Verification,
    database: &str,
    args: &VerifyArgs,
) -> Result<u8, Failure> {
    let mut out = io::stdout().lock();
    let code = if v.problems.is_empty() { 0 } else { 1 };
    if args.json {
        let problems: Vec<serde_json::Value> = v
            .problems
            .iter()
            .map(|p| serde_json::json!({"file": p.file, "line": p.line, "message": p.message}))
            .collect();
        let doc = serde_json::json!({
            "database": database,
            "ok": v.problems.is_empty(),
            "applied": v.applied,
            "pending": v.pending,
            "problems": problems,
        });
        style::json(&mut out, &doc)?;
        return Ok(code);
    }
    for p in &v.problems {
        writeln!(out, "{} {p}", style::fail())?;
    }
    let pending = if v.pending.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = v.pending.iter().map(u64::to_string).collect();
        format!("; pending (not checked): {}", list.join(", "))
    };
    if v.problems.is_empty() {
        writeln!(
            out,
            "{} {} verified{pending}",
            style::ok(),
            style::count(v.applied, "applied migration")
        )?;
    } else {
        writeln!(
            out,
            "{} in {}{pending}",
            style::count(v.problems.len(), "problem"),
            style::count(v.applied, "applied migration")
        )?;
    }
    Ok(code)
}
