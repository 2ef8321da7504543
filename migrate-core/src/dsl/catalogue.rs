//! Every pragma a pragma set may hold, with what SQLite says about it.
//!
//! Facts from SQLite's documentation, <https://sqlite.org/pragma.html>
//! (noted beside each entry where it is not obvious).

/// Where a pragma's value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Stored in the database file: set once, read back on every connection.
    Persistent,
    /// Lost when the connection closes: part of the connection profile.
    Connection,
}

/// The values a pragma accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// `on`/`off`, `true`/`false`, `yes`/`no`, `1`/`0`.
    Bool,
    /// A whole number in the range.
    Int {
        /// The smallest value.
        min: i64,
        /// The largest value.
        max: i64,
    },
    /// A byte count: a whole number, or one with a `KiB`, `MiB` or `GiB` suffix.
    Bytes {
        /// The smallest value (-1 means "no limit" where SQLite allows it).
        min: i64,
    },
    /// A page size: a power of two from 512 to 65536.
    PageSize,
    /// One of the names, which SQLite may report back as their index.
    Enum(&'static [&'static str]),
}

/// One entry of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct Pragma {
    /// The pragma's name, lowercase.
    pub name: &'static str,
    /// Its values.
    pub value: ValueType,
    /// Where its value lives.
    pub scope: Scope,
    /// Whether setting it inside a transaction works.
    pub in_transaction: bool,
    /// Whether a change on a database that has pages needs VACUUM.
    pub needs_vacuum: bool,
    /// SQLite reports the value back by name (`wal`), not by its number
    /// in the list.
    pub reports_name: bool,
    /// For a pragma whose values live in different places: the values
    /// kept in the file (the others last for the connection only).
    pub persistent_values: &'static [&'static str],
    /// Values refused everywhere, because they take rollback away from
    /// every migration after them (a pragma set's connection profile also
    /// applies to the connection that runs the migrations).
    pub without_rollback: &'static [&'static str],
    /// Why SQLite may report another value than the one set, when there is
    /// a reason the user can act on.
    pub not_taken: &'static str,
}

const fn p(name: &'static str, value: ValueType, scope: Scope, in_transaction: bool) -> Pragma {
    Pragma {
        name,
        value,
        scope,
        in_transaction,
        needs_vacuum: false,
        reports_name: false,
        persistent_values: &[],
        without_rollback: &[],
        not_taken: "",
    }
}

impl Pragma {
    /// Where `value` (a name, lowercase) lives when this pragma is set to it.
    pub fn scope_of(&self, value: &str) -> Scope {
        if self.persistent_values.is_empty() {
            self.scope
        } else if self.persistent_values.contains(&value) {
            Persistent
        } else {
            Connection
        }
    }

    /// Whether setting it to `value` (a name of its list, lowercase) would
    /// take rollback away.
    pub fn breaks_rollback(&self, value: &str) -> bool {
        self.without_rollback.contains(&value)
    }

    /// The value SQLite takes when a statement `PRAGMA name = text` runs,
    /// as a name of this pragma's list, read the way SQLite's `pragma.c`
    /// reads it (`text` as SQLite passes it on: quotes removed, a minus
    /// sign kept). `None` when SQLite reads the statement as a question
    /// and changes nothing, or the pragma has no list of names.
    ///
    /// Each pragma has its own reader there, and they differ:
    /// - `journal_mode`: the first of delete, persist, off, truncate,
    ///   memory, wal that `text` is a prefix of, ignoring case (so `of`,
    ///   `o` and `'OF'` are OFF and `''` is DELETE); no match is a question.
    /// - `locking_mode`: `normal` or `exclusive` exactly; else a question.
    /// - `synchronous`: `getSafetyLevel`: a leading digit is a number (its
    ///   low byte), `on`/`yes`/`true` are 1, `no`/`off`/`false` 0, `full` 2,
    ///   `extra` 3 and anything else 1; the level is that plus one, so an
    ///   unknown word is NORMAL.
    /// - `temp_store`: a first character `0`–`2` is that number, `file` 1,
    ///   `memory` 2, anything else DEFAULT.
    /// - `auto_vacuum`: the three names, else a number 0–2, else NONE.
    /// - `secure_delete`: `fast`, else SQLite's boolean.
    pub fn resolve(&self, text: &str) -> Option<&'static str> {
        let Enum(names) = self.value else {
            return None;
        };
        let lower = text.to_ascii_lowercase();
        let name = |n: &str| names.iter().copied().find(|x| *x == n);
        let index = |i: usize| names.get(i).copied();
        match self.name {
            "journal_mode" => ["delete", "persist", "off", "truncate", "memory", "wal"]
                .into_iter()
                .find(|mode| mode.starts_with(lower.as_str()))
                .and_then(name),
            "locking_mode" => name(&lower),
            "synchronous" => {
                // PAGER_SYNCHRONOUS_OFF is 1 … EXTRA 4 (masked by 7, 0
                // read as 1); 5 to 7 sync as FULL does, without EXTRA's
                // directory sync.
                match (u32::from(safety_level(&lower, false, 1)) + 1) & 7 {
                    0 | 1 => index(0),
                    level @ 2..=4 => index(level as usize - 1),
                    _ => index(2),
                }
            }
            "temp_store" => match lower.as_bytes().first() {
                Some(c @ b'0'..=b'2') => index(usize::from(c - b'0')),
                _ => name(&lower).or_else(|| index(0)),
            },
            "auto_vacuum" => name(&lower).or_else(|| {
                let n = atoi(&lower);
                index(if (0..=2).contains(&n) { n as usize } else { 0 })
            }),
            "secure_delete" if lower == "fast" => name("fast"),
            "secure_delete" => index(usize::from(boolean(&lower))),
            _ => name(&lower),
        }
    }
}

