//! PostgreSQL (the `postgres` feature): [`Connector`] opens connections as
//! libpq does (TLS included), [`dump`] reads a schema from the catalogue,
//! [`transfer`] copies a SQLite database over; the runner's PostgreSQL
//! entry points are on [`Runner`](crate::Runner) (`run_postgres`,
//! `down_postgres`, `verify_postgres`, …).
//!
//! Inside, the PostgreSQL backend: the step pipeline's seam on a sync
//! `postgres::Client`.
//!
//! Locking, as the peers get it wrong:
//! - Each step takes a **transaction-scoped** advisory lock
//!   (`pg_try_advisory_xact_lock`) and re-reads the history under it, so a
//!   lock never outlives the transaction, whatever fails, and works
//!   through PgBouncer's transaction pooling.
//! - The lock is taken by **polling** a try-lock, each attempt in a short
//!   transaction of its own: a runner that waits holds no snapshot, so a
//!   `CREATE INDEX CONCURRENTLY` of another runner (which waits for every
//!   transaction that could see the old table) never waits for it.
//! - A no-transaction step's lock is held from the re-read until its
//!   history row is written by a transaction of a second connection
//!   (`Runner::lock_connection`), handed over with no gap; without one, by
//!   a **session** lock. Either is released on every path.
//! - `lock_timeout` is set for each step once the advisory lock is held: a
//!   migration that waits for a busy table gives up instead of stalling all
//!   traffic queued behind its lock.

mod adopt;
mod catalog;
mod connect;
mod conninfo;
mod run;
pub mod transfer;
mod verify;

/// A PostgreSQL failure as the runner reports it (the backend-neutral
/// [`ServerFailure`](crate::error::ServerFailure), made from the client's
/// errors here).
pub use crate::error::ServerFailure as PgFailure;
pub use connect::{ConnectError, Connector, SslMode};
pub use conninfo::{masked, passwords};
/// The client type [`Connector::connect`] returns and the PostgreSQL
/// entry points of [`Runner`](crate::Runner) take (the sync `postgres`
/// crate's), so that an app needs no dependency of its own to name it.
pub use postgres::Client;
pub use verify::dump;

use std::path::Path;
use std::time::Duration;

use postgres::error::SqlState;

use crate::backend::{Backend, StepError, Tally};
use crate::error::{Error, Failure};
use crate::history::Table;
use crate::pipeline::Set;
use crate::plan::HistoryRow;
use crate::runner::NoteKind;
use crate::source::Migration;

/// The backend for one client.
pub(crate) struct Postgres<'c> {
    client: &'c mut Client,
    /// The history table, quoted.
    table: String,
    /// Its name, for the lock key.
    name: String,
    /// The schema it was named with, if any (else the current one).
    schema: Option<String>,
    /// The advisory lock key, asked of the server when first needed: the
    /// startup check is one round trip.
    key: Option<i64>,
    lock_timeout: Duration,
    statement_timeout: Option<Duration>,
    /// How long to wait for another runner's migration lock (`None`:
    /// as long as it takes).
    lock_wait: Option<Duration>,
    /// The history table exists (in the open transaction, or before it).
    history_ready: bool,
    /// The history table has the `down_checksum` column (a table of an
    /// earlier build gets it when a down file first needs it).
    down_column: bool,
    open: bool,
    /// A session lock of a no-transaction step is held.
    session_lock: bool,
    /// The startup check found no history table (so the full read that
    /// follows it need not fail on it again).
    no_history: bool,
    /// A version's recorded checksum, read with the lock by `begin_for`.
    prefetched: Option<(u64, Option<String>)>,
    /// History writes sent with the COMMIT.
    deferred: Vec<String>,
    /// Whether a trigger or rule on the history table could keep a row
    /// from going in as written, asked once a run (then every write is
    /// checked on its own before the COMMIT).
    rewritten: Option<bool>,
    /// Where the lock connection of a no-transaction step is opened from
    /// (`Runner::lock_connection`); without it, a session lock.
    lock_config: Option<Connector>,
    /// The lock connection, once opened.
    holder: Option<Client>,
    /// What the lock connection is doing for the no-transaction step.
    holding: Holding,
}

/// The lock connection's part in a no-transaction step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holding {
    /// Not in one.
    No,
    /// The step's row was re-read in the runner's transaction; the next
    /// COMMIT hands its lock over to the lock connection.
    HandOver,
    /// The lock connection's transaction holds the lock; the step's
    /// history re-read, write and COMMIT go there.
    Held,
}

