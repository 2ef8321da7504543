//! lint's questions to the PostgreSQL server the migrations will run on.
//! Every question runs in a read-only transaction that is rolled back,
//! under a statement timeout and a short lock timeout: lint reads, never
//! writes, and never waits long behind a lock.

/// What lint asks of the server the migrations will run on; without one
/// ([`Offline`]) nothing is known.
pub(crate) trait Server {
    /// The volatility of the function `name` on the server (`v`, `s`, `i`).
    fn volatility(&mut self, _name: &str) -> Option<char> {
        None
    }
    /// The rows `statement` (its words `w`) touches on the server, for the
    /// finding `rule`: what to add to the message, and whether the rows
    /// make the statement fail for certain.
    fn rows(
        &mut self,
        _rule: &str,
        _w: &[String],
        _statement: &str,
        _table: &str,
    ) -> Option<(String, bool)> {
        None
    }
    /// Whether a write to `table` may write other tables too (its
    /// triggers, the ON DELETE actions of the keys that reference it).
    fn writes_beyond(&mut self, _table: &str) -> bool {
        true
    }
}

/// The table of `ALTER TABLE [IF EXISTS] [ONLY] name`, `CREATE INDEX … ON
/// [ONLY] name`, …: the name after `at`, past `IF EXISTS`, `ONLY` and a
/// schema (`public.t` is `t`).
pub(crate) fn table_name_at(w: &[String], mut at: usize) -> Option<String> {
    let is = |w: Option<&String>, k: &str| w.is_some_and(|w| w.eq_ignore_ascii_case(k));
    if is(w.get(at), "if") {
        at += 2;
    }
    if is(w.get(at), "only") {
        at += 1;
    }
    if w.get(at + 1).is_some_and(|x| x == ".") {
        at += 2;
    }
    w.get(at).map(|n| postgres_name(n))
}

/// A name as PostgreSQL takes it: a quoted one as written, another folded
/// to lower case.
pub(crate) fn postgres_name(n: &str) -> String {
    if n.starts_with('"') {
        crate::sql::definition::unquote(n)
    } else {
        n.to_ascii_lowercase()
    }
}

/// No server.
pub(crate) struct Offline;

impl Server for Offline {}

#[cfg(feature = "postgres")]
pub(super) use live::Live;

/// The server itself, through the `postgres` client.
#[cfg(feature = "postgres")]
mod live {
    use postgres::{Client, types::ToSql};

    use super::Server;
    use super::table_name_at as name_at;
    use crate::sql::{self, quote_identifier as quote};

