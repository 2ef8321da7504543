//! `migrate-cli`: applies and inspects the migrations of a SQLite database.
//!
//! Results go to stdout, diagnostics to stderr. Exit codes: 0 success,
//! 1 failure, 2 usage, 3 for `status --exit-code` when anything is pending,
//! modified or missing.

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod migrations;
mod operations;
mod style;
use migrate_core::Migrations;
use migrate_core::history::{DEFAULT_TABLE, Table};
use migrate_core::rusqlite::{Connection, OpenFlags};

/// Apply and inspect SQLite schema migrations.
#[derive(Debug, Parser)]
#[command(name = "migrate-cli", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// The SQLite database file: a path, or `sqlite:PATH`, `sqlite://PATH`
    /// or `file:PATH` (with `?mode=rwc` or `?mode=rw` at most).
    #[arg(long, short = 'd', env = "MIGRATE_DATABASE", global = true)]
    database: Option<String>,
    /// The migrations folder [default for up, status, verify and new:
    /// ./migrations; other commands read one only when given].
    #[arg(long, env = "MIGRATE_DIR", global = true)]
    dir: Option<PathBuf>,
    /// The history table.
    #[arg(long, default_value = DEFAULT_TABLE, global = true)]
    table: String,
    /// How long to wait for another writer's lock, in milliseconds (at most
    /// 2147483647, SQLite's limit).
    #[arg(
        long,
        value_name = "MS",
        default_value_t = migrate_core::runner::DEFAULT_BUSY_TIMEOUT.as_millis() as u64,
        value_parser = clap::value_parser!(u64).range(0..=i32::MAX as u64),
        global = true
    )]
    busy_timeout: u64,
    /// Color in the output: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
    /// Log every SQL statement run, with its duration, to stderr.
    #[arg(long, short = 'v', global = true)]
    verbose: bool,
    /// The database, opened and its schema read on another thread while
    /// the migrations folder loaded; the first `open` of it takes it.
    #[arg(skip)]
    warm: RefCell<Option<Connection>>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations, each in its own transaction.
    Up(UpArgs),
    /// Show every migration and whether it is applied, pending, modified or missing.
    Status(StatusArgs),
    /// Check the database against its migrations: checksums, drift, pragmas, indexes, plan assertions.
    Verify(VerifyArgs),
    /// Create the next migration file (numbered like the others) from a template.
    New(NewArgs),
    /// Print the live schema: persistent pragmas, then tables, indexes, views, triggers.
    Schema(SchemaArgs),
    /// Copy WAL frames into the database (PRAGMA wal_checkpoint).
    Checkpoint(CheckpointArgs),
    /// Refresh the query planner's statistics (PRAGMA optimize, analysis_limit 400).
    Optimize,
    /// Reclaim free pages: a full VACUUM, an incremental one, or a compacted copy.
    Vacuum(VacuumArgs),
    /// Copy the database while it is in use (online backup API), checked before it lands.
    Backup(BackupArgs),
    /// Audit the database: integrity, foreign keys, pragmas, indexes, sizes, advice.
    Doctor(DoctorArgs),
}

#[derive(Debug, Args)]
struct DoctorArgs {
    /// Print JSON: {"database", "ok", "journal_mode", "problems": [{"check", "message", "fix"}], "advice", "sizes"}.
    #[arg(long)]
    json: bool,
    /// Run integrity_check (reads every page) instead of quick_check.
    #[arg(long)]
    full: bool,
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// Where the copy goes.
    dest: PathBuf,
    /// Replace DEST if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct CheckpointArgs {
    /// passive copies what it can; full waits for writers; restart also for
    /// readers; truncate then empties the WAL file.
    #[arg(long, value_enum, default_value_t = Mode::Passive)]
    mode: Mode,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Mode {
    Passive,
    Full,
    Restart,
    Truncate,
}

#[derive(Debug, Args)]
struct VacuumArgs {
    /// Free up to N pages (0: all free pages); needs auto_vacuum = incremental.
    #[arg(long, value_name = "N", conflicts_with = "into")]
    incremental: Option<u32>,
    /// Write a compacted copy to PATH (a new file), leaving the database as it is.
    #[arg(long, value_name = "PATH")]
    into: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SchemaArgs {
    /// Include the history table.
    #[arg(long)]
    history: bool,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Print JSON: {"database", "ok", "applied", "pending": [...], "problems": [{"file", "line", "message"}]}.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct NewArgs {
    /// The migration's name: letters, digits, `_` and `-` (spaces become `_`).
    name: String,
    /// Create a pragma set (`.pragmas`).
    #[arg(long, conflicts_with = "indexes")]
    pragmas: bool,
    /// Create an index set (`.indexes`).
    #[arg(long)]
    indexes: bool,
}

#[derive(Debug, Args)]
struct UpArgs {
    /// Apply up to and including this version only.
    #[arg(long, value_name = "VERSION")]
    to: Option<u64>,
    /// Print what would be applied, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply all pending migrations in one transaction: all or nothing.
    #[arg(long)]
    atomic: bool,
    /// Accept applied versions whose files are gone.
    #[arg(long)]
    allow_missing: bool,
    /// Accept pending versions older than the newest applied one.
    #[arg(long)]
    allow_out_of_order: bool,
    /// Take an online backup to PATH before the first change (a new file).
    #[arg(long, value_name = "PATH")]
    backup: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// Print JSON: {"database", "table", "migrations": [...], "counts": {...}}.
    #[arg(long)]
    json: bool,
    /// Exit with 3 when anything is pending, modified or missing.
    #[arg(long)]
    exit_code: bool,
}

/// A failure and the exit code it maps to.
struct Failure {
    code: u8,
    error: Box<dyn std::error::Error>,
}

impl<E: std::error::Error + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 1,
            error: Box::new(e),
        }
    }
}

