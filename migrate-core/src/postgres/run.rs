//! The runner's entry points on PostgreSQL (`run_postgres`, `down_postgres`,
//! `redo_postgres`, `status_postgres`), how it opens more connections, and
//! the query-plan checks of index sets that `up` warns of and `verify`
//! fails on.

use postgres::Client;

use super::{Connector, PgFailure, Postgres, pg_error, pg_history, send};
use crate::backend::Backend;
use crate::dsl::indexes;
use crate::error::Error;
use crate::plan::StatusRow;
use crate::runner::{Report, Runner};
use crate::sql::Dialect;

impl Runner<'_> {
    /// PostgreSQL: how more connections to the same server are opened (TLS
    /// included). Two things use it: the migration lock of a
    /// `no-transaction` migration, held by a transaction of a second
    /// connection (no session lock: safe through PgBouncer's transaction
    /// pooling, and gone with the connection if the process dies; without
    /// it, the runner's own session holds a session lock, which needs a
    /// direct connection or session pooling); and the scratch database that
    /// verify, baseline, repair and adopt replay the files in (without it,
    /// drift is not checked, and they say so). The CLI always gives it.
    pub fn lock_connection(mut self, connector: Option<Connector>) -> Self {
        self.connector = connector.map(|c| std::sync::Arc::new(c) as _);
        self
    }

    /// Where the lock connection is opened from, if anywhere.
    pub(crate) fn lock_config(&self) -> Option<&Connector> {
        self.connector.as_ref()?.downcast_ref::<Connector>()
    }

    /// The backend on `client`, for a set loaded as PostgreSQL's.
    pub(super) fn postgres<'c>(&self, client: &'c mut Client) -> Result<Postgres<'c>, Error> {
        self.check_set(Dialect::Postgres)?;
        let (lock, statement) = self.timeouts();
        let table = pg_history(client, self.history_table())?;
        let mut db = Postgres::new(client, &table, lock, statement);
        db.lock_wait = self.lock_wait_of();
        db.lock_config = self.lock_config().cloned();
        Ok(db)
    }

    /// Validates the plan, then applies what is pending on PostgreSQL, each
    /// migration in its own transaction under a transaction-scoped advisory
    /// lock (a no-transaction one under the lock connection's transaction,
    /// or a session lock without one), with
    /// [`Runner::lock_timeout`] set. The set must be loaded as PostgreSQL's
    /// (`embed_migrations!("migrations", postgres)`).
    ///
    /// The `postgres` client runs a Tokio runtime of its own: call this
    /// from a plain thread (in async code, inside `spawn_blocking`), never
    /// on a runtime's worker, where it panics.
    pub fn run_postgres(&self, client: &mut Client) -> Result<Report, Error> {
        let mut report = {
            let mut db = self.postgres(client)?;
            self.up(&mut db)?
        };
        // A plan can depend on data, so `up` only warns; verify fails.
        if !self.is_dry_run()
            && report
                .applied
                .iter()
                .any(|s| s.kind == crate::Kind::Indexes)
        {
            plans(client, |check| self.plan_warnings(&mut report, check))?;
        }
        Ok(report)
    }

    /// Reverts applied migrations on PostgreSQL, newest first, each in its
    /// own transaction under the same lock as [`Runner::run_postgres`]
    /// (see [`Runner::down`] for what is refused before anything changes).
    pub fn down_postgres(
        &self,
        client: &mut Client,
        target: crate::plan::DownTarget,
    ) -> Result<Report, Error> {
        let mut db = self.postgres(client)?;
        self.revert(&mut db, target)
    }

    /// Reverts the last applied migration on PostgreSQL and applies it
    /// again (see [`Runner::redo`]).
    pub fn redo_postgres(&self, client: &mut Client) -> Result<Report, Error> {
        self.redo_with(|runner, down| match down {
            Some(target) => runner.down_postgres(client, target),
            None => runner.run_postgres(client),
        })
    }

    /// Every migration of the set and of the history on PostgreSQL, with
    /// its state.
    pub fn status_postgres(&self, client: &mut Client) -> Result<Vec<StatusRow>, Error> {
        let mut db = self.postgres(client)?;
        let history = db.history()?;
        Ok(crate::plan::status(self.set().as_slice(), &history))
    }
}

/// Checks an `expect` line on PostgreSQL in the open transaction: the
/// generic plan of its query (parameters unbound, `plan_cache_mode =
/// force_generic_plan`), with sequential scans discouraged
/// (`enable_seqscan = off`, so the answer does not hang on how many rows
/// the tables hold yet), must use the index. On failure, the plan's nodes.
pub(super) fn check_expect(client: &mut Client, expect: &indexes::Expect) -> Result<(), String> {
    let cannot = |e: postgres::Error| format!("cannot plan the query: {}", PgFailure::from(e));
    let params = client
        .prepare(&expect.query)
        .map_err(cannot)?
        .params()
        .len();
    let nulls = vec!["NULL"; params].join(", ");
    let args = if params == 0 {
        String::new()
    } else {
        format!("({nulls})")
    };
    client
        .batch_execute(&format!(
            "SAVEPOINT migrate_expect; SET LOCAL plan_cache_mode = force_generic_plan; \
             SET LOCAL enable_seqscan = off; PREPARE migrate_expect AS {}",
            expect.query
        ))
        .map_err(cannot)?;
    let plan = client.simple_query(&format!(
        "EXPLAIN (FORMAT JSON) EXECUTE migrate_expect{args}"
    ));
    let _ = send(
        client,
        "DEALLOCATE migrate_expect; ROLLBACK TO SAVEPOINT migrate_expect; RELEASE SAVEPOINT migrate_expect",
    );
    let json: String = plan
        .map_err(cannot)?
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .collect();
    let wanted = format!("\"Index Name\": {}", json_string(&expect.index));
    if json.contains(&wanted) {
        return Ok(());
    }
    // The plan's nodes, as `Seq Scan on users`.
    let values = |key: &str| -> Vec<String> {
        json.split(&format!("\"{key}\": \""))
            .skip(1)
            .filter_map(|rest| rest.split('"').next().map(str::to_owned))
            .collect()
    };
    let nodes = values("Node Type");
    let on = values("Relation Name");
    Err(nodes
        .iter()
        .enumerate()
        .map(|(i, n)| match on.get(i) {
            Some(r) if n.contains("Scan") => format!("{n} on {r}"),
            _ => n.clone(),
        })
        .collect::<Vec<_>>()
        .join("; "))
}

/// Runs `with` given the `expect` check, in a read-only transaction
/// rolled back afterwards.
fn plans(
    client: &mut Client,
    with: impl FnOnce(&mut dyn FnMut(&indexes::Expect) -> Result<(), String>),
) -> Result<(), Error> {
    send(client, "BEGIN READ ONLY").map_err(pg_error)?;
    with(&mut |e| check_expect(client, e));
    send(client, "ROLLBACK").map_err(pg_error)
}

/// `text` as a JSON string, as EXPLAIN writes names.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
