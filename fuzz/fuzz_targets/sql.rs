//! The statement scanner: never panics; statements lie inside the file, in
//! order, each on a line that exists.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = migrate_core::sql::scan(text);
    if let Ok(statements) = migrate_core::sql::statements(text) {
        let lines = text.split('\n').count() as u32;
        let mut last = 0;
        for (line, s) in statements {
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            // SQLite's own spaces (a vertical tab is not one: it is an
            // illegal token, and the statement SQLite will reject).
            assert!(!s.is_empty() && !s.starts_with([' ', '\t', '\n', '\r', '\x0c']));
            let at = s.as_ptr() as usize - text.as_ptr() as usize;
            assert!(at >= last, "statements out of order");
            last = at + s.len();
        }
    }
});
