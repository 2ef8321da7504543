//! The layers of migrate-core point one way (docs/DESIGN.md, "Layers"):
//! no module names a module of a higher layer, and no modules import each
//! other round. A path is followed through re-exports (`pub use`) to the
//! module that defines what it names, so an import cannot hide behind a
//! re-export; `crate::`, `super::`, `self::` and a parent's own child
//! modules are all read, grouped imports (`a::{b, c::d}`) included. A test
//! module (`#[cfg(test)] mod tests { … }`) may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module (a file of `migrate-core/src`, without `.rs`) and its layer:
/// 0 pure parts, 1 model, 2 seam, 3 engine, 4 backends, 5 operations.
const LAYERS: &[(&str, u8)] = &[
    ("checksum", 0),
    ("naming", 0),
    ("sql", 0),
    ("sql/text", 0),
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
    ("vocabulary", 1),
    ("backend", 2),
    ("error", 2),
    ("pipeline", 3),
    ("runner", 3),
    ("history", 3),
    ("bookkeeping", 3),
    ("adopt", 3),
    ("sqlite", 4),
    ("sqlite_history", 4),
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
    ("postgres/run", 4),
    ("verify", 5),
    ("diff", 5),
    ("lint", 5),
    ("lint/postgres", 5),
    ("lint/server", 5),
    ("schema", 5),
    ("doctor", 5),
    ("maintenance", 5),
    ("transfer", 5),
    ("testing", 5),
    ("postgres/verify", 5),
    ("postgres/transfer", 5),
];

/// The layers below which no module names a database's client library:
/// the engine sees a database only through the seam.
const NO_CLIENT_BELOW: u8 = 4;

fn layer_of(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The crate's source files, by module (`postgres/mod`, `sql`, `lib`).
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = path
                    .strip_prefix(root)
                    .unwrap()
                    .with_extension("")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(module, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrate-core/src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// The code the layering is about: the text without its test modules
/// (`#[cfg(test)] mod tests { … }`, wherever they are), its comment lines
/// blanked (doc links name what they like); line numbers stay.
fn code(text: &str) -> String {
    let mut kept = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        kept.push_str(&rest[..at]);
        let after = &rest[at..];
        // The item the attribute is on ends at its block's closing brace
        // (or at its `;`, for an item without a block); braces in strings
        // and character literals do not count.
        let end = item_end(after);
        // Blank it, keeping its newlines.
        kept.extend(after[..end].chars().filter(|&c| c == '\n'));
        rest = &after[end..];
    }
    kept.push_str(rest);
    kept.lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the item at the start of `text` ends: after the `}` that closes
/// its first block, or its `;` when it has none. Strings (raw ones too),
/// character literals and comments are stepped over.
fn item_end(text: &str) -> usize {
    let b = text.as_bytes();
    let (mut i, mut depth) = (0, 0usize);
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(b.len(), |n| i + n);
                continue;
            }
            b'r' if b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"') => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) == Some(&b'"') {
                    let close = format!("\"{}", "#".repeat(hashes));
                    let from = i + 2 + hashes;
                    i = text[from..]
                        .find(&close)
                        .map_or(b.len(), |n| from + n + close.len());
                    continue;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            // A character literal ('{', '\'', '\n'), not a lifetime.
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') => i += 2,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The module path of a file: `postgres/mod` is `[postgres]`, `lib` is `[]`.
fn module_path(module: &str) -> Vec<String> {
    match module {
        "lib" => Vec::new(),
        m => m
            .trim_end_matches("/mod")
            .split('/')
            .map(str::to_owned)
            .collect(),
    }
}

/// A use tree (`a::{b, c::d as e, self}`) as paths, each with the name it
/// binds.
fn expand(tree: &str) -> Vec<(Vec<String>, Option<String>)> {
    let tree = tree.trim();
    if let Some(open) = tree.find('{')
        && tree.ends_with('}')
    {
        let prefix: Vec<String> = tree[..open]
            .split("::")
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_owned())
            .collect();
        let inner = &tree[open + 1..tree.len() - 1];
        let (mut depth, mut start, mut out) = (0, 0, Vec::new());
        let mut items = Vec::new();
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&inner[start..]);
        for item in items.into_iter().filter(|i| !i.trim().is_empty()) {
            for (path, bound) in expand(item) {
                // `self` binds the group's own module.
                let bound = bound.or_else(|| prefix.last().cloned());
                out.push(([prefix.clone(), path].concat(), bound));
            }
        }
        return out;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((p, a)) => (p.trim(), Some(a.trim().to_owned())),
        None => (tree, None),
    };
    let mut segments: Vec<String> = path.split("::").map(|s| s.trim().to_owned()).collect();
    if segments.last().is_some_and(|s| s == "self") {
        segments.pop();
    }
    let bound = alias.or_else(|| segments.last().cloned());
    vec![(segments, bound)]
}

