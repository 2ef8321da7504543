//! Moving a SQLite database to PostgreSQL, the copy: in one
//! PostgreSQL transaction, so that a failure or a killed process leaves the
//! target as it was, never half a copy. In order: the tables; the rows with
//! `COPY … FROM STDIN`, a table at a time; the indexes; the foreign keys,
//! added `NOT VALID` and then validated; the identity sequences; then the
//! verification, which must pass before the COMMIT.
//!
//! **Verification.** For each table, both sides count the rows and sum a
//! per-row hash: the first 8 bytes of SHA-256 over the row's canonical
//! form, added with wrap-around (so the order rows come back in does not
//! matter). The canonical form of a row is its values, each followed by a
//! tab: `\N` for NULL; an integer in decimal; a boolean as `t` or `f`; a
//! double as the 16 hex digits of its IEEE-754 bits; a numeric as its
//! decimal text without trailing zeros after the point; text with `\`,
//! tab, newline, carriage return, backspace, form feed and vertical tab
//! escaped as COPY writes them; bytes as `\\x` and lowercase hex. The SQLite
//! side computes it from the values it sends; the PostgreSQL side from
//! `COPY (SELECT …) TO STDOUT`, what PostgreSQL stored.

use std::io::{BufRead, Write};

use postgres::Client;
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use super::{PgFailure, literal};
use crate::error::Error;
use crate::sql::quote_identifier as q;
use crate::transfer::{Class, MovePlan, TablePlan};

/// What the copy did, table by table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    /// Each table, its rows, and the checksum both sides agreed on.
    pub tables: Vec<(String, u64, u64)>,
}

/// Why the copy did not happen; nothing was written to the target.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The plan found values PostgreSQL would refuse.
    #[error(
        "{0} stored values would be refused by PostgreSQL (`move --dry-run` lists them); nothing was written"
    )]
    Refused(usize),
    /// The target already has a table of the move.
    #[error(
        "the target already has {}: the move writes into an empty database; nothing was written",
        .0.join(", ")
    )]
    NotEmpty(Vec<String>),
    /// The two sides disagree after the copy.
    #[error(
        "table `{table}` differs after the copy ({what}); the copy was rolled back, nothing was written, and \
         the SQLite file is untouched"
    )]
    Differs {
        /// The table.
        table: String,
        /// What differs: the row counts or the checksums.
        what: String,
    },
    /// Reading the SQLite file, or the history, failed.
    #[error(transparent)]
    Source(#[from] Error),
    /// PostgreSQL refused a statement or a row.
    #[error("{context}: {failure}; the copy was rolled back, nothing was written")]
    Target {
        /// What was being done.
        context: String,
        /// PostgreSQL's answer.
        failure: PgFailure,
    },
}

fn target(context: impl Into<String>) -> impl FnOnce(postgres::Error) -> CopyError {
    move |e| CopyError::Target {
        context: context.into(),
        failure: PgFailure::from(e),
    }
}

/// Copies the tables of `plan` from `conn` into `client`'s current
/// schema, in one transaction that commits only when both sides agree.
/// `conn` should be inside a read transaction, so that the copy sees one
/// snapshot while the app writes on.
pub fn copy(conn: &Connection, client: &mut Client, plan: &MovePlan) -> Result<Copied, CopyError> {
    copy_recording(conn, client, plan, None, &mut |_, _| {})
}

/// A migration the copy records as applied in the target's history, in
/// its transaction (`move --emit`): its version and name, its text, and
/// the history table.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// Its version (1 for `0001_schema.sql`).
    pub version: u64,
    /// Its name (`schema`).
    pub name: &'a str,
    /// Its text, as written to the folder.
    pub text: &'a str,
    /// The history table.
    pub table: &'a crate::history::Table,
}

