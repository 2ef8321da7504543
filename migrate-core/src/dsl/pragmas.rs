//! Pragma sets: `name = value` lines and `preset NAME` lines.
//!
//! ```text
//! -- 0101_production.pragmas
//! preset balanced
//! journal_mode = wal
//! cache_size = -64000
//! mmap_size = 256MiB
//! ```

use std::fmt;

use super::catalogue::{self, Pragma, Scope, ValueType};
use super::{DslError, DslErrorKind, did_you_mean, strip_comment, suggest};

/// A parsed pragma set, presets expanded; one setting per pragma (a later
/// line overrides an earlier one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PragmaSet {
    /// The settings, in the order their final values were written.
    pub settings: Vec<Setting>,
}

/// One pragma and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The catalogue entry.
    pub pragma: &'static Pragma,
    /// The value.
    pub value: Value,
    /// The line that set it (a preset's settings carry the preset's line).
    pub line: u32,
}

/// A pragma value, checked against the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A number (byte counts in bytes, page sizes in bytes).
    Int(i64),
    /// One of the pragma's names, lowercase.
    Name(&'static str),
}

impl Value {
    /// The value as SQLite reports it back from `PRAGMA name`: booleans and
    /// most enums as numbers, `journal_mode` and `locking_mode` as names.
    pub fn reported(&self, pragma: &Pragma) -> String {
        match (self, pragma.value) {
            (Value::Bool(b), _) => i64::from(*b).to_string(),
            (Value::Int(i), _) => i.to_string(),
            (Value::Name(n), ValueType::Enum(names)) if !pragma.reports_name => names
                .iter()
                .position(|x| x == n)
                .unwrap_or_default()
                .to_string(),
            (Value::Name(n), _) => (*n).to_owned(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(true) => f.write_str("on"),
            Value::Bool(false) => f.write_str("off"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Name(n) => f.write_str(n),
        }
    }
}

impl Setting {
    /// Where this setting lives: its pragma's scope, except that only WAL and
    /// DELETE journal modes are kept in the file.
    pub fn scope(&self) -> Scope {
        match self.value {
            Value::Name(name) => self.pragma.scope_of(name),
            _ => self.pragma.scope,
        }
    }

    /// The statement that applies it: `PRAGMA name = value`.
    pub fn sql(&self) -> String {
        format!("PRAGMA {} = {}", self.pragma.name, self.value)
    }
}

/// A named group of settings, expanded where `preset NAME` stands.
pub struct Preset {
    /// The preset's name.
    pub name: &'static str,
    /// Its lines, as they would be written.
    pub lines: &'static [&'static str],
}

/// The durability presets of the seed guides: WAL, foreign keys, a busy
/// timeout and in-memory temp storage, with the synchronous level and
/// checkpoint interval that trade safety for speed.
pub static PRESETS: &[Preset] = &[
    Preset {
        name: "safety",
        lines: &[
            "journal_mode = wal",
            "synchronous = full",
            "wal_autocheckpoint = 500",
            "foreign_keys = on",
            "busy_timeout = 5000",
            "temp_store = memory",
        ],
    },
    Preset {
        name: "balanced",
        lines: &[
            "journal_mode = wal",
            "synchronous = normal",
            "wal_autocheckpoint = 1000",
            "foreign_keys = on",
            "busy_timeout = 5000",
            "temp_store = memory",
        ],
    },
    Preset {
        name: "speed",
        lines: &[
            "journal_mode = wal",
            "synchronous = normal",
            "wal_autocheckpoint = 5000",
            "foreign_keys = on",
            "busy_timeout = 5000",
            "temp_store = memory",
        ],
    },
];

/// Parses a pragma set, reporting every bad line.
///
/// ```
/// use migrate_core::dsl::pragmas::parse;
/// let set = parse("preset balanced\ncache_size = -64000\nsynchronous = full\n").unwrap();
/// let sync = set.settings.iter().find(|s| s.pragma.name == "synchronous").unwrap();
/// assert_eq!((sync.value.to_string(), sync.line), ("full".to_string(), 3));
/// let errors = parse("jornal_mode = wal\n").unwrap_err();
/// assert!(errors[0].message.contains("did you mean `journal_mode`?"));
/// ```
pub fn parse(text: &str) -> Result<PragmaSet, Vec<DslError>> {
    let mut set = PragmaSet::default();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u32 + 1;
        match parse_line(strip_comment(raw), line) {
            Ok(settings) => {
                for s in settings {
                    set.settings.retain(|old| old.pragma.name != s.pragma.name);
                    set.settings.push(s);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

fn parse_line(line: &str, number: u32) -> Result<Vec<Setting>, DslError> {
    let line = line.trim().trim_end_matches(';').trim_end();
    if line.is_empty() {
        return Ok(Vec::new());
    }
    let err = |kind: DslErrorKind| DslError::new(number, kind);
    let mut words = line.split_whitespace();
    if words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("preset"))
    {
        let name = words.next().unwrap_or_default();
        let Some(preset) = PRESETS.iter().find(|p| p.name.eq_ignore_ascii_case(name)) else {
            return Err(err(DslErrorKind::UnknownPreset {
                name: name.to_owned(),
                suggestion: suggest(name, PRESETS.iter().map(|p| p.name)),
            }));
        };
        if let Some(extra) = words.next() {
            return Err(err(DslErrorKind::Syntax(format!(
                "unexpected `{extra}` after `preset {}`",
                preset.name
            ))));
        }
        return preset
            .lines
            .iter()
            .map(|l| parse_line(l, number))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.into_iter().flatten().collect());
    }
    // Accept a pasted `PRAGMA name = value;` as well as `name = value`.
    let body = strip_keyword(line, "pragma").unwrap_or(line);
    let Some((name, value)) = body.split_once('=') else {
        return Err(err(DslErrorKind::Syntax(format!(
            "expected `name = value` or `preset NAME`, like `journal_mode = wal`; found `{}`",
            crate::sql::shorten(line)
        ))));
    };
    let name = name.trim();
    let name = name.strip_prefix("main.").unwrap_or(name);
    let Some(pragma) = catalogue::find(name) else {
        if catalogue::READ_ONLY.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(err(DslErrorKind::ReadOnlyPragma {
                name: name.to_owned(),
            }));
        }
        return Err(err(DslErrorKind::UnknownPragma {
            name: name.to_owned(),
            suggestion: suggest(name, catalogue::PRAGMAS.iter().map(|p| p.name)),
        }));
    };
    let value = parse_value(pragma, unquote(value.trim())).map_err(|expected| {
        err(DslErrorKind::BadValue {
            pragma: pragma.name,
            value: value.trim().to_owned(),
            expected,
        })
    })?;
    if let Value::Name(name) = value
        && pragma.breaks_rollback(name)
    {
        return Err(err(DslErrorKind::NoRollback {
            pragma: pragma.name,
            value: name.to_owned(),
        }));
    }
    Ok(vec![Setting {
        pragma,
        value,
        line: number,
    }])
}

fn strip_keyword<'a>(line: &'a str, keyword: &str) -> Option<&'a str> {
    let (head, rest) = line.split_at_checked(keyword.len())?;
    (head.eq_ignore_ascii_case(keyword) && rest.starts_with(char::is_whitespace))
        .then(|| rest.trim_start())
}

