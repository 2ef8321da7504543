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
    // Three steps and the total: a missing step cannot hide in the zip.
    assert_eq!(lines.len(), 4, "{text}");
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

/// diesel orders its folders by the version as text: `2024-03-13_170000_x`
/// (version 20240313) comes after `2024-01-01-000000_y` (20240101000000),
/// though it is the smaller number. Applying, reverting and the
/// out-of-order check follow that order.
#[test]
fn diesel_folders_run_in_diesels_text_order() {
    let p = Project::new(&[
        (
            "2024-01-01-000000_users/up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        ("2024-01-01-000000_users/down.sql", "DROP TABLE users;\n"),
        (
            "2024-03-13_170000_emails/up.sql",
            "ALTER TABLE users ADD COLUMN email TEXT;\n",
        ),
        (
            "2024-03-13_170000_emails/down.sql",
            "ALTER TABLE users DROP COLUMN email;\n",
        ),
    ]);
    let out = ok(&p, &["up"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("applied 20240101000000 users"),
        "{out}"
    );
    // diesel's version is what comes before the first `_`: the rest is the name.
    assert!(
        lines[1].starts_with("applied 20240313 170000_emails"),
        "{out}"
    );
    assert!(ok(&p, &["up"]).contains("up to date"));
    // A new folder after them in text order applies; one before the newest
    // applied is out of order, as it would be for diesel.
    p.write(
        "2024-06-01-000000_posts/up.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
    );
    p.write("2024-06-01-000000_posts/down.sql", "DROP TABLE posts;\n");
    assert!(ok(&p, &["up"]).contains("applied 20240601000000 posts"));
    p.write(
        "2024-02-01-000000_tags/up.sql",
        "CREATE TABLE tags (name TEXT);\n",
    );
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("older than the newest applied one (20240601000000)"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(p.dir.path().join("migrations/2024-02-01-000000_tags")).unwrap();
    // Newest first in that order: posts, then emails, then users.
    let out = ok(&p, &["down", "--to", "0"]);
    let order: Vec<&str> = out.lines().take(3).collect();
    assert!(
        order[0].contains(" posts ")
            && order[1].contains(" 170000_emails ")
            && order[2].contains(" users "),
        "{out}"
    );
    assert!(ok(&p, &["up"]).contains("3 applied"));
    assert!(ok(&p, &["verify"]).starts_with("ok"));
}

/// A drizzle journal listing `tags` in its order, as drizzle-kit writes it.
fn journal(tags: &[&str]) -> String {
    let entries: Vec<String> = tags
        .iter()
        .enumerate()
        .map(|(i, tag)| {
            format!(
                "    {{\n      \"idx\": {i},\n      \"version\": \"6\",\n      \"when\": {},\n      \"tag\": \"{tag}\",\n      \"breakpoints\": true\n    }}",
                1_700_000_000_000_u64 + i as u64
            )
        })
        .collect();
    format!(
        "{{\n  \"version\": \"7\",\n  \"dialect\": \"sqlite\",\n  \"entries\": [\n{}\n  ]\n}}",
        entries.join(",\n")
    )
}

#[test]
fn drizzle_folders_run_in_their_journals_order() {
    let p = Project::new(&[
        (
            "0000_users.sql",
            "CREATE TABLE `users` (\n\t`id` integer PRIMARY KEY NOT NULL\n);\n--> statement-breakpoint\nCREATE TABLE `tags` (`id` integer PRIMARY KEY NOT NULL);\n",
        ),
        ("0001_email.sql", "ALTER TABLE `users` ADD `email` text;\n"),
        (
            "0002_posts.sql",
            "CREATE TABLE `posts` (`id` integer PRIMARY KEY NOT NULL);\n",
        ),
        ("meta/0000_snapshot.json", "{}"),
    ]);
    // The journal, not the numbers, says 0002 runs before 0001.
    p.write(
        "meta/_journal.json",
        &journal(&["0000_users", "0002_posts", "0001_email"]),
    );
    let out = ok(&p, &["up", "--to", "2"]);
    assert!(
        out.contains("applied 0 users")
            && out.contains("applied 2 posts")
            && !out.contains("email"),
        "{out}"
    );
    // 0001 comes after 0002 in this set's order: pending, not out of order.
    let out = ok(&p, &["up"]);
    assert!(out.contains("applied 1 email"), "{out}");
    assert!(ok(&p, &["status"]).contains("3 applied, 0 pending"));
}

#[test]
fn a_drizzle_journal_and_its_files_must_agree() {
    let files = [
        (
            "0000_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0001_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
        ),
    ];
    // A file the journal does not list: drizzle would never run it.
    let p = Project::new(&files);
    p.write("meta/_journal.json", &journal(&["0000_users"]));
    refuses(
        &p,
        &["up"],
        1,
        &["0001_posts.sql: `meta/_journal.json` does not list this file"],
    );
    assert!(!p.db().exists());
    // An entry without its file.
    let p = Project::new(&files);
    p.write(
        "meta/_journal.json",
        &journal(&["0000_users", "0001_posts", "0002_gone"]),
    );
    refuses(
        &p,
        &["up"],
        1,
        &["meta/_journal.json:23: the journal lists `0002_gone`, and there is no `0002_gone.sql`"],
    );
    // A journal this tool cannot read names its line.
    let p = Project::new(&files);
    p.write(
        "meta/_journal.json",
        "{\n  \"entries\": [\n    { \"tag\": 7 }\n  ]\n}\n",
    );
    refuses(
        &p,
        &["up"],
        1,
        &["meta/_journal.json:3:", "`tag` is not a plain file name"],
    );
    let p = Project::new(&files);
    p.write("meta/_journal.json", "[]\n");
    refuses(&p, &["up"], 1, &["not a drizzle journal"]);
}

/// `new` writes the next file in the folder's own form: dbmate's and
/// goose's sections, up/down pairs, diesel's folders; `--down` adds a down
/// file to this tool's own layout. Each file it writes loads once filled.
#[test]
fn new_follows_the_folders_layout() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "20240101000001_users.sql",
            "-- migrate:up\nCREATE TABLE users (id INTEGER);\n-- migrate:down\nDROP TABLE users;\n",
            &["-- migrate:up\n", "-- migrate:down\n"],
        ),
        (
            "00001_users.sql",
            "-- +goose Up\nCREATE TABLE users (id INTEGER);\n-- +goose Down\nDROP TABLE users;\n",
            &["-- +goose Up\n", "-- +goose Down\n"],
        ),
        (
            "20240101000001_users.up.sql",
            "CREATE TABLE users (id INTEGER);\n",
            &[],
        ),
        (
            "2024-01-01-000001_users/up.sql",
            "CREATE TABLE users (id INTEGER);\n",
            &[],
        ),
    ];
    for (file, text, markers) in cases {
        let p = Project::new(&[(file, text)]);
        let out = ok(&p, &["new", "posts"]);
        let written: Vec<&str> = out.lines().collect();
        match *file {
            f if f.ends_with(".up.sql") => {
                assert!(
                    written.len() == 2
                        && written[0].ends_with("_posts.up.sql")
                        && written[1].ends_with("_posts.down.sql"),
                    "{out}"
                );
            }
            f if f.contains('/') => {
                assert!(
                    written.len() == 2
                        && written[0].ends_with("_posts/up.sql")
                        && written[1].ends_with("_posts/down.sql"),
                    "{out}"
                );
                let folder = std::path::Path::new(written[0])
                    .parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                assert!(
                    folder.len() == "2024-01-01-000001_posts".len() && folder.as_bytes()[4] == b'-',
                    "{folder}"
                );
            }
            _ => {
                assert_eq!(written.len(), 1, "{out}");
                let made = std::fs::read_to_string(p.dir.path().join(written[0])).unwrap();
                for m in *markers {
                    assert!(made.contains(m), "{file}: {made}");
                }
            }
        }
        // Filled in, the folder loads and runs both ways.
        for path in &written {
            let path = p.dir.path().join(path);
            let made = std::fs::read_to_string(&path).unwrap();
            let filled = if path.to_string_lossy().contains("down") {
                "DROP TABLE posts;\n".to_owned()
            } else {
                made.replacen("\n\n\n", "\nCREATE TABLE posts (id INTEGER);\n\n", 1)
                    .replacen(
                        "-- migrate:down\n\n",
                        "-- migrate:down\nDROP TABLE posts;\n",
                        1,
                    )
                    .replacen(
                        "-- +goose Down\n\n",
                        "-- +goose Down\nDROP TABLE posts;\n",
                        1,
                    )
            };
            let filled = if filled.contains("CREATE TABLE posts") {
                filled
            } else {
                format!("{filled}CREATE TABLE posts (id INTEGER);\n")
            };
            std::fs::write(&path, filled).unwrap();
        }
        ok(&p, &["up"]);
        ok(&p, &["down"]);
    }
    // This tool's own layout: a down file only when asked.
    let p = Project::new(&[("0001_users.sql", "CREATE TABLE users (id INTEGER);\n")]);
    let out = ok(&p, &["new", "posts"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let out = ok(&p, &["new", "tags", "--down"]);
    let written: Vec<&str> = out.lines().collect();
    assert!(
        written.len() == 2
            && written[0].ends_with("0003_tags.sql")
            && written[1].ends_with("0003_tags.down.sql"),
        "{out}"
    );
}