impl<'c> Postgres<'c> {
    /// The backend for `client`, with the history in `table` of the
    /// current schema (nothing is asked of the server yet).
    pub(crate) fn new(
        client: &'c mut Client,
        table: &Table,
        lock_timeout: Duration,
        statement_timeout: Option<Duration>,
    ) -> Postgres<'c> {
        Postgres {
            client,
            table: table.quoted().to_owned(),
            name: table.name().to_owned(),
            schema: table.schema().map(str::to_owned),
            key: None,
            lock_timeout,
            statement_timeout,
            lock_wait: Some(crate::runner::DEFAULT_LOCK_WAIT),
            history_ready: false,
            down_column: false,
            open: false,
            session_lock: false,
            no_history: false,
            prefetched: None,
            deferred: Vec::new(),
            rewritten: None,
            lock_config: None,
            holder: None,
            holding: Holding::No,
        }
    }

    /// The migration lock's key: from the database, the schema and the
    /// history table.
    fn key(&mut self) -> Result<i64, Failure> {
        if let Some(key) = self.key {
            return Ok(key);
        }
        let named = self.schema.as_deref().map_or("NULL".to_owned(), literal);
        // The schema the history is in when it exists (a later `CREATE
        // SCHEMA` named like the role puts a new first schema on the
        // search_path, where it is not), else the current one.
        let sql = format!(
            "SELECT current_database()::text, coalesce({named}, \
             (SELECT n.nspname::text FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace \
              WHERE c.oid = to_regclass({})), current_schema()::text, '')",
            literal(&crate::sql::quote_identifier(&self.name))
        );
        let row = rows(self.client, &sql)
            .map_err(pg)?
            .pop()
            .unwrap_or_default();
        let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (database, schema) = (text(0), text(1));
        if self.schema.is_none() && !schema.is_empty() {
            // From here on the history is named with the schema it was
            // found in: a migration that changes the search_path (as
            // pg_dump's output does) must not move it.
            self.table = format!(
                "{}.{}",
                crate::sql::quote_identifier(&schema),
                crate::sql::quote_identifier(&self.name)
            );
        }
        let key = lock_key(&[&database, &schema, &self.name]);
        self.key = Some(key);
        Ok(key)
    }

    /// The connection of the open transaction: the lock connection's while
    /// it holds a no-transaction step's lock, else the runner's.
    fn tx(&mut self) -> &mut Client {
        match (&mut self.holder, self.holding) {
            (Some(holder), Holding::Held) => holder,
            _ => self.client,
        }
    }

    /// The first column of every row `sql` returns, as text, in one round
    /// trip (the simple query protocol: no separate prepare).
    fn texts(&mut self, sql: &str) -> Result<Vec<Option<String>>, postgres::Error> {
        Ok(rows(self.tx(), sql)?
            .into_iter()
            .map(|r| r.into_iter().next().flatten())
            .collect())
    }

    fn run(&mut self, sql: &str) -> Result<(), Failure> {
        send(self.tx(), sql).map_err(pg)
    }

    /// Whether the history table exists, asked without an error (an error
    /// would abort the open transaction).
    fn history_exists(&mut self) -> Result<bool, postgres::Error> {
        let sql = format!("SELECT to_regclass({}) IS NOT NULL", literal(&self.table));
        Ok(value(self.tx(), &sql)?.as_deref() == Some("t"))
    }
}

/// FNV-1a over the parts: a stable 64-bit advisory lock key.
fn lock_key(parts: &[&str]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash as i64
}

impl From<postgres::Error> for PgFailure {
    fn from(e: postgres::Error) -> PgFailure {
        match e.as_db_error() {
            Some(db) => {
                let mut message = db.message().to_owned();
                if let Some(detail) = db.detail() {
                    message.push_str(&format!(" ({detail})"));
                }
                // Where the server was: the COPY line and column, the
                // function line of a plpgsql error.
                if let Some(place) = db.where_() {
                    message.push_str(&format!(" (at: {})", place.replace('\n', "; ")));
                }
                let code = db.code();
                if [
                    SqlState::DUPLICATE_TABLE,
                    SqlState::DUPLICATE_OBJECT,
                    SqlState::DUPLICATE_FUNCTION,
                    SqlState::DUPLICATE_SCHEMA,
                ]
                .contains(code)
                {
                    message.push_str(
                        " (if another migration tool, a script or a hand made it, take the database over with \
                         `Runner::adopt` or record what it has with `Runner::baseline`, rather than run the files again)",
                    );
                }
                if db.code() == &SqlState::LOCK_NOT_AVAILABLE {
                    message.push_str(
                        " (the lock_timeout passed while this migration waited for a lock another session holds; \
                         end what holds it, or raise the timeout: `--lock-timeout`, `Runner::lock_timeout`)",
                    );
                }
                PgFailure {
                    message,
                    code: Some(db.code().code().to_owned()),
                    position: match db.position() {
                        Some(postgres::error::ErrorPosition::Original(p)) => Some(*p),
                        _ => None,
                    },
                }
            }
            None => {
                // The client's own errors say what went wrong in their
                // source ("invalid connection string: invalid port").
                let mut message = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    message.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                PgFailure::new(message)
            }
        }
    }
}

/// The file line `failure` is at, for `statement` starting at `line`: the
/// server counts characters from 1 in the statement sent.
fn line_of(statement: &str, line: u32, failure: &PgFailure) -> u32 {
    match failure.position {
        Some(p) => {
            let before = statement.chars().take(p.saturating_sub(1) as usize);
            line + before.filter(|&c| c == '\n').count() as u32
        }
        None => line,
    }
}

