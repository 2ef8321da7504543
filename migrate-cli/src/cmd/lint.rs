//! `lint`: what the migrations will do, said before they run.

use std::io::{self, Write};

use clap::Args;
use migrate_core::Migrations;
use migrate_core::lint::{Finding, Severity};
use migrate_core::plan::State;
use migrate_core::rusqlite::{Connection, OpenFlags};

use crate::{Failure, Global, usage};

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// Lint every migration, applied ones too (without a database, every
    /// one is linted anyway).
    #[arg(long)]
    pub(crate) all: bool,
    /// Print JSON: {"findings": [{"file", "line", "rule", "severity", "message", "allowed", "fails_on_data"}]}.
    #[arg(long)]
    pub(crate) json: bool,
    /// The dialect of the folder: sqlite, or postgres (also taken from a
    /// postgres:// --database).
    #[arg(long, value_name = "DIALECT", default_value = "sqlite")]
    pub(crate) dialect: String,
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

pub(crate) fn run(g: &Global, args: &LintArgs) -> Result<u8, Failure> {
    let url = g.database.as_deref().filter(|d| crate::postgres::is_url(d));
    let postgres = match args.dialect.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => true,
        "sqlite" => url.is_some(),
        other => {
            return Err(usage(format!("--dialect {other}: sqlite or postgres")));
        }
    };
    if postgres {
        return run_postgres(g, args, url.is_some());
    }
    let findings: Vec<Finding> = match Migrations::from_dir(g.dir()) {
        // A file that does not load is a finding, not a crash.
        Err(errors) => {
            // Files SQLite's scanner refuses and PostgreSQL's takes (a
            // function body in dollar quotes, CONCURRENTLY in its own
            // file): most likely a PostgreSQL folder linted as SQLite.
            if Migrations::from_dir_in(g.dir(), migrate_core::Dialect::Postgres).is_ok() {
                eprintln!(
                    "note: these files load as PostgreSQL's; lint them with --dialect postgres (or a postgres:// --database)"
                );
            }
            migrate_core::lint::load_findings(&errors)
        }
        Ok(set) => {
            let data = database(g)?;
            match &data {
                Some(conn) => {
                    let pending = pending(g, &set, conn)?;
                    let is_pending = |m: &migrate_core::Migration| pending.contains(&m.version);
                    // The rows count for what is still to run; an applied
                    // migration (with --all) is read without them.
                    let mut found = migrate_core::lint::lint_with(&set, is_pending, data.as_ref());
                    if args.all {
                        found.extend(migrate_core::lint::lint(&set, |m| !is_pending(m)));
                    }
                    in_file_order(&set, found)
                }
                None => migrate_core::lint::lint(&set, |_| true),
            }
        }
    };
    print(&findings, args.json)
}

/// `lint` of a PostgreSQL folder: its rules read each statement; with a
/// server (`--database postgres://…`), what is pending there is linted and
/// its rows are counted, read-only.
fn run_postgres(g: &Global, args: &LintArgs, with_url: bool) -> Result<u8, Failure> {
    use migrate_core::lint::postgres;
    let findings: Vec<Finding> =
        match Migrations::from_dir_in(g.dir(), migrate_core::Dialect::Postgres) {
            Err(errors) => migrate_core::lint::load_findings(&errors),
            Ok(set) => match g.database.as_deref().filter(|_| with_url) {
                Some(url) => match crate::postgres::connect(url) {
                    Ok((mut client, _)) => {
                        let pending = pending_postgres(g, &set, &mut client, url)?;
                        let is_pending = |m: &migrate_core::Migration| pending.contains(&m.version);
                        // The server's rows count for what is still to run;
                        // an applied migration (with --all) is read without.
                        let mut found = postgres::lint_with(&set, is_pending, &mut client);
                        if args.all {
                            found.extend(postgres::lint(&set, |m| !is_pending(m)));
                        }
                        in_file_order(&set, found)
                    }
                    Err(f) => {
                        eprintln!(
                            "note: {}; every migration is linted, no row counted",
                            f.error
                        );
                        postgres::lint(&set, |_| true)
                    }
                },
                None => postgres::lint(&set, |_| true),
            },
        };
    print(&findings, args.json)
}

/// The versions still to apply on the PostgreSQL server of `url` (read
/// only).
fn pending_postgres(
    g: &Global,
    set: &Migrations,
    client: &mut migrate_core::postgres::Client,
    url: &str,
) -> Result<Vec<u64>, Failure> {
    let table = migrate_core::Table::new(&g.table).map_err(|e| usage(e.to_string()))?;
    let rows = set
        .runner()
        .table(table)
        .status_postgres(client)
        .map_err(|e| Failure {
            code: 1,
            error: format!("{}: {e}", crate::postgres::shown(url)).into(),
        })?;
    Ok(rows
        .iter()
        .filter(|r| r.state == State::Pending)
        .map(|r| r.version)
        .collect())
}

/// `findings` in the order of the files of `set` (lines in order within
/// one file, as lint gives them).
fn in_file_order(set: &Migrations, mut findings: Vec<Finding>) -> Vec<Finding> {
    let at = |file: &str| set.iter().position(|m| m.file == file);
    findings.sort_by_key(|f| at(&f.file));
    findings
}

/// Prints `findings` (as JSON with `json`); 1 when one is an error that is
/// not allowed.
fn print(findings: &[Finding], json: bool) -> Result<u8, Failure> {
    let mut out = io::stdout().lock();
    if json {
        let items: Vec<String> = findings
            .iter()
            .map(|f| {
                format!(
                    "{{\"file\": {}, \"line\": {}, \"rule\": {}, \"severity\": {}, \"message\": {}, \"allowed\": {}, \"fails_on_data\": {}}}",
                    json_string(&f.file),
                    f.line,
                    json_string(f.rule),
                    json_string(&f.severity.to_string()),
                    json_string(&f.message),
                    f.allowed,
                    f.fails_on_data
                )
            })
            .collect();
        writeln!(out, "{{\"findings\": [{}]}}", items.join(", "))?;
    } else {
        for f in findings {
            writeln!(out, "{f}")?;
        }
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error && !f.allowed)
        .count();
    Ok(u8::from(errors > 0))
}

/// The database `--database` names, when it exists, opened read-only.
fn database(g: &Global) -> Result<Option<Connection>, Failure> {
    let Some(given) = g.database.as_deref() else {
        return Ok(None);
    };
    let path = crate::context::database_path(given, g.database_from.unwrap_or("--database"))
        .map_err(usage)?;
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?))
}

/// The versions of `set` still to apply to `conn`.
fn pending(g: &Global, set: &Migrations, conn: &Connection) -> Result<Vec<u64>, Failure> {
    let table = migrate_core::Table::new(&g.table).map_err(|e| usage(e.to_string()))?;
    let rows = set.runner().table(table).status(conn)?;
    Ok(rows
        .iter()
        .filter(|r| r.state == State::Pending)
        .map(|r| r.version)
        .collect())
}