/// SQLite's `getSafetyLevel(z, omitFull, dflt)` (pragma.c): the number a
/// flag or level pragma reads from its value. A leading digit makes it a
/// number, cut to its low byte; otherwise one of eight words, matched
/// whole and ignoring case, or `dflt`. With `omit_full`, `full` and
/// `extra` are not words.
fn safety_level(text: &str, omit_full: bool, dflt: u8) -> u8 {
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return atoi(text) as u8;
    }
    const WORDS: [(&str, u8); 8] = [
        ("on", 1),
        ("no", 0),
        ("off", 0),
        ("false", 0),
        ("yes", 1),
        ("true", 1),
        ("extra", 3),
        ("full", 2),
    ];
    WORDS
        .iter()
        .find(|(w, v)| w.eq_ignore_ascii_case(text) && (!omit_full || *v <= 1))
        .map_or(dflt, |(_, v)| *v)
}

/// The boolean SQLite reads from a flag pragma's value
/// (`sqlite3GetBoolean(z, 0)`): a value starting with a digit is a number
/// whose low byte is not 0 (`256` is false); otherwise only `on`, `yes`
/// and `true` are true, and anything else (`full`, `-1`, `banana`) false.
pub(crate) fn boolean(text: &str) -> bool {
    safety_level(text, true, 0) != 0
}

