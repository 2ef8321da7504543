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
    /// Also create the down migration (a `.down.sql` beside the file).
    /// Folders whose layout has downs (up/down pairs, diesel, dbmate,
    /// goose) always get one, in their own form.
    #[arg(long, short = 'r', conflicts_with_all = ["pragmas", "indexes"])]
    pub(crate) down: bool,
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
    #[arg(long, hide = true)]
    lock_wait: Option<u64>,
}

/// How the folder writes its SQL migrations, read from the files there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `0001_name.sql`, this tool's own (and refinery's, Flyway's).
    Plain,
    /// `0001_name.up.sql` and `0001_name.down.sql` (sqlx `-r`,
    /// golang-migrate).
    Pairs,
    /// `2024-01-31-120000_name/up.sql` and `down.sql` (diesel).
    Diesel,
    /// One file, `-- migrate:up` and `-- migrate:down` sections (dbmate).
    Dbmate,
    /// One file, `-- +goose Up` and `-- +goose Down` sections.
    Goose,
}

/// The style of the SQL files in `dir`: the layout their names say, and
/// for single files the section markers of the newest one.
fn style(dir: &std::path::Path) -> Style {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Style::Plain;
    };
    let mut newest: Option<(String, std::path::PathBuf)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() && path.join("up.sql").is_file() {
            return Style::Diesel;
        }
        // `.up.sql` names the pair layout; a `.down.sql` beside a plain
        // `.sql` (this tool's separate down) does not.
        if name.ends_with(".up.sql") {
            return Style::Pairs;
        }
        if name.ends_with(".down.sql") {
            continue;
        }
        if name.ends_with(".sql") && newest.as_ref().is_none_or(|(n, _)| *n < name) {
            newest = Some((name, path));
        }
    }
    let text = newest
        .and_then(|(_, path)| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    let marked = |marker: &str| {
        text.lines()
            .any(|l| l.trim().to_ascii_lowercase().replace(' ', "") == marker)
    };
    if marked("--migrate:up") {
        Style::Dbmate
    } else if marked("--+gooseup") {
        Style::Goose
    } else {
        Style::Plain
    }
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
    let style = if ext == "sql" {
        style(g.dir())
    } else {
        Style::Plain
    };
    let (up, down) = match style {
        _ if ext != "sql" => (template.replace("{name}", &name), None),
        Style::Dbmate | Style::Goose => ("\n".to_owned(), Some("\n".to_owned())),
        _ => (
            template.replace("{name}", &name),
            Some(format!("-- undo {name}\n")),
        ),
    };
    let down = down.filter(|_| args.down || style != Style::Plain);
    for path in next_migration(g.dir(), &name, ext, &up, down.as_deref())? {
        writeln!(io::stdout(), "{}", path.display())?;
    }
    Ok(0)
}

/// Writes the next migration of the folder `dir`, numbered after the
/// versions there and laid out as the folder's files are: `up` and, when
/// given, `down` (which the layouts with downs always take: an empty one
/// where none is given). Never overwrites a file. Returns the paths made.
pub(crate) fn next_migration(
    dir: &std::path::Path,
    name: &str,
    ext: &str,
    up: &str,
    down: Option<&str>,
) -> Result<Vec<std::path::PathBuf>, Failure> {
    if !dir.is_dir() {
        std::fs::create_dir_all(dir)?;
        eprintln!("note: created the folder {}", dir.display());
    }
    let (existing, flyway) = migrate_core::source::written_versions(dir)?;
    let existing: Vec<&str> = existing.iter().map(String::as_str).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let Some(version) = migrate_core::naming::next_version(&existing, now) else {
        return Err(Failure {
            code: 1,
            error: format!(
                "no version fits after the highest one in {} (the largest SQLite can store is {}); number the new file by hand",
                dir.display(),
                i64::MAX
            )
            .into(),
        });
    };
    let stem = if flyway {
        format!("V{version}__{name}")
    } else {
        format!("{version}_{name}")
    };
    let style = if ext == "sql" {
        style(dir)
    } else {
        Style::Plain
    };
    let down_text = down.unwrap_or("").to_owned();
    // One file with two sections takes its directives once, before both:
    // the scanner reads them only ahead of the first statement.
    let (one_file_up, one_file_down, head) = {
        const FK_OFF: &str = "-- migrate:foreign-keys-off\n";
        let needs = up.contains(FK_OFF) || down_text.contains(FK_OFF);
        (
            up.replacen(FK_OFF, "", 1),
            down_text.replacen(FK_OFF, "", 1),
            if needs { FK_OFF } else { "" },
        )
    };
    let files: Vec<(std::path::PathBuf, String)> = match style {
        _ if ext != "sql" => vec![(dir.join(format!("{stem}.{ext}")), up.to_owned())],
        Style::Plain => {
            let mut files = vec![(dir.join(format!("{stem}.sql")), up.to_owned())];
            if let Some(down) = down {
                files.push((dir.join(format!("{stem}.down.sql")), down.to_owned()));
            }
            files
        }
        Style::Pairs => vec![
            (dir.join(format!("{stem}.up.sql")), up.to_owned()),
            (dir.join(format!("{stem}.down.sql")), down_text),
        ],
        Style::Diesel => {
            // diesel's own names: `2024-01-31-120000_name`.
            let dashed = if version.len() == 14 {
                format!(
                    "{}-{}-{}-{}",
                    &version[..4],
                    &version[4..6],
                    &version[6..8],
                    &version[8..]
                )
            } else {
                version.clone()
            };
            let folder = dir.join(format!("{dashed}_{name}"));
            std::fs::create_dir(&folder).map_err(|e| Failure {
                code: 1,
                error: format!("cannot create {}: {e}", folder.display()).into(),
            })?;
            vec![
                (folder.join("up.sql"), up.to_owned()),
                (folder.join("down.sql"), down_text),
            ]
        }
        Style::Dbmate => vec![(
            dir.join(format!("{stem}.sql")),
            format!("{head}-- migrate:up\n{one_file_up}\n-- migrate:down\n{one_file_down}"),
        )],
        Style::Goose => vec![(
            dir.join(format!("{stem}.sql")),
            format!("{head}-- +goose Up\n{one_file_up}\n-- +goose Down\n{one_file_down}"),
        )],
    };
    let mut made = Vec::new();
    for (path, text) in files {
        // create_new: never overwrite, even if another process raced us here.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Failure {
                code: 1,
                error: format!("cannot create {}: {e}", path.display()).into(),
            })?;
        file.write_all(text.as_bytes())?;
        made.push(path);
    }
    Ok(made)
}
