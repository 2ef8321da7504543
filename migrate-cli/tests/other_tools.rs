//! Folders written for other tools, in their own layouts, through the real
//! binary: Flyway and refinery names.

mod common;

use common::*;

#[test]
fn flyway_and_refinery_names_apply_in_version_order() {
    let p = Project::new(&[
        (
            "V1__create_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "V2__create_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n",
        ),
        (
            "V10__add_index.sql",
            "CREATE INDEX posts_user ON posts (user_id);\n",
        ),
        ("README.md", "# not a migration\n"),
    ]);
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    for (line, wanted) in lines.iter().zip([
        "applied 1 create_users",
        "applied 2 create_posts",
        "applied 10 add_index",
    ]) {
        assert!(line.starts_with(wanted), "{text}");
    }
    // `new` names the next file the folder's way.
    let out = p.bare(&["new", "add_tags"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out)
            .trim()
            .ends_with("migrations/V11__add_tags.sql"),
        "{}",
        stdout(&out)
    );
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("applied 11 add_tags"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn flyway_names_this_tool_cannot_read_are_refused_with_their_meaning() {
    for (file, wanted) in [
        (
            "U2__undo_posts.sql",
            "undo migration in Flyway and an unversioned migration in refinery",
        ),
        (
            "R__views.sql",
            "Flyway repeatable migrations (`R__…`) are not read",
        ),
        ("V1.1__fix.sql", "Flyway's dotted version `1.1` is not read"),
        ("V1_1__fix.sql", "Flyway's dotted version `1_1` is not read"),
    ] {
        let p = Project::new(&[(
            "V1__create_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        )]);
        p.write(file, "SELECT 1;\n");
        let out = p.cli(&["up"]);
        assert_eq!(code(&out), 1, "{file}");
        let e = stderr(&out);
        assert!(
            e.contains(&format!("{file}: ")) && e.contains(wanted),
            "{file}: {e}"
        );
        assert!(!p.db().exists(), "{file}: nothing was created");
    }
}

#[test]
fn a_folder_mixing_layouts_is_refused_naming_the_files() {
    let p = Project::new(&[
        (
            "V1__create_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "2024-01-31-120000_tags/up.sql",
            "CREATE TABLE tags (name TEXT);\n",
        ),
        // This tool's own kinds go with any layout.
        ("0003_settings.pragmas", "cache_size = -8000\n"),
    ]);
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    let e = stderr(&out);
    for file in ["V1__create_users.sql", "2024-01-31-120000_tags/up.sql"] {
        assert!(
            e.contains(&format!("{file}: this file uses")),
            "{file}: {e}"
        );
    }
    assert!(e.contains("`0002_posts.sql` uses numbered files"), "{e}");
    assert!(!e.contains("0003_settings.pragmas"), "{e}");
    assert!(!p.db().exists());
}

/// diesel's `metadata.toml` with `run_in_transaction = false` makes the
/// folder's migration (and its down) run outside a transaction.
#[test]
fn diesel_metadata_runs_a_folder_outside_a_transaction() {
    let p = Project::new(&[
        (
            "2024-01-01-000000_items/up.sql",
            "CREATE TABLE items (x);\nINSERT INTO items VALUES (1), (2);\n",
        ),
        ("2024-01-01-000000_items/down.sql", "DROP TABLE items;\n"),
        (
            "2024-01-02-000000_compact/up.sql",
            "DELETE FROM items WHERE x = 1;\nVACUUM;\n",
        ),
        ("2024-01-02-000000_compact/down.sql", "VACUUM;\n"),
    ]);
    // Without the metadata, VACUUM is refused in a transactional file.
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("2024-01-02-000000_compact/up.sql:2: `VACUUM;` cannot run inside"),
        "{}",
        stderr(&out)
    );
    // The way out is said the diesel way.
    assert!(
        stderr(&out).contains("`metadata.toml` says `run_in_transaction = false`"),
        "{}",
        stderr(&out)
    );
    // Its down file is not reported as a down without an up: that would
    // only repeat the up file's problem.
    assert!(
        !stderr(&out).contains("a down migration with no up migration"),
        "{}",
        stderr(&out)
    );
    p.write(
        "2024-01-02-000000_compact/metadata.toml",
        "# diesel\nrun_in_transaction = false\n",
    );
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("2 applied"), "{}", stdout(&out));
    let out = p.cli(&["redo"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A setting diesel does not have is named, with its line.
    p.write(
        "2024-01-02-000000_compact/metadata.toml",
        "run_in_transaction = false\nrun_in_transction = true\n",
    );
    let out = p.cli(&["status"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains(
            "2024-01-02-000000_compact/metadata.toml:2: expected `run_in_transaction = true`"
        ),
        "{}",
        stderr(&out)
    );
}