/// Every row of `sql`, each value as text (`None` for NULL), in one round
/// trip of the simple query protocol. Outside a transaction this is the
/// only safe way through PgBouncer's transaction pooling, where a separate
/// prepare may land on another server connection than its execution.
pub(crate) fn rows(
    client: &mut Client,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, postgres::Error> {
    let start = std::time::Instant::now();
    let answered = client.simple_query(sql);
    logged(sql, start);
    Ok(answered?
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect())
}

/// Where each statement sent to the server goes, with how long it took,
/// when something asked (`-v`).
static LOG: std::sync::OnceLock<fn(&str, Duration)> = std::sync::OnceLock::new();

/// Sends every statement the PostgreSQL runner, verify and the move send
/// to `log`, with how long the server took (the CLI's `-v`). Set once.
pub fn log_statements(log: fn(&str, Duration)) {
    let _ = LOG.set(log);
}

/// Reports `sql`, sent at `start`, to the log, if there is one.
fn logged(sql: &str, start: std::time::Instant) {
    if let Some(log) = LOG.get() {
        log(sql, start.elapsed());
    }
}

/// `batch_execute`, logged.
pub(crate) fn send(
    client: &mut impl postgres::GenericClient,
    sql: &str,
) -> Result<(), postgres::Error> {
    let start = std::time::Instant::now();
    let done = client.batch_execute(sql);
    logged(sql, start);
    done
}

/// The first value of the first row `sql` returns, as text (`None` for no
/// row or NULL), in one round trip.
pub(crate) fn value(client: &mut Client, sql: &str) -> Result<Option<String>, postgres::Error> {
    Ok(rows(client, sql)?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten()))
}

/// The history table on PostgreSQL: the name folded to lower case, as
/// PostgreSQL folds an unquoted name; but a table of the exact case made
/// by an earlier build (which quoted it) is kept when only it exists.
///
/// An unqualified name is then pinned to the schema the table is in, when
/// it exists: a later `CREATE SCHEMA` named like the role puts a new first
/// schema on the search_path, where the history is not.
pub(crate) fn pg_history(client: &mut Client, table: &Table) -> Result<Table, Error> {
    let folded = table.folded();
    let chosen = if folded.quoted() == table.quoted() {
        folded
    } else {
        let sql = format!(
            "SELECT (to_regclass({}) IS NULL AND to_regclass({}) IS NOT NULL)::text",
            literal(folded.quoted()),
            literal(table.quoted())
        );
        let exact_only = value(client, &sql).map_err(pg_error)?;
        if exact_only.as_deref() == Some("true") {
            table.clone()
        } else {
            folded
        }
    };
    if chosen.schema().is_some() {
        return Ok(chosen);
    }
    let sql = format!(
        "SELECT n.nspname::text FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace \
         WHERE c.oid = to_regclass({})",
        literal(chosen.quoted())
    );
    let schema = value(client, &sql).map_err(pg_error)?;
    Ok(schema
        .and_then(|s| Table::new(&format!("{s}.{}", chosen.name())).ok())
        .unwrap_or(chosen))
}

/// The INVALID indexes (`pg_index.indisvalid` false) of `schema`, or of
/// every schema: schema and name.
pub(crate) fn invalid_indexes(
    client: &mut Client,
    schema: Option<&str>,
) -> Result<Vec<(String, String)>, postgres::Error> {
    let only = schema.map_or_else(String::new, |s| format!(" AND n.nspname = {}", literal(s)));
    let found = rows(
        client,
        &format!(
            "SELECT n.nspname::text, c.relname::text FROM pg_index AS i \
             JOIN pg_class AS c ON c.oid = i.indexrelid \
             JOIN pg_namespace AS n ON n.oid = c.relnamespace \
             WHERE NOT i.indisvalid{only} ORDER BY 1, 2"
        ),
    )?;
    Ok(found
        .into_iter()
        .filter_map(|r| {
            let mut r = r.into_iter();
            Some((r.next().flatten()?, r.next().flatten()?))
        })
        .collect())
}

/// Whether statements `text` name the index `name`: quoted exactly, or
/// unquoted (which PostgreSQL folds to lower case).
fn names_index(text: &str, name: &str) -> bool {
    crate::sql::tokens(text).iter().any(|t| {
        let unquoted = t
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .map(|t| t.replace("\"\"", "\""));
        match unquoted {
            Some(q) => q == name,
            None => t.to_lowercase() == name,
        }
    })
}

/// The history table `quoted`, created if it is not there.
pub(crate) fn history_ddl(quoted: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {quoted} (
  version     bigint      PRIMARY KEY,
  name        text        NOT NULL,
  kind        text        NOT NULL,
  checksum    text        NOT NULL,
  applied_at  timestamptz NOT NULL,
  duration_ms bigint      NOT NULL,
  origin      text,
  down_checksum text
)"
    )
}

/// The history table is not there: no such table, or no such schema (of
/// a schema-qualified name).
fn no_table(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNDEFINED_TABLE) || e.code() == Some(&SqlState::INVALID_SCHEMA_NAME)
}

fn pg(e: postgres::Error) -> Failure {
    Failure::Postgres(PgFailure::from(e))
}

fn pg_error(e: postgres::Error) -> Error {
    Error::Postgres(PgFailure::from(e))
}

fn not_here(what: &'static str) -> Failure {
    Failure::NotOnPostgres(what)
}