/// `sqlite3Atoi`: the 32-bit integer at the start of `text` (an optional
/// sign, then decimal digits, or `0x` and hex digits), 0 where SQLite's
/// parse fails (too many digits, out of range, nothing numeric).
pub(crate) fn atoi(text: &str) -> i32 {
    let b = text.as_bytes();
    // Hex only without a sign, and only below 2^31 (sqlite3GetInt32).
    if let [b'0', b'x' | b'X', first, ..] = b
        && first.is_ascii_hexdigit()
    {
        let digits = b[2..].iter().skip_while(|&&c| c == b'0');
        let n = digits.clone().take_while(|c| c.is_ascii_hexdigit()).count();
        if n > 8 {
            return 0;
        }
        let u = digits.take(n).fold(0u32, |u, &c| {
            u * 16 + (c as char).to_digit(16).expect("a hex digit")
        });
        return i32::try_from(u).unwrap_or(0);
    }
    let (negative, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let digits = b.iter().skip_while(|&&c| c == b'0');
    let n = digits.clone().take_while(|c| c.is_ascii_digit()).count();
    if n > 10 {
        return 0;
    }
    let v = digits
        .take(n)
        .fold(0i64, |v, &c| v * 10 + i64::from(c - b'0'));
    i32::try_from(if negative { -v } else { v }).unwrap_or(0)
}

use Scope::{Connection, Persistent};
use ValueType::{Bool, Bytes, Enum, Int, PageSize};

const I32: ValueType = Int {
    min: i32::MIN as i64,
    max: i32::MAX as i64,
};
/// What SQLite reads into a C `int` (busy_timeout, analysis_limit): a
/// larger value would be cut to its low 32 bits, not refused.
const NON_NEGATIVE_I32: ValueType = Int {
    min: 0,
    max: i32::MAX as i64,
};

/// The catalogue, sorted by name.
pub static PRAGMAS: &[Pragma] = &[
    // 0 disables the limit.
    p("analysis_limit", NON_NEGATIVE_I32, Connection, true),
    p("application_id", I32, Persistent, true),
    // Changing between none and full/incremental on a database with tables
    // takes effect only through VACUUM ("auto_vacuum" in pragma.html).
    Pragma {
        needs_vacuum: true,
        ..p(
            "auto_vacuum",
            Enum(&["none", "full", "incremental"]),
            Persistent,
            false,
        )
    },
    p("automatic_index", Bool, Connection, true),
    p("busy_timeout", NON_NEGATIVE_I32, Connection, true),
    // Negative: KiB; positive: pages. Read as a C int (sqlite3Atoi).
    p("cache_size", I32, Connection, true),
    p("cell_size_check", Bool, Connection, true),
    // "It is not possible to enable or disable foreign key constraints in the
    // middle of a multi-statement transaction": a silent no-op there.
    p("foreign_keys", Bool, Connection, false),
    // WAL persists in the file header; the rollback modes other than DELETE
    // last for the connection only ("journal_mode" in pragma.html). `off`
    // and `memory` are listed so that the parser can say why it refuses
    // them: they take rollback away from every migration after the set.
    Pragma {
        reports_name: true,
        persistent_values: &["wal", "delete"],
        without_rollback: &["off", "memory"],
        // In memory there is no file to take WAL: skipped there (see
        // `sets::not_applicable`), never an error.
        not_taken: " (WAL needs shared memory beside the file: a network file system, or a VFS without it, keeps the \
                    old mode)",
        ..p(
            "journal_mode",
            Enum(&["delete", "truncate", "persist", "memory", "wal", "off"]),
            Persistent,
            false,
        )
    },
    // -1: no limit.
    p("journal_size_limit", Bytes { min: -1 }, Connection, true),
    p("legacy_alter_table", Bool, Connection, true),
    Pragma {
        reports_name: true,
        ..p(
            "locking_mode",
            Enum(&["normal", "exclusive"]),
            Connection,
            false,
        )
    },
    Pragma {
        not_taken: " (it cannot be set below the database's current page count)",
        ..p(
            "max_page_count",
            Int {
                min: 1,
                max: u32::MAX as i64,
            },
            Connection,
            true,
        )
    },
    Pragma {
        not_taken: " (SQLite caps mmap_size at its compile-time SQLITE_MAX_MMAP_SIZE)",
        ..p("mmap_size", Bytes { min: 0 }, Connection, true)
    },
    // Changes take effect on an existing database only through VACUUM, and
    // VACUUM cannot change it in WAL mode ("page_size" in pragma.html).
    Pragma {
        needs_vacuum: true,
        ..p("page_size", PageSize, Persistent, false)
    },
    p("query_only", Bool, Connection, true),
    p("recursive_triggers", Bool, Connection, true),
    p(
        "secure_delete",
        Enum(&["off", "on", "fast"]),
        Connection,
        true,
    ),
    // "Safety level may not be changed inside a transaction" (pragma.c).
    p(
        "synchronous",
        Enum(&["off", "normal", "full", "extra"]),
        Connection,
        false,
    ),
    // "temporary storage cannot be changed from within a transaction" (pragma.c).
    p(
        "temp_store",
        Enum(&["default", "file", "memory"]),
        Connection,
        false,
    ),
    p("trusted_schema", Bool, Connection, true),
    p("user_version", I32, Persistent, true),
    p("wal_autocheckpoint", I32, Connection, true),
];

/// Pragmas that only report, never set: named so the error can say so.
pub static READ_ONLY: &[&str] = &[
    "collation_list",
    "compile_options",
    "data_version",
    "database_list",
    "foreign_key_check",
    "foreign_key_list",
    "freelist_count",
    "function_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "module_list",
    "page_count",
    "pragma_list",
    "quick_check",
    "schema_version",
    "table_info",
    "table_list",
    "table_xinfo",
    "wal_checkpoint",
];

/// The catalogue entry for `name` (case-insensitive).
pub fn find(name: &str) -> Option<&'static Pragma> {
    let lower = name.to_ascii_lowercase();
    PRAGMAS
        .binary_search_by(|p| p.name.cmp(lower.as_str()))
        .ok()
        .map(|i| &PRAGMAS[i])
}

/// The pragmas whose values live in the file, in the order a schema dump
/// shows them: every `Persistent` entry of the catalogue.
pub const PERSISTENT: [&str; 5] = [
    "page_size",
    "auto_vacuum",
    "journal_mode",
    "user_version",
    "application_id",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_sorted_and_complete() {
        assert!(PRAGMAS.windows(2).all(|w| w[0].name < w[1].name));
        for name in [
            "journal_mode",
            "synchronous",
            "cache_size",
            "temp_store",
            "mmap_size",
            "busy_timeout",
            "foreign_keys",
            "wal_autocheckpoint",
            "journal_size_limit",
            "auto_vacuum",
            "page_size",
            "locking_mode",
            "automatic_index",
            "secure_delete",
            "application_id",
            "user_version",
            "recursive_triggers",
            "cell_size_check",
            "trusted_schema",
            "analysis_limit",
            "legacy_alter_table",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
        assert_eq!(find("JOURNAL_MODE").map(|p| p.name), Some("journal_mode"));
        let mut persistent: Vec<&str> = PRAGMAS
            .iter()
            .filter(|p| p.scope == Persistent)
            .map(|p| p.name)
            .collect();
        let mut dumped = PERSISTENT.to_vec();
        persistent.sort_unstable();
        dumped.sort_unstable();
        assert_eq!(persistent, dumped);
    }
}
