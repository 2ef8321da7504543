//! The statement scanner against SQLite itself, on generated input: running
//! a file whole (`execute_batch`, SQLite's own splitting) and running the
//! scanner's statements one by one must leave the same database.

use migrate_core::rusqlite::Connection;
use migrate_core::sql;
use migrate_tests::{Rng, column};

const SETUP: &str = "CREATE TABLE log (v); CREATE TABLE src (v);";

/// Pieces that stress boundaries; `{n}` is replaced by a counter.
const PIECES: &[&str] = &[
    "INSERT INTO log VALUES ('a;b');",
    "INSERT INTO log VALUES ('it''s; fine') ;",
    "INSERT INTO \"log\" VALUES (\"semi;colon\");",
    "INSERT INTO [log] VALUES ('[;]');",
    "INSERT INTO `log` VALUES (x'3b');",
    "-- a comment; with a semicolon\n",
    "/* block ; comment\n over lines */",
    "/* -- nested-looking */ INSERT INTO log VALUES ('after comment');",
    ";",
    "\n\n",
    "INSERT INTO log SELECT 'end;' ;",
    "INSERT INTO log VALUES (CASE WHEN 1 THEN 'case;end' END);",
    "CREATE TRIGGER t{n} AFTER INSERT ON src BEGIN INSERT INTO log VALUES ('t{n};'); INSERT INTO log VALUES (CASE WHEN 1 THEN 'x' END); END;",
    "CREATE TEMP TRIGGER tt{n} AFTER INSERT ON src\nBEGIN\n  INSERT INTO log VALUES ('temp;{n}');\nEND;",
    "CREATE TRIGGER IF NOT EXISTS e{n} AFTER DELETE ON src BEGIN DELETE FROM log WHERE v = 'end'; END;",
    "INSERT INTO src VALUES ({n});",
    "CREATE TABLE \"trigger{n}\" (\"end\" TEXT, [create] TEXT);",
    "CREATE VIEW v{n} AS SELECT v AS \"end;\" FROM log;",
    "EXPLAIN SELECT 1;",
    "INSERT INTO log VALUES ('ünïcödé;');",
    "INSERT INTO log VALUES (1) /* trailing */ ; -- tail\n",
];

fn generate(rng: &mut Rng, n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        let piece = PIECES[rng.below(PIECES.len())].replace("{n}", &i.to_string());
        text.push_str(&piece);
        text.push_str(["", " ", "\n", "\t"][rng.below(4)]);
    }
    // Sometimes end without the final semicolon.
    if rng.below(3) == 0 {
        text.push_str("INSERT INTO log VALUES ('last')");
    }
    text
}

fn state(conn: &Connection) -> (Vec<String>, Vec<String>) {
    (
        column(conn, "SELECT quote(v) FROM log ORDER BY rowid"),
        column(
            conn,
            "SELECT type || ' ' || name FROM sqlite_master ORDER BY name",
        ),
    )
}

#[test]
fn scanner_agrees_with_sqlite_on_generated_files() {
    let mut rng = Rng(0x5eed_cafe);
    for case in 0..300 {
        let n = 1 + rng.below(12);
        let text = generate(&mut rng, n);
        let whole = Connection::open_in_memory().unwrap();
        whole.execute_batch(SETUP).unwrap();
        whole
            .execute_batch(&text)
            .unwrap_or_else(|e| panic!("case {case}: SQLite rejects {text:?}: {e}"));

        let split = Connection::open_in_memory().unwrap();
        split.execute_batch(SETUP).unwrap();
        let statements = sql::statements(&text).unwrap();
        for (line, s) in &statements {
            // One statement each: prepare refuses a string holding two.
            let mut stmt = split
                .prepare(s)
                .unwrap_or_else(|e| panic!("case {case} line {line}: {s:?}: {e}\nfile: {text:?}"));
            let mut rows = stmt.raw_query();
            while rows.next().unwrap().is_some() {}
            // The statement starts on the line reported for it.
            let offset = s.as_ptr() as usize - text.as_ptr() as usize;
            let starts_on = 1 + text[..offset].matches('\n').count() as u32;
            assert_eq!(*line, starts_on, "case {case}: {s:?}");
        }
        assert_eq!(state(&whole), state(&split), "case {case}: {text:?}");
    }
}