impl Backend for Postgres<'_> {
    fn check_can_run(&mut self, backup_to: Option<&Path>) -> Result<(), Error> {
        if backup_to.is_some() {
            return Err(Error::NotOnPostgres(
                "a backup before the run (take one with pg_dump, or your provider's snapshots)",
            ));
        }
        if let Some(schema) = self.schema.clone() {
            // Before any change: the history could not be written.
            let sql = format!(
                "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = {})",
                literal(&schema)
            );
            if value(self.client, &sql).map_err(pg_error)?.as_deref() == Some("f") {
                return Err(Error::Postgres(PgFailure::new(format!(
                    "the history table's schema `{schema}` does not exist; create it first \
                     (CREATE SCHEMA {}), or name another; nothing was changed",
                    crate::sql::quote_identifier(&schema)
                ))));
            }
        }
        Ok(())
    }

    fn is_current(&mut self, set: &[Migration], _tidy: bool) -> Result<bool, Error> {
        // One round trip; no table is not current.
        let sql = format!(
            "SELECT version, checksum FROM {} ORDER BY version",
            self.table
        );
        let rows = match rows(self.client, &sql) {
            Ok(rows) => rows,
            Err(e) if no_table(&e) => {
                self.no_history = true;
                return Ok(false);
            }
            Err(e) => return Err(self.foreign_or(e)),
        };
        Ok(rows.len() == set.len()
            && rows.iter().zip(set).all(|(row, m)| match row.as_slice() {
                [Some(version), Some(checksum)] => {
                    version.parse() == Ok(m.version) && *checksum == *m.checksum
                }
                _ => false,
            }))
    }

    fn history(&mut self) -> Result<Vec<HistoryRow>, Error> {
        // Just asked, outside any transaction: another runner creating it
        // meanwhile is seen under the lock, where each step re-reads.
        if std::mem::take(&mut self.no_history) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT version, name, kind, checksum, \
             to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), duration_ms, origin, \
             to_jsonb(h) ->> 'down_checksum' FROM {} AS h ORDER BY version",
            self.table
        );
        let rows = match rows(self.client, &sql) {
            Ok(rows) => rows,
            Err(e) if no_table(&e) => return Ok(Vec::new()),
            Err(e) => return Err(self.foreign_or(e)),
        };
        self.history_ready = !rows.is_empty();
        rows.into_iter()
            .map(|r| {
                let mut r = r.into_iter();
                let mut text = || r.next().flatten();
                let number = |t: Option<String>| t.and_then(|t| t.parse::<i64>().ok());
                let version = number(text()).ok_or_else(|| {
                    Error::Postgres(PgFailure::new(format!(
                        "a history row of {} has no version",
                        self.table
                    )))
                })?;
                Ok(HistoryRow {
                    version: version as u64,
                    name: text().unwrap_or_default(),
                    kind: text().unwrap_or_default(),
                    checksum: text().unwrap_or_default(),
                    applied_at: text().unwrap_or_default(),
                    duration_ms: number(text()).unwrap_or(0).max(0) as u64,
                    origin: text(),
                    // Read through the row's JSON: null, not an error, on
                    // a table of a build before the column.
                    down_checksum: text(),
                })
            })
            .collect()
    }

    fn managed_by(&mut self, set: &[Migration]) -> Result<Option<crate::adopt::Tool>, Error> {
        let ours = self.name.clone();
        crate::adopt::managed_by(self.catalog(), set, &ours)
    }

    fn begin(&mut self) -> Result<(), Failure> {
        if self.holding == Holding::Held {
            return Ok(());
        }
        self.lock(None)
    }

    fn begin_for(&mut self, version: u64) -> Result<(), Failure> {
        if self.holding == Holding::Held {
            // The lock connection's transaction has held it throughout.
            return Ok(());
        }
        self.lock(Some(version))
    }

    fn commit(&mut self) -> Result<(), Failure> {
        // The history writes go with the COMMIT, one round trip: only
        // when nothing on the history table can change a row (else each
        // was written and checked on its own).
        if self.holding == Holding::HandOver {
            return self.hand_over();
        }
        let mut batch = std::mem::take(&mut self.deferred);
        batch.push("COMMIT".into());
        self.run(&batch.join("; "))?;
        if self.holding == Holding::Held {
            self.holding = Holding::No;
        } else {
            self.open = false;
        }
        Ok(())
    }

    fn rollback(&mut self) {
        self.deferred.clear();
        self.prefetched = None;
        if self.holding == Holding::Held {
            let _ = send(self.tx(), "ROLLBACK");
            self.history_ready = false;
            self.down_column = false;
        }
        self.holding = Holding::No;
        if self.open {
            let _ = send(self.client, "ROLLBACK");
            self.open = false;
            self.history_ready = false;
            self.down_column = false;
        }
    }

    fn recorded(&mut self, version: u64) -> Result<Option<String>, Failure> {
        if let Some((v, checksum)) = self.prefetched.take()
            && v == version
        {
            return Ok(checksum);
        }
        if !self.history_ready {
            if !self.history_exists().map_err(pg)? {
                return Ok(None);
            }
            self.history_ready = true;
        }
        let sql = format!(
            "SELECT checksum FROM {} WHERE version = {version}",
            self.table
        );
        Ok(self.texts(&sql).map_err(pg)?.into_iter().next().flatten())
    }

    fn restore_indexes(
        &mut self,
        declared: &[crate::pipeline::Declared],
    ) -> Result<Vec<NoteKind>, Failure> {
        crate::sets::restore_indexes_on(&mut PgIndexes(self), declared)
    }

    /// A function's dynamic SQL (`EXECUTE`) can name the history table
    /// in any way: PostgreSQL always checks.
    fn may_touch_history(&mut self, _text: &str) -> Result<bool, Failure> {
        Ok(true)
    }

    fn tally(&mut self, version: u64, with_sum: bool) -> Result<Tally, Failure> {
        if !self.history_ready {
            if !self.history_exists().map_err(pg)? {
                return Ok(Tally::default());
            }
            self.history_ready = true;
        }
        let v = version as i64;
        let sum = if with_sum {
            format!(
                "(coalesce(sum(version % {m}), 0) % {m})::text",
                m = crate::backend::TALLY_MODULUS
            )
        } else {
            "'0'".to_owned()
        };
        let sql = format!(
            "SELECT count(*)::text, (count(*) FILTER (WHERE version < {v}))::text, \
             (count(*) FILTER (WHERE version > {v}))::text, \
             {sum} FROM {}",
            self.table,
        );
        let row = rows(self.tx(), &sql)
            .map_err(pg)?
            .into_iter()
            .next()
            .unwrap_or_default();
        // Counts are never NULL and always numbers: anything else is a
        // failure, not a zero that would pass every check.
        let n = |i: usize| {
            row.get(i)
                .cloned()
                .flatten()
                .and_then(|t| t.parse::<i64>().ok())
                .map(|v| v as u64)
                .ok_or_else(|| {
                    Failure::Postgres(PgFailure::new(format!(
                        "the history count `{sql}` gave no number"
                    )))
                })
        };
        Ok(Tally {
            total: n(0)?,
            below: n(1)?,
            above: n(2)?,
            sum: n(3)? % crate::backend::TALLY_MODULUS,
        })
    }

    fn record(&mut self, m: &Migration, duration: Duration) -> Result<(), Failure> {
        self.create_history()?;
        let down = m.down_checksum();
        if down.is_some() {
            self.create_down_column()?;
        }
        // Literals: the values are this tool's own (a file's name, its
        // kind, a hex checksum), quoted all the same. Sent with the COMMIT.
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        let insert = format!(
            "INSERT INTO {} (version, name, kind, checksum, applied_at, duration_ms{}) \
             VALUES ({}, {}, {}, {}, clock_timestamp(), {millis}{})",
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
            down.map_or_else(String::new, |d| format!(", {}", literal(&d))),
        );
        if self.rewritten()? {
            return self.one_row(&insert);
        }
        self.deferred.push(insert);
        Ok(())
    }

    fn remove(&mut self, version: u64) -> Result<(), Failure> {
        let sql = format!(
            "DELETE FROM {} WHERE version = {}",
            self.table, version as i64
        );
        self.one_row(&sql)
    }

    fn execute(&mut self, statement: &str, line: u32) -> Result<(), StepError> {
        send(self.client, statement).map_err(|e| {
            let mut failure = PgFailure::from(e);
            if failure.code.as_deref() == Some(SqlState::LOCK_NOT_AVAILABLE.code()) {
                // Ended first: the aborted transaction answers nothing.
                self.rollback();
                if let Some(holders) = self.lock_holders(statement) {
                    failure.message.push_str(&holders);
                }
            }
            (
                Some(line_of(statement, line, &failure)),
                Some(crate::sql::shorten(statement)),
                Failure::Postgres(failure),
            )
        })
    }

    fn execute_all(
        &mut self,
        text: &str,
        statements: &[crate::sql::Statement],
        in_transaction: bool,
    ) -> Result<(), StepError> {
        if !in_transaction || statements.len() < 2 {
            return crate::backend::execute_each(self, text, statements);
        }
        // One round trip for the whole file, after a savepoint: PostgreSQL
        // parses the statements as psql split them. A failure does not say
        // which statement (a runtime error has no position), so the file
        // is rolled back to the savepoint and run again a statement at a
        // time, which names it and its line (or, if it passes now, goes on).
        let mut batch = String::from("SAVEPOINT migrate_file;\n");
        for s in statements {
            let statement = s.text(text);
            batch.push_str(statement);
            if !statement.trim_end().ends_with(';') {
                // After a newline: the statement may end in a line comment.
                batch.push_str("\n;");
            }
            batch.push('\n');
        }
        let mut first = match send(self.client, &batch) {
            Ok(()) => return Ok(()),
            Err(e) => PgFailure::from(e),
        };
        // A timeout is not run again to find its line: that would wait as
        // long a second time.
        let code = first.code.as_deref();
        if code == Some(SqlState::LOCK_NOT_AVAILABLE.code())
            || code == Some(SqlState::QUERY_CANCELED.code())
        {
            self.rollback();
            if code == Some(SqlState::LOCK_NOT_AVAILABLE.code())
                && let Some(holders) = self.lock_holders(&batch)
            {
                first.message.push_str(&holders);
            }
            let statement =
                "one of the file's statements (its line is not known: a timeout is not run again)";
            return Err((None, Some(statement.to_owned()), Failure::Postgres(first)));
        }
        if self.run("ROLLBACK TO SAVEPOINT migrate_file").is_err() {
            // The session is gone, say: the first error is the one to see.
            return Err((None, None, Failure::Postgres(first)));
        }
        crate::backend::execute_each(self, text, statements)
    }

    fn apply_set(&mut self, set: &Set) -> Result<Vec<NoteKind>, StepError> {
        match set {
            Set::Pragmas(_) => Err((None, None, not_here("a pragma set (PRAGMA is SQLite's)"))),
            // In the migration's transaction, not CONCURRENTLY: the indexes
            // and their history row commit together (DESIGN says when to
            // write CREATE INDEX CONCURRENTLY in a no-transaction file).
            Set::Indexes(set) => {
                crate::sets::create_indexes_on(&mut PgIndexes(self), set).map(|()| Vec::new())
            }
            Set::DropIndexes(set) => {
                for index in &set.indexes {
                    let sql = format!(
                        "DROP INDEX IF EXISTS {}",
                        crate::sql::quote_identifier(&index.name)
                    );
                    self.run(&sql)
                        .map_err(|f| (Some(index.line), Some(sql.clone()), f))?;
                }
                Ok(Vec::new())
            }
        }
    }

    fn prepare(&mut self, _foreign_keys_off: bool) -> Result<(), Failure> {
        Ok(())
    }

    fn settle(&mut self, _sql: bool) -> Result<(), Failure> {
        Ok(())
    }

    fn check_outside(&mut self, text: &str) -> Result<(), Failure> {
        let invalid = invalid_indexes(self.client, None).map_err(pg)?;
        let named: Vec<String> = invalid
            .into_iter()
            .filter(|(_, name)| names_index(text, name))
            .map(|(_, name)| name)
            .collect();
        if named.is_empty() {
            Ok(())
        } else {
            Err(Failure::InvalidIndexes(named))
        }
    }

    fn check(&mut self, _foreign_keys_off: bool) -> Result<(), Failure> {
        // PostgreSQL enforces constraints itself (deferred ones at commit).
        Ok(())
    }

    fn backup(&mut self, _dest: &Path) -> Result<(), Error> {
        Err(Error::NotOnPostgres("a backup (use pg_dump)"))
    }

    fn hold_outside_transaction(&mut self) -> Result<(), Failure> {
        if let Some(config) = &self.lock_config {
            // The lock connection takes the lock over when this
            // transaction commits (see `hand_over`).
            if self.holder.is_none() {
                self.holder = Some(config.connect().map_err(pg)?);
            }
            self.holding = Holding::HandOver;
            return Ok(());
        }
        // In the open transaction, which holds the same key: granted at
        // once (advisory locks are re-entrant within a session), and kept
        // when the transaction ends.
        let key = self.key()?;
        let got = value(self.client, &format!("SELECT pg_try_advisory_lock({key})")).map_err(pg)?;
        if got.as_deref() != Some("t") {
            return Err(not_here("the session lock was not granted"));
        }
        self.session_lock = true;
        Ok(())
    }

    fn release_outside_transaction(&mut self) {
        if self.holding != Holding::No {
            // Ends the lock connection's transaction, and with it the lock.
            self.rollback();
        }
        if std::mem::take(&mut self.session_lock) {
            if self.open {
                let _ = send(self.client, "ROLLBACK");
                self.open = false;
            }
            if let Some(key) = self.key {
                let _ = self
                    .client
                    .batch_execute(&format!("SELECT pg_advisory_unlock({key})"));
            }
        }
    }
}

