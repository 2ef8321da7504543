//! SQLite's history table: the statements that read and write it, below
//! the rules of `history.rs` (its name, its columns, which other tools'
//! tables share the name).

use rusqlite::{Connection, params};

use crate::error::Error;
use crate::history::{COLUMNS, LATER_COLUMNS, Table};
use crate::plan::HistoryRow;
use crate::source::Migration;

/// Whether the applied history is exactly `set`: the same versions with
/// the same checksums, in order. This is the startup check: one indexed
/// scan of the history, no allocation per row, and it agrees with the full
/// plan by construction (any row added, removed or edited by hand shows).
pub(crate) fn matches(conn: &Connection, table: &Table, set: &[Migration]) -> Result<bool, Error> {
    let sql = format!(
        "SELECT version, checksum FROM {} ORDER BY version",
        table.quoted()
    );
    let mut stmt = match conn.prepare_cached(&sql) {
        Ok(stmt) => stmt,
        // No history table (or not ours): the full check says what it is.
        Err(_) => return Ok(false),
    };
    let mut rows = stmt.query([])?;
    let mut expected = set.iter();
    while let Some(row) = rows.next()? {
        let Some(m) = expected.next() else {
            return Ok(false);
        };
        // Only the types the full read accepts: a checksum turned into a
        // BLOB by hand must not pass here and fail there.
        use rusqlite::types::ValueRef;
        let same = row.get_ref(0)? == ValueRef::Integer(m.version as i64)
            && row.get_ref(1)? == ValueRef::Text(m.checksum.as_bytes());
        if !same {
            return Ok(false);
        }
    }
    Ok(expected.next().is_none())
}

/// Drops the fingerprint table of builds before 0.2 (one bookkeeping table
/// is all a database holds now), if it is there and has that table's exact
/// shape. Call inside a write transaction.
pub(crate) fn drop_legacy(conn: &Connection, table: &Table) -> rusqlite::Result<()> {
    let legacy = table.legacy_fingerprint_table();
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    let columns = stmt
        .query_map([&legacy], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if columns == ["id", "fingerprint"] {
        conn.execute_batch(&format!(
            "DROP TABLE {}",
            crate::sql::quote_identifier(&legacy)
        ))?;
    }
    Ok(())
}

/// Whether the fingerprint table of builds before 0.2 is there: a lookup in
/// SQLite's in-memory schema (`sqlite3_table_column_metadata`), since the
/// up-to-date startup check asks on every app start (a failed prepare cost
/// about 12 µs there).
pub(crate) fn has_legacy(conn: &Connection, table: &Table) -> bool {
    conn.table_exists(Some("main"), table.legacy_fingerprint_table().as_str())
        .unwrap_or(false)
}

/// Whether the table exists.
/// A query, not SQLite's cached schema (`table_exists`): running a
/// statement checks the schema cookie, so a table another connection just
/// created is seen.
pub(crate) fn exists(conn: &Connection, table: &Table) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .exists([table.name()])
}

/// Creates the table if it is not there. Call inside a write transaction.
pub(crate) fn create(conn: &Connection, table: &Table) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {} (
  version     INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL,
  kind        TEXT    NOT NULL,
  checksum    TEXT    NOT NULL,
  applied_at  TEXT    NOT NULL,
  duration_ms INTEGER NOT NULL,
  origin      TEXT,
  down_checksum TEXT
)",
        table.quoted()
    ))?;
    Ok(())
}

/// The history counted around `version` (see `backend::Tally`). Each
/// count is its own subquery: the whole-table count is SQLite's b-tree
/// count, and the count above `version` walks only that rowid range (rows
/// below are the rest); the sum, which reads every row, only `with_sum`.
pub(crate) fn tally(
    conn: &Connection,
    table: &Table,
    version: u64,
    with_sum: bool,
) -> rusqlite::Result<crate::backend::Tally> {
    let sum = if with_sum {
        format!(
            "(SELECT coalesce(sum(version % {}), 0) FROM {})",
            crate::backend::TALLY_MODULUS,
            table.quoted()
        )
    } else {
        "0".to_owned()
    };
    let sql = format!(
        "SELECT (SELECT count(*) FROM {t}), (SELECT count(*) FROM {t} WHERE version > ?1), \
         EXISTS (SELECT 1 FROM {t} WHERE version = ?1), {sum}",
        t = table.quoted()
    );
    conn.prepare_cached(&sql)?.query_row([version as i64], |r| {
        let n = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
        let (total, above, at) = (n(0)?, n(1)?, n(2)?);
        Ok(crate::backend::Tally {
            total,
            below: total - above - at,
            above,
            sum: n(3)? % crate::backend::TALLY_MODULUS,
        })
    })
}

