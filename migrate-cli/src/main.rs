//! `migrate-cli`: applies and inspects the migrations of a SQLite database.
//!
//! Results go to stdout, diagnostics to stderr. Exit codes: 0 success,
//! 1 failure, 2 usage, 3 for `status --exit-code` when anything is pending,
//! modified or missing.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod style;
use migrate_core::history::{DEFAULT_TABLE, Table};
use migrate_core::plan::{State, StatusRow};
use migrate_core::rusqlite::{Connection, OpenFlags};
use migrate_core::{Migrations, Report};

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
    /// The SQLite database file.
    #[arg(long, short = 'd', env = "MIGRATE_DATABASE", global = true)]
    database: Option<PathBuf>,
    /// The migrations folder.
    #[arg(
        long,
        env = "MIGRATE_DIR",
        default_value = "./migrations",
        global = true
    )]
    dir: PathBuf,
    /// The history table.
    #[arg(long, default_value = DEFAULT_TABLE, global = true)]
    table: String,
    /// How long to wait for another writer's lock, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5000, global = true)]
    busy_timeout: u64,
    /// Color in the output: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
    /// Log every SQL statement run, with its duration, to stderr.
    #[arg(long, short = 'v', global = true)]
    verbose: bool,
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
        return new(g, args);
    }
    let table = Table::new(&g.table).map_err(|e| usage(e.to_string()))?;
    let database = g.database.clone().ok_or_else(|| {
        usage("no database given; pass --database PATH or set MIGRATE_DATABASE".into())
    })?;
    let set = match &cli.command {
        Command::Up(_) | Command::Status(_) | Command::Verify(_) => Migrations::from_dir(&g.dir)?,
        // Operations work on any SQLite file; a migrations folder only adds
        // its connection profile and expected pragmas.
        _ => optional_set(&g.dir),
    };
    match cli.command {
        Command::Up(args) => up(g, &set, table, &database, args),
        Command::Status(args) => status(g, &set, table, &database, args),
        Command::Verify(args) => verify(g, &set, table, &database, &args),
        Command::New(_) => unreachable!("handled before the database is needed"),
        Command::Schema(args) => schema(g, &set, &table, &database, &args),
        Command::Checkpoint(args) => {
            checkpoint(&open_existing(&database, g, &set)?, &database, args.mode)
        }
        Command::Optimize => optimize(&open_existing(&database, g, &set)?, &database),
        Command::Vacuum(args) => vacuum(&open_existing(&database, g, &set)?, &database, &args),
        Command::Backup(args) => backup(&open_existing(&database, g, &set)?, &args),
        Command::Doctor(args) => {
            doctor(&open_existing(&database, g, &set)?, &database, &set, &args)
        }
    }
}

/// Opens the database with the busy timeout and the set's connection
/// profile (whose busy_timeout, if any, wins over `--busy-timeout`).
fn open(path: &Path, g: &Global, set: &Migrations, create: bool) -> Result<Connection, Failure> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| Failure {
        code: 1,
        error: format!("cannot open database {}: {e}", path.display()).into(),
    })?;
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

fn up(
    g: &Global,
    set: &Migrations,
    table: Table,
    database: &Path,
    args: UpArgs,
) -> Result<u8, Failure> {
    // A dry run never creates the database.
    let mut conn = if args.dry_run && !database.exists() {
        Connection::open_in_memory()?
    } else {
        open(database, g, set, true)?
    };
    let report = set
        .runner()
        .table(table)
        .target(args.to)
        .dry_run(args.dry_run)
        .atomic(args.atomic)
        .allow_missing(args.allow_missing)
        .allow_out_of_order(args.allow_out_of_order)
        .backup_to(args.backup)
        .run(&mut conn)
        .map_err(|e| in_database(database, e))?;
    if let Some(path) = &report.backup {
        eprintln!(
            "note: backed up to {} before the first change",
            path.display()
        );
    }
    print_report(&report, args.dry_run)?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    for warning in &report.warnings {
        eprintln!("{} {warning}", style::warning());
    }
    Ok(0)
}

