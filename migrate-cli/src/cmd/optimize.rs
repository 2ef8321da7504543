//! `optimize`: refresh the query planner's statistics.

use std::io::{self, Write};

use crate::Failure;
use crate::context::Context;

pub(crate) fn run(mut ctx: Context) -> Result<u8, Failure> {
    let conn = ctx.open_existing()?;
    let tables =
        migrate_core::maintenance::optimize(&conn).map_err(|e| ctx.in_database(e.into()))?;
    let mut out = io::stdout().lock();
    if tables.is_empty() {
        writeln!(out, "statistics are current; nothing to analyse")?;
    } else {
        writeln!(out, "analysed: {}", tables.join(", "))?;
    }
    Ok(0)
}
