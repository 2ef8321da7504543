//! File names: `<version>_<name>.<kind>` to a [`FileName`], or why not.
//!
//! Pure: no I/O, no SQLite. The proc macro and the run-time loader both call
//! [`parse`], so a name accepted at compile time is accepted at run time.

use std::fmt;

/// What a migration file holds, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// Plain SQL (`.sql`), run as one transaction unless it says otherwise.
    Sql,
    /// A pragma set (`.pragmas`).
    Pragmas,
    /// An index set (`.indexes`).
    Indexes,
}

impl Kind {
    /// The name stored in the history table's `kind` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Sql => "sql",
            Kind::Pragmas => "pragmas",
            Kind::Indexes => "indexes",
        }
    }

    /// The kind stored as `s` in the history table, if it is one.
    pub fn from_name(s: &str) -> Option<Kind> {
        match s {
            "sql" => Some(Kind::Sql),
            "pragmas" => Some(Kind::Pragmas),
            "indexes" => Some(Kind::Indexes),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which half of a reversible pair a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A plain file (`1_init.sql`) or the forward half (`1_init.up.sql`).
    Up,
    /// The reverse half (`1_init.down.sql`): kept, never applied by `up`.
    Down,
}

/// How a folder names its migrations; one folder holds one layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// `0001_name.sql` (sqlx, golang-migrate, dbmate, goose, this tool).
    Numbered,
    /// `V1__name.sql` (Flyway, refinery).
    Flyway,
    /// `2024-01-31-120000_name/up.sql` (diesel) or `…/migration.sql` (prisma).
    Folder,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Numbered => "numbered files (`0001_name.sql`)",
            Layout::Flyway => "Flyway/refinery names (`V1__name.sql`)",
            Layout::Folder => "versioned folders (`2024-01-31-120000_name/up.sql`)",
        })
    }
}

/// A parsed migration file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The version, compared as a number (`0003` is 3).
    pub version: u64,
    /// The name after the first `_`.
    pub name: String,
    /// The kind, from the extension.
    pub kind: Kind,
    /// `.down.sql` files are reverses of their `.up.sql` twin.
    pub direction: Direction,
    /// The naming scheme it follows.
    pub layout: Layout,
}

/// Why a file name that looks like a migration is not a valid one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// `V1__init.sql`, `1-init.sql`, `init.sql`: no `<digits>_` prefix.
    #[error("expected `<version>_<name>.<kind>`, like `0001_create_users.sql`{hint}")]
    NoVersion {
        /// A suggestion for the names of other tools.
        hint: String,
    },
    /// `0003_.sql`: nothing after the underscore.
    #[error("the name after the version is empty; expected something like `0003_add_index.sql`")]
    EmptyName,
    /// A name with characters outside `[A-Za-z0-9_-]`.
    #[error("the name `{name}` may only hold letters, digits, `_` and `-`")]
    BadName {
        /// The name as found.
        name: String,
    },
    /// More than SQLite's largest integer (2^63 - 1).
    #[error("the version `{digits}` is larger than SQLite's largest integer, 9223372036854775807")]
    VersionTooLarge {
        /// The digits as found.
        digits: String,
    },
    /// Flyway's dotted versions (`V1.1__x.sql`, `V1_1__x.sql`).
    #[error(
        "Flyway's dotted version `{version}` is not read: versions here are whole numbers; rename the files \
         `V1__…`, `V2__…` in the same order"
    )]
    DottedVersion {
        /// The version as written.
        version: String,
    },
    /// `U1__x.sql`: an undo migration in Flyway, an unversioned one in
    /// refinery.
    #[error(
        "`U…` names an undo migration in Flyway and an unversioned migration in refinery; neither is read here: \
         a reverse is `<version>_<name>.down.sql` beside its migration, and every migration needs a version"
    )]
    UndoOrUnversioned,
    /// `R__x.sql`: a Flyway repeatable migration.
    #[error(
        "Flyway repeatable migrations (`R__…`) are not read: they run again whenever they change, which a \
         history of applied versions cannot record; put their statements in a numbered migration"
    )]
    Repeatable,
    /// `.down` on a kind that has no reverse.
    #[error("only SQL migrations have `.down` files; `{kind}` sets are not reversible")]
    DownNotSql {
        /// The kind of the file.
        kind: Kind,
    },
}

