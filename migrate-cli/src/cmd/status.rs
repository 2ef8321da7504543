//! `status`: every migration and its state.

use std::io::{self, Write};
use std::path::Path;

use clap::Args;
use migrate_core::history::Table;
use migrate_core::plan::{State, StatusRow};
use migrate_core::rusqlite::Connection;

use crate::context::Context;
use crate::{Failure, style};

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print JSON: {"database", "table", "migrations": [...], "counts": {...}}.
    #[arg(long)]
    pub(crate) json: bool,
    /// Exit with 3 when anything is pending, modified or missing.
    #[arg(long)]
    pub(crate) exit_code: bool,
}

pub(crate) fn run(mut ctx: Context, args: StatusArgs) -> Result<u8, Failure> {
    // Status never creates the database: a missing file has everything pending.
    let rows = if ctx.database.exists() {
        let conn = ctx.open(false)?;
        let rows = ctx.runner().status(&conn).map_err(|e| ctx.in_database(e))?;
        // What `up` would refuse: say so here, with the way out (only with
        // no history of this tool's, where every row is pending).
        if rows.iter().all(|r| r.state == State::Pending)
            && let Ok(Some(tool)) = ctx.runner().managed_by(&conn)
        {
            eprintln!(
                "note: the database has {}'s history with migrations applied, and none of this tool's: `up` \
                 refuses it until `migrate-cli adopt` takes it over",
                tool.name()
            );
        }
        rows
    } else {
        eprintln!("note: {} does not exist yet", ctx.database.display());
        ctx.set.runner().status(&Connection::open_in_memory()?)?
    };
    Ok(print_status_rows(&rows, &args, &ctx.database, &ctx.table)?)
}

/// Prints `rows` as `args` asks (a table, or JSON naming `database` and
/// `table`); the exit code: 3 with `--exit-code` when anything is not
/// applied.
pub(crate) fn print_status_rows(
    rows: &[StatusRow],
    args: &StatusArgs,
    database: &Path,
    table: &Table,
) -> io::Result<u8> {
    if args.json {
        print_status_json(rows, database, table)?;
    } else {
        print_status(rows)?;
    }
    let clean = rows.iter().all(|r| r.state == State::Applied);
    Ok(if args.exit_code && !clean { 3 } else { 0 })
}

pub(crate) fn print_status(rows: &[StatusRow]) -> io::Result<()> {
    // One buffer, one write: a thousand rows are not a thousand writes.
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    if rows.is_empty() {
        return writeln!(out, "no migrations");
    }
    let header = ["VERSION", "NAME", "KIND", "STATE", "APPLIED AT", "DURATION"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.version.to_string(),
                crate::style::visible(&r.name).into_owned(),
                r.kind.clone(),
                r.state.to_string(),
                r.applied_at.clone().unwrap_or_else(|| "-".into()),
                match (&r.origin, r.duration_ms) {
                    (Some(origin), _) if origin == "baseline" => "not run: baseline".into(),
                    (Some(origin), _) if origin == "move" => "not run: made by `move`".into(),
                    (Some(origin), _) => format!("not run: adopted from {origin}"),
                    (None, Some(d)) => format!("{d} ms"),
                    (None, None) => "-".into(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == cols.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s
    };
    writeln!(out, "{}", line(&header.map(String::from)))?;
    for row in &cells {
        writeln!(out, "{}", line(row))?;
    }
    let count = |s: State| rows.iter().filter(|r| r.state == s).count();
    writeln!(
        out,
        "\n{} applied, {} pending, {} modified, {} missing",
        count(State::Applied),
        count(State::Pending),
        count(State::Modified),
        count(State::Missing)
    )?;
    out.flush()
}

pub(crate) fn print_status_json(
    rows: &[StatusRow],
    database: &Path,
    table: &Table,
) -> io::Result<()> {
    let migrations: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "version": r.version,
                "name": r.name,
                "kind": r.kind,
                "state": r.state.as_str(),
                "file": r.file,
                "applied_at": r.applied_at,
                "duration_ms": r.duration_ms,
                "origin": r.origin,
            })
        })
        .collect();
    let count = |s: State| rows.iter().filter(|r| r.state == s).count();
    let doc = serde_json::json!({
        "database": database.display().to_string(),
        "table": table.name(),
        "migrations": migrations,
        "counts": {
            "applied": count(State::Applied),
            "pending": count(State::Pending),
            "modified": count(State::Modified),
            "missing": count(State::Missing),
        },
    });
    style::json(&mut io::stdout().lock(), &doc)
}
