//! lint's PostgreSQL rules: what each statement locks or rewrites, read
//! from its words. Where squawk has the rule, its id is squawk's, so that a
//! team's configuration carries over; unlike squawk, lint knows how the
//! runner runs the file: it never asks for a `lock_timeout` (the runner
//! sets one for every migration), asks for `CONCURRENTLY` only where the
//! file can take it (a `-- migrate:no-transaction` file), and leaves alone
//! what a table made in the same file cannot suffer (it is new and empty).

use super::server::{Offline, Server, postgres_name, table_name_at as name_at};
use super::{Finding, Severity, allowances, finding};
use crate::naming::Kind;
use crate::source::{Migration, Migrations};
use crate::sql;

/// Every PostgreSQL rule: its id and what it catches.
pub const RULES: &[(&str, &str)] = &[
    (
        "require-concurrent-index-creation",
        "CREATE INDEX without CONCURRENTLY on an existing table: writes wait for the whole build",
    ),
    (
        "require-concurrent-index-deletion",
        "DROP INDEX without CONCURRENTLY: takes ACCESS EXCLUSIVE on the table",
    ),
    (
        "require-concurrent-reindex",
        "REINDEX without CONCURRENTLY: blocks writes (and reads through the index)",
    ),
    (
        "require-concurrent-partition-detach",
        "DETACH PARTITION without CONCURRENTLY: ACCESS EXCLUSIVE on the parent",
    ),
    (
        "ban-concurrent-index-creation-in-transaction",
        "CREATE INDEX CONCURRENTLY (or any CONCURRENTLY) in a file the runner wraps in a transaction: PostgreSQL refuses it",
    ),
    (
        "ban-uncommitted-transaction",
        "BEGIN with no COMMIT: in a wrapped file the scanner refuses it; in a no-transaction file the session is left in an open transaction",
    ),
    (
        "transaction-control",
        "COMMIT, ROLLBACK or SAVEPOINT inside a file the runner already wraps in a transaction",
    ),
    (
        "vacuum-in-transaction",
        "VACUUM in a file the runner wraps in a transaction: PostgreSQL refuses it",
    ),
    (
        "needs-no-transaction",
        "another statement PostgreSQL refuses in a transaction block (CREATE DATABASE, ALTER SYSTEM, …)",
    ),
    (
        "new-unique-index",
        "CREATE UNIQUE INDEX on an existing table: fails on duplicate values",
    ),
    (
        "adding-field-with-default",
        "ADD COLUMN with a volatile default: rewrites the whole table under ACCESS EXCLUSIVE",
    ),
    (
        "adding-required-field",
        "ADD COLUMN … NOT NULL with no default: fails on a table with rows",
    ),
    (
        "adding-not-nullable-field",
        "SET NOT NULL: scans the whole table under ACCESS EXCLUSIVE",
    ),
    (
        "adding-foreign-key-constraint",
        "a foreign key added without NOT VALID: scans the table while both tables are locked",
    ),
    (
        "constraint-missing-not-valid",
        "a CHECK added without NOT VALID: scans the table under ACCESS EXCLUSIVE",
    ),
    (
        "adding-primary-key-constraint",
        "ADD PRIMARY KEY without USING INDEX: builds the index under ACCESS EXCLUSIVE",
    ),
    (
        "disallow-unique-constraint",
        "ADD UNIQUE without USING INDEX: builds the index under ACCESS EXCLUSIVE",
    ),
    (
        "changing-column-type",
        "ALTER COLUMN … TYPE: rewrites the table (and its indexes) under ACCESS EXCLUSIVE",
    ),
    (
        "ban-drop-column",
        "DROP COLUMN: its values are gone, and running code that reads it fails",
    ),
    ("ban-drop-table", "DROP TABLE: its rows are gone"),
    ("ban-drop-database", "DROP DATABASE"),
    (
        "ban-drop-not-null",
        "DROP NOT NULL: running code may rely on it",
    ),
    (
        "ban-truncate-cascade",
        "TRUNCATE … CASCADE: empties every table that references it too",
    ),
    (
        "renaming-column",
        "RENAME COLUMN: running code that names it fails",
    ),
    (
        "renaming-table",
        "RENAME TO: running code that names it fails",
    ),
    (
        "ban-alter-domain-with-add-constraint",
        "ALTER DOMAIN … ADD CONSTRAINT: checks every column of the domain under lock",
    ),
    (
        "ban-create-domain-with-constraint",
        "CREATE DOMAIN with a constraint: the constraint can never be changed safely",
    ),
];

