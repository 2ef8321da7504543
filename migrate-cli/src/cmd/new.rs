//! `new`: the next migration file, from a template.

use std::io::{self, Write};

use clap::Args;

use crate::{Failure, Global, usage};

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The migration's name: letters, digits, `_` and `-` (spaces become `_`).
    pub(crate) name: String,
    /// Create a pragma set (`.pragmas`).
    #[arg(long, conflicts_with = "indexes")]
    pub(crate) pragmas: bool,
    /// Create an index set (`.indexes`).
    #[arg(long)]
    pub(crate) indexes: bool,
    /// The global options `new` has no use for, accepted and hidden from
    /// its help: an option of the same id here stops clap from copying
    /// the global one in.
    #[command(flatten)]
    pub(crate) unused: Unused,
}

/// See [`NewArgs::unused`].
#[derive(Debug, Args)]
pub(crate) struct Unused {
    #[arg(long, short = 'd', hide = true)]
    database: Option<String>,
    #[arg(long, hide = true)]
    table: Option<String>,
    #[arg(long, hide = true)]
    busy_timeout: Option<u64>,
    #[arg(long, short = 'v', hide = true)]
    verbose: bool,
    #[arg(long, hide = true)]
    lock_timeout: Option<u64>,
}

const SQL_TEMPLATE: &str = "-- {name}\n-- Runs in one transaction; put `-- migrate:no-transaction` first for VACUUM and the like.\n\n";
const PRAGMAS_TEMPLATE: &str = "-- {name}: a pragma set, one `name = value` per line.\n-- preset safety | balanced | speed\n-- journal_mode = wal\n";
const INDEXES_TEMPLATE: &str = "-- {name}: an index set, one index per line.\n-- index on table (column, other_column desc)\n-- expect \"SELECT ... \" uses idx_table_column_other_column\n";

pub(crate) fn run(g: &Global, args: &NewArgs) -> Result<u8, Failure> {
    let name = args.name.trim().replace(' ', "_");
    if !migrate_core::naming::valid_name(&name) {
        return Err(usage(format!(
            "invalid migration name `{}`: use letters, digits, `_` and `-`, like `add_user_email`",
            args.name
        )));
    }
    let (ext, template) = if args.pragmas {
        ("pragmas", PRAGMAS_TEMPLATE)
    } else if args.indexes {
        ("indexes", INDEXES_TEMPLATE)
    } else {
        ("sql", SQL_TEMPLATE)
    };
    if !g.dir().is_dir() {
        std::fs::create_dir_all(g.dir())?;
        eprintln!("note: created the folder {}", g.dir().display());
    }
    let (existing, flyway) = migrate_core::source::written_versions(g.dir())?;
    let existing: Vec<&str> = existing.iter().map(String::as_str).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let Some(version) = migrate_core::naming::next_version(&existing, now) else {
        return Err(Failure {
            code: 1,
            error: format!(
                "no version fits after the highest one in {} (the largest SQLite can store is {}); number the new file by hand",
                g.dir().display(),
                i64::MAX
            )
            .into(),
        });
    };
    let path = if flyway {
        g.dir().join(format!("V{version}__{name}.{ext}"))
    } else {
        g.dir().join(format!("{version}_{name}.{ext}"))
    };
    // create_new: never overwrite, even if another process raced us here.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Failure {
            code: 1,
            error: format!("cannot create {}: {e}", path.display()).into(),
        })?;
    file.write_all(template.replace("{name}", &name).as_bytes())?;
    writeln!(io::stdout(), "{}", path.display())?;
    Ok(0)
}
