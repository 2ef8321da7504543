//! The commands about migrations: `up`, `status`, `verify`, `new`.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use migrate_core::history::Table;
use migrate_core::plan::{State, StatusRow};
use migrate_core::rusqlite::Connection;
use migrate_core::{Migrations, Report};

use crate::{
    Failure, Global, NewArgs, StatusArgs, UpArgs, VerifyArgs, in_database, open, open_existing,
    style, usage,
};

pub(crate) fn up(
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

pub(crate) fn print_report(report: &Report, dry_run: bool) -> io::Result<()> {
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

pub(crate) fn status(
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

pub(crate) fn print_status(rows: &[StatusRow]) -> io::Result<()> {
    // One buffer, one write: a thousand rows are not a thousand writes.
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
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
    )?;
    out.flush()
}

pub(crate) fn print_status_json(
    rows: &[StatusRow],
    database: &Path,
    table: &Table,
) -> io::Result<()> {
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
    style::json(&mut io::stdout().lock(), &doc)
}

pub(crate) fn verify(
    g: &Global,
    set: &Migrations,
    table: Table,
    database: &Path,
    args: &VerifyArgs,
) -> Result<u8, Failure> {
    let conn = open_existing(database, g, set)?;
    // Verify only reads: SQLite itself refuses any write on this connection.
    conn.execute_batch("PRAGMA query_only = 1")?;
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
        style::json(&mut out, &doc)?;
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

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

const SQL_TEMPLATE: &str = "-- {name}\n-- Runs in one transaction; put `-- migrate:no-transaction` first for VACUUM and the like.\n\n";

const PRAGMAS_TEMPLATE: &str = "-- {name}: a pragma set, one `name = value` per line.\n-- preset safety | balanced | speed\n-- journal_mode = wal\n";

const INDEXES_TEMPLATE: &str = "-- {name}: an index set, one index per line.\n-- index on table (column, other_column desc)\n-- expect \"SELECT ... \" uses idx_table_column_other_column\n";

pub(crate) fn new(g: &Global, args: &NewArgs) -> Result<u8, Failure> {
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
    std::fs::create_dir_all(g.dir())?;
    let existing = migrate_core::source::written_versions(g.dir())?;
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
    let path = g.dir().join(format!("{version}_{name}.{ext}"));
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
