//! `diff`: the migration from the schema you have to the schema you want.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use migrate_core::Migrations;
use migrate_core::diff::{Options, Side};
use migrate_core::rusqlite::{Connection, OpenFlags};

use crate::{Failure, Global, usage};

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The schema you want: a schema file (`.sql`: CREATE statements in
    /// any order, with `-- migrate:renamed-from OLD` directives), a
    /// database (a path, or `sqlite:PATH` as --database takes it), or a
    /// migrations folder.
    #[arg(long, value_name = "TARGET")]
    pub(crate) to: String,
    /// The schema you have, in the same forms [default: the migrations
    /// folder, --dir].
    #[arg(long, value_name = "SOURCE")]
    pub(crate) from: Option<String>,
    /// Write the next migration of --dir (and its down), named NAME, in
    /// the folder's layout, instead of printing the up migration.
    #[arg(long, value_name = "NAME")]
    pub(crate) write: Option<String>,
    /// Drop the indexes applied index sets declare when the target leaves
    /// them out (by default they are kept, and said so).
    #[arg(long)]
    pub(crate) drop_set_indexes: bool,
    /// A database with the source's schema whose rows the migration is
    /// checked against (read only); a --from database is checked anyway.
    #[arg(long, value_name = "DB")]
    pub(crate) data: Option<PathBuf>,
}

/// A side, read from the disk: what `diff` compares.
enum Loaded {
    Sql(String),
    Database(Connection),
    Set(Migrations),
}

impl Loaded {
    fn side(&self) -> Side<'_> {
        match self {
            Loaded::Sql(text) => Side::Sql { text },
            Loaded::Database(conn) => Side::Database(conn),
            Loaded::Set(set) => Side::Set(set),
        }
    }
}

/// `given` (of option `flag`): a folder of migrations, a `.sql` schema
/// file, or a database, opened read-only (a diff changes nothing).
fn load(flag: &str, given: &Path) -> Result<Loaded, Failure> {
    let say = |why: String| Failure {
        code: 1,
        error: format!("{flag} {}: {why}", given.display()).into(),
    };
    if given.is_dir() {
        return Migrations::from_dir(given)
            .map(Loaded::Set)
            .map_err(|e| say(e.to_string()));
    }
    if !given.exists() {
        return Err(say(
            "no such file or folder; give a schema file (.sql), a database file or a migrations folder".into(),
        ));
    }
    let is_sql = given
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("sql"));
    if is_sql {
        let text = std::fs::read_to_string(given).map_err(|e| say(e.to_string()))?;
        return Ok(Loaded::Sql(text));
    }
    let conn = Connection::open_with_flags(
        given,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| say(e.to_string()))?;
    // A file that is not a database says so here, not in the middle.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(|e| say(format!("not a SQLite database ({e})")))?;
    Ok(Loaded::Database(conn))
}

/// What `--to` or `--from` names: a folder or a file by its path, or a
/// database in any form `--database` takes (`sqlite:app.db`, …).
fn side_path(given: &str, flag: &str) -> Result<PathBuf, Failure> {
    let plain = Path::new(given);
    if plain.exists() || given.to_ascii_lowercase().ends_with(".sql") {
        return Ok(plain.to_owned());
    }
    crate::context::database_path(given, flag).map_err(usage)
}

pub(crate) fn run(g: &Global, args: &DiffArgs) -> Result<u8, Failure> {
    if let Some(name) = &args.write
        && !migrate_core::naming::valid_name(&name.replace(' ', "_"))
    {
        return Err(usage(format!(
            "invalid migration name `{name}`: use letters, digits, `_` and `-`, like `add_user_email`"
        )));
    }
    let from_path: PathBuf = match &args.from {
        None => g.dir().to_owned(),
        Some(given) => side_path(given, "--from")?,
    };
    let from = load("--from", &from_path)?;
    let to = load("--to", &side_path(&args.to, "--to")?)?;
    let options = Options {
        history: migrate_core::Table::new(&g.table).map_err(|e| usage(e.to_string()))?,
        drop_set_indexes: args.drop_set_indexes,
    };
    let d = migrate_core::diff::diff(&from.side(), &to.side(), &options).map_err(|e| Failure {
        code: 1,
        error: format!("diff {} → {}: {e}", from_path.display(), args.to).into(),
    })?;
    let mut problems = d.data.clone();
    if let Some(path) = &args.data {
        let Loaded::Database(conn) = load("--data", path)? else {
            return Err(usage(format!(
                "--data {}: give a database file",
                path.display()
            )));
        };
        problems = migrate_core::diff::check_data(&from.side(), &to.side(), &options, &conn)
            .map_err(|e| Failure {
                code: 1,
                error: format!("--data {}: {e}", path.display()).into(),
            })?;
    }
    let mut err = io::stderr().lock();
    let failing: Vec<String> = problems
        .iter()
        .filter(|p| p.fails)
        .map(|p| format!("  {p}"))
        .collect();
    if !failing.is_empty() {
        return Err(Failure {
            code: 1,
            error: format!(
                "the migration would fail on the rows the database holds:\n{}\nchange those rows first (or write the UPDATE into the migration by hand); nothing was written",
                failing.join("\n")
            )
            .into(),
        });
    }
    for index in &d.kept_indexes {
        writeln!(
            err,
            "note: kept the index `{index}`, which an index set declares and the target leaves out (--drop-set-indexes drops it)"
        )?;
    }
    if d.is_empty() {
        writeln!(err, "no difference: nothing to write")?;
        return Ok(0);
    }
    for table in &d.rebuilt {
        writeln!(err, "note: rebuilds `{table}` (every row is copied)")?;
    }
    for loss in &d.losses {
        writeln!(err, "warning: {loss}")?;
    }
    for p in &problems {
        writeln!(err, "warning: {p}")?;
    }
    match &args.write {
        None => io::stdout().lock().write_all(d.up.as_bytes())?,
        Some(name) => {
            let name = name.trim().replace(' ', "_");
            let made =
                crate::cmd::new::next_migration(g.dir(), &name, "sql", &d.up, Some(&d.down))?;
            for path in &made {
                writeln!(io::stdout(), "{}", path.display())?;
            }
            // What it wrote is linted like any migration.
            if let Ok(set) = Migrations::from_dir(g.dir()) {
                let written =
                    |m: &migrate_core::Migration| made.iter().any(|p| p.ends_with(m.file.as_ref()));
                for finding in migrate_core::lint::lint(&set, written) {
                    writeln!(err, "lint: {finding}")?;
                }
            }
        }
    }
    Ok(0)
}