fn usage(message: String) -> Failure {
    Failure {
        code: 2,
        error: message.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    style::init(match cli.global.color {
        ColorChoice::Auto => None,
        ColorChoice::Always => Some(true),
        ColorChoice::Never => Some(false),
    });
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) if is_broken_pipe(&*f.error) => ExitCode::SUCCESS,
        Err(f) => {
            let mut message = format!("{} {}", style::error(), f.error);
            let mut source = f.error.source();
            while let Some(s) = source {
                // Causes whose text is already in the message add nothing.
                let text = s.to_string();
                if !message.contains(&text) {
                    message.push_str(&format!("\n  caused by: {text}"));
                }
                source = s.source();
            }
            eprintln!("{message}");
            ExitCode::from(f.code)
        }
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let g = &cli.global;
    if let Command::New(args) = &cli.command {
        return migrations::new(g, args);
    }
    let table = Table::new(&g.table).map_err(|e| usage(e.to_string()))?;
    let given = g.database.as_deref().ok_or_else(|| {
        usage("no database given; pass --database PATH or set MIGRATE_DATABASE".into())
    })?;
    let database = database_path(given).map_err(usage)?;
    let set = match &cli.command {
        Command::Up(_) | Command::Status(_) | Command::Verify(_) => {
            // Reading a large folder and reading a large schema are the two
            // slow halves of these commands; they need not wait for each other.
            let (set, warm) = std::thread::scope(|s| {
                let warm = s.spawn(|| warm_up(&database));
                (Migrations::from_dir(g.dir()), warm.join().ok().flatten())
            });
            *g.warm.borrow_mut() = warm;
            set?
        }
        // Operations work on any SQLite file; a migrations folder, when one
        // is given, only adds its connection profile and expected pragmas.
        _ => g
            .dir
            .as_deref()
            .map_or_else(Migrations::default, optional_set),
    };
    match cli.command {
        Command::Up(args) => migrations::up(g, &set, table, &database, args),
        Command::Status(args) => migrations::status(g, &set, table, &database, args),
        Command::Verify(args) => migrations::verify(g, &set, table, &database, &args),
        Command::New(_) => unreachable!("handled before the database is needed"),
        Command::Schema(args) => operations::schema(g, &set, &table, &database, &args),
        Command::Checkpoint(args) => {
            operations::checkpoint(&open_existing(&database, g, &set)?, &database, args.mode)
        }
        Command::Optimize => operations::optimize(&open_existing(&database, g, &set)?, &database),
        Command::Vacuum(args) => {
            operations::vacuum(&open_existing(&database, g, &set)?, &database, &args)
        }
        Command::Backup(args) => operations::backup(&open_existing(&database, g, &set)?, &args),
        Command::Doctor(args) => {
            operations::doctor(&open_existing(&database, g, &set)?, &database, &set, &args)
        }
    }
}

impl Global {
    /// The migrations folder of the commands that need one.
    fn dir(&self) -> &Path {
        self.dir.as_deref().unwrap_or(Path::new("./migrations"))
    }
}

