//! `schema`, `verify`, `baseline` and `repair` on PostgreSQL.
//!
//! The files are replayed into a scratch database made for the replay,
//! inside one transaction that is rolled back before the database is
//! dropped: nothing they do reaches the live database, and a scratch
//! database left by a killed process is dropped by the next replay. The
//! schema they make is read from the catalogue and compared with the live
//! one, read the same way.

use postgres::Client;

use super::run::check_expect;
use super::{PgFailure, Postgres, catalog, literal, pg_error};
use crate::adopt::Adoption;
use crate::backend::Backend;
use crate::bookkeeping::{Bookkeeping, Books, Marks, Mismatch};
use crate::dsl::indexes;
use crate::error::{Error, Failure};
use crate::history::Table;
use crate::introspect::{Change, Difference};
use crate::naming::Kind;
use crate::plan::HistoryRow;
use crate::runner::Runner;
use crate::schema::Object;
use crate::source::Migration;
use crate::sql::{PgReplay, quote_identifier};
use crate::verify::{ProblemKind, Verification, problem};
use crate::vocabulary::Tool;

/// The schema of `client`'s current schema as SQL, one object a
/// paragraph, in a fixed order, without the history table `without` when
/// given. Read from the catalogue in one read-only snapshot (the module
/// `catalog` lists what is read); no pg_dump is needed.
pub fn dump(client: &mut Client, without: Option<&Table>) -> Result<String, Error> {
    let (_, objects) = live_objects(client, without)?;
    Ok(crate::schema::paragraphs(&objects))
}

/// The current schema's name and objects (without the history table
/// `without`), read in one read-only snapshot.
fn live_objects(
    client: &mut Client,
    without: Option<&Table>,
) -> Result<(String, Vec<Object>), Error> {
    let live = current_schema(client)?;
    snapshot(client, &live)?;
    let objects = catalog::read(client, &live, without);
    super::send(client, "ROLLBACK").map_err(pg_error)?;
    Ok((live, objects.map_err(pg_error)?))
}

/// The schema unqualified names go to: the first of the `search_path`.
fn current_schema(client: &mut Client) -> Result<String, Error> {
    super::value(client, "SELECT current_schema()::text")
        .map_err(pg_error)?
        .ok_or_else(|| {
            Error::Postgres(PgFailure::new(
                "no schema is current: the search_path names none that exists",
            ))
        })
}

/// Begins a read-only transaction that sees one snapshot, with names of
/// `schema` unqualified.
fn snapshot(client: &mut Client, schema: &str) -> Result<(), Error> {
    client
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = {}",
            quote_identifier(schema)
        ))
        .map_err(pg_error)
}

/// The objects `migrations` make, replayed in order into a scratch
/// database made for it (from `template0`, with the live database's
/// encoding and locale, the live schema's name, and the extensions the
/// live database has that the files do not create), in a transaction that
/// is rolled back before the database is dropped. Nothing the files do can
/// reach the live database's objects: not a qualified name, a `setval`, an
/// advisory lock or a `NOTIFY`, all of which are per database. (What is
/// cluster-wide and transactional, a role, is rolled back; what is
/// neither, `dblink` or a server file write, is not contained: those have
/// no place in a migration.) `Ok(Err(why))` when the files do not replay,
/// or no scratch database can be made (the role needs CREATEDB, and the
/// runner a connector to open it: `Runner::lock_connection`).
fn replay(
    client: &mut Client,
    connector: Option<&super::Connector>,
    live: &str,
    migrations: &[&Migration],
    lock_timeout: std::time::Duration,
) -> Result<Result<Vec<Object>, String>, Error> {
    let Some(connector) = connector else {
        return Ok(Err(
            "the replay runs in a scratch database, and the runner has no connector to open one \
             (`Runner::lock_connection`)"
                .into(),
        ));
    };
    let may = super::value(
        client,
        "SELECT (rolcreatedb OR rolsuper)::text FROM pg_roles WHERE rolname = current_user",
    )
    .map_err(pg_error)?;
    if may.as_deref() != Some("true") {
        let role = super::value(client, "SELECT current_user::text")
            .map_err(pg_error)?
            .unwrap_or_default();
        return Ok(Err(format!(
            "the replay runs in a scratch database (so that nothing it does can touch this one), and role \
             `{role}` may not create databases: grant it CREATEDB, or verify as a role that has it"
        )));
    }
    // The session's own search_path (the snapshot that pinned it to the
    // live schema is over), as the files ran with it.
    let search_path = super::value(client, "SHOW search_path")
        .map_err(pg_error)?
        .unwrap_or_else(|| quote_identifier(live));
    let scratch = ScratchDb::create(client)?;
    let mut other = match connector.with_dbname(&scratch.name).connect() {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err(format!(
                "cannot connect to the scratch database {}: {}",
                scratch.name,
                PgFailure::from(e)
            )));
        }
    };
    let replayed = replay_in(
        &mut other,
        scratch.extensions(migrations),
        live,
        &search_path,
        migrations,
        lock_timeout,
    );
    let _ = super::send(&mut other, "ROLLBACK");
    drop(other);
    scratch.drop_with(client);
    Ok(replayed)
}