fn schema(
    g: &Global,
    set: &Migrations,
    table: &Table,
    database: &Path,
    args: &SchemaArgs,
) -> Result<u8, Failure> {
    let conn = open_existing(database, g, set)?;
    let dump = migrate_core::schema::dump_with_pragmas(&conn, table, args.history)
        .map_err(|e| in_database(database, e.into()))?;
    io::stdout().lock().write_all(dump.as_bytes())?;
    Ok(0)
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

fn verify(
    g: &Global,
    set: &Migrations,
    table: Table,
    database: &Path,
    args: &VerifyArgs,
) -> Result<u8, Failure> {
    let conn = open_existing(database, g, set)?;
    let v =
        migrate_core::verify::verify(set, &conn, &table).map_err(|e| in_database(database, e))?;
    let mut out = io::stdout().lock();
    let code = if v.problems.is_empty() { 0 } else { 1 };
    if args.json {
        let problems: Vec<serde_json::Value> = v
            .problems
            .iter()
            .map(|p| serde_json::json!({"file": p.file, "line": p.line, "message": p.message}))
            .collect();
        let doc = serde_json::json!({
            "database": database.display().to_string(),
            "ok": v.problems.is_empty(),
            "applied": v.applied,
            "pending": v.pending,
            "problems": problems,
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(code);
    }
    for p in &v.problems {
        writeln!(out, "{} {p}", style::fail())?;
    }
    let pending = if v.pending.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = v.pending.iter().map(u64::to_string).collect();
        format!("; pending (not checked): {}", list.join(", "))
    };
    if v.problems.is_empty() {
        writeln!(
            out,
            "{} {} applied migrations verified{pending}",
            style::ok(),
            v.applied
        )?;
    } else {
        let n = v.problems.len();
        writeln!(
            out,
            "{n} problems in {} applied migrations{pending}",
            v.applied
        )?;
    }
    Ok(code)
}

/// A database error says which database.
fn in_database(database: &Path, e: migrate_core::Error) -> Failure {
    match e {
        migrate_core::Error::Sqlite(e) => Failure {
            code: 1,
            error: format!("{}: {e}", database.display()).into(),
        },
        other => other.into(),
    }
}

fn print_report(report: &Report, dry_run: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if dry_run {
        if report.planned.is_empty() {
            writeln!(out, "nothing to apply")?;
        }
        for s in &report.planned {
            writeln!(out, "would apply {} {} ({})", s.version, s.name, s.file)?;
        }
        return Ok(());
    }
    for s in &report.applied {
        writeln!(
            out,
            "applied {} {} ({:.1} ms)",
            s.version,
            s.name,
            ms(s.duration)
        )?;
    }
    for v in &report.skipped {
        writeln!(out, "skipped {v} (applied by another process meanwhile)")?;
    }
    if report.applied.is_empty() && report.skipped.is_empty() {
        writeln!(out, "nothing to apply; the database is up to date")?;
    } else {
        let total: Duration = report.applied.iter().map(|s| s.duration).sum();
        writeln!(
            out,
            "{} applied in {:.1} ms",
            report.applied.len(),
            ms(total)
        )?;
    }
    Ok(())
}

fn status(
    g: &Global,
    set: &Migrations,
    table: Table,
    database: &Path,
    args: StatusArgs,
) -> Result<u8, Failure> {
    // Status never creates the database: a missing file has everything pending.
    let rows = if database.exists() {
        let conn = open(database, g, set, false)?;
        set.runner()
            .table(table.clone())
            .status(&conn)
            .map_err(|e| in_database(database, e))?
    } else {
        eprintln!("note: {} does not exist yet", database.display());
        set.runner().status(&Connection::open_in_memory()?)?
    };
    if args.json {
        print_status_json(&rows, database, &table)?;
    } else {
        print_status(&rows)?;
    }
    let clean = rows.iter().all(|r| r.state == State::Applied);
    Ok(if args.exit_code && !clean { 3 } else { 0 })
}

fn print_status(rows: &[StatusRow]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if rows.is_empty() {
        return writeln!(out, "no migrations");
    }
    let header = ["VERSION", "NAME", "KIND", "STATE", "APPLIED AT", "DURATION"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.version.to_string(),
                r.name.clone(),
                r.kind.clone(),
                r.state.to_string(),
                r.applied_at.clone().unwrap_or_else(|| "-".into()),
                r.duration_ms.map_or("-".into(), |d| format!("{d} ms")),
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
    )
}

fn print_status_json(rows: &[StatusRow], database: &Path, table: &Table) -> io::Result<()> {
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
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

const SQL_TEMPLATE: &str = "-- {name}\n-- Runs in one transaction; put `-- migrate:no-transaction` first for VACUUM and the like.\n\n";
const PRAGMAS_TEMPLATE: &str = "-- {name}: a pragma set, one `name = value` per line.\n-- preset safety | balanced | speed\n-- journal_mode = wal\n";
const INDEXES_TEMPLATE: &str = "-- {name}: an index set, one index per line.\n-- index on table (column, other_column desc)\n-- expect \"SELECT ... \" uses idx_table_column_other_column\n";

fn new(g: &Global, args: &NewArgs) -> Result<u8, Failure> {
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
    std::fs::create_dir_all(&g.dir)?;
    let existing = migrate_core::source::written_versions(&g.dir)?;
    let existing: Vec<&str> = existing.iter().map(String::as_str).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let version = migrate_core::naming::next_version(&existing, now);
    let path = g.dir.join(format!("{version}_{name}.{ext}"));
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

fn checkpoint(conn: &Connection, database: &Path, mode: Mode) -> Result<u8, Failure> {
    use migrate_core::maintenance::CheckpointMode;
    let mode = match mode {
        Mode::Passive => CheckpointMode::Passive,
        Mode::Full => CheckpointMode::Full,
        Mode::Restart => CheckpointMode::Restart,
        Mode::Truncate => CheckpointMode::Truncate,
    };
    let c = migrate_core::maintenance::checkpoint(conn, mode)
        .map_err(|e| in_database(database, e.into()))?;
    let mut out = io::stdout().lock();
    if c.not_wal {
        writeln!(out, "not in WAL mode: nothing to checkpoint")?;
        return Ok(0);
    }
    writeln!(
        out,
        "{} of {} WAL frames checkpointed",
        c.checkpointed, c.wal_frames
    )?;
    if c.blocked {
        eprintln!(
            "{} another connection kept the checkpoint from finishing; try again, or with --mode passive",
            style::error()
        );
        return Ok(1);
    }
    Ok(0)
}

fn optimize(conn: &Connection, database: &Path) -> Result<u8, Failure> {
    let tables =
        migrate_core::maintenance::optimize(conn).map_err(|e| in_database(database, e.into()))?;
    let mut out = io::stdout().lock();
    if tables.is_empty() {
        writeln!(out, "statistics are current; nothing to analyse")?;
    } else {
        writeln!(out, "analysed: {}", tables.join(", "))?;
    }
    Ok(0)
}

fn vacuum(conn: &Connection, database: &Path, args: &VacuumArgs) -> Result<u8, Failure> {
    use migrate_core::maintenance::{Vacuum, VacuumError};
    let how = match (&args.into, args.incremental) {
        (Some(path), _) => Vacuum::Into(path),
        (None, Some(n)) => Vacuum::Incremental(n),
        (None, None) => Vacuum::Full,
    };
    let r = migrate_core::maintenance::vacuum(conn, &how).map_err(|e| match e {
        VacuumError::Sqlite(e) => in_database(database, e.into()),
        other => other.into(),
    })?;
    let kib = |pages: i64| pages * r.page_size / 1024;
    let mut out = io::stdout().lock();
    match how {
        Vacuum::Into(path) => writeln!(out, "wrote a compacted copy to {}", path.display())?,
        _ => writeln!(
            out,
            "{} KiB -> {} KiB ({} free pages -> {})",
            kib(r.pages_before),
            kib(r.pages_after),
            r.free_before,
            r.free_after
        )?,
    }
    Ok(0)
}

fn backup(conn: &Connection, args: &BackupArgs) -> Result<u8, Failure> {
    use std::io::IsTerminal;
    let show = io::stderr().is_terminal();
    let report = migrate_core::backup::backup(conn, &args.dest, args.force, |p| {
        if show && p.total > 0 {
            eprint!(
                "\rbackup: {:>3}% ({}/{} pages)",
                p.copied * 100 / p.total,
                p.copied,
                p.total
            );
        }
        std::ops::ControlFlow::Continue(())
    });
    if show {
        eprintln!();
    }
    let report = report?;
    writeln!(
        io::stdout(),
        "backed up {} pages ({} KiB) to {}; integrity_check ok",
        report.pages,
        report.bytes / 1024,
        report.dest.display()
    )?;
    Ok(0)
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

fn doctor(
    conn: &Connection,
    database: &Path,
    set: &Migrations,
    args: &DoctorArgs,
) -> Result<u8, Failure> {
    let c = migrate_core::doctor::doctor(conn, database, set, args.full)
        .map_err(|e| in_database(database, e.into()))?;
    let mut out = io::stdout().lock();
    if args.json {
        let problems: Vec<serde_json::Value> = c
            .problems
            .iter()
            .map(|p| serde_json::json!({"check": p.check, "message": p.message, "fix": p.fix}))
            .collect();
        let s = c.sizes;
        let doc = serde_json::json!({
            "database": database.display().to_string(),
            "ok": c.problems.is_empty(),
            "journal_mode": c.journal_mode,
            "problems": problems,
            "advice": c.advice,
            "sizes": {
                "page_size": s.page_size,
                "page_count": s.page_count,
                "freelist_count": s.freelist_count,
                "database_bytes": s.database_bytes,
                "wal_bytes": s.wal_bytes,
                "freelist_bytes": s.freelist_bytes,
            },
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        let s = c.sizes;
        writeln!(
            out,
            "database {} KiB ({} pages of {} bytes), WAL {} KiB, free {} KiB; journal_mode {}",
            s.database_bytes / 1024,
            s.page_count,
            s.page_size,
            s.wal_bytes / 1024,
            s.freelist_bytes / 1024,
            c.journal_mode
        )?;
        for p in &c.problems {
            writeln!(out, "{} [{}] {}", style::fail(), p.check, p.message)?;
            if let Some(fix) = &p.fix {
                writeln!(out, "     fix: {fix}")?;
            }
        }
        for a in &c.advice {
            writeln!(out, "advice: {a}")?;
        }
        if c.problems.is_empty() {
            writeln!(out, "{} no problems found", style::ok())?;
        } else {
            writeln!(out, "{} problems", c.problems.len())?;
        }
    }
    Ok(if c.problems.is_empty() { 0 } else { 1 })
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
