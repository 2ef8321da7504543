//! `move`: copy a SQLite database into PostgreSQL, verified, in one
//! PostgreSQL transaction; `--dry-run` plans it: the PostgreSQL schema,
//! what does not carry over, and every value PostgreSQL would refuse. The
//! SQLite file is only read.

use std::io::{self, Write};

use clap::Args;
use migrate_core::transfer::{Map, MovePlan};

use crate::context::Context;
use crate::{Failure, style};

#[derive(Debug, Args)]
pub(crate) struct MoveArgs {
    /// The PostgreSQL server and database to copy into (`postgres://…`).
    #[arg(long, value_name = "URL")]
    pub(crate) to: String,
    /// Plan only: print the PostgreSQL schema, what does not carry over, and every value PostgreSQL would refuse; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Move only these tables (comma-separated).
    #[arg(long, value_name = "TABLE,...", value_delimiter = ',')]
    pub(crate) tables: Vec<String>,
    /// Move a column, or every column of a declared type, as this PostgreSQL type: `users.age=text`, `DATETIME=timestamp`.
    #[arg(long = "map", value_name = "FROM=TYPE")]
    pub(crate) maps: Vec<Map>,
    /// Write the PostgreSQL schema as `DIR/0001_schema.sql`, the first migration of a new folder, recorded as applied in the target's history so that `up` goes on from there. DIR must be new or empty.
    #[arg(long, value_name = "DIR")]
    pub(crate) emit: Option<std::path::PathBuf>,
}

/// The emitted migration's file.
const EMITTED: &str = "0001_schema.sql";

/// Its name until the copy has committed (hidden: no loader reads it).
const PARTIAL: &str = ".0001_schema.sql.migrate-partial";

pub(crate) fn run(mut ctx: Context, args: &MoveArgs) -> Result<u8, Failure> {
    if !crate::postgres::is_url(&args.to) {
        return Err(crate::usage(format!(
            "--to {}: not a PostgreSQL URL (postgres://user@host/database)",
            crate::postgres::shown(&args.to)
        )));
    }
    // A killed move leaves its file under its scratch name, which no
    // loader reads: it is this command's own, and goes.
    if let Some(dir) = &args.emit {
        let _ = std::fs::remove_file(dir.join(PARTIAL));
    }
    if let Some(dir) = &args.emit
        && std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
    {
        return Err(crate::usage(format!(
            "--emit {}: the folder is not empty; the schema goes in a new PostgreSQL migrations folder",
            dir.display()
        )));
    }
    let conn = ctx.open_existing()?;
    // Only read, and from one snapshot while the app goes on writing.
    conn.execute_batch("PRAGMA query_only = 1; BEGIN")?;
    let only = (!args.tables.is_empty()).then_some(args.tables.as_slice());
    let plan = migrate_core::transfer::plan(&conn, only, &args.maps, &ctx.table)
        .map_err(|e| ctx.in_database(e))?;
    if args.dry_run || !plan.problems.is_empty() {
        let code = print(&plan, args.dry_run)?;
        if let Some(dir) = &args.emit {
            println!(
                "--emit would write {} (the schema above, its keys validated), recorded as applied",
                dir.join(EMITTED).display()
            );
        }
        conn.execute_batch("COMMIT")?;
        return Ok(code);
    }
    let (mut client, _) = crate::postgres::connect(&args.to)?;
    // The file first, under a scratch name that becomes its own once the
    // copy has committed: if the copy fails it goes again, and so does a
    // folder made for it; if the process is killed, the next run removes
    // it (the folder holds nothing else).
    let emitted = plan.migration();
    let made = match &args.emit {
        Some(dir) => {
            let created = !dir.exists();
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join(PARTIAL), &emitted)?;
            Some((dir.clone(), created))
        }
        None => None,
    };
    let record = made
        .as_ref()
        .map(|_| migrate_core::postgres::transfer::Record {
            version: 1,
            name: "schema",
            text: &emitted,
            table: &ctx.table,
        });
    // Progress on a terminal: the table and its rows so far, on one line.
    let terminal = std::io::IsTerminal::is_terminal(&io::stderr());
    let mut progress = |table: &str, rows: u64| {
        if terminal {
            eprint!("\rcopying {table}: {rows} rows\x1b[K");
        }
    };
    let result = migrate_core::postgres::transfer::copy_recording(
        &conn,
        &mut client,
        &plan,
        record,
        &mut progress,
    );
    if terminal {
        eprint!("\r\x1b[K");
    }
    if result.is_err()
        && let Some((dir, created)) = &made
    {
        let _ = std::fs::remove_file(dir.join(PARTIAL));
        if *created {
            let _ = std::fs::remove_dir(dir);
        }
    }
    if result.is_ok()
        && let Some((dir, _)) = &made
    {
        std::fs::rename(dir.join(PARTIAL), dir.join(EMITTED))?;
    }
    let copied = result.map_err(|e| Failure {
        code: 1,
        error: format!("{}: {e}", crate::postgres::shown(&args.to)).into(),
    })?;
    conn.execute_batch("COMMIT")?;
    let mut out = io::stdout().lock();
    for (table, rows, sum) in &copied.tables {
        writeln!(
            out,
            "copied {table}: {} (checksum {sum:016x}, the same on both sides)",
            style::count(*rows as usize, "row")
        )?;
    }
    for what in &plan.not_carried {
        writeln!(out, "not carried over: {what}")?;
    }
    if let Some((dir, _)) = &made {
        writeln!(
            out,
            "wrote {}, recorded as applied there: go on with `migrate-cli --dir {} -d URL up`",
            dir.join(EMITTED).display(),
            dir.display()
        )?;
    }
    writeln!(
        out,
        "{} {} copied into {} and verified",
        style::ok(),
        style::count(copied.tables.len(), "table"),
        crate::postgres::shown(&args.to)
    )?;
    Ok(0)
}

fn print(plan: &MovePlan, dry_run: bool) -> Result<u8, Failure> {
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "-- The PostgreSQL schema (tables, then indexes, then foreign keys):\n"
    )?;
    out.write_all(plan.ddl().as_bytes())?;
    if !plan.changed.is_empty() {
        writeln!(out, "\n-- Carried over in another form:")?;
        for what in &plan.changed {
            writeln!(out, "--   {what}")?;
        }
    }
    if !plan.not_carried.is_empty() {
        writeln!(out, "\n-- Not carried over:")?;
        for what in &plan.not_carried {
            writeln!(out, "--   {what}")?;
        }
    }
    for p in &plan.problems {
        writeln!(out, "{} {p}", style::fail())?;
    }
    if plan.problems.is_empty() {
        writeln!(
            out,
            "{} {}, no value PostgreSQL would refuse; dry run: nothing was written",
            style::ok(),
            style::count(plan.tables.len(), "table")
        )?;
        Ok(0)
    } else {
        writeln!(
            out,
            "{} PostgreSQL would refuse; {}",
            style::count(plan.problems.len(), "value"),
            if dry_run {
                "dry run: nothing was written"
            } else {
                "nothing was written (correct them, or --map the columns)"
            }
        )?;
        Ok(1)
    }
}