/// The replay itself, on the scratch database's connection.
fn replay_in(
    client: &mut Client,
    extensions: Vec<(String, String)>,
    live: &str,
    search_path: &str,
    migrations: &[&Migration],
    lock_timeout: std::time::Duration,
) -> Result<Vec<Object>, String> {
    // The schemas and extensions the live database has and the files do
    // not make (made by hand, or by the server's template) are made first;
    // then the files run with the live session's search_path.
    let made = created(migrations, "schema");
    let mut setup = format!(
        "BEGIN; SET LOCAL lock_timeout = {};",
        lock_timeout.as_millis()
    );
    if !made.contains(&live.to_lowercase()) {
        setup.push_str(&format!(
            " CREATE SCHEMA IF NOT EXISTS {};",
            quote_identifier(live)
        ));
    }
    for (name, schema) in extensions
        .iter()
        .filter(|(_, s)| !made.contains(&s.to_lowercase()))
    {
        setup.push_str(&format!(
            " CREATE SCHEMA IF NOT EXISTS {s}; CREATE EXTENSION IF NOT EXISTS {} SCHEMA {s};",
            quote_identifier(name),
            s = quote_identifier(schema)
        ));
    }
    setup.push_str(&format!(" SET LOCAL search_path = {search_path}"));
    client
        .batch_execute(&setup)
        .map_err(|e| format!("cannot set up the scratch database: {}", PgFailure::from(e)))?;
    replay_files(client, migrations)?;
    catalog::read(client, live, None).map_err(|e| format!("cannot read the replay: {e}"))
}

/// A database made for one replay, dropped after it.
struct ScratchDb {
    name: String,
    /// The live database's extensions: name and schema.
    extensions: Vec<(String, String)>,
}

