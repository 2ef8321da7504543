//! Property tests for the parsers, on generated input: no input panics,
//! and a parsed set formatted and parsed again is the same set.

use migrate_core::dsl::{indexes, pragmas};
use migrate_core::{naming, sql};
use migrate_tests::Rng;

/// Generated text for the parsers.
trait Generate {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str;
    fn text(&mut self, fragments: &[&str], parts: usize) -> String;
}

impl Generate for Rng {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// Fragments glued together, with random bytes mixed in now and then.
    fn text(&mut self, fragments: &[&str], parts: usize) -> String {
        let mut s = String::new();
        for _ in 0..parts {
            if self.below(8) == 0 {
                let noise = [
                    "\u{0}", "é", "\"", "'", "(", ")", ",", "--", "\r\n", "`", "[", "=", "💥", "\t",
                ];
                s.push_str(self.pick(&noise));
            } else {
                s.push_str(self.pick(fragments));
            }
        }
        s
    }
}

const PRAGMA_FRAGMENTS: &[&str] = &[
    "journal_mode",
    "synchronous",
    "cache_size",
    "mmap_size",
    "page_size",
    "auto_vacuum",
    "foreign_keys",
    "secure_delete",
    "preset ",
    "safety",
    "balanced",
    "speed",
    " = ",
    "=",
    "wal",
    "normal",
    "full",
    "on",
    "off",
    "-64000",
    "256MiB",
    "8192",
    "1000",
    "fast",
    "\n",
    " ",
    "PRAGMA ",
    ";",
    "-- c",
    "busy_timeout",
    "x",
];

const INDEX_FRAGMENTS: &[&str] = &[
    "unique ",
    "index ",
    "idx_a ",
    "on ",
    "t ",
    "\"q t\" ",
    "(",
    ")",
    "a",
    "b",
    ", ",
    " desc",
    " asc",
    " collate nocase",
    " where ",
    "a > 0",
    "expect ",
    "\"SELECT * FROM t WHERE a = ?1\"",
    " uses ",
    "idx_a",
    "\n",
    " ",
    "-- c",
    "[x]",
    "`y`",
];

#[test]
fn pragma_parser_never_panics_and_round_trips() {
    let mut rng = Rng(0x1234_5678);
    let mut parsed = 0;
    for _ in 0..3000 {
        let parts = 1 + rng.below(20);
        let text = rng.text(PRAGMA_FRAGMENTS, parts);
        if let Ok(set) = pragmas::parse(&text) {
            parsed += 1;
            let again = pragmas::parse(&set.to_string())
                .unwrap_or_else(|e| panic!("{text:?} -> {set} -> {e:?}"));
            let strip = |s: &pragmas::PragmaSet| {
                s.settings
                    .iter()
                    .map(|s| (s.pragma.name, s.value))
                    .collect::<Vec<_>>()
            };
            assert_eq!(strip(&set), strip(&again), "{text:?}");
        }
    }
    assert!(
        parsed > 100,
        "the generator should produce valid sets too ({parsed})"
    );
}

#[test]
fn index_parser_never_panics_and_round_trips() {
    let mut rng = Rng(0x9abc_def0);
    let mut parsed = 0;
    for _ in 0..3000 {
        let parts = 1 + rng.below(16);
        let text = rng.text(INDEX_FRAGMENTS, parts);
        if let Ok(set) = indexes::parse(&text) {
            parsed += 1;
            let again = indexes::parse(&set.to_string())
                .unwrap_or_else(|e| panic!("{text:?} -> {set} -> {e:?}"));
            let strip = |s: &indexes::IndexSet| {
                let mut s = s.clone();
                s.indexes.iter_mut().for_each(|i| i.line = 0);
                s.expects.iter_mut().for_each(|e| e.line = 0);
                s
            };
            assert_eq!(strip(&set), strip(&again), "{text:?}");
        }
    }
    assert!(
        parsed > 100,
        "the generator should produce valid sets too ({parsed})"
    );
}

#[test]
fn scanner_and_name_parser_never_panic() {
    let mut rng = Rng(0x0f0f_0f0f);
    let fragments = [
        "CREATE ",
        "TRIGGER ",
        "BEGIN",
        "END",
        ";",
        "'",
        "\"",
        "[",
        "]",
        "`",
        "/*",
        "*/",
        "--",
        "\n",
        " ",
        "-- migrate:up",
        "-- migrate:down",
        "-- +goose Up",
        "PRAGMA foreign_keys=OFF",
        "VACUUM",
        "é",
        "x",
        "0001",
        "_",
        ".sql",
        ".up",
        ".down",
        ".pragmas",
        "V1__",
        "-",
    ];
    for _ in 0..5000 {
        let parts = 1 + rng.below(24);
        let text = rng.text(&fragments, parts);
        // No panic, and what comes back is consistent with the text.
        if let Ok(script) = sql::scan(&text) {
            for s in &script.statements {
                assert!(s.span.end <= text.len() && s.line >= 1, "{text:?}");
                assert!(!s.text(&text).trim().is_empty(), "{text:?}");
            }
        }
        match sql::statements(&text) {
            Ok(statements) => {
                let lines = 1 + text.matches('\n').count() as u32;
                for (line, s) in statements {
                    assert!((1..=lines).contains(&line), "{text:?}");
                    assert!(text.contains(s), "{text:?}");
                }
            }
            Err(e) => assert!(e.line >= 1, "{text:?}"),
        }
        if let Ok(Some(name)) = naming::parse(&text) {
            // Accepted versions fit SQLite's integers, and the name is one
            // a file could have.
            assert!(name.version <= i64::MAX as u64, "{text:?}");
            assert!(text.contains(&name.name), "{text:?}");
        }
        if let Ok((version, rest)) = naming::split_version(&text, true) {
            assert!(version <= i64::MAX as u64, "{text:?}");
            assert!(text.ends_with(rest), "{text:?}");
        }
    }
}
