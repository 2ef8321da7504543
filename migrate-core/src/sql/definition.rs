//! What a stored `CREATE TABLE` or `CREATE INDEX` statement declares, for
//! the parts SQLite's pragmas do not report: column collations, CHECK
//! constraints, generated columns' expressions, `ON CONFLICT` clauses,
//! `AUTOINCREMENT`, deferred foreign keys, and an index's key expressions
//! and condition.
//!
//! Pure: it reads tokens, following the productions of SQLite's `parse.y`
//! (`ccons`, `tcons`, `onconf`, `refargs`, `defer_subclause`, `sortlist`).
//! The statements read are the ones SQLite stored, so they parsed; what the
//! pragmas do report (types, defaults, NOT NULL, key columns, actions) is
//! taken from them, not from here.

/// The statement's tokens, a quoted one with doubled quotes inside
/// (`'it''s'`, which the scanner reads as two touching ones) kept whole.
fn tokens(sql: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for t in super::tokens(sql) {
        let start = t.as_ptr() as usize - sql.as_ptr() as usize;
        if let Some(last) = out.last_mut() {
            let last_start = last.as_ptr() as usize - sql.as_ptr() as usize;
            let q = last.as_bytes()[0];
            if matches!(q, b'\'' | b'"' | b'`')
                && last_start + last.len() == start
                && t.as_bytes()[0] == q
            {
                *last = &sql[last_start..start + t.len()];
                continue;
            }
        }
        out.push(t);
    }
    out
}

/// What a `CREATE TABLE` statement declares beyond its pragmas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TableText {
    /// The columns, in order.
    pub columns: Vec<ColumnText>,
    /// CHECK constraints (column and table ones alike), sorted.
    pub checks: Vec<(Option<String>, String)>,
    /// Conflict clauses other than the default (`ABORT`), sorted:
    /// constraint (`NOT NULL`, `PRIMARY KEY`, `UNIQUE`), its columns
    /// (lowercased) and the resolution (lowercased).
    pub conflicts: Vec<(&'static str, Vec<String>, String)>,
    /// `AUTOINCREMENT` on the primary key.
    pub autoincrement: bool,
    /// For each foreign key, in declaration order: whether it is
    /// `DEFERRABLE INITIALLY DEFERRED`.
    pub deferred: Vec<bool>,
}

/// One column's declared collation and generating expression.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ColumnText {
    /// The name, unquoted.
    pub name: String,
    /// `COLLATE`, lowercased; `None` for the default (BINARY).
    pub collation: Option<String>,
    /// `GENERATED ALWAYS AS (…)`, normalised (see [`normal`]).
    pub generated: Option<String>,
    /// The whole definition as written, name to last constraint: what
    /// `ALTER TABLE … ADD COLUMN` takes.
    pub definition: String,
}

/// What a `CREATE INDEX` statement declares beyond its pragmas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IndexText {
    /// For each key, in order: its expression, normalised, or `None` for a
    /// plain column.
    pub expressions: Vec<Option<String>>,
    /// The `WHERE` condition, normalised.
    pub condition: Option<String>,
}

/// Reads a stored `CREATE TABLE`; `None` for `CREATE TABLE … AS SELECT`
/// and `CREATE VIRTUAL TABLE`, which declare none of these.
pub(crate) fn table(sql: &str) -> Option<TableText> {
    let t = tokens(sql);
    // `CREATE VIRTUAL TABLE`; a table may be named `virtual` unquoted.
    if t.get(1).is_some_and(|w| is(w, "virtual")) {
        return None;
    }
    let open = t.iter().position(|w| *w == "(" || is(w, "as"))?;
    if t[open] != "(" {
        return None;
    }
    let close = close(&t, open);
    let mut def = TableText::default();
    let mut table_constraints = false;
    for item in items(&t, open + 1, close) {
        let body = &t[item.clone()];
        let Some(first) = body.first() else { continue };
        table_constraints |= ["constraint", "primary", "unique", "check", "foreign"]
            .iter()
            .any(|k| is(first, k));
        if table_constraints {
            table_constraint(body, &mut def);
        } else {
            column(body, &mut def);
            if let Some(col) = def.columns.last_mut() {
                col.definition = span_text(sql, body).to_owned();
            }
        }
    }
    def.checks.sort();
    def.conflicts.sort();
    def.conflicts.dedup();
    Some(def)
}