/// What `--database` names, as a plain path. Accepted: a path; the URL
/// forms sqlx and dbmate users bring (`sqlite:PATH`, `sqlite://PATH`,
/// `sqlite3:`), and SQLite's `file:` URIs, each with no query but
/// `mode=rwc` or `mode=rw` (what this tool does anyway). Refused, because
/// nothing would persist or the tool could not do its job: `:memory:`,
/// `mode=memory`, `mode=ro`, `immutable`, `vfs` and any other parameter.
fn database_path(given: &str) -> Result<PathBuf, String> {
    let refuse = |why: &str| Err(format!("--database {given:?}: {why}"));
    if given.is_empty() {
        return refuse("empty; pass the path of the database file");
    }
    let lower = given.to_ascii_lowercase();
    let url = [
        "sqlite3://",
        "sqlite://",
        "sqlite3:",
        "sqlite:",
        "file://",
        "file:",
    ]
    .iter()
    .find(|p| lower.starts_with(**p));
    let (path, query) = match url {
        // `file:///abs/path` and `sqlite:///abs/path` keep their leading `/`.
        Some(prefix) => {
            let rest = &given[prefix.len()..];
            let rest = if prefix.ends_with("//") && rest.starts_with('/') {
                rest
            } else {
                rest.trim_start_matches("//")
            };
            match rest.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (rest, None),
            }
        }
        None => (given, None),
    };
    for param in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        match param.to_ascii_lowercase().as_str() {
            "mode=rwc" | "mode=rw" => {}
            "mode=memory" => return refuse("an in-memory database keeps nothing; pass a file"),
            "mode=ro" | "immutable=1" => {
                return refuse(
                    "a read-only database cannot be migrated or maintained; drop the parameter",
                );
            }
            _ => {
                return refuse(&format!(
                    "the parameter `{param}` is not supported; pass a plain path (only mode=rwc and mode=rw are accepted)"
                ));
            }
        }
    }
    if path.is_empty() || path == ":memory:" || lower.contains("mode=memory") {
        return refuse("an in-memory database keeps nothing; pass a file");
    }
    if path.contains('%') && url.is_some() {
        return refuse("percent-encoded paths are not supported; pass a plain path");
    }
    Ok(PathBuf::from(path))
}

/// An existing database opened (never created: the folder is not validated
/// yet) and its schema read, or nothing if that did not go at once (a lock,
/// no file, not a database): `open` then does it the ordinary way and
/// reports what is wrong.
fn warm_up(path: &Path) -> Option<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).ok()?;
    // Preparing a statement that names a table reads the whole schema.
    conn.prepare("SELECT 1 FROM sqlite_schema").ok()?;
    Some(conn)
}

/// Opens the database with the busy timeout and the set's connection
/// profile (whose busy_timeout, if any, wins over `--busy-timeout`).
fn open(path: &Path, g: &Global, set: &Migrations, create: bool) -> Result<Connection, Failure> {
    let warm = g.warm.borrow_mut().take();
    let conn = match warm {
        Some(conn) => conn,
        None => {
            let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            if create {
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
            }
            Connection::open_with_flags(path, flags).map_err(|e| Failure {
                code: 1,
                error: format!("cannot open database {}: {e}", path.display()).into(),
            })?
        }
    };
    conn.busy_timeout(Duration::from_millis(g.busy_timeout))?;
    if g.verbose {
        conn.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_PROFILE,
            Some(log_statement),
        );
    }
    set.profile()
        .apply(&conn)
        .map_err(|e| in_database(path, e.into()))?;
    Ok(conn)
}

/// Opens a database that must exist already (inspection commands never
/// create one).
fn open_existing(database: &Path, g: &Global, set: &Migrations) -> Result<Connection, Failure> {
    if !database.exists() {
        return Err(Failure {
            code: 1,
            error: format!("{}: no such database", database.display()).into(),
        });
    }
    open(database, g, set, false)
}

/// A database error says which database.
fn in_database(database: &Path, e: migrate_core::Error) -> Failure {
    match e {
        migrate_core::Error::Sqlite(e) => Failure {
            code: 1,
            error: format!("{}: {e}", database.display()).into(),
        },
        migrate_core::Error::Migration(e) => Failure {
            code: 1,
            error: format!("{}: {e}", database.display()).into(),
        },
        other => other.into(),
    }
}

/// The migrations folder for commands that work without one: missing means
/// empty; invalid is reported and treated as empty, so that a backup or an
/// audit is never blocked by a bad migration file.
fn optional_set(dir: &Path) -> Migrations {
    if !dir.exists() {
        return Migrations::default();
    }
    Migrations::from_dir(dir).unwrap_or_else(|e| {
        eprintln!(
            "{} ignoring the migrations folder (its connection profile is not applied):\n{e}",
            style::warning()
        );
        Migrations::default()
    })
}

/// `-v`: every statement SQLite ran, when it finished, with its duration.
fn log_statement(event: rusqlite::trace::TraceEvent<'_>) {
    if let rusqlite::trace::TraceEvent::Profile(stmt, took) = event {
        eprintln!(
            "{} {:>7.2} ms  {}",
            style::dim("sql"),
            took.as_secs_f64() * 1000.0,
            migrate_core::sql::shorten(&stmt.sql())
        );
    }
}
