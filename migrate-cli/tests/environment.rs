//! Where the CLI finds its database when no flag says: MIGRATE_DATABASE,
//! DATABASE_URL (sqlx's and dbmate's, in their `sqlite:` forms), and a
//! `.env` file, through the real binary.

mod common;

use common::*;

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY);\n";

fn run(
    p: &Project,
    dir: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut c = p.bare(args);
    c.current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn database_url_and_dotenv_name_the_database_as_sqlx_and_dbmate_do() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    let root = p.dir.path();
    std::fs::write(
        root.join(".env"),
        "# the app's settings\nexport DATABASE_URL=\"sqlite:from_file.db\" # local\nSECRET=x\n",
    )
    .unwrap();

    // From .env: created, and said so.
    let out = run(&p, root, &[], &["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("note: created the database from_file.db"),
        "{}",
        stderr(&out)
    );
    assert!(root.join("from_file.db").is_file());
    // A second run creates nothing and says nothing of it.
    let out = run(&p, root, &[], &["up"]);
    assert!(!stderr(&out).contains("created"), "{}", stderr(&out));

    // The environment wins over the file, and MIGRATE_DATABASE over
    // DATABASE_URL; a flag over everything.
    let out = run(
        &p,
        root,
        &[("DATABASE_URL", "sqlite://from_env.db")],
        &["up"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(root.join("from_env.db").is_file());
    let out = run(
        &p,
        root,
        &[
            ("DATABASE_URL", "sqlite:no.db"),
            ("MIGRATE_DATABASE", "ours.db"),
        ],
        &["up"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(root.join("ours.db").is_file() && !root.join("no.db").exists());
    let out = run(
        &p,
        root,
        &[("MIGRATE_DATABASE", "no.db")],
        &["-d", "flag.db", "up"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(root.join("flag.db").is_file() && !root.join("no.db").exists());

    // MIGRATE_DATABASE in the file comes before DATABASE_URL anywhere.
    std::fs::write(root.join(".env"), "MIGRATE_DATABASE=file_ours.db\n").unwrap();
    let out = run(&p, root, &[("DATABASE_URL", "sqlite:no.db")], &["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(root.join("file_ours.db").is_file() && !root.join("no.db").exists());

    // The nearest parent's .env, as sqlx-cli finds it.
    let sub = root.join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        root.join(".env"),
        "DATABASE_URL=sqlite:up_here.db\nMIGRATE_DIR=../migrations\n",
    )
    .unwrap();
    let out = run(&p, &sub, &[], &["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(sub.join("up_here.db").is_file());
}

#[test]
fn a_dotenv_line_that_cannot_be_read_is_named_when_it_is_needed() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    let root = p.dir.path();
    std::fs::write(
        root.join(".env"),
        "NAME=app\nDATABASE_URL=\"sqlite:open.db\n",
    )
    .unwrap();
    let out = run(&p, root, &[], &["up"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(".env:2: DATABASE_URL: the value's closing `\"` is missing"),
        "{}",
        stderr(&out)
    );
    assert!(!root.join("open.db").exists() && !root.join("\"sqlite:open.db").exists());
    // With the database given, that line is not needed.
    let out = run(&p, root, &[], &["-d", "app.db", "up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // No database anywhere: the error says every way to give one.
    std::fs::remove_file(root.join(".env")).unwrap();
    let out = run(&p, root, &[], &["status"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("pass --database PATH, or set MIGRATE_DATABASE or DATABASE_URL"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn new_says_when_it_creates_the_folder() {
    let p = Project::new(&[]);
    let root = p.dir.path();
    let out = run(&p, root, &[], &["--dir", "db/migrations", "new", "init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("note: created the folder db/migrations"),
        "{}",
        stderr(&out)
    );
    let out = run(&p, root, &[], &["--dir", "db/migrations", "new", "second"]);
    assert!(!stderr(&out).contains("created"), "{}", stderr(&out));
}

#[test]
fn another_databases_url_is_refused_or_reached_naming_where_it_came_from() {
    let p = Project::new(&[("0001_users.sql", USERS)]);
    let root = p.dir.path();
    // A .env written for sqlx on PostgreSQL: a server to reach (here a
    // closed port), never a file name; the password never shown.
    std::fs::write(
        root.join(".env"),
        "DATABASE_URL=postgres://app:secret@127.0.0.1:1/app\n",
    )
    .unwrap();
    let out = run(&p, root, &[], &["status"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains("cannot connect to PostgreSQL at postgres://app:***@127.0.0.1:1/app")
            && !e.contains("secret"),
        "{e}"
    );
    // What PostgreSQL has no counterpart for says so before connecting.
    let out = run(&p, root, &[], &["vacuum"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("this command is SQLite's"),
        "{}",
        stderr(&out)
    );
    let url = "mysql://x/y";
    let out = run(&p, root, &[("DATABASE_URL", url)], &["status"]);
    assert_eq!(code(&out), 2, "{url}");
    assert!(
        stderr(&out).contains(&format!("DATABASE_URL {url:?}: a `mysql://` URL")),
        "{}",
        stderr(&out)
    );
    let out = run(&p, root, &[], &["-d", "mysql://x/y", "status"]);
    assert!(
        stderr(&out).contains("--database \"mysql://x/y\""),
        "{}",
        stderr(&out)
    );
    let names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(':')), "{names:?}");
}