/// The text of `sql` from the first of `tokens` (slices of it) to the end
/// of the last.
fn span_text<'s>(sql: &'s str, tokens: &[&str]) -> &'s str {
    let (Some(first), Some(last)) = (tokens.first(), tokens.last()) else {
        return "";
    };
    let at = |w: &str| w.as_ptr() as usize - sql.as_ptr() as usize;
    &sql[at(first)..at(last) + last.len()]
}

/// Where the name of a `CREATE [TEMP] [VIRTUAL] TABLE|VIEW|INDEX|TRIGGER
/// [IF NOT EXISTS] [schema.]name` statement is, as a byte range of `sql`
/// (quotes included): what a rebuild renames.
pub(crate) fn name_span(sql: &str) -> Option<std::ops::Range<usize>> {
    let t = tokens(sql);
    let mut i = 1;
    while t.get(i).is_some_and(|w| {
        ["temp", "temporary", "unique", "virtual"]
            .iter()
            .any(|k| is(w, k))
    }) {
        i += 1;
    }
    // The object's kind.
    i += 1;
    if t.get(i).is_some_and(|w| is(w, "if")) {
        i += 3;
    }
    if t.get(i + 1) == Some(&".") {
        i += 2;
    }
    let name = t.get(i)?;
    let at = name.as_ptr() as usize - sql.as_ptr() as usize;
    Some(at..at + name.len())
}

/// Reads a stored `CREATE INDEX`; `None` when it is not one.
pub(crate) fn index(sql: &str) -> Option<IndexText> {
    let t = tokens(sql);
    let on = t.iter().position(|w| is(w, "on"))?;
    let open = on + t[on..].iter().position(|w| *w == "(")?;
    let close = close(&t, open);
    let expressions = items(&t, open + 1, close)
        .map(|r| {
            let mut key = &t[r];
            if key.last().is_some_and(|w| is(w, "asc") || is(w, "desc")) {
                key = &key[..key.len() - 1];
            }
            if key.len() >= 2 && is(key[key.len() - 2], "collate") {
                key = &key[..key.len() - 2];
            }
            (key.len() != 1 || key[0].starts_with('\'')).then(|| normal(key))
        })
        .collect();
    let condition = t
        .get(close + 1)
        .filter(|w| is(w, "where"))
        .map(|_| normal(&t[close + 2..]));
    Some(IndexText {
        expressions,
        condition,
    })
}

/// The keys of a `CREATE INDEX` as written (a column, `a COLLATE NOCASE`,
/// an expression; `ASC`/`DESC` cut) and a partial index's condition, as
/// text of `sql`: what a query over the table's rows groups and filters by
/// to find the values the index would hold twice.
pub(crate) fn index_keys(sql: &str) -> Option<(Vec<&str>, Option<&str>)> {
    let t = tokens(sql);
    let on = t.iter().position(|w| is(w, "on"))?;
    let open = on + t[on..].iter().position(|w| *w == "(")?;
    let close = close(&t, open);
    if close >= t.len() {
        return None;
    }
    let keys = items(&t, open + 1, close)
        .map(|r| {
            let mut key = &t[r];
            if key.last().is_some_and(|w| is(w, "asc") || is(w, "desc")) {
                key = &key[..key.len() - 1];
            }
            span_text(sql, key)
        })
        .collect::<Vec<_>>();
    if keys.iter().any(|k| k.is_empty()) {
        return None;
    }
    let condition = t.get(close + 1).filter(|w| is(w, "where")).map(|_| {
        let end = t.len() - usize::from(t.last() == Some(&";"));
        span_text(sql, &t[close + 2..end])
    });
    Some((keys, condition))
}

