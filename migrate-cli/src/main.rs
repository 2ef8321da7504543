//! `migrate-cli`: applies and inspects the migrations of a SQLite database.
//!
//! Results go to stdout, diagnostics to stderr. Exit codes: 0 success,
//! 1 failure, 2 usage, 3 for `status --exit-code` when anything is pending,
//! modified or missing.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

mod cmd;
mod context;
mod dotenv;
mod postgres;
mod report;
mod secrets;
mod style;
use cmd::*;
use context::Context;
use migrate_core::history::DEFAULT_TABLE;

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
#[command(next_help_heading = "Global options")]
pub(crate) struct Global {
    /// The SQLite database file: a path, or `sqlite:PATH`, `sqlite://PATH`
    /// or `file:PATH` (with `?mode=rwc` or `?mode=rw` at most). Else
    /// DATABASE_URL; both are also read from a .env file (this folder's or
    /// the nearest parent's).
    #[arg(
        long,
        short = 'd',
        env = "MIGRATE_DATABASE",
        hide_env_values = true,
        global = true
    )]
    pub(crate) database: Option<String>,
    /// The migrations folder [default for up, down, redo, adopt, baseline, repair, status, verify and new:
    /// ./migrations; other commands read one only when given].
    #[arg(long, env = "MIGRATE_DIR", hide_env_values = true, global = true)]
    pub(crate) dir: Option<PathBuf>,
    /// The history table (on PostgreSQL also `schema.table`).
    #[arg(long, default_value = DEFAULT_TABLE, global = true)]
    pub(crate) table: String,
    /// How long to wait for another writer's lock, in milliseconds (at most
    /// 2147483647, SQLite's limit). Given, it wins over a pragma set's
    /// busy_timeout; not given, a set's value applies, else 5000.
    #[arg(
        long,
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(0..=i32::MAX as u64),
        global = true
    )]
    pub(crate) busy_timeout: Option<u64>,
    /// Color in the output: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub(crate) color: ColorChoice,
    /// PostgreSQL: how long one migration may wait for a lock on a table
    /// before it fails (lock_timeout), in milliseconds; 0 waits without
    /// limit, as in PostgreSQL.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 5000,
        value_parser = clap::value_parser!(u64).range(0..=i32::MAX as u64),
        global = true
    )]
    pub(crate) lock_timeout: u64,
    /// PostgreSQL: how long to wait while another runner holds the
    /// migration lock, in milliseconds; 0 waits without limit.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 60000,
        value_parser = clap::value_parser!(u64).range(0..=i32::MAX as u64),
        global = true
    )]
    pub(crate) lock_wait: u64,
    /// Log every SQL statement run, with its duration, to stderr.
    #[arg(long, short = 'v', global = true)]
    pub(crate) verbose: bool,
    /// Where `database` came from when no flag gave it (for messages):
    /// `DATABASE_URL`, `MIGRATE_DATABASE in .env`, …
    #[arg(skip)]
    pub(crate) database_from: Option<&'static str>,
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
    Up(up::UpArgs),
    /// Revert applied migrations, newest first (default: the last one), each in its own transaction.
    Down(down::DownArgs),
    /// Revert the last applied migration, then apply it again.
    Redo(redo::RedoArgs),
    /// Take over a database another tool manages (refinery, sqlx, diesel, goose, golang-migrate, dbmate, Flyway, user_version), after checking that the database has its files' schema.
    Adopt(adopt::AdoptArgs),
    /// Record migrations up to a version as applied without running them, after checking that the database has their schema.
    Baseline(baseline::BaselineArgs),
    /// Re-record applied files edited without changing their schema; remove the rows of deleted files.
    Repair(repair::RepairArgs),
    /// Show every migration and whether it is applied, pending, modified or missing.
    Status(status::StatusArgs),
    /// Check the database against its migrations: checksums, drift, pragmas, indexes, plan assertions.
    Verify(verify::VerifyArgs),
    /// Create the next migration file (numbered like the others) from a template.
    New(new::NewArgs),
    /// Write the migration from the schema you have (--from, default --dir) to the schema you want (--to): a schema file, a database or a folder.
    Diff(diff::DiffArgs),
    /// Lint the pending migrations (all without a database, or with --all): what each statement will do, before it runs (SQLite).
    Lint(lint::LintArgs),
    /// Print the live schema: persistent pragmas, then tables, indexes, views, triggers.
    Schema(schema::SchemaArgs),
    /// Copy WAL frames into the database (PRAGMA wal_checkpoint).
    Checkpoint(checkpoint::CheckpointArgs),
    /// Refresh the query planner's statistics (PRAGMA optimize, analysis_limit 400).
    Optimize,
    /// Reclaim free pages: a full VACUUM, an incremental one, or a compacted copy.
    Vacuum(vacuum::VacuumArgs),
    /// Copy the database while it is in use (online backup API), checked before it lands.
    Backup(backup::BackupArgs),
    /// Audit the database: integrity, foreign keys, pragmas, indexes, sizes, advice.
    Doctor(doctor::DoctorArgs),
    /// Plan copying the SQLite database into PostgreSQL (--dry-run): the schema, what does not carry over, every value PostgreSQL would refuse.
    Move(transfer::MoveArgs),
    /// Print a completion script for a shell (for example `migrate-cli completions bash > /etc/bash_completion.d/migrate-cli`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// A failure and the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) error: Box<dyn std::error::Error>,
}

impl<E: std::error::Error + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 1,
            error: Box::new(e),
        }
    }
}