/// Whatever way the run ends, no transaction or lock of it stays open on
/// the client.
impl Drop for Postgres<'_> {
    fn drop(&mut self) {
        self.release_outside_transaction();
        self.rollback();
    }
}

/// A PostgreSQL session as the target of an index set: names from the
/// catalogue of the current schema.
struct PgIndexes<'a, 'c>(&'a mut Postgres<'c>);

impl PgIndexes<'_, '_> {
    /// The first column of every row of `sql`, NULLs left out.
    fn names(&mut self, sql: &str) -> Result<Vec<String>, Failure> {
        Ok(self
            .0
            .texts(sql)
            .map_err(pg)?
            .into_iter()
            .flatten()
            .collect())
    }
}

impl crate::sets::IndexTarget for PgIndexes<'_, '_> {
    fn columns(&mut self, table: &str) -> Result<Vec<String>, Failure> {
        let sql = format!(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass({}) AND attnum > 0 \
             AND NOT attisdropped ORDER BY attnum",
            literal(&crate::sql::quote_identifier(table))
        );
        self.names(&sql)
    }

    fn tables(&mut self) -> Result<Vec<String>, Failure> {
        let sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1";
        self.names(sql)
    }

    fn missing(&mut self, names: &[&str]) -> Result<Vec<String>, Failure> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        // One round trip, each name looked up as `existing` looks it up.
        let values = names
            .iter()
            .map(|n| format!("({})", literal(n)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT n FROM (VALUES {values}) AS v (n) WHERE to_regclass(quote_ident(n)) IS NULL"
        );
        self.names(&sql)
    }