/// An expression's tokens as one string that ignores spacing, case outside
/// string literals, the quoting of plain identifiers and parentheses around
/// the whole, so that equal meanings written differently compare equal.
pub(crate) fn normal(mut t: &[&str]) -> String {
    while t.len() >= 2 && t[0] == "(" && close(t, 0) == t.len() - 1 {
        t = &t[1..t.len() - 1];
    }
    // The scanner gives `>=` as two tokens; since `> =` is no operator in
    // SQLite, operator characters that follow each other are one.
    let operator = |w: &str| matches!(w, "<" | ">" | "=" | "!" | "|");
    let mut out = String::new();
    for (i, w) in t.iter().enumerate() {
        if i > 0 && !(operator(w) && operator(t[i - 1])) {
            out.push(' ');
        }
        out.push_str(&normal_token(w));
    }
    out
}

/// A declared type as one string: words uppercased, spaced, and no space
/// around its parentheses and commas (`VARCHAR(10)`, `DOUBLE PRECISION`).
pub(crate) fn normal_type(declared: &str) -> String {
    let mut out = String::new();
    for w in tokens(declared) {
        let glued = matches!(w, "(" | ")" | ",") || out.ends_with(['(', ',']);
        if !out.is_empty() && !glued {
            out.push(' ');
        }
        out.push_str(&w.to_ascii_uppercase());
    }
    out
}

/// A name as SQLite reads it: quotes removed, doubled quotes undone.
pub(crate) fn unquote(w: &str) -> String {
    let Some(q) = w
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '\'' | '`' | '['))
    else {
        return w.to_owned();
    };
    let inner = &w[1..w.len().saturating_sub(1).max(1)];
    match q {
        '[' => inner.to_owned(),
        q => inner.replace(&format!("{q}{q}"), &q.to_string()),
    }
}

fn normal_token(w: &str) -> String {
    if w.starts_with('\'') {
        return w.to_owned();
    }
    if w.starts_with(['"', '`', '[']) {
        let name = unquote(w);
        let plain = name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && name.bytes().next().is_some_and(|c| !c.is_ascii_digit());
        return if plain {
            name.to_ascii_lowercase()
        } else {
            w.to_owned()
        };
    }
    w.to_ascii_lowercase()
}

/// Whether `sql` names `name` as one of its tokens (quoted or not, ASCII
/// case aside, as SQLite compares names).
pub(crate) fn names(sql: &str, name: &str) -> bool {
    super::tokens(sql)
        .iter()
        .any(|w| unquote(w).eq_ignore_ascii_case(name))
}

/// Whether token `w` is the keyword `k` (quoted tokens never are).
fn is(w: &str, k: &str) -> bool {
    w.eq_ignore_ascii_case(k)
}

/// The index of the `)` that closes the `(` at `open` (or the end).
fn close(t: &[&str], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, w) in t.iter().enumerate().skip(open) {
        match *w {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    t.len()
}

/// The ranges between the commas at depth 0 of `t[from..to]`.
fn items<'t>(
    t: &'t [&str],
    from: usize,
    to: usize,
) -> impl Iterator<Item = std::ops::Range<usize>> + 't {
    let mut start = from;
    let mut depth = 0usize;
    let mut i = from;
    std::iter::from_fn(move || {
        while i < to {
            match t[i] {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                "," if depth == 0 => {
                    let item = start..i;
                    i += 1;
                    start = i;
                    return Some(item);
                }
                _ => {}
            }
            i += 1;
        }
        if start <= to && i == to {
            let item = start..to;
            i = to + 1;
            return Some(item);
        }
        None
    })
}

