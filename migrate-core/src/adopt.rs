//! `adopt`: take over a database that another migration tool manages.
//!
//! The other tool's history says which versions it applied. Each must have
//! a file here; those files are replayed into an empty in-memory database
//! and the schema they make is compared with the live one (the comparison
//! `verify` and `baseline` make). Only when nothing differs is this tool's
//! history written, in one transaction, each row marked with the tool it
//! came from. The other tool's history is never changed; when it holds the
//! name this tool's history needs (golang-migrate and dbmate also call
//! theirs `schema_migrations`), it is renamed, and the report says to what.

use std::collections::BTreeMap;
use std::fmt;

use crate::backend::Catalog;
use crate::bookkeeping::Books;
use crate::error::Error;
use crate::runner::Runner;
use crate::source::Migration;

pub use crate::vocabulary::Tool;

pub use crate::error::AdoptError;

/// What `adopt` recorded (in a dry run: would record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// The tool adopted from.
    pub tool: Tool,
    /// Where its history was read: a table, or `PRAGMA user_version = N`.
    pub source: String,
    /// The migrations recorded as applied, in the set's order.
    pub recorded: Vec<Adopted>,
    /// What became of the other tool's history.
    pub kept: Kept,
}

/// One migration recorded by `adopt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    /// Its version.
    pub version: u64,
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// When the other tool applied it, as that tool wrote it (`None` when
    /// it kept no time: golang-migrate, dbmate, `user_version`).
    pub applied_at: Option<String>,
}

/// The other tool's history after `adopt`: always still there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Its table, as it was.
    Table(String),
    /// Its table, renamed because this tool's history takes its name.
    Renamed {
        /// The name it had (this tool's history has it now).
        from: String,
        /// The name it has now.
        to: String,
    },
    /// `PRAGMA user_version`, left as it was.
    UserVersion(i64),
}

impl fmt::Display for Kept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kept::Table(t) => write!(f, "`{t}`, unchanged"),
            Kept::Renamed { from, to } => write!(
                f,
                "`{to}` (renamed from `{from}`, the name this tool's history takes), rows unchanged"
            ),
            Kept::UserVersion(v) => write!(f, "PRAGMA user_version = {v}, unchanged"),
        }
    }
}

/// The versions a tool applied, each with the time it kept.
type Applied = BTreeMap<u64, Option<String>>;

impl Runner<'_> {
    /// [`Runner::adopt`] wherever `books` keep the history.
    pub(crate) fn adopt_in(
        &self,
        books: &mut dyn Books,
        from: Option<Tool>,
    ) -> Result<Adoption, Error> {
        let ours = self.history_table();
        // A history of this tool's first: adopting twice would record twice.
        // (A table of our name with another tool's columns is that tool's.)
        if is_ours(&books.catalog().columns_of(ours.name())?) {
            let rows = books.history(self)?;
            if !rows.is_empty() {
                return Err(Error::AlreadyManaged {
                    applied: rows.len(),
                });
            }
        }
        let tool = detect(books.catalog(), from)?;
        let collides = tool
            .table()
            .is_some_and(|t| t.eq_ignore_ascii_case(ours.name()));
        let set = self.set().as_slice();
        let applied = read_applied(books.catalog(), tool, set)?;
        let mut chosen: Vec<&Migration> = Vec::new();
        let mut recorded = Vec::new();
        for &version in applied.keys() {
            if !set.iter().any(|m| m.version == version) {
                return Err(AdoptError::NoFile { tool, version }.into());
            }
        }
        for m in set.iter().filter(|m| applied.contains_key(&m.version)) {
            chosen.push(m);
            recorded.push(Adopted {
                version: m.version,
                name: m.name.to_string(),
                file: m.file.to_string(),
                applied_at: applied[&m.version].clone(),
            });
        }
        let (source, kept) = match tool.table() {
            None => {
                let v = books.catalog().user_version()?;
                (format!("PRAGMA user_version = {v}"), Kept::UserVersion(v))
            }
            Some(table) if collides => {
                let kept = tool.kept_name(table);
                if books.catalog().table_exists(&kept)? {
                    return Err(AdoptError::KeptNameTaken {
                        tool,
                        table: table.to_owned(),
                        kept,
                    }
                    .into());
                }
                let to = kept;
                (
                    format!("`{table}`"),
                    Kept::Renamed {
                        from: table.to_owned(),
                        to,
                    },
                )
            }
            Some(table) => (format!("`{table}`"), Kept::Table(table.to_owned())),
        };
        books.mismatch(self, &chosen, true)?.refuse("adopt")?;
        let done = Adoption {
            tool,
            source,
            recorded,
            kept,
        };
        if self.is_dry_run() {
            return Ok(done);
        }
        books.write(self, &mut |db| {
            // Under the lock: neither history may have moved since it was
            // read.
            let changed = read_applied(db.catalog(), tool, set)? != applied
                || (!collides && !db.rows()?.is_empty());
            if changed {
                return Err(Error::ChangedMeanwhile { version: None });
            }
            if let Kept::Renamed { from, to } = &done.kept {
                db.catalog()
                    .rename(from, to)
                    .map_err(|cause| Error::History {
                        version: None,
                        cause,
                    })?;
            }
            for (m, row) in chosen.iter().zip(&done.recorded) {
                db.record_marked(m, tool.name(), row.applied_at.as_deref())
                    .map_err(|cause| Error::History {
                        version: Some(m.version),
                        cause,
                    })?;
            }
            Ok(())
        })?;
        Ok(done)
    }
}

