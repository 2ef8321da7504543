//! `adopt`: take over a database another migration tool manages.

use std::io::{self, Write};

use clap::Args;
use migrate_core::adopt::{Adoption, Tool};

use crate::context::Context;
use crate::{Failure, style, usage};

#[derive(Debug, Args)]
pub(crate) struct AdoptArgs {
    /// The tool whose history to adopt: refinery, sqlx, diesel, goose,
    /// golang-migrate, dbmate, flyway or rusqlite_migration (`user_version`)
    /// [default: the one whose history is in the database].
    #[arg(long, value_name = "TOOL")]
    pub(crate) from: Option<String>,
    /// Compare and print what would be recorded, change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

pub(crate) fn run(mut ctx: Context, args: AdoptArgs) -> Result<u8, Failure> {
    let from = args.tool()?;
    let mut conn = ctx.open_existing()?;
    let done = ctx
        .runner()
        .dry_run(args.dry_run)
        .adopt(&mut conn, from)
        .map_err(|e| ctx.in_database(e))?;
    print(&done, args.dry_run)?;
    Ok(0)
}

impl AdoptArgs {
    /// The tool `--from` names, if any.
    pub(crate) fn tool(&self) -> Result<Option<Tool>, Failure> {
        Ok(match self.from.as_deref() {
            None => None,
            Some(name) => Some(Tool::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = Tool::ALL.iter().map(|t| t.name()).collect();
                usage(format!(
                    "--from {name}: not a tool adopt reads; it reads {}",
                    names.join(", ")
                ))
            })?),
        })
    }
}

pub(crate) fn print(done: &Adoption, dry_run: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let record = if dry_run { "would record" } else { "recorded" };
    writeln!(
        out,
        "found {}'s history in {}: {} applied",
        done.tool,
        done.source,
        done.recorded.len()
    )?;
    for a in &done.recorded {
        let at = a
            .applied_at
            .as_deref()
            .map_or(String::new(), |t| format!(", applied {t}"));
        writeln!(
            out,
            "{record} {} {} as applied (adopted from {}{at})",
            a.version,
            style::visible(&a.name),
            done.tool
        )?;
    }
    writeln!(
        out,
        "{}'s history {}: {}",
        done.tool,
        if dry_run { "would stay" } else { "stays" },
        done.kept
    )?;
    if dry_run {
        writeln!(out, "dry run: nothing was changed")?;
    }
    Ok(())
}