    /// PostgreSQL says what an index is (`pg_get_indexdef`), normalised;
    /// the wanted one is built under a scratch name in a savepoint, read
    /// the same way, and rolled back, so that both are compared in
    /// PostgreSQL's own words.
    fn existing(
        &mut self,
        index: &crate::dsl::indexes::Index,
    ) -> Result<Option<(bool, String)>, Failure> {
        let name = crate::sql::quote_identifier(&index.name);
        let def = |this: &mut Self, quoted: &str| -> Result<Option<String>, Failure> {
            let sql = format!("SELECT pg_get_indexdef(to_regclass({}))", literal(quoted));
            Ok(this.0.texts(&sql).map_err(pg)?.into_iter().next().flatten())
        };
        let Some(existing) = def(self, &name)? else {
            return Ok(None);
        };
        let scratch = "migrate_index_compare";
        let mut wanted = index.clone();
        wanted.name = scratch.to_owned();
        self.0
            .run(&format!("SAVEPOINT migrate_compare; {}", wanted.sql()))?;
        let built = def(self, &crate::sql::quote_identifier(scratch));
        self.0
            .run("ROLLBACK TO SAVEPOINT migrate_compare; RELEASE SAVEPOINT migrate_compare")?;
        let built = built?.unwrap_or_default().replacen(scratch, &index.name, 1);
        let plain = |d: &str| d.replace('"', "");
        Ok(Some((plain(&built) == plain(&existing), existing)))
    }