pub(crate) fn usage(message: String) -> Failure {
    Failure {
        code: 2,
        error: message.into(),
    }
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Err(e) = cli.global.fill_from_env() {
        eprintln!("{} {e}", style::error());
        return ExitCode::from(2);
    }
    style::init(match cli.global.color {
        ColorChoice::Auto => None,
        ColorChoice::Always => Some(true),
        ColorChoice::Never => Some(false),
    });
    let result = run(cli);
    context::flush_log();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) if is_broken_pipe(&*f.error) => ExitCode::SUCCESS,
        Err(f) => {
            // Messages carry names read from databases and files: no
            // terminal escape of theirs reaches the terminal (the
            // message's own line breaks stay).
            let shown = |e: &dyn std::error::Error| {
                let text = secrets::scrub(&e.to_string());
                let lines: Vec<_> = text.split('\n').map(style::visible).collect();
                with_flags(&lines.join("\n"))
            };
            let mut message = format!("{} {}", style::error(), shown(&*f.error));
            let mut source = f.error.source();
            while let Some(s) = source {
                // Causes whose text is already in the message add nothing.
                let text = shown(s);
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

/// The library's options named in its messages, and the flags that set
/// them here.
const FLAGS: [(&str, &str); 11] = [
    ("`Runner::allow_missing`", "`--allow-missing`"),
    ("`Runner::allow_out_of_order`", "`--allow-out-of-order`"),
    ("`Runner::table`", "`--table`"),
    ("`Runner::atomic`", "`--atomic`"),
    ("`Runner::lock_wait`", "`--lock-wait`"),
    ("`Connection::busy_timeout`", "--busy-timeout"),
    (
        "a backup of its own replaces a file, and only with `force`",
        "`backup` replaces a file, and only with `--force`",
    ),
    ("`Runner::repair`", "`migrate-cli repair`"),
    ("`Runner::baseline`", "`migrate-cli baseline --to V`"),
    ("`Runner::adopt`'s `from`", "`--from`"),
    ("`Runner::adopt`", "`migrate-cli adopt`"),
];

/// A library message as a CLI user reads it: options named as flags.
fn with_flags(message: &str) -> String {
    FLAGS.iter().fold(message.to_owned(), |m, (option, flag)| {
        m.replace(option, flag)
    })
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let g = &cli.global;
    if let Some(url) = g.database.as_deref().filter(|d| postgres::is_url(d))
        && !matches!(
            cli.command,
            Command::New(_) | Command::Diff(_) | Command::Lint(_) | Command::Completions { .. }
        )
    {
        return postgres::run(g, url, cli.command);
    }
    match cli.command {
        Command::New(args) => new::run(g, &args),
        Command::Diff(args) => diff::run(g, &args),
        Command::Lint(args) => lint::run(g, &args),
        Command::Up(args) => up::run(Context::migrating(g)?, args),
        Command::Down(args) => down::run(Context::migrating(g)?, args),
        Command::Redo(args) => redo::run(Context::migrating(g)?, args),
        Command::Adopt(args) => adopt::run(Context::migrating(g)?, args),
        Command::Baseline(args) => baseline::run(Context::migrating(g)?, args),
        Command::Repair(args) => repair::run(Context::migrating(g)?, args),
        Command::Status(args) => status::run(Context::migrating(g)?, args),
        Command::Verify(args) => verify::run(Context::migrating(g)?, &args),
        Command::Schema(args) => schema::run(Context::operating(g)?, &args),
        Command::Checkpoint(args) => checkpoint::run(Context::operating(g)?, args.mode),
        Command::Optimize => optimize::run(Context::operating(g)?),
        Command::Vacuum(args) => vacuum::run(Context::operating(g)?, &args),
        Command::Backup(args) => backup::run(Context::operating(g)?, &args),
        Command::Doctor(args) => doctor::run(Context::operating(g)?, &args),
        Command::Move(args) => transfer::run(Context::operating(g)?, &args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "migrate-cli", &mut io::stdout());
            Ok(0)
        }
    }
}

impl Global {
    /// What the flags leave open, from the environment and `.env`, in the
    /// order a `.env` loaded into the environment would give:
    /// MIGRATE_DATABASE, then DATABASE_URL (sqlx's and dbmate's); the
    /// environment's value before the file's.
    fn fill_from_env(&mut self) -> Result<(), String> {
        if self.database.is_some() && self.dir.is_some() {
            return Ok(());
        }
        let cwd = std::env::current_dir().unwrap_or_default();
        let file = dotenv::load(&cwd)?;
        // A line of the file that cannot be read matters only if its value
        // is needed.
        let from_file = |key: &str| -> Result<Option<String>, String> {
            file.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .transpose()
        };
        // An empty value given is refused as such later, not replaced.
        let unset = |v: &Option<String>| v.is_none();
        if unset(&self.database) {
            // Each read only when the ones before it gave nothing.
            let (value, from) = match from_file("MIGRATE_DATABASE")? {
                Some(v) => (Some(v), "MIGRATE_DATABASE in .env"),
                None => match std::env::var("DATABASE_URL").ok() {
                    Some(v) => (Some(v), "DATABASE_URL"),
                    None => (from_file("DATABASE_URL")?, "DATABASE_URL in .env"),
                },
            };
            self.database = value;
            self.database_from = Some(from);
        }
        if self.dir.is_none() {
            self.dir = from_file("MIGRATE_DIR")?.map(PathBuf::from);
        }
        Ok(())
    }

    /// The migrations folder of the commands that need one.
    fn dir(&self) -> &Path {
        self.dir.as_deref().unwrap_or(Path::new("./migrations"))
    }
}
