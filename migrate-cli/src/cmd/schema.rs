//! `schema`: the live schema, normalised.

use std::io::{self, Write};

use clap::Args;

use crate::Failure;
use crate::context::Context;

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Include the history table.
    #[arg(long)]
    pub(crate) history: bool,
}

pub(crate) fn run(mut ctx: Context, args: &SchemaArgs) -> Result<u8, Failure> {
    let conn = ctx.open_existing()?;
    let dump = migrate_core::schema::dump_with_pragmas(&conn, &ctx.table, args.history)
        .map_err(|e| ctx.in_database(e.into()))?;
    io::stdout().lock().write_all(dump.as_bytes())?;
    Ok(0)
}
