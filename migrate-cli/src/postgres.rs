//! The commands that run on PostgreSQL: `--database postgres://…` (or
//! `postgresql://`, here or in `DATABASE_URL`) selects it. The migration
//! commands run there; the SQLite file commands name PostgreSQL's tools.

use migrate_core::Migrations;
use migrate_core::history::Table;
use migrate_core::naming::Direction;
use migrate_core::postgres::Connector;
use migrate_core::sql::Dialect;
use postgres::Client;

use crate::cmd::status::print_status_rows;
use crate::{Command, Failure, Global, report, usage};

/// Whether `database` names a PostgreSQL server.
pub(crate) fn is_url(database: &str) -> bool {
    let lower = database.to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with its password replaced, for messages: wherever the client's
/// parser finds one (after the user name, up to the first `@`, raw `/` and
/// `?` included; a `password` parameter).
pub(crate) fn shown(url: &str) -> String {
    migrate_core::postgres::masked(url)
}

/// A client for the PostgreSQL server at `url`, with the connector that
/// opens more (TLS as `sslmode` says); a failure says why, with the
/// password left out.
pub(crate) fn connect(url: &str) -> Result<(Client, Connector), Failure> {
    crate::secrets::keep(&migrate_core::postgres::passwords(url));
    let failed = |why: String| Failure {
        code: 1,
        error: format!("cannot connect to PostgreSQL at {}: {why}", shown(url)).into(),
    };
    let connector = Connector::new(url).map_err(|e| failed(e.to_string()))?;
    match connector.connect() {
        Ok(client) => Ok((client, connector)),
        Err(e) => {
            let why = connector
                .explain(&e)
                .unwrap_or_else(|| migrate_core::postgres::PgFailure::from(e).to_string());
            Err(failed(why))
        }
    }
}

/// The commands that run on PostgreSQL.
enum Pg {
    Up(crate::cmd::up::UpArgs),
    Down(crate::cmd::down::DownArgs),
    Redo(crate::cmd::redo::RedoArgs),
    Status(crate::cmd::status::StatusArgs),
    Verify(crate::cmd::verify::VerifyArgs),
    Schema(crate::cmd::schema::SchemaArgs),
    Baseline(crate::cmd::baseline::BaselineArgs),
    Repair(crate::cmd::repair::RepairArgs),
    Adopt(crate::cmd::adopt::AdoptArgs),
}

/// Runs `command` on the PostgreSQL server at `url`.
pub(crate) fn run(g: &Global, url: &str, command: Command) -> Result<u8, Failure> {
    let not_yet = |name: &str| Err(usage(format!("`{name}` does not run on PostgreSQL")));
    let pg = match command {
        Command::Up(args) => Pg::Up(args),
        Command::Down(args) => Pg::Down(args),
        Command::Redo(args) => Pg::Redo(args),
        Command::Status(args) => Pg::Status(args),
        Command::Adopt(args) => Pg::Adopt(args),
        Command::Baseline(args) => Pg::Baseline(args),
        Command::Repair(args) => Pg::Repair(args),
        Command::Verify(args) => Pg::Verify(args),
        Command::Schema(args) => Pg::Schema(args),
        Command::New(_) => return not_yet("new"),
        Command::Diff(_) => return not_yet("diff"),
        Command::Lint(_) => return not_yet("lint"),
        Command::Completions { .. } => return not_yet("completions"),
        Command::Move(_) => {
            return Err(usage(
                "`move` reads a SQLite file: give it as --database, and the PostgreSQL server as --to".into(),
            ));
        }
        Command::Checkpoint(_)
        | Command::Optimize
        | Command::Vacuum(_)
        | Command::Backup(_)
        | Command::Doctor(_) => {
            return Err(usage(
                "this command is SQLite's (WAL checkpoints, VACUUM of a file, file backups, the file audit); on \
                 PostgreSQL use its own tools: pg_dump for backups, VACUUM/ANALYZE in psql, autovacuum"
                    .into(),
            ));
        }
    };
    let table = Table::new(&g.table).map_err(|e| usage(e.to_string()))?;
    if g.verbose {
        migrate_core::postgres::log_statements(crate::context::log_postgres_statement);
    }
    // `schema` reads the server alone, as on SQLite: no folder needed.
    if let Pg::Schema(args) = &pg {
        let (mut client, _) = connect(url)?;
        let without = (!args.history).then_some(&table);
        let dump = migrate_core::postgres::dump(&mut client, without).map_err(|e| Failure {
            code: 1,
            error: format!("{}: {e}", shown(url)).into(),
        })?;
        std::io::Write::write_all(&mut std::io::stdout().lock(), dump.as_bytes())?;
        return Ok(0);
    }
    let set = Migrations::from_dir_in(g.dir(), Dialect::Postgres)?;
    let (mut client, connector) = connect(url)?;
    // A second connection holds a no-transaction migration's lock in a
    // transaction: safe through a transaction pooler, gone if this dies.
    let runner = set
        .runner()
        .lock_connection(Some(connector))
        .table(table.clone())
        .lock_timeout(std::time::Duration::from_millis(g.lock_timeout))
        .lock_wait((g.lock_wait > 0).then(|| std::time::Duration::from_millis(g.lock_wait)));
    let at = |e: migrate_core::Error| Failure {
        code: 1,
        error: format!("{}: {e}", shown(url)).into(),
    };
    let (report, dry_run, direction) = match pg {
        Pg::Verify(args) => {
            let v = runner.verify_postgres(&mut client).map_err(at)?;
            return crate::cmd::verify::print_verification(&v, &shown(url), &args);
        }
        Pg::Schema(_) => unreachable!("answered before the folder is read"),
        Pg::Baseline(args) => {
            let done = runner
                .dry_run(args.dry_run)
                .baseline_postgres(&mut client, args.to)
                .map_err(at)?;
            report::print_bookkeeping(&done, args.dry_run)?;
            return Ok(0);
        }
        Pg::Adopt(args) => {
            let from = args.tool()?;
            let done = runner
                .dry_run(args.dry_run)
                .adopt_postgres(&mut client, from)
                .map_err(at)?;
            crate::cmd::adopt::print(&done, args.dry_run)?;
            return Ok(0);
        }
        Pg::Repair(args) => {
            let done = runner
                .dry_run(args.dry_run)
                .repair_postgres(&mut client)
                .map_err(at)?;
            report::print_bookkeeping(&done, args.dry_run)?;
            return Ok(0);
        }
        Pg::Up(args) => {
            let dry_run = args.dry_run;
            // lint, on a connection of its own (read-only transactions),
            // once the run has planned: warnings, but a certain failure on
            // the server's rows refuses the run before anything changes.
            let set = &set;
            let lint = move |pending: &[&migrate_core::Migration]| {
                let versions: Vec<u64> = pending.iter().map(|m| m.version).collect();
                let chosen = |m: &migrate_core::Migration| versions.contains(&m.version);
                let findings = match migrate_core::postgres::Connector::new(url)
                    .ok()
                    .and_then(|c| c.connect().ok())
                {
                    Some(mut lint_client) => {
                        migrate_core::lint::postgres::lint_with(set, chosen, &mut lint_client)
                    }
                    None => migrate_core::lint::postgres::lint(set, chosen),
                };
                crate::cmd::up::refusals(findings)
            };
            let report = args
                .configure(runner)
                .before_apply(lint)
                .run_postgres(&mut client);
            (report, dry_run, Direction::Up)
        }
        Pg::Down(args) => {
            let target = args.target();
            let report = runner
                .dry_run(args.dry_run)
                .backup_to(args.backup)
                .down_postgres(&mut client, target);
            (report, args.dry_run, Direction::Down)
        }
        Pg::Redo(args) => {
            let report = runner
                .dry_run(args.dry_run)
                .backup_to(args.backup)
                .redo_postgres(&mut client);
            (report, args.dry_run, Direction::Down)
        }
        Pg::Status(args) => {
            let rows = runner.status_postgres(&mut client).map_err(at)?;
            let shown = shown(url);
            return Ok(print_status_rows(
                &rows,
                &args,
                std::path::Path::new(&shown),
                &table,
            )?);
        }
    };
    report::print(&report.map_err(at)?, dry_run, direction)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn a_password_is_never_shown() {
        assert_eq!(
            shown("postgres://app:s3cret@db/app"),
            "postgres://app:***@db/app"
        );
        assert_eq!(
            shown("postgresql://app@db/app?sslmode=disable&password=s3cret"),
            "postgresql://app@db/app?sslmode=disable&password=***"
        );
        assert_eq!(
            shown("postgresql:///app?host=/run/pg"),
            "postgresql:///app?host=/run/pg"
        );
        assert_eq!(shown("postgres://a:b:c@h:5432"), "postgres://a:***@h:5432");
    }
}
