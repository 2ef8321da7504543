//! Color for the few words that carry a verdict (`ok`, `FAIL`, `warning:`,
//! `error:`): on a terminal unless `NO_COLOR` is set or `TERM=dumb`, or as
//! `--color` says.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// Whether stdout and stderr get color.
static ENABLED: OnceLock<(bool, bool)> = OnceLock::new();

/// Decides once: `Some(choice)` from `--color always|never`, `None` for auto.
pub fn init(choice: Option<bool>) {
    let auto = || {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        !no_color && !dumb
    };
    let enabled = match choice {
        Some(c) => (c, c),
        None => (
            auto() && std::io::stdout().is_terminal(),
            auto() && std::io::stderr().is_terminal(),
        ),
    };
    let _ = ENABLED.set(enabled);
}

fn paint(word: &str, code: &str, stderr: bool) -> String {
    let (out, err) = ENABLED.get().copied().unwrap_or((false, false));
    if (stderr && err) || (!stderr && out) {
        format!("\x1b[{code}m{word}\x1b[0m")
    } else {
        word.to_owned()
    }
}

/// `FAIL`, red, for stdout.
pub fn fail() -> String {
    paint("FAIL", "1;31", false)
}

/// `ok:`, green, for stdout.
pub fn ok() -> String {
    paint("ok:", "32", false)
}

/// `warning:`, yellow, for stderr.
pub fn warning() -> String {
    paint("warning:", "33", true)
}

/// `error:`, red, for stderr.
pub fn error() -> String {
    paint("error:", "1;31", true)
}

/// A dim label, for stderr.
pub fn dim(word: &str) -> String {
    paint(word, "2", true)
}

/// Writes `doc` as indented JSON and a newline to `out` in one write (a
/// line-buffered stdout would write every line of it on its own).
pub(crate) fn json(out: &mut impl std::io::Write, doc: &serde_json::Value) -> std::io::Result<()> {
    let mut text = serde_json::to_vec_pretty(doc)?;
    text.push(b'\n');
    out.write_all(&text)
}

/// `text` with control characters (newlines, escapes) shown as escapes, for
/// lines that carry names from the database: a table named with a newline
/// must not start a line of its own in a report.
pub use migrate_core::naming::visible;

/// `n` and a noun, plural unless `n` is 1: "1 problem", "2 problems".
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