/// [`copy`], recording `record` as applied (origin `move`) in the same
/// transaction, so that `up` goes on from there, and telling `progress`
/// how many rows of which table were sent (every 50,000 and at each
/// table's end).
pub fn copy_recording(
    conn: &Connection,
    client: &mut Client,
    plan: &MovePlan,
    record: Option<Record<'_>>,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Copied, CopyError> {
    if !plan.problems.is_empty() {
        return Err(CopyError::Refused(plan.problems.len()));
    }
    let names: Vec<String> = plan.tables.iter().map(|t| literal(&t.name)).collect();
    if !names.is_empty() {
        let sql = format!(
            "SELECT '`' || c.relname::text || '`' || CASE WHEN c.reltuples > 0 THEN ' (which holds rows)' ELSE '' END \
             FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace \
             AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relname = ANY (ARRAY[{}]::text[]) ORDER BY 1",
            names.join(", ")
        );
        let taken: Vec<String> = super::rows(client, &sql)
            .map_err(target("reading the target's tables"))?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        if !taken.is_empty() {
            return Err(CopyError::NotEmpty(taken));
        }
    }
    let mut tx = client.transaction().map_err(target("BEGIN"))?;
    for extension in &plan.extensions {
        let sql = format!("CREATE EXTENSION IF NOT EXISTS {}", q(extension));
        super::send(&mut tx, &sql).map_err(target(sql.clone()))?;
    }
    for sql in plan.create_tables() {
        super::send(&mut tx, &sql).map_err(target(sql.clone()))?;
    }
    let mut copied = Copied::default();
    for table in &plan.tables {
        let (rows, sum) = copy_table(conn, &mut tx, table, progress)?;
        copied.tables.push((table.name.clone(), rows, sum));
    }
    for sql in plan.indexes.iter().chain(&plan.foreign_keys) {
        super::send(&mut tx, sql).map_err(target(sql.clone()))?;
    }
    for sql in &plan.validations {
        super::send(&mut tx, sql).map_err(target(sql.clone()))?;
    }
    for table in &plan.tables {
        if let Some(id) = table.columns.iter().find(|c| c.identity) {
            // Past the largest id, and for AUTOINCREMENT past every id
            // SQLite ever handed out (rows since deleted included).
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence({}, {}), greatest(coalesce(max({c}), 0), {floor}) + 1, false) FROM {t}",
                literal(&q(&table.name)),
                literal(&id.name),
                c = q(&id.name),
                t = q(&table.name),
                floor = table.sequence_floor.unwrap_or(0)
            );
            super::send(&mut tx, &sql).map_err(target(sql.clone()))?;
        }
    }
    for (table, (name, rows, sum)) in plan.tables.iter().zip(&copied.tables) {
        let (their_rows, their_sum) = checksum_target(&mut tx, table)?;
        if their_rows != *rows {
            return Err(CopyError::Differs {
                table: name.clone(),
                what: format!("{rows} rows in SQLite, {their_rows} in PostgreSQL"),
            });
        }
        if their_sum != *sum {
            return Err(CopyError::Differs {
                table: name.clone(),
                what: format!("checksum {sum:016x} in SQLite, {their_sum:016x} in PostgreSQL"),
            });
        }
    }
    if let Some(r) = record {
        let sql = format!(
            "{}; INSERT INTO {t} (version, name, kind, checksum, applied_at, duration_ms, origin) \
             VALUES ({}, {}, 'sql', {}, clock_timestamp(), 0, 'move')",
            super::history_ddl(r.table.quoted()),
            r.version as i64,
            literal(r.name),
            literal(&crate::checksum::checksum(r.text.as_bytes())),
            t = r.table.quoted(),
        );
        super::send(&mut tx, &sql).map_err(target("recording the schema migration"))?;
    }
    tx.commit().map_err(target("COMMIT"))?;
    Ok(copied)
}

/// Streams one table's rows into `COPY … FROM STDIN`; its row count and
/// checksum, as sent.
fn copy_table(
    conn: &Connection,
    tx: &mut postgres::Transaction<'_>,
    table: &TablePlan,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<(u64, u64), CopyError> {
    let cols: Vec<String> = table.columns.iter().map(|c| q(&c.name)).collect();
    let copy = format!("COPY {} ({}) FROM STDIN", q(&table.name), cols.join(", "));
    let mut writer = tx.copy_in(&copy).map_err(target(copy.clone()))?;
    let order = if table.without_rowid {
        ""
    } else {
        " ORDER BY rowid"
    };
    let read = format!("SELECT {} FROM {}{order}", cols.join(", "), q(&table.name));
    let mut stmt = conn.prepare(&read).map_err(Error::from)?;
    let mut rows = stmt.query([]).map_err(Error::from)?;
    let (mut count, mut sum) = (0u64, 0u64);
    let mut line = Vec::with_capacity(256);
    let mut canonical = Vec::with_capacity(256);
    while let Some(r) = rows.next().map_err(Error::from)? {
        line.clear();
        canonical.clear();
        for (i, c) in table.columns.iter().enumerate() {
            if i > 0 {
                line.push(b'\t');
            }
            let value = r.get_ref(i).map_err(Error::from)?;
            write_value(&mut line, value, c.class);
            canonical_of_sent(&mut canonical, value, c.class);
        }
        line.push(b'\n');
        writer.write_all(&line).map_err(|e| CopyError::Target {
            context: copy.clone(),
            failure: PgFailure::new(e.to_string()),
        })?;
        count += 1;
        sum = sum.wrapping_add(row_hash(&canonical));
        if count % 50_000 == 0 {
            progress(&table.name, count);
        }
    }
    writer.finish().map_err(target(copy))?;
    progress(&table.name, count);
    Ok((count, sum))
}

fn row_hash(canonical: &[u8]) -> u64 {
    let digest = Sha256::digest(canonical);
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// `bytes` as COPY's text format writes text.
fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0b => out.extend_from_slice(b"\\v"),
            b => out.push(b),
        }
    }
}