/// Every function name of PostgreSQL 15's `pg_catalog` with its volatility
/// (`v`, `s`, `i`; `v` when any overload is volatile), as the server lists
/// it; sorted bytewise.
const CATALOG_FUNCTIONS: &str = include_str!("pg_functions.txt");

/// The volatility `pg_catalog` gives `name` (`v`, `s` or `i`), if it has a
/// function of that name.
pub fn catalog_volatility(name: &str) -> Option<char> {
    CATALOG_FUNCTIONS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (n, v) = l.split_once(' ')?;
            (n == name).then(|| v.chars().next()).flatten()
        })
}

/// The lock a statement takes on the table it names, the strongest of its
/// parts, as PostgreSQL 15 takes it (`AlterTableGetLockLevel` in
/// tablecmds.c for `ALTER TABLE`; the docs' "Explicit Locking" for the
/// rest). `None` for a statement that locks no table it names.
///
/// ```
/// use migrate_core::lint::postgres::lock_of;
/// assert_eq!(lock_of("ALTER TABLE users ADD COLUMN age int"), Some("ACCESS EXCLUSIVE"));
/// assert_eq!(lock_of("CREATE INDEX CONCURRENTLY i ON users (email)"), Some("SHARE UPDATE EXCLUSIVE"));
/// ```
pub fn lock_of(statement: &str) -> Option<&'static str> {
    let w: Vec<String> = sql::tokens_in(sql::Dialect::Postgres, statement)
        .iter()
        .map(|t| t.to_string())
        .collect();
    lock_of_words(&w)
}