fn unquote(s: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// The binary unit meant by a size suffix written another way (`MB`, `m`,
/// `mb`, `Mi`): this tool takes only `KiB`, `MiB`, `GiB`, which say that
/// they count 1024s.
fn size_unit(text: &str) -> Option<&'static str> {
    let unit = text.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-' || c == ' ');
    match unit.to_ascii_lowercase().as_str() {
        "k" | "kb" | "ki" | "kib" => Some("KiB"),
        "m" | "mb" | "mi" | "mib" => Some("MiB"),
        "g" | "gb" | "gi" | "gib" => Some("GiB"),
        _ => None,
    }
}

/// The value, or a description of what was expected.
fn parse_value(pragma: &Pragma, s: &str) -> Result<Value, String> {
    let lower = s.to_ascii_lowercase();
    match pragma.value {
        ValueType::Bool => match lower.as_str() {
            "on" | "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "off" | "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err("`on` or `off`".into()),
        },
        ValueType::Int { min, max } => {
            let range = || {
                let mut expected = format!("a whole number from {min} to {max}");
                // `cache_size = 64MB`: a size where SQLite counts pages,
                // or KiB when the number is negative.
                if pragma.name == "cache_size" && size_unit(&lower).is_some() {
                    expected
                        .push_str(": pages, or KiB when negative (`-65536` is 64 MiB of cache)");
                }
                expected
            };
            let v: i64 = lower.parse().map_err(|_| range())?;
            if (min..=max).contains(&v) {
                Ok(Value::Int(v))
            } else {
                Err(range())
            }
        }
        ValueType::Bytes { min } => {
            let expected = || {
                format!(
                    "a byte count of at least {min}, like `268435456` or `256MiB` (suffixes: KiB, MiB, GiB)"
                )
            };
            let (digits, unit) = match lower.find(|c: char| c.is_ascii_alphabetic()) {
                Some(i) => (lower[..i].trim(), &lower[i..]),
                None => (lower.as_str(), ""),
            };
            let scale: i64 = match unit {
                "" => 1,
                "kib" => 1 << 10,
                "mib" => 1 << 20,
                "gib" => 1 << 30,
                _ => {
                    let mut e = expected();
                    if let Some(binary) = size_unit(unit) {
                        e.push_str(&format!("; did you mean `{digits}{binary}`?"));
                    }
                    return Err(e);
                }
            };
            let v = digits
                .parse::<i64>()
                .ok()
                .and_then(|d| d.checked_mul(scale))
                .filter(|&v| v >= min)
                .ok_or_else(expected)?;
            Ok(Value::Int(v))
        }
        ValueType::PageSize => {
            let expected = || "a power of two from 512 to 65536".to_string();
            let v: i64 = lower.parse().map_err(|_| expected())?;
            if (512..=65536).contains(&v) && (v as u64).is_power_of_two() {
                Ok(Value::Int(v))
            } else {
                Err(expected())
            }
        }
        ValueType::Enum(names) => {
            let by_name = names.iter().find(|n| **n == lower);
            // A number means what SQLite makes of it (`secure_delete = 2`
            // is ON, not FAST; journal_mode has no numbers).
            let by_number = lower
                .parse::<usize>()
                .ok()
                .filter(|i| *i < names.len())
                .and_then(|_| pragma.resolve(&lower));
            by_name
                .copied()
                .or(by_number)
                .map(Value::Name)
                .ok_or_else(|| {
                    let list = names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!(
                        "one of {list}{}",
                        did_you_mean(suggest(&lower, names.iter().copied()))
                    )
                })
        }
    }
}