fn hex_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

fn real_text(f: f64) -> String {
    if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{f:?}")
    }
}

/// One value in COPY's text format, for a column of `class` (the plan
/// refused every value that does not fit).
fn write_value(out: &mut Vec<u8>, value: ValueRef<'_>, class: Class) {
    match (value, class) {
        (ValueRef::Null, _) => out.extend_from_slice(b"\\N"),
        (ValueRef::Integer(i), Class::Boolean) => out.push(if i != 0 { b't' } else { b'f' }),
        (ValueRef::Integer(i), _) => out.extend_from_slice(i.to_string().as_bytes()),
        (ValueRef::Real(f), _) => out.extend_from_slice(real_text(f).as_bytes()),
        (ValueRef::Text(t) | ValueRef::Blob(t), Class::Bytes) => {
            out.extend_from_slice(b"\\\\x");
            hex_into(out, t);
        }
        (ValueRef::Text(t) | ValueRef::Blob(t), _) => escape_into(out, t),
    }
}

/// The canonical form (see the module's docs) of a value as sent.
fn canonical_of_sent(out: &mut Vec<u8>, value: ValueRef<'_>, class: Class) {
    match (value, class) {
        (ValueRef::Null, _) => out.extend_from_slice(b"\\N"),
        (ValueRef::Integer(i), Class::Real) => bits_into(out, i as f64),
        (ValueRef::Real(f), Class::Real) => bits_into(out, f),
        (ValueRef::Integer(i), Class::Numeric(_)) => {
            out.extend_from_slice(decimal(&i.to_string()).as_bytes());
        }
        (ValueRef::Real(f), Class::Numeric(_)) => {
            out.extend_from_slice(decimal(&format!("{f:?}")).as_bytes());
        }
        _ => write_value(out, value, class),
    }
    out.push(b'\t');
}

fn bits_into(out: &mut Vec<u8>, f: f64) {
    out.extend_from_slice(format!("{:016x}", f.to_bits()).as_bytes());
}

/// A decimal's text without trailing zeros after the point (`3.50` and
/// `3.5` and `3.5e0` read alike only when written out: exponents are
/// expanded first).
fn decimal(text: &str) -> String {
    let expanded = match text.find(['e', 'E']) {
        Some(_) => match text.parse::<f64>() {
            Ok(f) => format!("{f}"),
            Err(_) => text.to_owned(),
        },
        None => text.to_owned(),
    };
    if expanded.contains('.') {
        expanded
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        expanded
    }
}

/// The row count and checksum of what PostgreSQL stored for `table`.
fn checksum_target(
    tx: &mut postgres::Transaction<'_>,
    table: &TablePlan,
) -> Result<(u64, u64), CopyError> {
    let cols: Vec<String> = table.columns.iter().map(|c| q(&c.name)).collect();
    let sql = format!(
        "COPY (SELECT {} FROM {}) TO STDOUT",
        cols.join(", "),
        q(&table.name)
    );
    let reader = tx.copy_out(&sql).map_err(target(sql.clone()))?;
    let mut reader = std::io::BufReader::new(reader);
    let (mut count, mut sum) = (0u64, 0u64);
    let mut line = Vec::new();
    let mut canonical = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| CopyError::Target {
                context: sql.clone(),
                failure: PgFailure::new(e.to_string()),
            })?;
        if n == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        canonical.clear();
        for (field, c) in line.split(|&b| b == b'\t').zip(&table.columns) {
            canonical_of_stored(&mut canonical, field, c.class);
        }
        count += 1;
        sum = sum.wrapping_add(row_hash(&canonical));
    }
    Ok((count, sum))
}

/// The canonical form of a field as COPY TO wrote it.
fn canonical_of_stored(out: &mut Vec<u8>, field: &[u8], class: Class) {
    let text = String::from_utf8_lossy(field);
    if field == b"\\N" {
        out.extend_from_slice(b"\\N");
    } else {
        match class {
            Class::Real => {
                let f = match text.as_ref() {
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    t => t.parse::<f64>().unwrap_or(f64::NAN),
                };
                bits_into(out, f);
            }
            Class::Numeric(_) => out.extend_from_slice(decimal(&text).as_bytes()),
            _ => out.extend_from_slice(field),
        }
    }
    out.push(b'\t');
}