/// `onconf` at `i`: the resolution (lowercased) unless it is the default,
/// and where parsing goes on.
fn on_conflict(t: &[&str], i: usize) -> (Option<String>, usize) {
    if t.get(i).is_some_and(|w| is(w, "on")) && t.get(i + 1).is_some_and(|w| is(w, "conflict")) {
        let resolution = t.get(i + 2).map(|w| w.to_ascii_lowercase());
        return (resolution.filter(|r| r != "abort"), i + 3);
    }
    (None, i)
}

/// `defer_subclause` at `i` (`[NOT] DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE]`):
/// whether it defers, and where parsing goes on; `None` when there is none.
fn defer(t: &[&str], i: usize) -> Option<(bool, usize)> {
    let not = t.get(i).is_some_and(|w| is(w, "not"));
    let at = i + usize::from(not);
    if !t.get(at).is_some_and(|w| is(w, "deferrable")) {
        return None;
    }
    let initially = t.get(at + 1).is_some_and(|w| is(w, "initially"));
    let deferred = initially && t.get(at + 2).is_some_and(|w| is(w, "deferred"));
    Some((!not && deferred, at + 1 + if initially { 2 } else { 0 }))
}

/// `REFERENCES nm [(…)] refargs` at `i` (just after `REFERENCES`), then
/// an optional `defer_subclause`; records the key and returns where
/// parsing goes on.
fn references(t: &[&str], mut i: usize, def: &mut TableText) -> usize {
    i += 1;
    if t.get(i) == Some(&"(") {
        i = close(t, i) + 1;
    }
    loop {
        match t.get(i) {
            Some(w) if is(w, "match") => i += 2,
            Some(w) if is(w, "on") && !t.get(i + 1).is_some_and(|w| is(w, "conflict")) => {
                i += 2;
                i += if t.get(i).is_some_and(|w| is(w, "set") || is(w, "no")) {
                    2
                } else {
                    1
                };
            }
            _ => break,
        }
    }
    def.deferred.push(false);
    if let Some((deferred, next)) = defer(t, i) {
        *def.deferred.last_mut().expect("just pushed") = deferred;
        i = next;
    }
    i
}