#[test]
fn statement_lines_point_at_their_first_token() {
    let text = "-- header\n\nCREATE TABLE a (x);\n/* c */ CREATE TABLE b (x);\n\n\n  INSERT INTO a\n  VALUES (1);";
    let lines: Vec<u32> = sql::statements(text)
        .unwrap()
        .iter()
        .map(|(l, _)| *l)
        .collect();
    assert_eq!(lines, [3, 4, 7]);
}

/// Every way to write `PRAGMA <name> = <value>` that the tests try: names
/// quoted every way SQLite allows, schema prefixes, comments between
/// tokens, both value forms, and the `EXPLAIN` prefixes (SQLite applies a
/// flag pragma while it prepares the statement, so those count too).
fn pragma_spellings(name: &str, values: &[&str]) -> Vec<String> {
    let names = [
        name.to_owned(),
        name.to_ascii_uppercase(),
        format!("\"{name}\""),
        format!("`{name}`"),
        format!("[{name}]"),
        format!("'{name}'"),
        format!("main.{name}"),
        format!("\"main\" . \"{name}\""),
        format!("main /* c */ . -- c\n {name}"),
        format!("temp.{name}"),
    ];
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        for (j, v) in values.iter().enumerate() {
            let prefix = ["", "EXPLAIN ", "explain query plan "][(i + j) % 3];
            let form = match (i + 2 * j) % 3 {
                0 => format!("{prefix}PRAGMA {n} = {v}"),
                1 => format!("{prefix}pragma {n}({v})"),
                _ => format!("{prefix}Pragma/**/{n}/* x */=--\n{v}"),
            };
            out.push(form);
        }
    }
    out
}

const BOOLEAN_VALUES: &[&str] = &[
    "OFF",
    "on",
    "No",
    "yes",
    "false",
    "TRUE",
    "0",
    "1",
    "256",
    "257",
    "-1",
    "+1",
    "0x100",
    "0x1",
    "'2'",
    "1.5",
    "1e3",
    "4294967296",
    "2147483648",
    "00000000001",
    "full",
    "extra",
    "DELETE",
    "DEFAULT",
    "banana",
    "'on'",
    "\"off\"",
    "'o''n'",
    "`no`",
    "[yes]",
    "'0'",
];

#[test]
fn foreign_keys_pragmas_classify_as_sqlite_reads_them() {
    let mut checked = 0;
    for statement in pragma_spellings("foreign_keys", BOOLEAN_VALUES) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        if conn.execute_batch(&statement).is_err() {
            continue; // SQLite refuses the spelling (`temp.` with EXPLAIN, …)
        }
        let sqlite_off = column(&conn, "PRAGMA foreign_keys") == ["0"];
        let file = format!("{statement};\nCREATE TABLE t (x);\n");
        let script = sql::scan(&file).unwrap_or_else(|e| panic!("{statement}: {e}"));
        assert_eq!(
            script.foreign_keys_off,
            sqlite_off,
            "{statement:?}: SQLite turned foreign keys {}",
            if sqlite_off { "off" } else { "on" }
        );
        checked += 1;
    }
    assert!(checked > 250, "only {checked} spellings ran");
}

#[test]
fn journal_modes_without_rollback_are_refused_however_spelled() {
    let dir = tempfile::tempdir().unwrap();
    let values = [
        "off", "OFF", "'off'", "\"Off\"", "memory", "MEMORY", "[memory]", "'memory'", "wal",
        "delete", "truncate", "persist", "bogus",
    ];
    let mut refused = 0;
    for (i, statement) in pragma_spellings("journal_mode", &values)
        .into_iter()
        .enumerate()
    {
        let conn = Connection::open(dir.path().join(format!("{i}.db"))).unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        if conn.execute_batch(&statement).is_err() {
            continue;
        }
        let mode = column(&conn, "PRAGMA main.journal_mode");
        let lost = mode == ["off"] || mode == ["memory"];
        // Under no-transaction, where nothing else refuses journal_mode.
        let file = format!("-- migrate:no-transaction\n{statement};\n");
        let result = sql::scan(&file);
        let said_no =
            matches!(&result, Err(e) if matches!(e.kind, sql::SqlErrorKind::NoRollback { .. }));
        // `EXPLAIN PRAGMA journal_mode` runs nothing; refusing it too is fine.
        assert!(
            said_no || !lost,
            "{statement:?} set journal_mode {mode:?} and was accepted"
        );
        if lost {
            refused += 1;
        }
        // And in a transactional file it is refused, one way or the other.
        assert!(
            sql::scan(&format!("{statement};")).is_err(),
            "{statement:?}"
        );
    }
    assert!(refused > 15, "only {refused} spellings lost the journal");
}
