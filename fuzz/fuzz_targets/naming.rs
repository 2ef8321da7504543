//! File names: never panic; an accepted name keeps its version in range.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|name: &str| {
    if let Ok(Some(f)) = migrate_core::naming::parse(name) {
        assert!(i64::try_from(f.version).is_ok());
        assert!(migrate_core::naming::valid_name(&f.name));
    }
    let _ = migrate_core::naming::split_version(name, true);
});
