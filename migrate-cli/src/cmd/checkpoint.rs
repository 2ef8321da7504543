//! `checkpoint`: copy WAL frames into the database.

use std::io::{self, Write};

use clap::Args;

use crate::context::Context;
use crate::{Failure, style};

#[derive(Debug, Args)]
pub(crate) struct CheckpointArgs {
    /// passive copies what it can; full waits for writers; restart also for
    /// readers; truncate then empties the WAL file.
    #[arg(long, value_enum, default_value_t = Mode::Passive)]
    pub(crate) mode: Mode,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Mode {
    Passive,
    Full,
    Restart,
    Truncate,
}

pub(crate) fn run(mut ctx: Context, mode: Mode) -> Result<u8, Failure> {
    let conn = ctx.open_existing()?;
    use migrate_core::maintenance::CheckpointMode;
    let mode = match mode {
        Mode::Passive => CheckpointMode::Passive,
        Mode::Full => CheckpointMode::Full,
        Mode::Restart => CheckpointMode::Restart,
        Mode::Truncate => CheckpointMode::Truncate,
    };
    let c = migrate_core::maintenance::checkpoint(&conn, mode)
        .map_err(|e| ctx.in_database(e.into()))?;
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