    fn execute(&mut self, sql: &str) -> Result<(), Failure> {
        self.0.run(sql)
    }
}

/// `text` as a SQL string literal (quotes doubled; no backslash escapes
/// under `standard_conforming_strings`, on since PostgreSQL 9.1, so an `E`
/// prefix is never used).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Postgres<'_> {
    /// Commits the transaction that re-read a no-transaction step's row,
    /// handing its lock to a transaction of the lock connection with no
    /// moment between in which another runner could take it: the lock
    /// connection queues for the lock (a blocking request, granted at the
    /// release to the first in the queue, while other runners only ever
    /// try), and only once it waits does this transaction commit. Holding
    /// it, that transaction has no snapshot (READ COMMITTED, idle), so a
    /// `CREATE INDEX CONCURRENTLY` on this connection does not wait for it.
    fn hand_over(&mut self) -> Result<(), Failure> {
        let key = self.key()?;
        let mut holder = self
            .holder
            .take()
            .ok_or_else(|| not_here("the lock connection is not open"))?;
        let waiter = std::thread::spawn(move || {
            let got = send(
                &mut holder,
                &format!("BEGIN; SET LOCAL lock_timeout = 0; SELECT pg_advisory_xact_lock({key})"),
            );
            (holder, got)
        });
        // Until the lock connection waits in the queue for this key (no
        // other runner ever waits in it: they try).
        let queued = format!(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
             AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = {key}"
        );
        let mut waited = Duration::ZERO;
        let committed = loop {
            match value(self.client, &queued) {
                Ok(n) if n.as_deref() != Some("0") => {
                    break send(self.client, "COMMIT").map_err(pg);
                }
                Ok(_) if !waiter.is_finished() && waited < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(1));
                    waited += Duration::from_millis(1);
                }
                Ok(_) => {
                    break Err(not_here(
                        "the lock connection did not queue for the migration lock",
                    ));
                }
                Err(e) => break Err(pg(e)),
            }
        };
        self.open = false;
        if committed.is_err() {
            // Rolled back, the lock goes to the waiting connection, which
            // is then ended with it.
            let _ = send(self.client, "ROLLBACK");
        }
        let (mut holder, got) = waiter
            .join()
            .map_err(|_| not_here("the lock connection's thread panicked"))?;
        if let Err(e) = committed.and(got.map_err(pg)) {
            // Whatever it holds goes with its transaction.
            let _ = send(&mut holder, "ROLLBACK");
            self.holder = Some(holder);
            self.holding = Holding::No;
            return Err(e);
        }
        self.holder = Some(holder);
        self.holding = Holding::Held;
        Ok(())
    }

    /// Whether a trigger or a rule on the history table could change or
    /// drop a row written to it: asked once a run, in the open transaction.
    fn rewritten(&mut self) -> Result<bool, Failure> {
        if let Some(known) = self.rewritten {
            return Ok(known);
        }
        let sql = format!(
            "SELECT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass({t}) AND NOT tgisinternal) \
             OR EXISTS (SELECT FROM pg_rewrite WHERE ev_class = to_regclass({t}))",
            t = literal(&self.table)
        );
        let known = value(self.tx(), &sql).map_err(pg)?.as_deref() != Some("f");
        self.rewritten = Some(known);
        Ok(known)
    }

    /// Waits for the migration lock and begins a transaction holding it;
    /// with `version`, reads its recorded checksum in the same round trip
    /// (when the history table is known to exist), for `recorded`.
    ///
    /// Polled, each attempt its own short transaction: a waiting runner
    /// holds no snapshot another runner's CONCURRENTLY would wait for. One
    /// round trip an attempt: the settings are only used once the lock is
    /// held, and go with the transaction when it is not; the re-read runs
    /// after the lock statement, so it sees every commit before the lock.
    fn lock(&mut self, version: Option<u64>) -> Result<(), Failure> {
        let key = self.key()?;
        self.prefetched = None;
        // 0 is PostgreSQL's "no timeout", for both.
        let mut attempt = format!(
            "BEGIN; SET LOCAL lock_timeout = {}; ",
            self.lock_timeout.as_millis()
        );
        if let Some(t) = self.statement_timeout {
            attempt.push_str(&format!(
                "SET LOCAL statement_timeout = {}; ",
                t.as_millis()
            ));
        }
        attempt.push_str(&format!("SELECT pg_try_advisory_xact_lock({key})"));
        let reread = version.filter(|_| self.history_ready);
        if let Some(v) = reread {
            attempt.push_str(&format!(
                "; SELECT 'row', checksum FROM {} WHERE version = {}",
                self.table, v as i64
            ));
        }
        let mut pause = Duration::from_millis(5);
        let start = std::time::Instant::now();
        loop {
            self.open = true;
            let got = rows(self.client, &attempt).map_err(pg)?;
            let granted = got.first().and_then(|r| r.first().cloned().flatten());
            if granted.as_deref() == Some("t") {
                if let Some(v) = reread {
                    // The lock's row, then the history row if there is one.
                    let checksum = got.get(1).and_then(|r| r.get(1).cloned().flatten());
                    self.prefetched = Some((v, checksum));
                }
                return Ok(());
            }
            self.run("ROLLBACK")?;
            self.open = false;
            if self.lock_wait.is_some_and(|w| start.elapsed() >= w) {
                return Err(Failure::MigrationLockWait {
                    waited_ms: start.elapsed().as_millis() as u64,
                    holder: self.lock_holder(key),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Who holds the migration lock `key` now, for the error of a run that
    /// waited too long: `None` when nobody does any more.
    fn lock_holder(&mut self, key: i64) -> Option<String> {
        let sql = format!(
            "SELECT a.pid::text, coalesce(a.state, '?'), coalesce(nullif(a.application_name, ''), '-'), \
             coalesce(a.client_addr::text, 'local'), \
             coalesce(extract(epoch FROM now() - a.xact_start)::int::text, '?'), \
             left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 80) \
             FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
             AND ((l.classid::bigint << 32) | l.objid::bigint) = {key} LIMIT 1"
        );
        let found = rows(self.client, &sql).ok()?.into_iter().next()?;
        let t = |i: usize| found.get(i).cloned().flatten().unwrap_or_default();
        Some(format!(
            "process {} ({}, application `{}`, from {}, in a transaction for {} s; its last statement: {})",
            t(0),
            t(1),
            t(2),
            t(3),
            t(4),
            t(5)
        ))
    }

    /// Who holds locks on the tables `statement` names, for the error of a
    /// statement that gave up at the `lock_timeout`: `None` when nobody
    /// does any more (or the question fails).
    fn lock_holders(&mut self, statement: &str) -> Option<String> {
        let mut words: Vec<String> = statement
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(|w| literal(&w.to_lowercase()))
            .collect();
        words.sort();
        words.dedup();
        if words.is_empty() {
            return None;
        }
        let sql = format!(
            "SELECT c.relname::text, l.mode, a.pid::text, coalesce(a.state, '?'), \
             left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 80) \
             FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid() \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND lower(c.relname::text) = ANY (ARRAY[{}]) ORDER BY 1, 3 LIMIT 5",
            words.join(", ")
        );
        let found = rows(self.client, &sql).ok()?;
        let held: Vec<String> = found
            .into_iter()
            .map(|r| {
                let t = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                format!(
                    "`{}` is held in {} by process {} ({}; its last statement: {})",
                    t(0),
                    t(1),
                    t(2),
                    t(3),
                    t(4)
                )
            })
            .collect();
        (!held.is_empty()).then(|| format!("; it waited for a lock: {}", held.join("; ")))
    }

    /// A history read that failed on a missing column: the table of this
    /// name is another tool's (golang-migrate and dbmate also call theirs
    /// `schema_migrations`). Any other error as it is.
    fn foreign_or(&mut self, e: postgres::Error) -> Error {
        if e.code() != Some(&SqlState::UNDEFINED_COLUMN) {
            return Error::Postgres(e.into());
        }
        let name = self.name.clone();
        match crate::backend::Catalog::columns_of(&mut *self.client, &name) {
            Ok(columns) => Error::ForeignHistory {
                table: name,
                columns,
            },
            Err(_) => Error::Postgres(e.into()),
        }
    }

    /// Creates the history table in the open transaction, unless it is
    /// known to exist.
    fn create_history(&mut self) -> Result<(), Failure> {
        if !self.history_ready {
            self.run(&history_ddl(&self.table))?;
            self.history_ready = true;
        }
        Ok(())
    }

    /// Adds `down_checksum` to a history table of a build before it. Asked
    /// first: `ALTER TABLE` would lock the history against every reader
    /// until the commit, even with nothing to add.
    fn create_down_column(&mut self) -> Result<(), Failure> {
        if !self.down_column {
            let sql = format!(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass({}) \
                 AND attname = 'down_checksum' AND NOT attisdropped",
                literal(&self.table)
            );
            if value(self.tx(), &sql).map_err(pg)?.as_deref() != Some("1") {
                self.run(&format!(
                    "ALTER TABLE {} ADD COLUMN IF NOT EXISTS down_checksum text",
                    self.table
                ))?;
            }
            self.down_column = true;
        }
        Ok(())
    }

    /// The rows `sql` changed, in one round trip.
    fn changed(&mut self, sql: &str) -> Result<u64, Failure> {
        let start = std::time::Instant::now();
        let messages = self.tx().simple_query(sql);
        logged(sql, start);
        let messages = messages.map_err(pg)?;
        Ok(messages
            .iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
                _ => None,
            })
            .unwrap_or(0))
    }

    /// A history write that did not go in as written: a trigger on the
    /// history table changed it. Asked after a rollback, which the aborted
    /// transaction needs first.
    fn not_written(&mut self) -> Failure {
        self.rollback();
        let sql = format!(
            "SELECT tgname::text FROM pg_trigger WHERE tgrelid = to_regclass({}) AND NOT tgisinternal ORDER BY 1",
            literal(&self.table)
        );
        let triggers = rows(self.client, &sql)
            .map(|r| {
                r.into_iter()
                    .filter_map(|r| r.into_iter().next().flatten())
                    .collect()
            })
            .unwrap_or_default();
        Failure::HistoryNotWritten {
            table: self.name.clone(),
            triggers,
        }
    }
}
