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

/// Value texts for an enum pragma: every name and every prefix of it in
/// mixed case, numbers as SQLite's integer reader sees them, and words of
/// the other pragmas' readers.
fn enum_value_texts(names: &[&str], rng: &mut Rng) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    let words = [
        "delete",
        "persist",
        "off",
        "truncate",
        "memory",
        "wal",
        "normal",
        "exclusive",
        "full",
        "extra",
        "on",
        "yes",
        "no",
        "true",
        "false",
        "fast",
        "default",
        "file",
        "none",
        "incremental",
        "banana",
    ];
    for word in names.iter().chain(words.iter()) {
        for end in 1..=word.len() {
            let prefix = &word[..end];
            let mixed: String = prefix
                .chars()
                .map(|c| {
                    if rng.below(2) == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            texts.push(prefix.to_owned());
            texts.push(mixed);
        }
        texts.push(format!("{word}x"));
        texts.push(format!(" {word}"));
    }
    // SQLite passes an empty quoted value on as "" (journal_mode: DELETE).
    texts.push(String::new());
    for n in [
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
        "00",
        "01",
        "256",
        "257",
        "258",
        "2abc",
        "0x0",
        "0x1",
        "0x2",
        "0x10",
        "0xFFFFFFFF",
        "2147483648",
        "4294967297",
    ] {
        texts.push(n.to_owned());
    }
    texts
}

/// One statement setting `name` to `text` in one of SQLite's forms: bare
/// where the text is a name or number, quoted four ways, in parentheses,
/// signed.
fn set_statement(name: &str, text: &str, rng: &mut Rng) -> String {
    let bare = text.chars().all(|c| c.is_ascii_alphanumeric()) && !text.is_empty();
    let numeric = text.starts_with(|c: char| c.is_ascii_digit());
    let value = match rng.below(7) {
        0 | 1 if bare => text.to_owned(),
        2 => format!("'{text}'"),
        3 => format!("\"{text}\""),
        4 => format!("[{text}]"),
        5 if numeric && text.chars().all(|c| c.is_ascii_digit()) => {
            format!("{}{text}", ["-", "+"][rng.below(2)])
        }
        _ => format!("`{text}`"),
    };
    match rng.below(3) {
        0 => format!("PRAGMA {name} = {value}"),
        1 => format!("pragma main.{name}({value})"),
        _ => format!("PRAGMA {name}=/* c */{value}"),
    }
}

/// Every enum pragma of the catalogue, set by generated statements on real
/// SQLite: the value the catalogue's reader says SQLite takes is the one
/// SQLite reports afterwards, and the scanner refuses exactly the journal
/// modes that keep no rollback journal (`of`, `'Me'`, `(o)` …), however
/// they are spelt. Seeded; the seed is printed on failure.
#[test]
fn enum_pragma_values_are_read_as_sqlite_reads_them() {
    use migrate_core::dsl::catalogue::{PRAGMAS, ValueType};
    let seed: u64 = std::env::var("MIGRATE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0ff0);
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut lost = 0;
    let mut checked = 0;
    for pragma in PRAGMAS {
        let ValueType::Enum(names) = pragma.value else {
            continue;
        };
        for text in enum_value_texts(names, &mut rng) {
            let statement = set_statement(pragma.name, &text, &mut rng);
            // Each statement on a new file without tables, from two
            // starting values, so that "SQLite changed nothing" and "SQLite
            // set the value it had" are told apart.
            // (auto_vacuum cannot go back to none once the file has a
            // page, which setting it writes: it starts from none only.)
            let starts = if pragma.name == "auto_vacuum" {
                &names[..1]
            } else {
                &[names[0], names[names.len() - 1]][..]
            };
            for &start in starts {
                checked += 1;
                let path = dir.path().join(format!("{checked}.db"));
                let conn = Connection::open(&path).unwrap();
                conn.execute_batch(&format!("PRAGMA {} = {start}", pragma.name))
                    .unwrap();
                if conn.execute_batch(&statement).is_err() {
                    continue;
                }
                let reported = column(&conn, &format!("PRAGMA main.{}", pragma.name))
                    .pop()
                    .unwrap_or_default();
                let found = match reported.parse::<usize>() {
                    // synchronous reports levels 4-6 for what syncs as FULL.
                    Ok(i) if pragma.name == "synchronous" && i > 3 => "full".to_owned(),
                    Ok(i) => names.get(i).map_or(reported.clone(), |n| (*n).to_owned()),
                    Err(_) => reported.to_ascii_lowercase(),
                };
                let sqlite_text = sql_value_text(&statement);
                let expected = pragma.resolve(&sqlite_text).unwrap_or(start);
                assert_eq!(
                    found, expected,
                    "seed {seed}: {statement:?} left {} at {found}, the catalogue says {expected}",
                    pragma.name
                );
                drop(conn);
                if pragma.name == "journal_mode" && start == names[0] {
                    let lost_rollback = found == "off" || found == "memory";
                    let file = format!("-- migrate:no-transaction\n{statement};\n");
                    let refused = matches!(
                        sql::scan(&file),
                        Err(e) if matches!(e.kind, sql::SqlErrorKind::NoRollback { .. })
                    );
                    assert_eq!(
                        refused, lost_rollback,
                        "seed {seed}: {statement:?} left journal_mode {found}; refused: {refused}"
                    );
                    lost += usize::from(lost_rollback);
                }
            }
        }
    }
    assert!(
        lost > 30,
        "seed {seed}: only {lost} statements lost the journal"
    );
    assert!(checked > 1000, "{checked}");
}

/// The value text SQLite passes to the pragma: the last word of the
/// statement, its quotes removed, a sign kept when it is a minus.
fn sql_value_text(statement: &str) -> String {
    let value = statement
        .rsplit(['=', '(', '/'])
        .next()
        .unwrap()
        .trim()
        .trim_end_matches(')');
    let (sign, value) = match value.strip_prefix('-') {
        Some(v) => ("-", v),
        None => ("", value.strip_prefix('+').unwrap_or(value)),
    };
    let inner = value
        .strip_prefix(['\'', '"', '[', '`'])
        .map_or(value, |v| &v[..v.len() - 1]);
    format!("{sign}{inner}")
}
