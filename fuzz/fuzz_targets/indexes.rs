//! Index sets: never panic; a parsed set formats and parses back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use migrate_core::dsl::indexes::{IndexSet, parse};

fn without_lines(s: &IndexSet) -> IndexSet {
    let mut s = s.clone();
    s.indexes.iter_mut().for_each(|i| i.line = 0);
    s.expects.iter_mut().for_each(|e| e.line = 0);
    s
}

fuzz_target!(|text: &str| {
    if let Ok(set) = parse(text) {
        let again = parse(&set.to_string()).expect("a formatted set parses");
        assert_eq!(without_lines(&set), without_lines(&again));
    }
});
