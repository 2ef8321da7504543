//! lint's PostgreSQL rules: what each statement locks or rewrites, read
//! from its words. Where squawk has the rule, its id is squawk's, so that a
//! team's configuration carries over; unlike squawk, lint knows how the
//! runner runs the file: it never asks for a `lock_timeout` (the runner
//! sets one for every migration), asks for `CONCURRENTLY` only where the
//! file can take it (a `-- migrate:no-transaction` file), and leaves alone
//! what a table made in the same file cannot suffer (it is new and empty).

use super::{Finding, Severity, allowances, finding};
use crate::naming::Kind;
use crate::source::{Migration, Migrations};
use crate::sql::{self, definition};

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

/// Functions whose value changes from row to row: a default that calls one
/// is computed for every row, so the table is rewritten.
const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
    "statement_timestamp",
];

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

/// The table of `ALTER TABLE [IF EXISTS] [ONLY] name`, `CREATE INDEX … ON
/// [ONLY] name`, …: the name after `at`, past `IF EXISTS`, `ONLY` and a
/// schema (`public.t` is `t`).
fn name_at(w: &[String], mut at: usize) -> Option<String> {
    if is(w.get(at), "if") {
        at += 2;
    }
    if is(w.get(at), "only") {
        at += 1;
    }
    if w.get(at + 1).is_some_and(|x| x == ".") {
        at += 2;
    }
    w.get(at)
        .map(|n| definition::unquote(n).to_ascii_lowercase())
}

/// Lints the PostgreSQL migrations `chosen` picks.
pub fn lint(set: &Migrations, chosen: impl Fn(&Migration) -> bool) -> Vec<Finding> {
    set.iter()
        .filter(|m| chosen(m) && m.kind == Kind::Sql)
        .flat_map(lint_one)
        .collect()
}

fn lint_one(m: &Migration) -> Vec<Finding> {
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
        check(&w, script.no_transaction, &created, &mut here);
        if is(w.first(), "create") && has(&w[..w.len().min(4)], "table") {
            let at = w
                .iter()
                .position(|x| x.eq_ignore_ascii_case("table"))
                .map_or(0, |i| i + 1);
            if let Some(t) = name_at(&w, at) {
                created.push(t);
            }
        }
        for (rule, severity, message) in here {
            found.push(finding(
                &file,
                s.line,
                text,
                &allowances,
                rule,
                severity,
                message,
            ));
        }
    }
    found
}

fn check(
    w: &[String],
    no_transaction: bool,
    created: &[String],
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
    if has_run(w, &["add", "column"])
        || (has(w, "add")
            && !has(w, "constraint")
            && !has_run(w, &["add", "primary"])
            && !has_run(w, &["add", "unique"])
            && !has_run(w, &["add", "check"])
            && !has_run(w, &["add", "foreign"]))
    {
        let default_at = w.iter().position(|x| x.eq_ignore_ascii_case("default"));
        // Columns PostgreSQL fills itself, row by row: a serial type (an
        // implicit `DEFAULT nextval(…)`), an identity, a stored generated
        // column. Never a failure on rows; always a rewrite.
        let fills = w.iter().any(|x| {
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
        }) || has(w, "generated");
        if fills {
            say(
                "adding-field-with-default",
                Severity::Warning,
                "PostgreSQL computes it for every row (a serial's nextval, an identity, a stored expression): the table is rewritten under ACCESS EXCLUSIVE; add a plain column, backfill in batches, then attach the default".into(),
            );
        }
        if has_run(w, &["not", "null"]) && default_at.is_none() && !fills {
            say(
                "adding-required-field",
                Severity::Error,
                "a NOT NULL column with no default fails on a table with rows; give it a default, or add it nullable, backfill, then SET NOT NULL the safe way".into(),
            );
        }
        if let Some(at) = default_at.filter(|_| !fills) {
            let volatile = w[at + 1..]
                .windows(2)
                .any(|p| p[1] == "(" && VOLATILE.iter().any(|f| p[0].eq_ignore_ascii_case(f)));
            if volatile {
                say(
                    "adding-field-with-default",
                    Severity::Warning,
                    "a volatile default is computed for every row: the table is rewritten under ACCESS EXCLUSIVE; add the column with no default, set the default, then backfill in batches".into(),
                );
            }
        }
        if has(w, "references") && !has_run(w, &["not", "valid"]) {
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
