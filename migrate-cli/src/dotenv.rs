//! `.env`: where sqlx-cli and dbmate users keep `DATABASE_URL`.
//!
//! The file is looked for in the current folder, then in each parent (as
//! sqlx-cli's dotenvy does; dbmate reads the current folder's). Only the
//! variables this tool reads are taken from it, and only when the
//! environment does not set them: the environment wins, as with both tools.

use std::path::{Path, PathBuf};

/// The variables this tool reads.
const READ: [&str; 3] = ["MIGRATE_DATABASE", "DATABASE_URL", "MIGRATE_DIR"];

/// A variable's value from `.env`, or why its line cannot be read
/// (`path:line: KEY: why`), said only when the value is needed.
pub(crate) type Value = Result<String, String>;

/// The nearest `.env` from `start` up, and the variables of [`READ`] it
/// sets that the environment lacks. Other lines are not this tool's
/// business.
pub(crate) fn load(start: &Path) -> Result<Vec<(&'static str, Value)>, String> {
    let Some(path) = find(start) else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Some(key) = READ.iter().find(|k| **k == key.trim()) else {
            continue;
        };
        let value = unquote(value.trim())
            .map_err(|why| format!("{}:{}: {key}: {why}", path.display(), i + 1));
        if std::env::var_os(key).is_none() && !found.iter().any(|(k, _)| k == key) {
            found.push((*key, value));
        }
    }
    Ok(found)
}

fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(".env"))
        .find(|p| p.is_file())
}

/// A value as dotenv files write it: bare (up to a ` #` comment), in
/// single quotes (literal), or in double quotes (`\"`, `\\` and `\n`).
fn unquote(value: &str) -> Result<String, &'static str> {
    if let Some(rest) = value.strip_prefix('\'') {
        return rest
            .split_once('\'')
            .map(|(v, _)| v.to_owned())
            .ok_or("the value's closing `'` is missing");
    }
    if let Some(rest) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Ok(out),
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err("the value's closing `\"` is missing");
    }
    let bare = match value.find(" #") {
        Some(at) => &value[..at],
        None => value,
    };
    Ok(bare.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn values_are_read_as_dotenv_writes_them() {
        assert_eq!(unquote("sqlite:app.db").unwrap(), "sqlite:app.db");
        assert_eq!(unquote("sqlite:app.db # local").unwrap(), "sqlite:app.db");
        assert_eq!(unquote("'a #b'").unwrap(), "a #b");
        assert_eq!(unquote(r#""a\"b" # c"#).unwrap(), "a\"b");
        assert!(unquote("\"open").is_err());
        assert!(unquote("'open").is_err());
    }
}