/// A column definition: name, type, then its constraints (`ccons`).
fn column(t: &[&str], def: &mut TableText) {
    let mut col = ColumnText {
        name: unquote(t[0]),
        ..ColumnText::default()
    };
    let key = vec![col.name.to_ascii_lowercase()];
    let starts = |i: usize| {
        let w = t[i];
        [
            "constraint",
            "default",
            "null",
            "not",
            "primary",
            "unique",
            "check",
            "references",
            "collate",
            "deferrable",
        ]
        .iter()
        .any(|k| is(w, k))
            || (is(w, "generated") && t.get(i + 1).is_some_and(|w| is(w, "always")))
            || (is(w, "as") && t.get(i + 1) == Some(&"("))
    };
    let mut i = 1;
    // The type: everything up to the first constraint, its `(…)` included.
    while i < t.len() && !starts(i) {
        i = if t[i] == "(" { close(t, i) + 1 } else { i + 1 };
    }
    let mut name = None;
    while i < t.len() {
        let w = t[i];
        let constraint_name = name.take();
        if is(w, "constraint") {
            name = t.get(i + 1).map(|n| unquote(n));
            i += 2;
        } else if is(w, "default") {
            i += 1;
            i += match t.get(i) {
                Some(&"(") => close(t, i) + 1 - i,
                Some(&"+" | &"-") => 2,
                _ => 1,
            };
        } else if is(w, "null") {
            i = on_conflict(t, i + 1).1;
        } else if is(w, "not") && t.get(i + 1).is_some_and(|w| is(w, "null")) {
            let (resolution, next) = on_conflict(t, i + 2);
            if let Some(r) = resolution {
                def.conflicts.push(("NOT NULL", key.clone(), r));
            }
            i = next;
        } else if let Some((deferred, next)) = defer(t, i) {
            // Applies to the table's latest foreign key, as in SQLite.
            if let Some(last) = def.deferred.last_mut() {
                *last = deferred;
            }
            i = next;
        } else if is(w, "primary") {
            i += 2;
            if t.get(i).is_some_and(|w| is(w, "asc") || is(w, "desc")) {
                i += 1;
            }
            let (resolution, next) = on_conflict(t, i);
            if let Some(r) = resolution {
                def.conflicts.push(("PRIMARY KEY", key.clone(), r));
            }
            i = next;
            if t.get(i).is_some_and(|w| is(w, "autoincrement")) {
                def.autoincrement = true;
                i += 1;
            }
        } else if is(w, "unique") {
            let (resolution, next) = on_conflict(t, i + 1);
            if let Some(r) = resolution {
                def.conflicts.push(("UNIQUE", key.clone(), r));
            }
            i = next;
        } else if is(w, "check") && t.get(i + 1) == Some(&"(") {
            let end = close(t, i + 1);
            def.checks
                .push((constraint_name, normal(&t[i + 2..end.min(t.len())])));
            i = end + 1;
        } else if is(w, "references") {
            i = references(t, i + 1, def);
        } else if is(w, "collate") {
            col.collation = t.get(i + 1).map(|c| unquote(c).to_ascii_lowercase());
            i += 2;
        } else if is(w, "generated") && t.get(i + 1).is_some_and(|w| is(w, "always"))
            || is(w, "as") && t.get(i + 1) == Some(&"(")
        {
            let open = i + t[i..].iter().position(|w| *w == "(").unwrap_or(t.len() - i);
            let end = close(t, open);
            col.generated = Some(normal(&t[(open + 1).min(end)..end.min(t.len())]));
            i = end + 1;
            if t.get(i)
                .is_some_and(|w| is(w, "stored") || is(w, "virtual"))
            {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    if col.collation.as_deref() == Some("binary") {
        col.collation = None;
    }
    def.columns.push(col);
}

/// Table constraints (`tcons`), as many as the item holds (the comma
/// between them is optional).
fn table_constraint(t: &[&str], def: &mut TableText) {
    let mut i = 0;
    let mut name = None;
    while i < t.len() {
        let w = t[i];
        let constraint_name = name.take();
        let list = |open: usize| -> (Vec<String>, usize) {
            if t.get(open) != Some(&"(") {
                return (Vec::new(), open);
            }
            let end = close(t, open);
            let names = items(t, open + 1, end)
                .filter_map(|r| t[r].first().map(|n| unquote(n).to_ascii_lowercase()))
                .filter(|n| n != "autoincrement")
                .collect();
            (names, end + 1)
        };
        if is(w, "constraint") {
            name = t.get(i + 1).map(|n| unquote(n));
            i += 2;
        } else if is(w, "primary") || is(w, "unique") {
            let primary = is(w, "primary");
            let open = i + 1 + usize::from(primary);
            if primary
                && t.get(open).is_some_and(|_| {
                    let end = close(t, open);
                    t[open..end.min(t.len())]
                        .iter()
                        .any(|w| is(w, "autoincrement"))
                })
            {
                def.autoincrement = true;
            }
            let (columns, next) = list(open);
            let (resolution, next) = on_conflict(t, next);
            if let Some(r) = resolution {
                let kind = if primary { "PRIMARY KEY" } else { "UNIQUE" };
                def.conflicts.push((kind, columns, r));
            }
            i = next;
        } else if is(w, "check") && t.get(i + 1) == Some(&"(") {
            let end = close(t, i + 1);
            def.checks
                .push((constraint_name, normal(&t[i + 2..end.min(t.len())])));
            // A table CHECK's conflict clause is parsed and ignored by SQLite.
            i = on_conflict(t, end + 1).1;
        } else if is(w, "foreign") {
            let (_, next) = list(i + 2);
            i = next;
            if t.get(i).is_some_and(|w| is(w, "references")) {
                i = references(t, i + 1, def);
            }
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_pragmas_do_not_say() {
        let def = table(
            "CREATE TABLE t (a INTEGER PRIMARY KEY DESC ON CONFLICT REPLACE AUTOINCREMENT, \
             b TEXT COLLATE NoCase CONSTRAINT pos CHECK ((b <> '')) NOT NULL ON CONFLICT IGNORE, \
             c AS (a + 1) STORED, d REFERENCES p DEFERRABLE INITIALLY DEFERRED, \
             CHECK (\"a\" > 0), UNIQUE (b, [c]) ON CONFLICT ABORT, \
             FOREIGN KEY (c) REFERENCES q (x) ON DELETE SET NULL NOT DEFERRABLE INITIALLY DEFERRED) STRICT",
        )
        .unwrap();
        assert_eq!(def.columns[1].collation.as_deref(), Some("nocase"));
        assert_eq!(def.columns[2].generated.as_deref(), Some("a + 1"));
        assert_eq!(
            def.checks,
            vec![
                (None, "a > 0".to_owned()),
                (Some("pos".to_owned()), "b <> ''".to_owned())
            ]
        );
        assert!(def.autoincrement);
        assert_eq!(def.deferred, vec![true, false]);
        assert_eq!(
            def.conflicts,
            vec![
                ("NOT NULL", vec!["b".to_owned()], "ignore".to_owned()),
                ("PRIMARY KEY", vec!["a".to_owned()], "replace".to_owned()),
            ]
        );
    }

    #[test]
    fn reads_index_expressions_and_conditions() {
        let def =
            index("CREATE INDEX i ON t (a, lower(b) COLLATE nocase DESC, \"c\") WHERE (c > 0)")
                .unwrap();
        assert_eq!(
            def.expressions,
            vec![None, Some("lower ( b )".into()), None]
        );
        assert_eq!(def.condition.as_deref(), Some("c > 0"));
    }

    /// Any text at all, stored SQL or not: the readers never panic.
    #[test]
    fn no_text_makes_the_readers_panic() {
        const PARTS: &[&str] = &[
            "CREATE ",
            "TABLE ",
            "INDEX ",
            "VIRTUAL ",
            "t",
            "(",
            ")",
            ",",
            " ",
            "ON ",
            "WHERE ",
            "CONSTRAINT ",
            "c ",
            "CHECK",
            "DEFAULT ",
            "-",
            "+",
            "'s'",
            "\"q\"",
            "[b]",
            "`x`",
            "NOT ",
            "NULL ",
            "PRIMARY ",
            "KEY ",
            "UNIQUE ",
            "REFERENCES ",
            "FOREIGN ",
            "COLLATE ",
            "GENERATED ",
            "ALWAYS ",
            "AS ",
            "STORED",
            "DEFERRABLE ",
            "INITIALLY ",
            "DEFERRED ",
            "CONFLICT ",
            "REPLACE ",
            "AUTOINCREMENT ",
            "ASC ",
            "DESC ",
            "MATCH ",
            "SET ",
            "NO ",
            "ACTION ",
            "1",
            "x'00'",
            "--c\n",
            "/*",
            "*/",
            "é",
            ";",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let len = next(30);
            let text: String = (0..len).map(|_| PARTS[next(PARTS.len())]).collect();
            let _ = table(&text);
            let _ = index(&text);
            let _ = normal(&tokens(&text));
            let _ = normal_type(&text);
        }
    }

    #[test]
    fn normal_forms() {
        assert_eq!(normal(&tokens("((X  >= \"Y\"))")), "x >= y");
        assert_eq!(
            normal(&tokens("'A' || \"two words\"")),
            "'A' || \"two words\""
        );
        assert_eq!(normal(&tokens("'it''s' = [x]")), "'it''s' = x");
        assert_eq!(normal_type("varchar( 10 )"), "VARCHAR(10)");
        assert_eq!(normal_type("double  precision"), "DOUBLE PRECISION");
        assert_eq!(unquote("\"a\"\"b\""), "a\"b");
    }
}
