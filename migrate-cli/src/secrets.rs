//! Passwords this run was given, kept to scrub them from anything it
//! prints on failure: a server's or a library's message may quote a
//! connection string in a form no parser here foresaw.

use std::sync::Mutex;

static KEPT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `passwords` (those short enough to occur by chance in other
/// words are left to the structural masking of connection strings).
pub(crate) fn keep(passwords: &[String]) {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    for p in passwords.iter().filter(|p| p.chars().count() >= 4) {
        if !kept.contains(p) {
            kept.push(p.clone());
        }
    }
}

/// `text` with every kept password replaced by `***`.
pub(crate) fn scrub(text: &str) -> String {
    let kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_owned();
    // Longest first: a password that holds another is replaced whole.
    let mut by_length: Vec<&String> = kept.iter().collect();
    by_length.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in by_length {
        out = out.replace(p.as_str(), "***");
    }
    out
}