/// A step's history row (its checksum, if recorded) and the tally around
/// it (without the sum), in one statement: what the pipeline reads under
/// the lock before each step.
pub(crate) fn checksum_and_tally(
    conn: &Connection,
    table: &Table,
    version: u64,
) -> rusqlite::Result<(Option<String>, crate::backend::Tally)> {
    let sql = format!(
        "SELECT (SELECT checksum FROM {t} WHERE version = ?1), (SELECT count(*) FROM {t}), \
         (SELECT count(*) FROM {t} WHERE version > ?1)",
        t = table.quoted()
    );
    conn.prepare_cached(&sql)?.query_row([version as i64], |r| {
        let checksum: Option<String> = r.get(0)?;
        let (total, above) = (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64);
        let at = u64::from(checksum.is_some());
        Ok((
            checksum,
            crate::backend::Tally {
                total,
                below: total - above - at,
                above,
                sum: 0,
            },
        ))
    })
}

/// Whether a trigger of the database (main or temp) names the history
/// table in its text, or the history table has a foreign key (whose
/// actions another table's change could fire): what could change a
/// history row without a statement that names the table. SQLite has no
/// other way (no dynamic SQL in triggers).
pub(crate) fn reachable_by_triggers(conn: &Connection, table: &Table) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND instr(lower(sql), lower(?1)) \
         UNION ALL SELECT 1 FROM sqlite_temp_master WHERE type = 'trigger' AND instr(lower(sql), lower(?1)) \
         UNION ALL SELECT 1 FROM pragma_foreign_key_list(?1) LIMIT 1",
    )?
    .exists([table.name()])
}

/// Every row, in version order; empty when the table does not exist.
pub(crate) fn read(conn: &Connection, table: &Table) -> Result<Vec<HistoryRow>, Error> {
    let sql = select_all(table, LATER_COLUMNS.len());
    let mut stmt = match conn.prepare_cached(&sql) {
        Ok(stmt) => stmt,
        Err(_) if !exists(conn, table)? => return Ok(Vec::new()),
        // Another process may have created it since the first attempt, or
        // it is the table of a build before some of the later columns.
        Err(_) => {
            let shapes = (0..=LATER_COLUMNS.len()).rev();
            match shapes
                .map(|n| conn.prepare_cached(&select_all(table, n)))
                .find(Result::is_ok)
                .unwrap_or_else(|| conn.prepare_cached(&sql))
            {
                Ok(stmt) => stmt,
                Err(e) => return Err(foreign_table(conn, table)?.unwrap_or(e.into())),
            }
        }
    };
    rows(&mut stmt, table)
}

/// The query behind [`read`]: every row, in version order, with the first
/// `later` of [`LATER_COLUMNS`].
fn select_all(table: &Table, later: usize) -> String {
    let mut columns = String::new();
    for c in &LATER_COLUMNS[..later] {
        columns.push_str(", ");
        columns.push_str(c);
    }
    format!(
        "SELECT version, name, kind, checksum, applied_at, duration_ms{columns} FROM {} ORDER BY version",
        table.quoted()
    )
}

/// Adds the later columns ([`LATER_COLUMNS`]) a history table of an
/// earlier build lacks. Call inside a write transaction.
pub(crate) fn add_columns(conn: &Connection, table: &Table) -> rusqlite::Result<()> {
    for column in LATER_COLUMNS {
        let has = conn
            .prepare_cached("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
            .exists([table.name(), column])?;
        if !has {
            conn.execute_batch(&format!(
                "ALTER TABLE {} ADD COLUMN {column} TEXT",
                table.quoted()
            ))?;
        }
    }
    Ok(())
}

/// The rows of [`select_all`]'s statement.
fn rows(stmt: &mut rusqlite::Statement<'_>, table: &Table) -> Result<Vec<HistoryRow>, Error> {
    // The checksum decides what is applied, so it must be what this tool
    // writes (the startup check reads it the same way); the other columns
    // only inform, and are shown whatever a hand put there. (The version is
    // the rowid: always an integer.)
    use rusqlite::types::ValueRef;
    let shown = |v: ValueRef<'_>| match v {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Null => String::new(),
    };
    let later = stmt.column_count() - 6;
    let text_at = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<Option<String>> {
        Ok(match (i < 6 + later).then(|| r.get_ref(i)).transpose()? {
            None | Some(ValueRef::Null) => None,
            Some(v) => Some(shown(v)),
        })
    };
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let version = r.get::<_, i64>(0)? as u64;
        let checksum = match r.get_ref(3)? {
            ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            other => {
                return Err(Error::EditedHistory {
                    table: table.name().to_owned(),
                    version,
                    column: "checksum".into(),
                    found: other.data_type().to_string().to_ascii_lowercase(),
                });
            }
        };
        out.push(HistoryRow {
            version,
            name: shown(r.get_ref(1)?),
            kind: shown(r.get_ref(2)?),
            checksum,
            applied_at: shown(r.get_ref(4)?),
            duration_ms: r.get_ref(5)?.as_i64().unwrap_or(0).max(0) as u64,
            origin: text_at(r, 6)?,
            down_checksum: text_at(r, 7)?,
        });
    }
    Ok(out)
}

