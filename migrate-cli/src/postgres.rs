//! The commands that run on PostgreSQL: `--database postgres://…` (or
//! `postgresql://`, here or in `DATABASE_URL`) selects it. `up`, `down`,
//! `redo` and `status` run there; the others say they do not yet.

use migrate_core::Migrations;
use migrate_core::history::Table;
use migrate_core::naming::Direction;
use migrate_core::sql::Dialect;
use postgres::{Client, NoTls};

use crate::cmd::status::{print_status, print_status_json};
use crate::{Command, Failure, Global, report, usage};

/// Whether `database` names a PostgreSQL server.
pub(crate) fn is_url(database: &str) -> bool {
    let lower = database.to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with its password replaced, for messages: the one after the user
/// name, and a `password=` parameter.
fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{name}:***@{host}")
        }
        _ => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Runs `command` on the PostgreSQL server at `url`.
pub(crate) fn run(g: &Global, url: &str, command: Command) -> Result<u8, Failure> {
    let name = match &command {
        Command::Up(_) | Command::Status(_) | Command::Down(_) | Command::Redo(_) => None,
        Command::Adopt(_) => Some("adopt"),
        Command::Baseline(_) => Some("baseline"),
        Command::Repair(_) => Some("repair"),
        Command::Verify(_) => Some("verify"),
        Command::Schema(_) => Some("schema"),
        Command::New(_) | Command::Completions { .. } => None,
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
    if let Some(name) = name {
        return Err(usage(format!(
            "`{name}` does not run on PostgreSQL yet; `up`, `down`, `redo` and `status` do"
        )));
    }
    let table = Table::new(&g.table).map_err(|e| usage(e.to_string()))?;
    let set = Migrations::from_dir_in(g.dir(), Dialect::Postgres)?;
    let mut client = Client::connect(url, NoTls).map_err(|e| Failure {
        code: 1,
        error: format!(
            "cannot connect to PostgreSQL at {}: {e} (TLS is not supported yet: use a local socket, \
             `sslmode=disable`, or a tunnel)",
            shown(url)
        )
        .into(),
    })?;
    let runner = set
        .runner()
        .table(table.clone())
        .lock_timeout(std::time::Duration::from_millis(g.lock_timeout));
    let at = |e: migrate_core::Error| Failure {
        code: 1,
        error: format!("{}: {e}", shown(url)).into(),
    };
    match command {
        Command::Up(args) => {
            let report = runner
                .target(args.to)
                .dry_run(args.dry_run)
                .atomic(args.atomic)
                .allow_missing(args.allow_missing)
                .allow_out_of_order(args.allow_out_of_order)
                .backup_to(args.backup)
                .run_postgres(&mut client)
                .map_err(at)?;
            report::print(&report, args.dry_run, Direction::Up)?;
            Ok(0)
        }
        Command::Down(args) => {
            let target = match (args.to, args.steps) {
                (Some(v), _) => migrate_core::plan::DownTarget::To(v),
                (None, n) => migrate_core::plan::DownTarget::Steps(n.unwrap_or(1)),
            };
            let report = runner
                .dry_run(args.dry_run)
                .backup_to(args.backup)
                .down_postgres(&mut client, target)
                .map_err(at)?;
            report::print(&report, args.dry_run, Direction::Down)?;
            Ok(0)
        }
        Command::Redo(args) => {
            let report = runner
                .dry_run(args.dry_run)
                .backup_to(args.backup)
                .redo_postgres(&mut client)
                .map_err(at)?;
            report::print(&report, args.dry_run, Direction::Down)?;
            Ok(0)
        }
        Command::Status(args) => {
            let rows = runner.status_postgres(&mut client).map_err(at)?;
            if args.json {
                print_status_json(&rows, std::path::Path::new(&shown(url)), &table)?;
            } else {
                print_status(&rows)?;
            }
            let clean = rows.iter().all(|r| r.state == migrate_core::State::Applied);
            Ok(if args.exit_code && !clean { 3 } else { 0 })
        }
        _ => unreachable!("refused above"),
    }
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