struct Crate {
    files: BTreeMap<String, String>,
    /// Per module: the names it re-exports, and the path each names.
    exports: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// The `pub use …;` statements of `code` (any visibility), as their trees,
/// and the code without them.
fn reexports(code: &str) -> (Vec<String>, String) {
    let mut trees = Vec::new();
    let mut rest = String::new();
    let mut open: Option<String> = None;
    for line in code.lines() {
        if let Some(tree) = open.as_mut() {
            tree.push(' ');
            tree.push_str(line.trim());
        } else {
            let t = line.trim_start();
            let after_vis = t.strip_prefix("pub ").or_else(|| {
                t.strip_prefix("pub(")
                    .and_then(|r| Some(r.split_once(") ")?.1))
            });
            match after_vis.and_then(|r| r.strip_prefix("use ")) {
                Some(tree) => open = Some(tree.trim().to_owned()),
                None => {
                    rest.push_str(line);
                    rest.push('\n');
                    continue;
                }
            }
        }
        if let Some(tree) = open.take_if(|t| t.ends_with(';')) {
            trees.push(tree.trim_end_matches(';').to_owned());
        }
    }
    (trees, rest)
}

impl Crate {
    fn load() -> Crate {
        let files: BTreeMap<String, String> =
            sources().into_iter().map(|(m, t)| (m, code(&t))).collect();
        let mut exports = BTreeMap::new();
        for (module, text) in &files {
            let mut names = BTreeMap::new();
            for tree in reexports(text).0 {
                for (path, bound) in expand(&tree) {
                    if let Some(bound) = bound {
                        names.insert(bound, path);
                    }
                }
            }
            exports.insert(module.clone(), names);
        }
        Crate { files, exports }
    }

    /// The file of a module path, if it is one.
    fn file(&self, path: &[String]) -> Option<String> {
        if path.is_empty() {
            return Some("lib".to_owned());
        }
        let p = path.join("/");
        [p.clone(), format!("{p}/mod")]
            .into_iter()
            .find(|m| self.files.contains_key(m))
    }

    /// `segments` as written in `module`, from the crate root (`None`: not
    /// a path into the crate).
    fn absolute(&self, module: &str, segments: &[String]) -> Option<Vec<String>> {
        let mine = module_path(module);
        let first = segments.first()?;
        Some(match first.as_str() {
            "crate" => segments[1..].to_vec(),
            "super" => {
                let mut base = mine[..mine.len().saturating_sub(1)].to_vec();
                let mut rest = &segments[1..];
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                [base, rest.to_vec()].concat()
            }
            "self" => [mine, segments[1..].to_vec()].concat(),
            child => {
                let full = [mine.clone(), vec![child.to_owned()]].concat();
                self.file(&full)?;
                [mine, segments.to_vec()].concat()
            }
        })
    }

    /// The module that defines what `path` (from the root) names, through
    /// re-exports.
    fn target(&self, path: &[String], depth: u32) -> String {
        let (file, used) = (0..=path.len())
            .rev()
            .find_map(|n| self.file(&path[..n]).map(|f| (f, n)))
            .expect("the root is a module");
        if depth < 16
            && let Some(name) = path.get(used)
            && let Some(via) = self.exports[&file].get(name)
            && let Some(abs) = self.absolute(&file, via)
        {
            return self.target(&[abs, path[used + 1..].to_vec()].concat(), depth + 1);
        }
        file
    }

    /// Every module each module names, outside its re-exports.
    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, text) in &self.files {
            let (_, rest) = reexports(text);
            let b = rest.as_bytes();
            let mut i = 0;
            while i < b.len() {
                let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
                let starts = ident(b[i]) && (i == 0 || !(ident(b[i - 1]) || b[i - 1] == b':'));
                if !starts {
                    i += 1;
                    continue;
                }
                // A path: idents joined by `::`, maybe ending in a group.
                let mut j = i;
                let mut end_of_path;
                loop {
                    while j < b.len() && ident(b[j]) {
                        j += 1;
                    }
                    end_of_path = j;
                    if rest[j..].starts_with("::") {
                        j += 2;
                        if rest[j..].starts_with('{') {
                            let mut depth = 0;
                            let mut k = j;
                            while k < b.len() {
                                match b[k] {
                                    b'{' => depth += 1,
                                    b'}' => {
                                        depth -= 1;
                                        if depth == 0 {
                                            break;
                                        }
                                    }
                                    _ => {}
                                }
                                k += 1;
                            }
                            end_of_path = (k + 1).min(b.len());
                            break;
                        }
                        continue;
                    }
                    break;
                }
                let written = &rest[i..end_of_path];
                i = end_of_path.max(i + 1);
                if !written.contains("::") {
                    continue;
                }
                for (segments, _) in expand(written) {
                    let Some(abs) = self.absolute(module, &segments) else {
                        continue;
                    };
                    let to = self.target(&abs, 0);
                    if to != *module && to != "lib" {
                        edges.entry(module.clone()).or_default().insert(to);
                    }
                }
            }
        }
        edges
    }
}