fn lock_of_words(w: &[String]) -> Option<&'static str> {
    const ORDER: [&str; 8] = [
        "ACCESS SHARE",
        "ROW SHARE",
        "ROW EXCLUSIVE",
        "SHARE UPDATE EXCLUSIVE",
        "SHARE",
        "SHARE ROW EXCLUSIVE",
        "EXCLUSIVE",
        "ACCESS EXCLUSIVE",
    ];
    let first = w.first();
    let concurrently = has(w, "concurrently");
    if is(first, "create") && (is(w.get(1), "index") || is(w.get(2), "index")) {
        return Some(if concurrently { ORDER[3] } else { ORDER[4] });
    }
    if is(first, "create") && has_run(w, &["trigger"]) && has(&w[..w.len().min(4)], "trigger") {
        return Some(ORDER[5]);
    }
    if is(first, "drop") && is(w.get(1), "index") {
        return Some(if concurrently { ORDER[3] } else { ORDER[7] });
    }
    if is(first, "reindex") {
        return Some(if concurrently { ORDER[3] } else { ORDER[4] });
    }
    if (is(first, "drop") && is(w.get(1), "table")) || is(first, "truncate") {
        return Some(ORDER[7]);
    }
    if is(first, "vacuum") && has(w, "full") || is(first, "cluster") {
        return Some(ORDER[7]);
    }
    if is(first, "update") || is(first, "delete") || is(first, "insert") || is(first, "merge") {
        return Some(ORDER[2]);
    }
    if !(is(first, "alter") && is(w.get(1), "table")) {
        return None;
    }
    // Each top-level part after the table's name.
    let mut parts: Vec<&[String]> = Vec::new();
    let (mut depth, mut from) = (0usize, 0usize);
    for (i, t) in w.iter().enumerate() {
        match t.as_str() {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "," if depth == 0 => {
                parts.push(&w[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&w[from..]);
    let level = |p: &[String]| -> usize {
        if has_run(p, &["foreign", "key"])
            || (has(p, "add") && has(p, "references") && !has(p, "column") && has(p, "constraint"))
        {
            5
        } else if has_run(p, &["validate", "constraint"])
            || has_run(p, &["set", "statistics"])
            || has_run(p, &["cluster", "on"])
            || has_run(p, &["set", "without", "cluster"])
            || has_run(p, &["attach", "partition"])
            || (has_run(p, &["detach", "partition"])
                && (has(p, "concurrently") || has(p, "finalize")))
            // A table's or a column's options (`SET (fillfactor = 70)`,
            // `ALTER COLUMN c SET (n_distinct = 100)`).
            || has_run(p, &["set", "("])
            || has_run(p, &["reset", "("])
        {
            3
        } else if (has(p, "enable") || has(p, "disable")) && has(p, "trigger") {
            // Rules (ENABLE RULE) change what SELECT sees: ACCESS EXCLUSIVE.
            5
        } else {
            7
        }
    };
    parts.iter().map(|p| level(p)).max().map(|l| ORDER[l])
}

fn is(w: Option<&String>, k: &str) -> bool {
    w.is_some_and(|w| w.eq_ignore_ascii_case(k))
}

fn has(w: &[String], k: &str) -> bool {
    w.iter().any(|x| x.eq_ignore_ascii_case(k))
}

/// Whether `w` holds the keywords `ks` one after another.
fn has_run(w: &[String], ks: &[&str]) -> bool {
    w.windows(ks.len())
        .any(|win| win.iter().zip(ks).all(|(a, b)| a.eq_ignore_ascii_case(b)))
}

/// Lints the PostgreSQL migrations `chosen` picks.
pub fn lint(set: &Migrations, chosen: impl Fn(&Migration) -> bool) -> Vec<Finding> {
    lint_on(set, chosen, &mut Offline)
}

/// [`lint`], with the server the migrations will run on (read only, in
/// read-only transactions): each finding gets the size of its table, and
/// the rows it touches are counted; one the rows make certain to fail (a
/// NOT NULL column on a table with rows, a key over duplicates, a CHECK or
/// a foreign key the rows break, a type change a value cannot take) is an
/// error, unless a statement before it writes to that table.
#[cfg(feature = "postgres")]
pub fn lint_with(
    set: &Migrations,
    chosen: impl Fn(&Migration) -> bool,
    client: &mut ::postgres::Client,
) -> Vec<Finding> {
    lint_on(set, chosen, &mut super::server::Live::new(client))
}

/// What the linted statements before the one at hand write to.
#[derive(Default)]
struct Written {
    tables: Vec<String>,
    /// A statement whose writes cannot be told from its words (`DO`,
    /// `CALL`, `SELECT f()`), or a write that fires triggers or actions.
    anything: bool,
}

impl Written {
    fn note(&mut self, w: &[String], server: &mut dyn Server) {
        let first = w.first();
        let table = if is(first, "insert") || is(first, "merge") {
            name_at(w, 2)
        } else if is(first, "update") {
            name_at(w, 1)
        } else if is(first, "delete") {
            name_at(w, 2)
        } else if is(first, "truncate") {
            name_at(w, if is(w.get(1), "table") { 2 } else { 1 })
        } else if is(first, "alter")
            && is(w.get(1), "table")
            && (has(w, "type") || has(w, "rename"))
        {
            // Of ALTER TABLE, a type change (its USING) changes the values
            // rows hold, and after a rename a name means another column
            // than the server's; none changes how many rows there are.
            name_at(w, 2)
        } else if is(first, "copy") {
            name_at(w, 1)
        } else {
            if is(first, "do")
                || is(first, "call")
                || is(first, "select")
                || is(first, "with")
                || is(first, "execute")
            {
                self.anything = true;
            }
            None
        };
        if let Some(t) = table {
            if !is(first, "alter") && server.writes_beyond(&t) {
                self.anything = true;
            }
            self.tables.push(t);
        }
    }

    fn touched(&self, table: &str) -> bool {
        self.anything || self.tables.iter().any(|t| t == table)
    }
}

fn lint_on(
    set: &Migrations,
    chosen: impl Fn(&Migration) -> bool,
    server: &mut dyn Server,
) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut functions: Vec<(String, char)> = Vec::new();
    let mut written = Written::default();
    for m in set.iter().filter(|m| m.kind == Kind::Sql) {
        if chosen(m) {
            // Its functions are noted as its statements are read.
            found.extend(lint_one(m, &mut functions, server, &mut written));
        } else {
            functions.extend(functions_made(m));
        }
    }
    found
}

/// The functions a migration makes (`CREATE [OR REPLACE] FUNCTION name`),
/// each with the volatility it declares.
fn functions_made(m: &Migration) -> Vec<(String, char)> {
    let Ok(script) = m.script() else {
        return Vec::new();
    };
    script
        .statements
        .iter()
        .filter_map(|s| {
            let w: Vec<String> = sql::tokens_in(sql::Dialect::Postgres, s.text(&m.text))
                .iter()
                .map(|t| t.to_string())
                .collect();
            function_made_by(&w)
        })
        .collect()
}

fn lint_one(
    m: &Migration,
    functions: &mut Vec<(String, char)>,
    server: &mut dyn Server,
    written: &mut Written,
) -> Vec<Finding> {
    let file = m.file.to_string();
    let script = match m.script() {
        Ok(script) => script,
        Err(e) => {
            return vec![Finding {
                file,
                line: e.line,
                rule: super::scan_rule(&e.kind),
                severity: Severity::Error,
                message: e.to_string(),
                allowed: false,
                fails_on_data: false,
            }];
        }
    };
    let allowances = allowances(sql::Dialect::Postgres, &m.text);
    let mut found = Vec::new();
    if let Some(line) = super::uncommitted(m.dialect, &m.text, &script) {
        found.push(super::uncommitted_finding(
            &file,
            line,
            &m.text,
            &allowances,
        ));
    }
    let mut created: Vec<String> = Vec::new();
    for s in &script.statements {
        let text = s.text(&m.text);
        let w: Vec<String> = sql::tokens_in(sql::Dialect::Postgres, text)
            .iter()
            .map(|t| t.to_string())
            .collect();
        let mut here: Vec<(&'static str, Severity, String)> = Vec::new();
        let mut volatility = |name: &str| {
            functions
                .iter()
                .rev()
                .find(|(f, _)| f == name)
                .map(|(_, v)| *v)
                .or_else(|| server.volatility(name))
                .or_else(|| catalog_volatility(name))
        };
        check(
            &w,
            script.no_transaction,
            &created,
            &mut volatility,
            &mut here,
        );
        if is(w.first(), "create") && has(&w[..w.len().min(4)], "table") {
            let at = w
                .iter()
                .position(|x| x.eq_ignore_ascii_case("table"))
                .map_or(0, |i| i + 1);
            if let Some(t) = name_at(&w, at) {
                created.push(t);
            }
        }
        let table = subject(&w).filter(|t| !created.contains(t));
        let lock = lock_of_words(&w);
        for (rule, severity, message) in here {
            let mut message = message;
            let mut severity = severity;
            let mut fails_on_data = false;
            if let Some(table) = &table {
                if let Some(lock) = lock {
                    message.push_str(&format!(
                        "\n  takes {lock} on {}",
                        sql::quote_identifier(table)
                    ));
                }
                if let Some((rows, fails)) = server.rows(rule, &w, text, table) {
                    message.push_str("\n  ");
                    message.push_str(&rows);
                    if fails && !written.touched(table) {
                        severity = Severity::Error;
                        fails_on_data = true;
                        message.push_str(": it fails");
                    } else if fails {
                        message.push_str(&format!(
                            " now; a statement that runs before it may write to {}, so it may not fail",
                            sql::quote_identifier(table)
                        ));
                    }
                }
            }
            let mut f = finding(&file, s.line, text, &allowances, rule, severity, message);
            f.fails_on_data = fails_on_data;
            found.push(f);
        }
        if let Some(made) = function_made_by(&w) {
            functions.push(made);
        }
        written.note(&w, server);
    }
    found
}

/// The function a `CREATE [OR REPLACE] FUNCTION` statement makes, with the
/// volatility it declares (VOLATILE unless it says otherwise, as
/// PostgreSQL takes it).
fn function_made_by(w: &[String]) -> Option<(String, char)> {
    let at = if is(w.get(1), "or") { 4 } else { 2 };
    if !(is(w.first(), "create") && is(w.get(at - 1), "function")) {
        return None;
    }
    let name = name_at(w, at)?;
    let v = if has(w, "immutable") {
        'i'
    } else if has(w, "stable") {
        's'
    } else {
        'v'
    };
    Some((name, v))
}

/// The table a statement works on, as its words name it.
fn subject(w: &[String]) -> Option<String> {
    let first = w.first();
    if is(first, "alter") && is(w.get(1), "table") {
        name_at(w, 2)
    } else if is(first, "create") && (is(w.get(1), "index") || is(w.get(2), "index")) {
        let on = w.iter().position(|x| x.eq_ignore_ascii_case("on"))?;
        name_at(w, on + 1)
    } else if is(first, "drop") && is(w.get(1), "table") {
        name_at(w, 2)
    } else if is(first, "truncate") {
        name_at(w, if is(w.get(1), "table") { 2 } else { 1 })
    } else {
        None
    }
}

/// The parts of an `ALTER TABLE name part, part, …` (each part's words),
/// past the table's name; split at the commas outside parentheses.
fn actions(w: &[String]) -> Vec<&[String]> {
    let mut at = 2;
    if is(w.get(at), "if") {
        at += 2;
    }
    if is(w.get(at), "only") {
        at += 1;
    }
    at += if w.get(at + 1).is_some_and(|x| x == ".") {
        3
    } else {
        1
    };
    let rest = w.get(at..).unwrap_or_default();
    let mut parts = Vec::new();
    let (mut depth, mut from) = (0usize, 0usize);
    for (i, t) in rest.iter().enumerate() {
        match t.as_str() {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "," | ";" if depth == 0 => {
                parts.push(&rest[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&rest[from..]);
    parts.retain(|p| !p.is_empty());
    parts
}

/// What PostgreSQL's grammar reads as a call but is no function of
/// `pg_proc` (`func_expr_common_subexpr` in gram.y, and `ROW`, `ARRAY`):
/// never volatile.
const SYNTAX_CALLS: &[&str] = &[
    "array",
    "cast",
    "coalesce",
    "collation",
    "current_time",
    "current_timestamp",
    "extract",
    "greatest",
    "least",
    "localtime",
    "localtimestamp",
    "normalize",
    "nullif",
    "overlay",
    "position",
    "row",
    "substring",
    "treat",
    "trim",
    "varying",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
];

/// The functions `w` calls (`name (`), lowercased, past a schema; a type's
/// modifier after `::` (`::numeric(10, 2)`) and the grammar's own call
/// forms are not calls.
fn calls(w: &[String]) -> Vec<String> {
    (0..w.len().saturating_sub(1))
        .filter(|&i| w[i + 1] == "(" && i > 0 && w[i - 1] != ":")
        .map(|i| postgres_name(&w[i]))
        .filter(|n| {
            n.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && !SYNTAX_CALLS.contains(&n.as_str())
        })
        .collect()
}

fn check(
    w: &[String],
    no_transaction: bool,
    created: &[String],
    volatility: &mut dyn FnMut(&str) -> Option<char>,
    found: &mut Vec<(&'static str, Severity, String)>,
) {
    let mut say = |rule, severity, message: String| found.push((rule, severity, message));
    let concurrently = |what: &str| {
        if no_transaction {
            format!("write `{what} CONCURRENTLY`")
        } else {
            format!(
                "write `{what} CONCURRENTLY` in a file of its own that starts with `-- migrate:no-transaction` (PostgreSQL refuses CONCURRENTLY in the transaction the runner wraps this file in)"
            )
        }
    };
    let first = w.first();
    // CREATE [UNIQUE] INDEX [CONCURRENTLY] … ON table
    if is(first, "create")
        && (is(w.get(1), "index") || (is(w.get(1), "unique") && is(w.get(2), "index")))
    {
        let table = w
            .iter()
            .position(|x| x.eq_ignore_ascii_case("on"))
            .and_then(|i| name_at(w, i + 1));
        let new = table.as_ref().is_some_and(|t| created.contains(t));
        if is(w.get(1), "unique") && !new {
            say(
                "new-unique-index",
                Severity::Warning,
                format!(
                    "fails if the table holds duplicates of its key{}; with --database, lint counts them",
                    if has(w, "concurrently") {
                        ", and a failed CONCURRENTLY build leaves an INVALID index behind to DROP"
                    } else {
                        ""
                    }
                ),
            );
        }
        if !has(w, "concurrently") && !new {
            say(
                "require-concurrent-index-creation",
                Severity::Warning,
                format!(
                    "writes to the table wait until the index is built; {}",
                    concurrently("CREATE INDEX")
                ),
            );
        }
        return;
    }
    if is(first, "drop") && is(w.get(1), "index") && !has(w, "concurrently") {
        say(
            "require-concurrent-index-deletion",
            Severity::Warning,
            format!(
                "takes ACCESS EXCLUSIVE on the table; {}",
                concurrently("DROP INDEX")
            ),
        );
        return;
    }
    if is(first, "reindex") && !has(w, "concurrently") {
        say(
            "require-concurrent-reindex",
            Severity::Warning,
            format!("blocks writes while it runs; {}", concurrently("REINDEX")),
        );
        return;
    }
    if is(first, "drop") && is(w.get(1), "table") {
        say(
            "ban-drop-table",
            Severity::Warning,
            "drops the table and every row in it; the down cannot bring them back".into(),
        );
        return;
    }
    if is(first, "drop") && is(w.get(1), "database") {
        say(
            "ban-drop-database",
            Severity::Error,
            "drops a whole database; a migration is not the place".into(),
        );
        return;
    }
    if is(first, "truncate") && has(w, "cascade") {
        say(
            "ban-truncate-cascade",
            Severity::Error,
            "empties every table that references it, through their foreign keys; TRUNCATE the tables by name".into(),
        );
        return;
    }
    if is(first, "alter")
        && is(w.get(1), "domain")
        && has_run(w, &["add", "constraint"])
        && !has_run(w, &["not", "valid"])
    {
        say(
            "ban-alter-domain-with-add-constraint",
            Severity::Warning,
            "checks every column of the domain while it holds locks; add the constraint NOT VALID, then VALIDATE it".into(),
        );
        return;
    }
    if is(first, "create") && is(w.get(1), "domain") && (has(w, "check") || has(w, "constraint")) {
        say(
            "ban-create-domain-with-constraint",
            Severity::Warning,
            "a domain's constraint cannot be changed later without checking every column; put the CHECK on the columns".into(),
        );
        return;
    }
    if !(is(first, "alter") && is(w.get(1), "table")) {
        return;
    }
    let Some(table) = name_at(w, 2) else { return };
    if has_run(w, &["detach", "partition"]) && !has(w, "concurrently") {
        say(
            "require-concurrent-partition-detach",
            Severity::Warning,
            format!(
                "takes ACCESS EXCLUSIVE on the parent; {}",
                concurrently("DETACH PARTITION … ")
            ),
        );
    }
    // The rest cannot hurt a table this file made: it is new and empty.
    if created.contains(&table) {
        return;
    }
    if has_run(w, &["drop", "column"]) {
        say(
            "ban-drop-column",
            Severity::Warning,
            "drops the column and every value in it; stop reading it in the code first".into(),
        );
    }
    if has_run(w, &["drop", "not", "null"]) {
        say(
            "ban-drop-not-null",
            Severity::Warning,
            "code that relies on it being set may break".into(),
        );
    }
    if has_run(w, &["rename", "column"])
        || (has(w, "rename")
            && has(w, "to")
            && !has_run(w, &["rename", "to"])
            && !has(w, "constraint"))
    {
        say(
            "renaming-column",
            Severity::Warning,
            "code that names the old column fails from then on; add the new column, copy, switch the code, then drop".into(),
        );
    } else if has_run(w, &["rename", "to"]) {
        say(
            "renaming-table",
            Severity::Warning,
            "code that names the old table fails from then on; a view under the old name can bridge the switch".into(),
        );
    }
    if has_run(w, &["set", "not", "null"]) {
        say(
            "adding-not-nullable-field",
            Severity::Warning,
            "scans the whole table under ACCESS EXCLUSIVE; add `CHECK (col IS NOT NULL) NOT VALID`, VALIDATE it in a later migration, then SET NOT NULL (PostgreSQL 12+ uses the check and skips the scan)".into(),
        );
    }
    // `ALTER [COLUMN] name [SET DATA] TYPE …`, after the statement's own ALTER.
    let retyped = (1..w.len())
        .filter(|&i| w[i].eq_ignore_ascii_case("alter"))
        .any(|a| {
            let next = if is(w.get(a + 1), "column") {
                a + 3
            } else {
                a + 2
            };
            is(w.get(next), "type")
                || (is(w.get(next), "set")
                    && is(w.get(next + 1), "data")
                    && is(w.get(next + 2), "type"))
        });
    if retyped {
        say(
            "changing-column-type",
            Severity::Warning,
            "rewrites the table and its indexes under ACCESS EXCLUSIVE (most changes do); add a new column, backfill it, switch, then drop the old".into(),
        );
    }
    // Each `ADD [COLUMN]` part of the statement, alone (a DEFAULT or a NOT
    // NULL of another part is not this column's).
    for p in actions(w).into_iter().filter(|p| {
        is(p.first(), "add")
            && ![
                "constraint",
                "primary",
                "unique",
                "check",
                "foreign",
                "exclude",
            ]
            .iter()
            .any(|k| is(p.get(1), k))
    }) {
        let default_at = p.iter().position(|x| x.eq_ignore_ascii_case("default"));
        // Columns PostgreSQL fills itself, row by row: a serial type (an
        // implicit `DEFAULT nextval(…)`), an identity, a stored generated
        // column. Never a failure on rows; always a rewrite.
        let fills = p.iter().any(|x| {
            [
                "serial",
                "serial2",
                "serial4",
                "serial8",
                "smallserial",
                "bigserial",
            ]
            .iter()
            .any(|s| x.eq_ignore_ascii_case(s))
        }) || has(p, "generated");
        if fills {
            say(
                "adding-field-with-default",
                Severity::Warning,
                "PostgreSQL computes it for every row (a serial's nextval, an identity, a stored expression): the table is rewritten under ACCESS EXCLUSIVE; add a plain column, backfill in batches, then attach the default".into(),
            );
        }
        if has_run(p, &["not", "null"]) && default_at.is_none() && !fills {
            say(
                "adding-required-field",
                Severity::Error,
                "a NOT NULL column with no default fails on a table with rows; give it a default, or add it nullable, backfill, then SET NOT NULL the safe way".into(),
            );
        }
        if let Some(at) = default_at.filter(|_| !fills) {
            // The default's words: to the end of this ADD part.
            let end = p.len();
            // PostgreSQL 11+ stores a non-volatile default once; a volatile
            // one is computed for every row.
            let called: Vec<(String, Option<char>)> = calls(&p[at..end])
                .into_iter()
                .map(|f| {
                    let v = volatility(&f);
                    (f, v)
                })
                .collect();
            let volatile: Vec<&str> = called
                .iter()
                .filter(|(_, v)| *v == Some('v'))
                .map(|(f, _)| f.as_str())
                .collect();
            let unknown: Vec<&str> = called
                .iter()
                .filter(|(_, v)| v.is_none())
                .map(|(f, _)| f.as_str())
                .collect();
            if !volatile.is_empty() {
                say(
                    "adding-field-with-default",
                    Severity::Warning,
                    format!(
                        "the default calls {}, which is VOLATILE: it is computed for every row, and the table is rewritten under ACCESS EXCLUSIVE; add the column with no default, set the default, then backfill in batches",
                        volatile.join(", ")
                    ),
                );
            } else if !unknown.is_empty() {
                say(
                    "adding-field-with-default",
                    Severity::Warning,
                    format!(
                        "the default calls {}, which neither the migrations nor PostgreSQL's catalog define (an extension's?): if it is VOLATILE the table is rewritten under ACCESS EXCLUSIVE; with --database lint asks the server",
                        unknown.join(", ")
                    ),
                );
            }
        }
        if has(p, "references") && !has_run(p, &["not", "valid"]) {
            say(
                "adding-foreign-key-constraint",
                Severity::Warning,
                "checking the key scans the table while both tables are locked; add it NOT VALID, then VALIDATE CONSTRAINT in a later migration".into(),
            );
        }
    }
    if has_run(w, &["add", "constraint"])
        || has_run(w, &["add", "foreign"])
        || has_run(w, &["add", "check"])
        || has_run(w, &["add", "primary"])
        || has_run(w, &["add", "unique"])
    {
        let not_valid = has_run(w, &["not", "valid"]);
        let using_index = has_run(w, &["using", "index"]);
        if has_run(w, &["foreign", "key"]) && !not_valid {
            say(
                "adding-foreign-key-constraint",
                Severity::Warning,
                "checking the key scans the table while both tables are locked; add it NOT VALID, then VALIDATE CONSTRAINT in a later migration".into(),
            );
        } else if has(w, "check") && !not_valid {
            say(
                "constraint-missing-not-valid",
                Severity::Warning,
                "checking every row holds ACCESS EXCLUSIVE; add it NOT VALID, then VALIDATE CONSTRAINT in a later migration".into(),
            );
        } else if has_run(w, &["primary", "key"]) && !using_index {
            say(
                "adding-primary-key-constraint",
                Severity::Warning,
                "builds its index under ACCESS EXCLUSIVE; CREATE UNIQUE INDEX CONCURRENTLY first (in a no-transaction file), then ADD PRIMARY KEY USING INDEX".into(),
            );
        } else if has(w, "unique") && !using_index {
            say(
                "disallow-unique-constraint",
                Severity::Warning,
                "builds its index under ACCESS EXCLUSIVE; CREATE UNIQUE INDEX CONCURRENTLY first (in a no-transaction file), then ADD CONSTRAINT … UNIQUE USING INDEX".into(),
            );
        }
    }
}
