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
            assert!(!s.trim().is_empty());
            let at = s.as_ptr() as usize - text.as_ptr() as usize;
            assert!(at >= last, "statements out of order");
            last = at + s.len();
        }
    }
});