#[test]
fn every_module_has_a_layer() {
    let krate = Crate::load();
    let unmapped: Vec<_> = krate
        .files
        .keys()
        .filter(|m| *m != "lib" && layer_of(m).is_none())
        .collect();
    assert!(
        unmapped.is_empty(),
        "modules with no layer in LAYERS: {unmapped:?}"
    );
    let gone: Vec<_> = LAYERS
        .iter()
        .filter(|(m, _)| !krate.files.contains_key(*m))
        .collect();
    assert!(
        gone.is_empty(),
        "LAYERS names modules that are gone: {gone:?}"
    );
}

/// docs/DESIGN.md's map ("Layers": one row per module) is the map this
/// test checks the code against.
#[test]
fn the_design_map_is_this_map() {
    let design =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/DESIGN.md"))
            .unwrap();
    let section = design
        .split("\n## Layers\n")
        .nth(1)
        .expect("DESIGN.md has a Layers section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let mut documented = Vec::new();
    for line in section.lines() {
        // | `module` | 3 engine | what it is |
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, module, layer, ..] = cells.as_slice()
            && let Some(module) = module.strip_prefix('`').and_then(|m| m.strip_suffix('`'))
            && let Some(Ok(layer)) = layer.split(' ').next().map(str::parse::<u8>)
        {
            documented.push((module.to_owned(), layer));
        }
    }
    let mut coded: Vec<(String, u8)> = LAYERS.iter().map(|(m, l)| ((*m).to_owned(), *l)).collect();
    documented.sort();
    coded.sort();
    assert_eq!(
        documented, coded,
        "docs/DESIGN.md's Layers table against LAYERS"
    );
}

#[test]
fn migrate_core_imports_point_down() {
    let krate = Crate::load();
    let mut upward = Vec::new();
    for (from, tos) in krate.edges() {
        for to in tos {
            if let (Some(a), Some(b)) = (layer_of(&from), layer_of(&to))
                && b > a
            {
                upward.push(format!("{from} ({a}) -> {to} ({b})"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up a layer (see docs/DESIGN.md, Layers):\n{}",
        upward.join("\n")
    );
}

#[test]
fn migrate_core_has_no_import_cycle() {
    let edges = Crate::load().edges();
    // A module is on a cycle when it reaches itself.
    let mut cycles = BTreeSet::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, trail)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    let mut cycle = trail.clone();
                    // One spelling per cycle: starting at its least module.
                    let least = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap();
                    cycle.rotate_left(least);
                    cycles.insert(cycle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    stack.push((next.clone(), [trail.clone(), vec![next.clone()]].concat()));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles in migrate-core:\n{}",
        cycles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_engine_names_no_database_client() {
    let krate = Crate::load();
    let mut found = Vec::new();
    for (module, text) in &krate.files {
        let Some(layer) = layer_of(module).filter(|&l| l < NO_CLIENT_BELOW) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            for client in [
                "rusqlite::",
                "use rusqlite",
                "postgres::Client",
                "postgres::Error",
                "postgres::error",
                "postgres::types",
            ] {
                if line.contains(client) {
                    found.push(format!(
                        "{module}.rs:{} (layer {layer}): {}",
                        n + 1,
                        line.trim()
                    ));
                    break;
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "modules below the backends that name a client library:\n{}",
        found.join("\n")
    );
}

/// The reader itself: it must see what it is there to see.
#[test]
fn the_reader_follows_reexports_and_groups() {
    assert_eq!(
        expand("a::{b, c::d as e, self}"),
        vec![
            (vec!["a".into(), "b".into()], Some("b".into())),
            (vec!["a".into(), "c".into(), "d".into()], Some("e".into())),
            (vec!["a".into()], Some("a".into())),
        ]
    );
    // A test module is left out wherever it is, and only it.
    let text = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn b() { let c = '}'; let s = \"}\"; }\n}\nfn d() { crate::x::y(); }\n";
    let kept = code(text);
    assert!(kept.contains("fn d() { crate::x::y(); }"), "{kept}");
    assert!(!kept.contains("fn b"), "{kept}");
    assert_eq!(kept.lines().count(), text.lines().count());
    let krate = Crate::load();
    // `crate::Runner` is re-exported at the root from `runner`.
    assert_eq!(krate.target(&["Runner".into()], 0), "runner");
    let edges = krate.edges();
    // The SQLite backend uses the engine's runner: an edge the reader must see.
    assert!(edges["sqlite"].contains("runner"), "{:?}", edges["sqlite"]);
}
