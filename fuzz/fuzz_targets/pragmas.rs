//! Pragma sets: never panic; a parsed set formats and parses back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use migrate_core::dsl::pragmas::{PragmaSet, parse};

fn settings(s: &PragmaSet) -> Vec<(&'static str, String)> {
    s.settings.iter().map(|s| (s.pragma.name, s.value.to_string())).collect()
}

fuzz_target!(|text: &str| {
    if let Ok(set) = parse(text) {
        let again = parse(&set.to_string()).expect("a formatted set parses");
        assert_eq!(settings(&set), settings(&again));
    }
});
