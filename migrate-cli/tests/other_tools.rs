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