/// Records `m` as applied now. `Ok(false)` when the row did not go in as
/// written, or something else changed with it: a trigger on the history
/// table that ignored, replaced or added to the write. The caller rolls
/// back, since a run whose history is wrong would run migrations again.
pub(crate) fn insert(
    conn: &Connection,
    table: &Table,
    m: &Migration,
    duration_ms: u64,
) -> rusqlite::Result<bool> {
    // The down file's checksum is named only when there is one: a table
    // of an earlier build lacks the column until a down file needs it.
    let sql = format!(
        "INSERT INTO {} (version, name, kind, checksum, applied_at, duration_ms{})
         VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?5{})",
        table.quoted(),
        if m.down.is_some() {
            ", down_checksum"
        } else {
            ""
        },
        if m.down.is_some() { ", ?6" } else { "" },
    );
    let down = m.down_checksum();
    let (version, kind, millis) = (m.version as i64, m.kind.as_str(), duration_ms as i64);
    let mut values: Vec<&dyn rusqlite::ToSql> =
        vec![&version, &m.name, &kind, &m.checksum, &millis];
    if let Some(down) = &down {
        values.push(down);
    }
    one_row(conn, &sql, rusqlite::params_from_iter(values))
}

/// Runs a history write and says whether it changed exactly one row and
/// nothing else. `changes` is 0 when a trigger's RAISE(IGNORE) dropped it,
/// and `total_changes` also counts every row a trigger changed (deleting or
/// rewriting ours, or any other). A trigger cannot alter NEW, so one row and
/// nothing else is the row as written.
fn one_row(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<bool> {
    let before = conn.total_changes();
    let changed = conn.prepare_cached(sql)?.execute(params)?;
    Ok(changed == 1 && conn.total_changes() == before + 1)
}

/// Records `m` as applied without running it, marked with `origin`
/// (`baseline`, or the tool it was adopted from) and, when known, the time
/// the other tool applied it (kept as written when SQLite cannot read it as
/// a time). Checked as [`insert`] is.
pub(crate) fn insert_marked(
    conn: &Connection,
    table: &Table,
    m: &Migration,
    origin: &str,
    applied_at: Option<&str>,
) -> rusqlite::Result<bool> {
    let sql = format!(
        "INSERT INTO {} (version, name, kind, checksum, applied_at, duration_ms, origin, down_checksum)
         VALUES (?1, ?2, ?3, ?4,
                 COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', ?5), ?5, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                 0, ?6, ?7)",
        table.quoted()
    );
    let row = params![
        m.version as i64,
        m.name.as_ref(),
        m.kind.as_str(),
        m.checksum.as_ref(),
        applied_at,
        origin,
        m.down_checksum()
    ];
    one_row(conn, &sql, row)
}

/// Writes `checksum` into `version`'s row. `Ok(false)` when that was not
/// exactly one row and nothing else (a trigger interfered), as for
/// [`insert`].
pub(crate) fn set_checksum(
    conn: &Connection,
    table: &Table,
    version: u64,
    checksum: &str,
) -> rusqlite::Result<bool> {
    let sql = format!(
        "UPDATE {} SET checksum = ?2 WHERE version = ?1",
        table.quoted()
    );
    one_row(conn, &sql, params![version as i64, checksum])
}

/// Writes the down file's `checksum` into `version`'s row (`None`: it has
/// no down file now), checked as [`set_checksum`] is.
pub(crate) fn set_down_checksum(
    conn: &Connection,
    table: &Table,
    version: u64,
    checksum: Option<&str>,
) -> rusqlite::Result<bool> {
    let sql = format!(
        "UPDATE {} SET down_checksum = ?2 WHERE version = ?1",
        table.quoted()
    );
    one_row(conn, &sql, params![version as i64, checksum])
}

/// Deletes `version`'s row. `Ok(false)` when that was not exactly one row
/// and nothing else (a trigger interfered), as for [`insert`].
pub(crate) fn delete(conn: &Connection, table: &Table, version: u64) -> rusqlite::Result<bool> {
    let sql = format!("DELETE FROM {} WHERE version = ?1", table.quoted());
    one_row(conn, &sql, [version as i64])
}

/// The triggers on the history table, by name (named in the error when a
/// history write did not go in as written).
pub(crate) fn triggers(conn: &Connection, table: &Table) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 COLLATE NOCASE ORDER BY name",
    )?;
    stmt.query_map([table.name()], |r| r.get(0))?.collect()
}

/// An error for a table of that name that another tool made (golang-migrate
/// and dbmate also use `schema_migrations`), if it is one.
fn foreign_table(conn: &Connection, table: &Table) -> Result<Option<Error>, Error> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let columns = stmt
        .query_map([table.name()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if COLUMNS.iter().all(|c| columns.iter().any(|have| have == c)) {
        return Ok(None);
    }
    Ok(Some(Error::ForeignHistory {
        table: table.name().to_owned(),
        columns,
    }))
}