/// The set as canonical lines, presets expanded: parsing it again gives the
/// same settings.
impl fmt::Display for PragmaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.settings {
            writeln!(f, "{} = {}", s.pragma.name, s.value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_written_another_way_gets_the_spelling_that_works() {
        let errors = parse(
            "mmap_size = 128MB\njournal_size_limit = 2 g\nmmap_size = 1TB\ncache_size = 64mb\n",
        )
        .unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages[0].ends_with("did you mean `128MiB`?"),
            "{messages:?}"
        );
        assert!(
            messages[1].ends_with("did you mean `2GiB`?"),
            "{messages:?}"
        );
        assert!(!messages[2].contains("did you mean"), "{messages:?}");
        assert!(
            messages[3].contains("KiB when negative (`-65536` is 64 MiB of cache)"),
            "{messages:?}"
        );
    }

    fn values(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .settings
            .iter()
            .map(|s| (s.pragma.name.to_owned(), s.value.to_string()))
            .collect()
    }

    #[test]
    fn expands_presets_in_place_and_later_lines_win() {
        let v = values("synchronous = off\npreset safety\nwal_autocheckpoint = 100\n");
        assert!(v.contains(&("synchronous".into(), "full".into())), "{v:?}");
        assert!(v.contains(&("wal_autocheckpoint".into(), "100".into())));
        assert_eq!(v.iter().filter(|(n, _)| n == "synchronous").count(), 1);
    }

    #[test]
    fn reads_every_value_type() {
        let v = values(
            "PRAGMA journal_mode = WAL;\nforeign_keys = yes\ncache_size = -64000\nmmap_size = 256MiB\npage_size = 8192\nsynchronous = 1\njournal_size_limit = -1 -- no limit\n",
        );
        assert_eq!(
            v,
            [
                ("journal_mode", "wal"),
                ("foreign_keys", "on"),
                ("cache_size", "-64000"),
                ("mmap_size", "268435456"),
                ("page_size", "8192"),
                ("synchronous", "normal"),
                ("journal_size_limit", "-1"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn reports_every_bad_line_with_a_suggestion() {
        let errors = parse("jornal_mode = wal\nsynchronous = normall\npage_size = 1000\npreset balancd\npage_count = 3\nwhat\n").unwrap_err();
        let lines: Vec<u32> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6]);
        assert!(errors[0].message.contains("did you mean `journal_mode`?"));
        assert!(
            errors[1].message.contains("did you mean `normal`?"),
            "{}",
            errors[1].message
        );
        assert!(errors[2].message.contains("power of two"));
        assert!(errors[3].message.contains("did you mean `balanced`?"));
        assert!(errors[4].message.contains("only reports"));
        assert!(errors[5].message.contains("expected `name = value`"));
    }

    #[test]
    fn reports_values_as_sqlite_does() {
        let set = parse("synchronous = normal\njournal_mode = wal\nforeign_keys = on\n").unwrap();
        let reported: Vec<String> = set
            .settings
            .iter()
            .map(|s| s.value.reported(s.pragma))
            .collect();
        assert_eq!(reported, ["1", "wal", "1"]);
    }

    #[test]
    fn formatted_set_parses_back_the_same() {
        let set = parse("preset speed\nmmap_size = 1GiB\nsecure_delete = fast\n").unwrap();
        let again = parse(&set.to_string()).unwrap();
        let strip = |s: &PragmaSet| {
            s.settings
                .iter()
                .map(|s| (s.pragma.name, s.value))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&set), strip(&again));
    }
}