impl ScratchDb {
    /// Makes it, named by this session's server process; first drops the
    /// scratch databases of earlier replays whose process is gone (killed
    /// before it dropped its own).
    fn create(client: &mut Client) -> Result<ScratchDb, Error> {
        let stale = super::rows(
            client,
            "SELECT datname FROM pg_database WHERE datname LIKE 'migrate\\_replay\\_%' \
             AND split_part(datname, '_', 3)::int NOT IN (SELECT pid FROM pg_stat_activity) \
             AND pg_get_userbyid(datdba) = current_user",
        )
        .unwrap_or_default();
        for name in stale
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
        {
            let _ = super::send(
                client,
                &format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_identifier(&name)
                ),
            );
        }
        let info = super::rows(
            client,
            "SELECT pg_backend_pid()::text, pg_encoding_to_char(encoding), datcollate, datctype, \
                    to_jsonb(d) ->> 'datlocprovider', \
                    coalesce(to_jsonb(d) ->> 'daticulocale', to_jsonb(d) ->> 'datlocale') \
             FROM pg_database AS d WHERE datname = current_database()",
        )
        .map_err(pg_error)?;
        let row = info.into_iter().next().unwrap_or_default();
        let get = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "migrate_replay_{}_{}",
            get(0),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut sql = format!(
            "CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}",
            quote_identifier(&name),
            literal(&get(1)),
            literal(&get(2)),
            literal(&get(3))
        );
        if get(4) == "i" {
            sql.push_str(&format!(
                " LOCALE_PROVIDER icu ICU_LOCALE {}",
                literal(&get(5))
            ));
        }
        super::send(client, &sql).map_err(pg_error)?;
        let extensions = super::rows(
            client,
            "SELECT e.extname::text, n.nspname::text FROM pg_extension AS e \
             JOIN pg_namespace AS n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'",
        )
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            let mut r = r.into_iter();
            Some((r.next().flatten()?, r.next().flatten()?))
        })
        .collect();
        Ok(ScratchDb { name, extensions })
    }

    /// The live database's extensions the files do not create themselves
    /// (a `CREATE EXTENSION` of theirs would find it there and fail).
    fn extensions(&self, migrations: &[&Migration]) -> Vec<(String, String)> {
        let created = created(migrations, "extension");
        self.extensions
            .iter()
            .filter(|(name, _)| !created.contains(&name.to_ascii_lowercase()))
            .cloned()
            .collect()
    }

    fn drop_with(self, client: &mut Client) {
        let _ = super::send(
            client,
            &format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_identifier(&self.name)
            ),
        );
    }
}

/// The names the SQL files create objects of `kind` by (`CREATE EXTENSION
/// [IF NOT EXISTS] name`, `CREATE SCHEMA …`), lowercased.
fn created(migrations: &[&Migration], kind: &str) -> Vec<String> {
    let mut found = Vec::new();
    for m in migrations.iter().filter(|m| m.kind == Kind::Sql) {
        let Ok(script) = m.script() else { continue };
        for s in &script.statements {
            let words = crate::sql::tokens(s.text(&m.text));
            let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
            if lower.first().map(String::as_str) == Some("create")
                && lower.get(1).map(String::as_str) == Some(kind)
            {
                let skip = if lower.get(2).map(String::as_str) == Some("if") {
                    5
                } else {
                    2
                };
                if let Some(name) = words.get(skip) {
                    let name = name.trim_matches('"');
                    found.push(name.to_ascii_lowercase());
                }
            }
        }
    }
    found
}