    /// A server lint may ask.
    pub(crate) struct Live<'c> {
        client: &'c mut Client,
    }

    /// A table smaller than this is counted row by row; a larger one is told
    /// by the planner's estimate (`pg_class.reltuples`).
    const COUNT_BELOW_BYTES: i64 = 16 << 20;

    impl<'c> Live<'c> {
        pub(crate) fn new(client: &'c mut Client) -> Self {
            Live { client }
        }

        /// The rows of `query`, read in a read-only transaction (rolled back);
        /// the server's message when it fails.
        fn read(
            &mut self,
            query: &str,
            params: &[&(dyn ToSql + Sync)],
        ) -> Result<Vec<postgres::Row>, String> {
            let said = |e: postgres::Error| {
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned())
            };
            let mut tx = self
                .client
                .build_transaction()
                .read_only(true)
                .start()
                .map_err(said)?;
            tx.batch_execute("SET LOCAL statement_timeout = '60s'; SET LOCAL lock_timeout = '1s'")
                .map_err(said)?;
            let rows = tx.query(query, params).map_err(said);
            let _ = tx.rollback();
            rows
        }

        /// One number `query` gives.
        fn number(&mut self, query: &str) -> Result<i64, String> {
            self.read(query, &[])?
                .first()
                .and_then(|r| r.try_get::<_, i64>(0).ok())
                .ok_or_else(|| "no answer".to_owned())
        }

        /// How many rows `table` holds (exactly, when it is small) and its
        /// size; `None` when the server has no such table.
        fn size(&mut self, table: &str) -> Option<(i64, bool, String)> {
            let rows = self
                .read(
                    "SELECT c.reltuples::float8, pg_total_relation_size(c.oid)::int8, \
                 pg_size_pretty(pg_total_relation_size(c.oid)) \
                 FROM pg_class AS c WHERE c.oid = to_regclass($1)",
                    &[&quote(table)],
                )
                .ok()?;
            let row = rows.first()?;
            let (estimate, bytes, pretty): (f64, i64, String) =
                (row.get(0), row.get(1), row.get(2));
            if estimate < 0.0 || bytes < COUNT_BELOW_BYTES {
                let n = self
                    .number(&format!("SELECT count(*) FROM {}", quote(table)))
                    .ok()?;
                Some((n, true, pretty))
            } else {
                Some((estimate as i64, false, pretty))
            }
        }
    }

    /// The text from the token `from` to the token `to` (both included) of
    /// `statement`, whose tokens are `toks` (slices of it).
    fn between<'s>(statement: &'s str, toks: &[&str], from: usize, to: usize) -> &'s str {
        let start = toks[from].as_ptr() as usize - statement.as_ptr() as usize;
        let end = toks[to].as_ptr() as usize - statement.as_ptr() as usize + toks[to].len();
        &statement[start..end]
    }

    /// The index of the `)` that closes the `(` at `open`.
    fn closing(toks: &[&str], open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for (i, t) in toks.iter().enumerate().skip(open) {
            match *t {
                "(" => depth += 1,
                ")" => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The items of the parenthesised list opening at `open`, split at its
    /// top-level commas: each item's text.
    fn items<'s>(statement: &'s str, toks: &[&str], open: usize) -> Option<Vec<&'s str>> {
        let close = closing(toks, open)?;
        let mut out = Vec::new();
        let (mut depth, mut from) = (0usize, open + 1);
        for i in open + 1..close {
            match toks[i] {
                "(" => depth += 1,
                ")" => depth -= 1,
                "," if depth == 0 => {
                    if i > from {
                        out.push(between(statement, toks, from, i - 1));
                    }
                    from = i + 1;
                }
                _ => {}
            }
        }
        if close > from {
            out.push(between(statement, toks, from, close - 1));
        }
        Some(out)
    }

    fn find(w: &[String], from: usize, k: &str) -> Option<usize> {
        (from..w.len()).find(|&i| w[i].eq_ignore_ascii_case(k))
    }

    fn find_run(w: &[String], ks: &[&str]) -> Option<usize> {
        w.windows(ks.len())
            .position(|win| win.iter().zip(ks).all(|(a, b)| a.eq_ignore_ascii_case(b)))
    }

    /// A key over `keys` that more than one row holds: how many such values.
    /// With `nulls_distinct`, a row with a NULL key holds none.
    fn duplicates_query(table: &str, keys: &[&str], nulls_distinct: bool) -> String {
        let set = if nulls_distinct {
            format!(
                " WHERE {}",
                keys.iter()
                    .map(|k| format!("({k}) IS NOT NULL"))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            )
        } else {
            String::new()
        };
        format!(
            "SELECT count(*) FROM (SELECT 1 FROM {}{set} GROUP BY {} HAVING count(*) > 1) AS d",
            quote(table),
            keys.join(", ")
        )
    }

    impl Server for Live<'_> {
        fn volatility(&mut self, name: &str) -> Option<char> {
            let rows = self
                .read(
                    "SELECT CASE WHEN bool_or(provolatile = 'v') THEN 'v' \
                 WHEN bool_or(provolatile = 's') THEN 's' \
                 WHEN bool_or(provolatile = 'i') THEN 'i' END::text \
                 FROM pg_proc WHERE proname = $1",
                    &[&name],
                )
                .ok()?;
            let v: Option<String> = rows.first()?.get(0);
            v.and_then(|v| v.chars().next())
        }

        fn writes_beyond(&mut self, table: &str) -> bool {
            self.read(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal) \
             OR EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = to_regclass($1) AND contype = 'f' \
             AND (confdeltype IN ('c', 'n', 'd') OR confupdtype IN ('c', 'n', 'd')))",
            &[&quote(table)],
        )
        .ok()
        .and_then(|rows| rows.first().map(|r| r.get::<_, bool>(0)))
        .unwrap_or(true)
        }

        fn rows(
            &mut self,
            rule: &str,
            w: &[String],
            statement: &str,
            table: &str,
        ) -> Option<(String, bool)> {
            let toks = sql::tokens_in(sql::Dialect::Postgres, statement);
            if toks.len() != w.len() {
                return None;
            }
            let Some((rows, exact, size)) = self.size(table) else {
                return Some((
                    format!(
                        "{} is not on the server (yet): nothing to count",
                        quote(table)
                    ),
                    false,
                ));
            };
            let held = format!(
                "{} holds {}{rows} rows ({size})",
                quote(table),
                if exact { "" } else { "about " }
            );
            let counted = |n: Result<i64, String>, what: &dyn Fn(i64) -> String| match n {
                Ok(n) if n > 0 => Some((format!("{held}; {}", what(n)), true)),
                Ok(_) => Some((format!("{held}; none breaks it now"), false)),
                Err(e) => Some((format!("{held}; not counted: {e}"), false)),
            };
            match rule {
                "adding-required-field" => {
                    let any = self.number(&format!(
                        "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT 1) AS r",
                        quote(table)
                    ));
                    Some((held, any.is_ok_and(|n| n > 0)))
                }
                "adding-not-nullable-field" => {
                    let at = find_run(w, &["set", "not", "null"])?;
                    let column = super::postgres_name(w.get(at.checked_sub(1)?)?);
                    let n = self.number(&format!(
                        "SELECT count(*) FROM {} WHERE {} IS NULL",
                        quote(table),
                        quote(&column)
                    ));
                    counted(n, &|n| {
                        format!("{n} of them hold NULL in {}", quote(&column))
                    })
                }
                "constraint-missing-not-valid" => {
                    let check = find(w, 0, "check")?;
                    let open = find(w, check, "(")?;
                    let close = closing(&toks, open)?;
                    let expression = between(statement, &toks, open, close);
                    let n = self.number(&format!(
                        "SELECT count(*) FROM {} WHERE NOT {expression}",
                        quote(table)
                    ));
                    counted(n, &|n| format!("{n} of them break CHECK {expression}"))
                }
                "adding-foreign-key-constraint" => {
                    let key = find_run(w, &["foreign", "key"])?;
                    let from = items(statement, &toks, find(w, key, "(")?)?;
                    let references = find(w, key, "references")?;
                    let parent = name_at(w, references + 1)?;
                    let after_parent = (references + 1..w.len())
                        .find(|&i| w[i] == "(" || w[i].eq_ignore_ascii_case("not"))
                        .filter(|&i| w[i] == "(" && !is_keyword_before(w, i));
                    let to: Vec<String> = match after_parent {
                        Some(open) => items(statement, &toks, open)?
                            .into_iter()
                            .map(str::to_owned)
                            .collect(),
                        None => self.primary_key(&parent)?,
                    };
                    if to.len() != from.len() {
                        return Some((held, false));
                    }
                    let set: Vec<String> =
                        from.iter().map(|c| format!("c.{c} IS NOT NULL")).collect();
                    let matched: Vec<String> = from
                        .iter()
                        .zip(&to)
                        .map(|(c, p)| format!("p.{p} = c.{c}"))
                        .collect();
                    let n = self.number(&format!(
                    "SELECT count(*) FROM {} AS c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})",
                    quote(table),
                    set.join(" AND "),
                    quote(&parent),
                    matched.join(" AND ")
                ));
                    counted(n, &|n| {
                        format!(
                            "{n} of them name a {} row that is not there",
                            quote(&parent)
                        )
                    })
                }
                "adding-primary-key-constraint"
                | "disallow-unique-constraint"
                | "new-unique-index" => {
                    let open = if rule == "new-unique-index" {
                        let on = find(w, 0, "on")?;
                        find(w, on, "(")?
                    } else {
                        let at = find_run(w, &["primary", "key"])
                            .map(|i| i + 1)
                            .or_else(|| find(w, 0, "unique"))?;
                        find(w, at, "(")?
                    };
                    let keys: Vec<&str> = items(statement, &toks, open)?
                        .into_iter()
                        .map(key_expression)
                        .collect();
                    let nulls_distinct = find_run(w, &["nulls", "not", "distinct"]).is_none();
                    let mut query = duplicates_query(table, &keys, nulls_distinct);
                    // A partial index counts only the rows it covers.
                    if rule == "new-unique-index"
                        && let Some(at) = find(w, closing(&toks, open)?, "where")
                    {
                        let condition = between(statement, &toks, at + 1, toks.len() - 1);
                        let condition = condition.trim_end_matches(';');
                        let glue = if nulls_distinct { " AND " } else { " WHERE " };
                        query =
                            query.replace(" GROUP BY", &format!("{glue}({condition}) GROUP BY"));
                    }
                    let n = self.number(&query);
                    let said = match counted(n, &|n| {
                        format!(
                            "{n} values of ({}) are held by more than one row",
                            keys.join(", ")
                        )
                    }) {
                        Some((said, true)) => return Some((said, true)),
                        other => other,
                    };
                    if rule == "adding-primary-key-constraint" {
                        let nulls: Vec<String> =
                            keys.iter().map(|k| format!("({k}) IS NULL")).collect();
                        let n = self.number(&format!(
                            "SELECT count(*) FROM {} WHERE {}",
                            quote(table),
                            nulls.join(" OR ")
                        ));
                        if let Ok(n) = n
                            && n > 0
                        {
                            return Some((
                                format!("{held}; {n} of them hold NULL in the key"),
                                true,
                            ));
                        }
                    }
                    said
                }
                "changing-column-type" => {
                    // One ALTER [COLUMN] c [SET DATA] TYPE t [COLLATE x] [USING e].
                    let at = (1..w.len()).find(|&i| {
                        w[i].eq_ignore_ascii_case("type")
                            && (w[i - 1].eq_ignore_ascii_case("data")
                                || w.get(i.wrapping_sub(2)).is_some_and(|a| {
                                    a.eq_ignore_ascii_case("alter")
                                        || a.eq_ignore_ascii_case("column")
                                }))
                    })?;
                    if (at + 1..w.len()).any(|i| w[i].eq_ignore_ascii_case("type") && i != at) {
                        return Some((held, false));
                    }
                    let column_at = if w[at - 1].eq_ignore_ascii_case("data") {
                        at - 3
                    } else {
                        at - 1
                    };
                    let column = super::postgres_name(&w[column_at]);
                    let mut depth = 0usize;
                    let end = (at + 1..w.len())
                        .find(|&i| {
                            match w[i].as_str() {
                                "(" => depth += 1,
                                ")" => depth = depth.saturating_sub(1),
                                _ => {}
                            }
                            depth == 0
                                && (w[i] == ","
                                    || w[i] == ";"
                                    || w[i].eq_ignore_ascii_case("using")
                                    || w[i].eq_ignore_ascii_case("collate"))
                        })
                        .unwrap_or(w.len());
                    if end <= at + 1 {
                        return Some((held, false));
                    }
                    let target = between(statement, &toks, at + 1, end - 1);
                    let value = match find(w, end, "using") {
                        Some(u) => {
                            let stop = (u + 1..w.len())
                                .find(|&i| w[i] == "," || w[i] == ";")
                                .unwrap_or(w.len());
                            format!("({})", between(statement, &toks, u + 1, stop - 1))
                        }
                        None => quote(&column),
                    };
                    let converted = self.number(&format!(
                        "SELECT count(c.v) FROM (SELECT ({value})::{target} AS v FROM {}) AS c",
                        quote(table)
                    ));
                    match converted {
                        Ok(_) => Some((format!("{held}; every value converts to {target}"), false)),
                        Err(e) if e.contains("statement timeout") || e.contains("lock timeout") => {
                            Some((format!("{held}; not converted: {e}"), false))
                        }
                        Err(e) => Some((
                            format!("{held}; a value does not convert to {target}: {e}"),
                            true,
                        )),
                    }
                }
                "ban-drop-column" => {
                    let at = find_run(w, &["drop", "column"])?;
                    let at = if is_if_exists(w, at + 2) {
                        at + 4
                    } else {
                        at + 2
                    };
                    let column = super::postgres_name(w.get(at)?);
                    match self.number(&format!(
                        "SELECT count({}) FROM {}",
                        quote(&column),
                        quote(table)
                    )) {
                        Ok(n) => Some((
                            format!("{held}; {n} of them hold a value in {}", quote(&column)),
                            false,
                        )),
                        Err(e) => Some((format!("{held}; not counted: {e}"), false)),
                    }
                }
                _ => Some((held, false)),
            }
        }
    }

    /// An index key's expression: its order (`ASC`, `DESC`, `NULLS FIRST`,
    /// `NULLS LAST`) and operator class (a name after the expression) cut.
    fn key_expression(key: &str) -> &str {
        let toks = sql::tokens_in(sql::Dialect::Postgres, key);
        let word = |i: usize, k: &str| toks.get(i).is_some_and(|t| t.eq_ignore_ascii_case(k));
        let mut n = toks.len();
        if n >= 2 && word(n - 2, "nulls") && (word(n - 1, "first") || word(n - 1, "last")) {
            n -= 2;
        }
        if n >= 1 && (word(n - 1, "asc") || word(n - 1, "desc")) {
            n -= 1;
        }
        // `expr opclass`: a name right after a name or a `)`.
        let plain = |t: &str| {
            t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '"')
        };
        if n >= 2
            && plain(toks[n - 1])
            && (plain(toks[n - 2]) || toks[n - 2] == ")")
            && !toks[n - 2].eq_ignore_ascii_case("collate")
        {
            n -= 1;
        }
        if n == 0 {
            return key;
        }
        between(key, &toks, 0, n - 1)
    }

    fn is_if_exists(w: &[String], at: usize) -> bool {
        w.get(at).is_some_and(|x| x.eq_ignore_ascii_case("if"))
            && w.get(at + 1)
                .is_some_and(|x| x.eq_ignore_ascii_case("exists"))
    }

    /// Whether the `(` at `i` follows a keyword of the key's actions rather
    /// than the parent's name (`REFERENCES p ON DELETE SET NULL (a)`).
    fn is_keyword_before(w: &[String], i: usize) -> bool {
        w.get(i.wrapping_sub(1))
            .is_some_and(|x| x.eq_ignore_ascii_case("null") || x.eq_ignore_ascii_case("default"))
    }

    impl Live<'_> {
        /// The columns of `table`'s primary key, in order.
        fn primary_key(&mut self, table: &str) -> Option<Vec<String>> {
            let rows = self
                .read(
                    "SELECT a.attname::text FROM pg_index AS i \
                 JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                 WHERE i.indrelid = to_regclass($1) AND i.indisprimary \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)",
                    &[&quote(table)],
                )
                .ok()?;
            let key: Vec<String> = rows.iter().map(|r| quote(&r.get::<_, String>(0))).collect();
            (!key.is_empty()).then_some(key)
        }
    }
}