/// Whether a table with these columns is this tool's history.
fn is_ours(columns: &[String]) -> bool {
    ["version", "kind", "checksum"]
        .iter()
        .all(|c| columns.iter().any(|have| have == c))
}

/// The first tool (by table) whose history here has applied migrations,
/// or that left one half-done. `PRAGMA user_version` is not asked: apps
/// set it for their own reasons.
pub(crate) fn managed_by(
    conn: &mut dyn Catalog,
    set: &[Migration],
    ours: &str,
) -> Result<Option<Tool>, Error> {
    let tables: Vec<&str> = Tool::ALL.iter().filter_map(|t| t.table()).collect();
    if !conn.any_table(&tables)? {
        // The common case, a database no tool has touched: one question.
        return Ok(None);
    }
    // Once this tool's history table is here (adopt made it, or a run
    // did), the database is this tool's, even with every row reverted. A
    // table of that name with another tool's columns is that tool's.
    if is_ours(&conn.columns_of(ours)?) {
        return Ok(None);
    }
    for tool in Tool::ALL.into_iter().filter(|t| t.table().is_some()) {
        if !tool.has_shape(&conn.columns_of(tool.table().unwrap_or_default())?) {
            continue;
        }
        match read_applied(conn, tool, set) {
            Ok(applied) if applied.is_empty() => {}
            Ok(_) | Err(Error::Adopt(_)) => return Ok(Some(tool)),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// The tool whose history is here: `from`, checked, or the only one found.
fn detect(conn: &mut dyn Catalog, from: Option<Tool>) -> Result<Tool, Error> {
    if conn.table_exists("ar_internal_metadata")? {
        return Err(AdoptError::Rails.into());
    }
    let mut found = Vec::new();
    for tool in Tool::ALL {
        let present = match tool.table() {
            Some(table) => tool.has_shape(&conn.columns_of(table)?),
            None => conn.user_version()? > 0,
        };
        if present {
            found.push(tool);
        }
    }
    let Some(tool) = from else {
        // `user_version` is only the answer when no tool's table is here:
        // the tools that keep a table may also set it, and so may apps.
        let tables: Vec<Tool> = found
            .iter()
            .copied()
            .filter(|t| t.table().is_some())
            .collect();
        return match (tables.as_slice(), found.as_slice()) {
            ([one], _) => Ok(*one),
            ([], [Tool::UserVersion]) => Ok(Tool::UserVersion),
            ([], _) => Err(AdoptError::NothingToAdopt.into()),
            (several, _) => Err(AdoptError::Several {
                found: several
                    .iter()
                    .map(|t| format!("{t} in `{}`", t.table().unwrap_or_default()))
                    .collect(),
            }
            .into()),
        };
    };
    if found.contains(&tool) {
        return Ok(tool);
    }
    let Some(table) = tool.table() else {
        return Err(AdoptError::NotFound {
            tool,
            looked: "PRAGMA user_version is 0".into(),
        }
        .into());
    };
    let columns = conn.columns_of(table)?;
    if columns.is_empty() {
        return Err(AdoptError::NotFound {
            tool,
            looked: format!("no table `{table}`"),
        }
        .into());
    }
    Err(AdoptError::Shape {
        tool,
        table: table.to_owned(),
        expected: tool.columns().iter().map(|c| c.to_string()).collect(),
        columns,
    }
    .into())
}

/// The versions `tool` applied, with the times it kept, as it decides
/// them: golang-migrate's one version and Flyway's baseline cover every
/// version up to theirs, and `user_version` counts the set's first
/// migrations.
fn read_applied(conn: &mut dyn Catalog, tool: Tool, set: &[Migration]) -> Result<Applied, Error> {
    let mut applied = Applied::new();
    let table = tool.table().unwrap_or_default();
    let version = |v: &Option<String>| parse_version(table, v.as_deref());
    let up_to = |applied: &mut Applied, last: u64, at: &Option<String>| {
        for m in set.iter().filter(|m| m.version <= last) {
            applied.insert(m.version, at.clone());
        }
    };
    match tool {
        Tool::UserVersion => {
            let count = conn.user_version()?;
            let n = usize::try_from(count).unwrap_or(usize::MAX);
            if n > set.len() {
                return Err(AdoptError::TooFewFiles {
                    user_version: count,
                    files: set.len(),
                }
                .into());
            }
            for m in &set[..n] {
                applied.insert(m.version, None);
            }
        }
        Tool::GolangMigrate => {
            // One row, read as golang-migrate reads it.
            let rows = conn.rows("SELECT version, dirty FROM schema_migrations LIMIT 1")?;
            let row = rows
                .first()
                .map(|r| (version(&r[0]), truthy(r[1].as_deref())));
            if let Some((last, dirty)) = row {
                let last = last?;
                if dirty {
                    return Err(AdoptError::Dirty { version: last }.into());
                }
                if !set.iter().any(|m| m.version == last) {
                    return Err(AdoptError::NoFile {
                        tool,
                        version: last,
                    }
                    .into());
                }
                up_to(&mut applied, last, &None);
            }
        }
        _ => {
            let sql = match tool {
                Tool::Refinery => {
                    "SELECT version, applied_on, 1, 'SQL' FROM refinery_schema_history"
                }
                Tool::Sqlx => {
                    "SELECT version, installed_on, success, 'SQL' FROM _sqlx_migrations ORDER BY version"
                }
                Tool::Diesel => "SELECT version, run_on, 1, 'SQL' FROM __diesel_schema_migrations",
                // Each row is an up (is_applied) or a down, in order: the
                // latest row of a version says where it stands. Version 0
                // is the row goose writes when it makes its table.
                Tool::Goose => {
                    "SELECT version_id, tstamp, 1, CASE WHEN is_applied THEN 'SQL' ELSE 'DOWN' END \
                     FROM goose_db_version WHERE version_id <> 0 ORDER BY id"
                }
                Tool::Dbmate => "SELECT version, NULL, 1, 'SQL' FROM schema_migrations",
                // Repeatable migrations have no version; an undo or a
                // deleted row takes its version back.
                Tool::Flyway => {
                    "SELECT version, installed_on, success, type FROM flyway_schema_history \
                     WHERE version IS NOT NULL ORDER BY installed_rank"
                }
                Tool::UserVersion | Tool::GolangMigrate => unreachable!("read above"),
            };
            for r in conn.rows(sql)? {
                let v = version(&r[0])?;
                let at = r[1].clone();
                if !truthy(r[2].as_deref()) {
                    return Err(AdoptError::Failed { tool, version: v }.into());
                }
                let kind = r[3].as_deref().unwrap_or_default().to_ascii_uppercase();
                match kind.as_str() {
                    "BASELINE" => up_to(&mut applied, v, &at),
                    "DOWN" | "UNDO_SQL" | "DELETE" => {
                        applied.remove(&v);
                    }
                    _ => {
                        applied.insert(v, at);
                    }
                }
            }
        }
    }
    Ok(applied)
}

/// A version as a tool wrote it: an integer, or text of digits (diesel's
/// and dbmate's).
fn parse_version(table: &str, value: Option<&str>) -> Result<u64, Error> {
    let text = value.unwrap_or("NULL");
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(table, text));
    }
    digits.parse().map_err(|_| bad(table, text))
}

fn bad(table: &str, value: &str) -> Error {
    AdoptError::BadVersion {
        table: table.to_owned(),
        value: value.to_owned(),
    }
    .into()
}

/// A boolean as the tools store it: 1/0, `true`/`false` as text, or
/// PostgreSQL's `t`/`f`.
fn truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "0.0" | "false" | "f" | ""
        )
    })
}
