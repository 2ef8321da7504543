//! The layers of migrate-core point one way (docs/DESIGN.md, "Layers"):
//! no module names a module of a higher layer, but for the few edges
//! listed below, each with why it is still there. A new upward import
//! fails this test; so does a listed edge that is gone (take it off the
//! list: the list only shrinks).

use std::collections::BTreeSet;
use std::path::Path;

/// Each module (a file of `migrate-core/src`, without `.rs`) and its layer:
/// 0 pure parts, 1 model, 2 seam, 3 engine, 4 backends, 5 operations.
const LAYERS: &[(&str, u8)] = &[
    ("checksum", 0),
    ("naming", 0),
    ("sql", 0),
    ("sql/definition", 0),
    ("sql/postgres", 0),
    ("dsl/mod", 0),
    ("dsl/catalogue", 0),
    ("dsl/indexes", 0),
    ("dsl/pragmas", 0),
    ("source", 1),
    ("plan", 1),
    ("profile", 1),
    ("differences", 1),
    ("backend", 2),
    ("error", 2),
    ("pipeline", 3),
    ("runner", 3),
    ("history", 3),
    ("bookkeeping", 3),
    ("adopt", 3),
    ("sqlite", 4),
    ("db", 4),
    ("introspect", 4),
    ("runmark", 4),
    ("sets", 4),
    ("backup", 4),
    ("postgres/mod", 4),
    ("postgres/adopt", 4),
    ("postgres/catalog", 4),
    ("postgres/connect", 4),
    ("postgres/conninfo", 4),
    ("verify", 5),
    ("schema", 5),
    ("doctor", 5),
    ("maintenance", 5),
    ("transfer", 5),
    ("testing", 5),
    ("postgres/verify", 5),
    ("postgres/transfer", 5),
];

/// The upward imports still there, each with why (none now: keep it so).
const KNOWN: &[(&str, &str, &str)] = &[];

fn layer_of(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The layer of what `crate::first::second` names.
fn named(first: &str, second: Option<&str>) -> Option<(String, u8)> {
    let candidates = [
        second.map(|s| format!("{first}/{s}")),
        Some(first.to_owned()),
        Some(format!("{first}/mod")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|m| layer_of(&m).map(|l| (m.trim_end_matches("/mod").to_owned(), l)))
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn migrate_core_imports_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrate-core/src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut upward = BTreeSet::new();
    let mut unmapped = Vec::new();
    for path in all {
        let module = path
            .strip_prefix(&src)
            .unwrap()
            .with_extension("")
            .to_string_lossy()
            .replace('\\', "/");
        if module == "lib" {
            continue;
        }
        let Some(mine) = layer_of(&module) else {
            unmapped.push(module);
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        // Tests may reach anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let word = |s: &str| -> String {
                s.chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect()
            };
            let first = word(rest);
            let second = rest[first.len()..]
                .strip_prefix("::")
                .map(word)
                .filter(|w| !w.is_empty());
            if let Some((target, theirs)) = named(&first, second.as_deref())
                && theirs > mine
            {
                let own = module.trim_end_matches("/mod").to_owned();
                upward.insert((own, target));
            }
        }
    }
    assert!(
        unmapped.is_empty(),
        "modules with no layer in LAYERS: {unmapped:?}"
    );
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(a, b, _)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    let new: Vec<_> = upward.difference(&known).collect();
    let gone: Vec<_> = known.difference(&upward).collect();
    assert!(
        new.is_empty(),
        "imports that run up a layer: {new:?} (see docs/DESIGN.md, Layers)"
    );
    assert!(
        gone.is_empty(),
        "listed in KNOWN but gone (take them off): {gone:?}"
    );
}