/// Parses a file name. `Ok(None)` means "not a migration, ignore it": hidden
/// files and files whose extension is not a migration kind (`README.md`).
///
/// ```
/// use migrate_core::naming::{parse, Kind};
/// let f = parse("0003_add_email.sql").unwrap().unwrap();
/// assert_eq!((f.version, f.name.as_str(), f.kind), (3, "add_email", Kind::Sql));
/// assert!(parse("README.md").unwrap().is_none());
/// assert!(parse("1-init.sql").is_err());
/// // Flyway and refinery names are read.
/// assert_eq!(parse("V2__add_email.sql").unwrap().unwrap().version, 2);
/// ```
pub fn parse(file_name: &str) -> Result<Option<FileName>, NameError> {
    if file_name.starts_with('.') {
        return Ok(None);
    }
    let Some((stem, ext)) = file_name.rsplit_once('.') else {
        return Ok(None);
    };
    let Some(kind) = Kind::from_name(ext) else {
        return Ok(None);
    };
    if let Some(flyway) = flyway(stem, kind)? {
        return Ok(Some(flyway));
    }
    let (stem, direction) = if let Some(s) = stem.strip_suffix(".up") {
        (s, Direction::Up)
    } else if let Some(s) = stem.strip_suffix(".down") {
        (s, Direction::Down)
    } else {
        (stem, Direction::Up)
    };
    if direction == Direction::Down && kind != Kind::Sql {
        return Err(NameError::DownNotSql { kind });
    }
    let (version, name) = split_version(stem, false).map_err(|e| match e {
        NameError::NoVersion { .. } => NameError::NoVersion {
            hint: hint_for(stem, &file_name[stem.len()..]),
        },
        other => other,
    })?;
    Ok(Some(FileName {
        version,
        name: name.to_owned(),
        kind,
        direction,
        layout: Layout::Numbered,
    }))
}

/// A Flyway or refinery name (`V1__init`), `None` for any other, or why it
/// cannot be read (`U1__…`, `R__…`, `V1.1__…`).
fn flyway(stem: &str, kind: Kind) -> Result<Option<FileName>, NameError> {
    let Some(prefix) = stem.chars().next().filter(|c| "VvUuRr".contains(*c)) else {
        return Ok(None);
    };
    let Some((version, name)) = stem[1..].split_once("__") else {
        return Ok(None);
    };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let dotted =
        |s: &str| s.split(['.', '_']).all(numeric) && s.contains(['.', '_']) && numeric(&s[..1]);
    match prefix.to_ascii_uppercase() {
        'R' if version.is_empty() && !name.is_empty() => Err(NameError::Repeatable),
        'U' if numeric(version) || dotted(version) => Err(NameError::UndoOrUnversioned),
        'V' if dotted(version) => Err(NameError::DottedVersion {
            version: version.to_owned(),
        }),
        'V' if numeric(version) => {
            let (parsed, name) = checked(version, version, name)?;
            Ok(Some(FileName {
                version: parsed,
                name: name.to_owned(),
                kind,
                direction: Direction::Up,
                layout: Layout::Flyway,
            }))
        }
        _ => Ok(None),
    }
}