/// Runs the files' statements in the open transaction; the first failure
/// at its file and line.
fn replay_files(client: &mut Client, migrations: &[&Migration]) -> Result<(), String> {
    for m in migrations {
        let at = |line: u32, e: &dyn std::fmt::Display| format!("{}:{line}: {e}", m.file);
        match m.kind {
            Kind::Indexes => {
                let set = indexes::parse(&m.text)
                    .map_err(|e| at(e.first().map_or(1, |e| e.line), &"not a valid index set"))?;
                for index in &set.indexes {
                    client
                        .batch_execute(&index.sql())
                        .map_err(|e| at(index.line, &PgFailure::from(e)))?;
                }
            }
            Kind::Pragmas => return Err(at(1, &"a pragma set (PRAGMA is SQLite's)")),
            Kind::Sql => {
                let script = m.script().map_err(|e| at(e.line, &e))?;
                for s in &script.statements {
                    let text = s.text(&m.text);
                    match crate::sql::pg_replay_form(text) {
                        PgReplay::Run(sql) => super::send(client, &sql).map_err(|e| {
                            let failure = PgFailure::from(e);
                            at(super::line_of(&sql, s.line, &failure), &failure)
                        })?,
                        PgReplay::Skip => {}
                        PgReplay::Refuse => {
                            return Err(at(
                                s.line,
                                &"acts outside the schema (a database, a tablespace, the server's \
                                  settings), so it cannot be replayed",
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// How `live` differs from `want`, object by object. Extensions belong to
/// the whole database, so a replay cannot make them: they are left out,
/// and so are other tools' history tables (kept by `adopt`) and the
/// indexes `skip_index` names.
fn differences(
    live: &[Object],
    want: &[Object],
    skip_index: impl Fn(&str) -> bool,
) -> Vec<Difference> {
    let compared = |o: &&Object| {
        o.kind != "extension"
            && !(o.kind == "index" && skip_index(&o.name))
            && !crate::history::is_other_tools(&o.table)
    };
    let key = |o: &Object| (o.kind.clone(), o.name.clone());
    let mut found = Vec::new();
    for w in want.iter().filter(compared) {
        match live.iter().find(|o| key(o) == key(w)) {
            None => found.push(Difference::Missing {
                kind: w.kind.clone(),
                name: w.name.clone(),
            }),
            Some(h) if h.sql != w.sql => found.push(Difference::Changed {
                kind: w.kind.clone(),
                name: w.name.clone(),
                changes: changes(h, w),
                live: h.sql.clone(),
                want: w.sql.clone(),
            }),
            Some(_) => {}
        }
    }
    for h in live.iter().filter(compared) {
        if !want.iter().any(|w| key(w) == key(h)) {
            found.push(Difference::Extra {
                kind: h.kind.clone(),
                name: h.name.clone(),
            });
        }
    }
    found
}

/// What differs in a table (its column and constraint lines, as the
/// catalogue read writes them), or its definition for any other object.
fn changes(live: &Object, want: &Object) -> Vec<Change> {
    if live.kind != "table" {
        return vec![Change::Definition];
    }
    let body = |sql: &str| -> (Vec<(String, String)>, Vec<String>) {
        let mut columns = Vec::new();
        let mut constraints = Vec::new();
        for line in sql.lines().filter(|l| l.starts_with("  ")) {
            let line = line.trim().trim_end_matches(',');
            if line.starts_with("CONSTRAINT ") {
                constraints.push(line.to_owned());
            } else {
                columns.push((column_name(line), line.to_owned()));
            }
        }
        (columns, constraints)
    };
    let (have, have_constraints) = body(&live.sql);
    let (wanted, want_constraints) = body(&want.sql);
    let mut out = Vec::new();
    for (name, line) in &wanted {
        match have.iter().find(|(n, _)| n == name) {
            None => out.push(Change::ColumnMissing(name.clone())),
            Some((_, l)) if l != line => out.push(Change::Column {
                name: name.clone(),
                live: l.clone(),
                want: line.clone(),
            }),
            Some(_) => {}
        }
    }
    for (name, _) in &have {
        if !wanted.iter().any(|(n, _)| n == name) {
            out.push(Change::ColumnAdded(name.clone()));
        }
    }
    if have_constraints != want_constraints {
        out.push(Change::Constraints);
    }
    if out.is_empty() {
        // The same columns in another order, or another table option.
        out.push(Change::Definition);
    }
    out
}

/// The column name a column line starts with (quoted or not).
fn column_name(line: &str) -> String {
    if let Some(rest) = line.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    break;
                }
            }
            name.push(c);
        }
        return name;
    }
    line.split(' ').next().unwrap_or_default().to_owned()
}

/// The names of the indexes that the applied index sets make.
fn set_indexes(applied: &[&Migration]) -> Vec<(usize, indexes::Index)> {
    applied
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind == Kind::Indexes)
        .filter_map(|(i, m)| indexes::parse(&m.text).ok().map(|s| (i, s)))
        .flat_map(|(i, s)| s.indexes.into_iter().map(move |x| (i, x)))
        .collect()
}

impl Runner<'_> {
    /// Verifies a PostgreSQL database against the set: the checksums of
    /// applied files; drift, by replaying the applied files into a scratch
    /// database (needs CREATEDB, and the connector of
    /// [`Runner::lock_connection`]) and comparing what the catalogue says
    /// of both; every index of every applied index set,
    /// with its definition; every `expect` line. Changes nothing.
    pub fn verify_postgres(&self, client: &mut Client) -> Result<Verification, Error> {
        // The history, the live schema and the plans, in one snapshot.
        let db_table = super::pg_history(client, self.history_table())?;
        let mut db = self.postgres(client)?;
        let live = current_schema(db.client)?;
        snapshot(db.client, &live)?;
        // Dropped on any way out, the backend rolls the snapshot back.
        db.open = true;
        // Asked first: reading a table that is not there would abort the
        // snapshot's transaction.
        let history = if db.history_exists().map_err(pg_error)? {
            Backend::history(&mut db)?
        } else {
            Vec::new()
        };
        let live_objects = catalog::read(db.client, &live, Some(&db_table)).map_err(pg_error)?;
        let invalid = super::invalid_indexes(db.client, Some(&live)).map_err(pg_error)?;
        let (mut v, applied, unknown) = crate::verify::check_history(self.set(), &history);
        for (_, index) in invalid {
            v.problems
                .push(problem(None, None, ProblemKind::InvalidIndex { index }));
        }
        let from_sets = set_indexes(&applied);
        let plans =
            crate::runner::failed_expects(applied.iter().copied(), |e| check_expect(db.client, e));
        drop(db);

        let (lock_timeout, _) = self.timeouts();
        // Drift, and the index sets' indexes (compared with the replay's),
        // are checked only when every applied file is as it ran.
        let replayed = if unknown.is_empty() {
            Some(replay(
                client,
                self.lock_config(),
                &live,
                &applied,
                lock_timeout,
            )?)
        } else {
            let kind = ProblemKind::DriftUnknown { versions: unknown };
            v.problems.push(problem(None, None, kind));
            None
        };
        match replayed {
            None => {}
            Some(Ok(want)) => {
                let named = |name: &str| from_sets.iter().any(|(_, i)| i.name == name);
                v.problems.extend(
                    differences(&live_objects, &want, named)
                        .into_iter()
                        .map(|d| problem(None, None, ProblemKind::Drift(d))),
                );
                for (i, index) in &from_sets {
                    let find = |objects: &[Object]| {
                        objects
                            .iter()
                            .find(|o| o.kind == "index" && o.name == index.name)
                            .map(|o| o.sql.clone())
                    };
                    let existing = find(&live_objects);
                    if existing.is_some() && existing == find(&want) {
                        continue;
                    }
                    let kind = ProblemKind::Index {
                        index: index.name.clone(),
                        existing,
                        wanted: index.sql(),
                    };
                    v.problems
                        .push(problem(Some(applied[*i]), Some(index.line), kind));
                }
            }
            Some(Err(why)) => v
                .problems
                .push(problem(None, None, ProblemKind::NotReplayed(why))),
        }
        v.problems
            .extend(plans.into_iter().map(crate::verify::Problem::from));
        Ok(v)
    }

    /// [`Runner::baseline`] on PostgreSQL: records every migration up to
    /// and including `version` as applied, without running them, when the
    /// live schema is the one those files make (replayed as
    /// [`Runner::verify_postgres`] replays them).
    pub fn baseline_postgres(
        &self,
        client: &mut Client,
        version: u64,
    ) -> Result<Bookkeeping, Error> {
        self.check_set(crate::sql::Dialect::Postgres)?;
        self.baseline_in(&mut PgBooks(client), version)
    }

    /// [`Runner::repair`] on PostgreSQL.
    pub fn repair_postgres(&self, client: &mut Client) -> Result<Bookkeeping, Error> {
        self.check_set(crate::sql::Dialect::Postgres)?;
        self.repair_in(&mut PgBooks(client))
    }
}

/// A PostgreSQL client's history.
pub(super) struct PgBooks<'c>(pub(super) &'c mut Client);

impl Books for PgBooks<'_> {
    fn catalog(&mut self) -> &mut dyn crate::backend::Catalog {
        &mut *self.0
    }

    fn history(&mut self, runner: &Runner) -> Result<Vec<HistoryRow>, Error> {
        Backend::history(&mut runner.postgres(self.0)?)
    }

    fn mismatch(
        &mut self,
        runner: &Runner,
        chosen: &[&Migration],
        _pragmas: bool,
    ) -> Result<Mismatch, Error> {
        let table = super::pg_history(self.0, runner.history_table())?;
        let (live, objects) = live_objects(self.0, Some(&table))?;
        let (lock_timeout, _) = runner.timeouts();
        let want = replay(self.0, runner.lock_config(), &live, chosen, lock_timeout)?
            .map_err(Error::NotReplayed)?;
        Ok(Mismatch {
            differences: differences(&objects, &want, |_| false),
            pragmas: Vec::new(),
        })
    }

    fn write(
        &mut self,
        runner: &Runner,
        write: &mut dyn FnMut(&mut dyn Marks) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut db = runner.postgres(self.0)?;
        let failed = |cause| Error::History {
            version: None,
            cause,
        };
        db.begin().map_err(failed)?;
        write(&mut db)?;
        db.commit().map_err(failed)
    }
}

impl Marks for Postgres<'_> {
    fn catalog(&mut self) -> &mut dyn crate::backend::Catalog {
        Postgres::catalog(self)
    }

    fn rows(&mut self) -> Result<Vec<HistoryRow>, Error> {
        // Asked first: a missing table's error would abort the transaction.
        if !self.history_exists().map_err(|e| Error::History {
            version: None,
            cause: super::pg(e),
        })? {
            return Ok(Vec::new());
        }
        Backend::history(self)
    }

    fn record_marked(
        &mut self,
        m: &Migration,
        origin: &str,
        applied_at: Option<&str>,
    ) -> Result<(), Failure> {
        self.create_history()?;
        let down = m.down_checksum();
        if down.is_some() {
            self.create_down_column()?;
        }
        let at = applied_at.map_or_else(
            || "clock_timestamp()".to_owned(),
            |t| format!("{}::timestamptz", literal(t)),
        );
        let sql = format!(
            "INSERT INTO {} (version, name, kind, checksum, applied_at, duration_ms, origin{}) \
             VALUES ({}, {}, {}, {}, {at}, 0, {}{})",
            self.table,
            if down.is_some() {
                ", down_checksum"
            } else {
                ""
            },
            m.version as i64,
            literal(&m.name),
            literal(m.kind.as_str()),
            literal(&m.checksum),
            literal(origin),
            down.map_or_else(String::new, |d| format!(", {}", literal(&d))),
        );
        self.one_row(&sql)
    }

    fn set_checksum(&mut self, version: u64, checksum: &str) -> Result<(), Failure> {
        let sql = format!(
            "UPDATE {} SET checksum = {} WHERE version = {}",
            self.table,
            literal(checksum),
            version as i64
        );
        self.one_row(&sql)
    }

    fn set_down_checksum(&mut self, version: u64, checksum: Option<&str>) -> Result<(), Failure> {
        let sql = format!(
            "UPDATE {} SET down_checksum = {} WHERE version = {}",
            self.table,
            checksum.map_or_else(|| "NULL".to_owned(), literal),
            version as i64
        );
        self.one_row(&sql)
    }
}

impl Postgres<'_> {
    /// Runs `sql`, which must change exactly one row.
    pub(super) fn one_row(&mut self, sql: &str) -> Result<(), Failure> {
        if self.changed(sql)? == 1 {
            Ok(())
        } else {
            Err(self.not_written())
        }
    }
}

impl Runner<'_> {
    /// [`Runner::adopt`] on PostgreSQL: takes over a database that
    /// refinery, sqlx, diesel, goose, golang-migrate, dbmate or Flyway
    /// manages (its table in the current schema), when the files it
    /// applied make the live schema (replayed as
    /// [`Runner::verify_postgres`] replays them).
    pub fn adopt_postgres(
        &self,
        client: &mut Client,
        from: Option<Tool>,
    ) -> Result<Adoption, Error> {
        self.check_set(crate::sql::Dialect::Postgres)?;
        self.adopt_in(&mut PgBooks(client), from)
    }
}

#[cfg(test)]
mod tests {
    use super::column_name;

    #[test]
    fn column_names_are_read_quoted_or_not() {
        assert_eq!(column_name("id bigint NOT NULL"), "id");
        assert_eq!(column_name("\"a \"\"b\"\" c\" text"), "a \"b\" c");
    }
}