/// Splits `0001_create_users` into `(1, "create_users")`. With `dashes`,
/// for diesel-style folder names, the version may hold `-` separators
/// (`2024-01-31-120000_create_users` is 20240131120000).
pub fn split_version(stem: &str, dashes: bool) -> Result<(u64, &str), NameError> {
    let digits_end = stem
        .find(|c: char| !(c.is_ascii_digit() || (dashes && c == '-')))
        .unwrap_or(stem.len());
    let digits = stem[..digits_end].trim_end_matches('-');
    let rest = &stem[digits.len()..];
    let plain: String = digits.chars().filter(char::is_ascii_digit).collect();
    let dashes_ok = !digits.starts_with('-') && !digits.contains("--");
    let Some(name) = rest
        .strip_prefix('_')
        .filter(|_| !plain.is_empty() && dashes_ok)
    else {
        return Err(NameError::NoVersion {
            hint: hint_for(stem, ""),
        });
    };
    checked(&plain, digits, name)
}

/// The version from its digits (`plain`; `written` as in the name, for the
/// message) and the name, each checked.
fn checked<'a>(plain: &str, written: &str, name: &'a str) -> Result<(u64, &'a str), NameError> {
    // SQLite integers are signed 64-bit, so that is the largest version.
    let version = plain
        .parse::<u64>()
        .ok()
        .filter(|&v| i64::try_from(v).is_ok())
        .ok_or_else(|| NameError::VersionTooLarge {
            digits: written.to_owned(),
        })?;
    if name.is_empty() {
        return Err(NameError::EmptyName);
    }
    if !valid_name(name) {
        return Err(NameError::BadName {
            name: name.to_owned(),
        });
    }
    Ok((version, name))
}

/// The version for a new migration, as it would be written in its file name:
/// after the highest of `existing` (the version digits of the files already
/// there), zero-padded to their widest; or, when the folder uses 14-digit
/// timestamps, the UTC time `now` as `YYYYMMDDHHMMSS` (kept above the
/// highest). An empty folder starts at `0001`.
///
/// ```
/// use migrate_core::naming::next_version;
/// assert_eq!(next_version(&["0001", "0002"], 0).unwrap(), "0003");
/// assert_eq!(next_version(&["1", "9"], 0).unwrap(), "10");
/// assert_eq!(next_version(&[], 0).unwrap(), "0001");
/// // 2024-01-31 12:00:00 UTC
/// assert_eq!(next_version(&["20210422143411"], 1706702400).unwrap(), "20240131120000");
/// // Nothing fits after SQLite's largest integer.
/// assert_eq!(next_version(&["9223372036854775807"], 0), None);
/// ```
pub fn next_version(existing: &[&str], now_unix: u64) -> Option<String> {
    // A version that does not parse as u64 is larger than any that does.
    let parsed: Vec<Option<u64>> = existing.iter().map(|v| v.parse::<u64>().ok()).collect();
    if parsed.iter().any(Option::is_none) {
        return None;
    }
    let highest = parsed.into_iter().flatten().max();
    let width = existing.iter().map(|v| v.len()).max().unwrap_or(4);
    let timestamps = !existing.is_empty()
        && existing
            .iter()
            .all(|v| v.len() == 14 && v.starts_with(['1', '2']));
    if timestamps {
        let stamp = utc_timestamp(now_unix);
        return match highest {
            Some(h) if stamp.parse::<u64>().is_ok_and(|s| s <= h) => {
                after(h).map(|v| v.to_string())
            }
            _ => Some(stamp),
        };
    }
    let next = highest.map_or(Some(1), after)?;
    Some(format!("{next:0width$}"))
}

/// The version after `v`, if SQLite can store it.
fn after(v: u64) -> Option<u64> {
    v.checked_add(1).filter(|&n| n <= i64::MAX as u64)
}

/// `YYYYMMDDHHMMSS` for a Unix time, in UTC (the civil-from-days algorithm
/// of Howard Hinnant's date library).
fn utc_timestamp(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Whether `name` can be a migration's name: letters, digits, `_`, `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A rename suggestion for names written for other tools; `ext` is what
/// follows the stem (`.sql`, `.up.sql`), empty for folders.
fn hint_for(stem: &str, ext: &str) -> String {
    // 1-init: a dash where the underscore belongs.
    let digits = stem.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(n) = stem[digits..].strip_prefix(['-', '.', ' '])
    {
        return format!(" (rename it `{}_{n}{ext}`)", &stem[..digits]);
    }
    String::new()
}

/// `text` with control characters (newlines, terminal escapes) written as
/// escapes (`\n`, `\u{1b}`), for names read from a database that go into a
/// message or a report: a name holding a newline must not start a line of
/// its own, nor an escape sequence reach a terminal.
///
/// ```
/// assert_eq!(migrate_core::naming::visible("a\nok"), "a\\nok");
/// assert_eq!(migrate_core::naming::visible("plain"), "plain");
/// ```
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str) -> FileName {
        parse(name).unwrap().unwrap()
    }

    #[test]
    fn parses_versions_as_numbers() {
        assert_eq!(ok("0003_x.sql").version, 3);
        assert_eq!(ok("3_x.sql").version, 3);
        assert_eq!(
            ok("20210422143411_create_history.sql").version,
            20210422143411
        );
    }

    #[test]
    fn recognises_kinds_and_directions() {
        assert_eq!(ok("1_a.pragmas").kind, Kind::Pragmas);
        assert_eq!(ok("1_a.indexes").kind, Kind::Indexes);
        assert_eq!(ok("1_a.up.sql").direction, Direction::Up);
        assert_eq!(ok("1_a.up.sql").name, "a");
        assert_eq!(ok("1_a.down.sql").direction, Direction::Down);
        assert!(parse("1_a.down.pragmas").is_err());
    }

    #[test]
    fn ignores_hidden_and_foreign_files() {
        for name in [".gitkeep", "README.md", "notes", ".1_a.sql", "1_a.sql.bak"] {
            assert_eq!(parse(name), Ok(None), "{name}");
        }
    }

    #[test]
    fn rejects_misnamed_files_with_a_hint() {
        let e = parse("1-init.sql").unwrap_err().to_string();
        assert!(e.contains("rename it `1_init.sql`"), "{e}");
        assert_eq!(parse("0003_.sql"), Err(NameError::EmptyName));
        assert!(parse("init.sql").is_err());
        assert!(parse("1_bad name.sql").is_err());
        assert!(parse("99999999999999999999999_x.sql").is_err());
        assert!(parse("9223372036854775808_x.sql").is_err());
        assert_eq!(ok("9223372036854775807_x.sql").version, i64::MAX as u64);
    }

    #[test]
    fn next_version_follows_the_folder_style() {
        assert_eq!(
            next_version(&["001", "002", "010"], 0).as_deref(),
            Some("011")
        );
        assert_eq!(next_version(&["0001", "0102"], 0).as_deref(), Some("0103"));
        assert_eq!(next_version(&["99"], 0).as_deref(), Some("100"));
        assert_eq!(utc_timestamp(0), "19700101000000");
        assert_eq!(utc_timestamp(951_782_400), "20000229000000");
        // A clock behind the newest timestamp still moves forward.
        assert_eq!(
            next_version(&["29990101000000"], 0).as_deref(),
            Some("29990101000001")
        );
        // Past SQLite's largest integer there is no next version.
        assert_eq!(next_version(&["18446744073709551615"], 0), None);
        assert_eq!(next_version(&["99999999999999999999999"], 0), None);
        assert_eq!(next_version(&["9223372036854775807"], 0), None);
        assert_eq!(
            next_version(&["9223372036854775806"], 0).as_deref(),
            Some("9223372036854775807")
        );
    }

    #[test]
    fn reads_diesel_folder_versions() {
        assert_eq!(
            split_version("2024-01-31-120000_create_users", true),
            Ok((20240131120000, "create_users"))
        );
        assert!(split_version("-1_x", true).is_err());
        assert!(split_version("2024-01-31_x", false).is_err());
    }
}
