//! Regressions for issue #11 through the real binary: the database's own
//! files as a backup destination, concurrent pre-change backups, WAL
//! backups under steady writes, special files in the migrations folder,
//! verify's side effects and snapshot, `--database` forms, `vacuum --into`
//! after a kill, and out-of-range values.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use migrate_core::rusqlite::Connection;

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\nINSERT INTO users (email) VALUES ('a'), ('b');\n";

fn applied(files: &[(&str, &str)]) -> Project {
    let p = Project::new(files);
    let out = p.cli(&["up"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    p
}

fn rows(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// Makes a FIFO at `path`.
fn fifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo");
}

/// Starts the binary in the project with `args`, its output captured.
fn start(p: &Project, args: &[&str]) -> std::process::Child {
    p.command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most `limit`; kills it and fails past that.
fn finish_within(
    mut child: std::process::Child,
    limit: Duration,
    what: &str,
) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_backup_never_lands_on_the_database_or_its_journals() {
    let p = applied(&[("1_users.sql", USERS)]);
    let root = p.dir.path();
    std::os::unix::fs::symlink("app.db", root.join("link.db")).unwrap();
    std::fs::hard_link(root.join("app.db"), root.join("hard.db")).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::os::unix::fs::symlink(root, root.join("sub/up")).unwrap();
    let absolute = p.db().display().to_string();
    let dests = [
        "app.db",
        "./app.db",
        "sub/../app.db",
        "sub/up/app.db",
        absolute.as_str(),
        "link.db",
        "hard.db",
        "app.db-wal",
        "app.db-journal",
        "app.db-shm",
        "sub/up/app.db-journal",
    ];
    let before = std::fs::read(p.db()).unwrap();
    for dest in dests {
        for force in [false, true] {
            let mut args = vec!["backup", dest];
            if force {
                args.push("--force");
            }
            let out = p.cli(&args);
            let e = stderr(&out);
            assert_eq!(code(&out), 1, "{args:?}: {e}");
            assert!(e.contains("would destroy the database"), "{args:?}: {e}");
            let out = p.cli(&["up", "--backup", dest]);
            assert_eq!(code(&out), 0, "up with nothing pending takes no backup");
        }
        assert_eq!(std::fs::read(p.db()).unwrap(), before, "{dest}");
        assert!(!root.join("app.db-journal").exists() && !root.join("app.db-wal").exists());
    }
    // And through `up --backup` with something pending.
    p.write("2_more.sql", "INSERT INTO users (email) VALUES ('c');");
    let out = p.cli(&["up", "--backup", "hard.db"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        rows(&p.db(), "SELECT count(*) FROM users"),
        2,
        "nothing ran"
    );
    // vacuum --into has the same rule.
    let out = p.cli(&["vacuum", "--into", "link.db"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("would destroy the database"),
        "{}",
        stderr(&out)
    );
}

/// Issue #22.2: every file a copy creates, empties or removes (the scratch
/// file beside DEST and its journal files) is checked against the database
/// and its journal files, by name and by identity.
#[test]
fn no_copy_writes_or_removes_a_database_named_like_its_scratch_file() {
    let p = Project::new(&[("1_users.sql", USERS)]);
    let root = p.dir.path();
    let names = [
        ".copy.migrate-partial",
        ".copy.migrate-partial-wal",
        ".copy.migrate-partial-journal",
        ".copy.migrate-partial-shm",
        "app.db",
    ];
    for name in names {
        let run = |args: &[&str]| {
            let mut all = vec!["--database", name];
            all.extend_from_slice(args);
            p.bare(&all).output().unwrap()
        };
        assert_eq!(code(&run(&["up"])), 0, "{name}");
        if name == "app.db" {
            // The database named otherwise: the scratch name is a hard link.
            std::fs::hard_link(root.join(name), root.join(".copy.migrate-partial")).unwrap();
        }
        let before = std::fs::read(root.join(name)).unwrap();
        for args in [
            &["backup", "copy"][..],
            &["backup", "copy", "--force"],
            &["vacuum", "--into", "copy"],
        ] {
            let out = run(args);
            let e = stderr(&out);
            assert_eq!(code(&out), 1, "{name} {args:?}: {e}");
            assert!(
                e.contains("would destroy the database"),
                "{name} {args:?}: {e}"
            );
            assert!(!root.join("copy").exists(), "{name} {args:?}");
            assert_eq!(
                std::fs::read(root.join(name)).unwrap(),
                before,
                "{name} {args:?}"
            );
        }
        p.write("2_more.sql", "INSERT INTO users (email) VALUES ('more');");
        let out = run(&["up", "--backup", "copy"]);
        assert_eq!(code(&out), 1, "{name}: {}", stderr(&out));
        assert_eq!(
            std::fs::read(root.join(name)).unwrap(),
            before,
            "{name}: nothing ran"
        );
        std::fs::remove_file(root.join("migrations/2_more.sql")).unwrap();
        for f in std::fs::read_dir(root).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() {
                std::fs::remove_file(f).unwrap();
            }
        }
    }
}

/// Issue #22.2: a destination under a folder named `file:` is a path, not
/// a URI: the copy lands there, whole.
#[test]
fn a_destination_under_a_folder_named_file_colon_is_a_path() {
    let p = applied(&[("1_users.sql", USERS)]);
    std::fs::create_dir(p.dir.path().join("file:")).unwrap();
    for args in [
        &["backup", "file:/copy.db"][..],
        &["vacuum", "--into", "file:/vacuumed.db"],
    ] {
        let out = p.cli(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let dest = p.dir.path().join(args.last().unwrap());
        assert!(std::fs::metadata(&dest).unwrap().len() > 0, "{args:?}");
        assert_eq!(rows(&dest, "SELECT count(*) FROM users"), 2, "{args:?}");
    }
    let names: Vec<_> = std::fs::read_dir(p.dir.path().join("file:"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "no scratch file left: {names:?}");
}

#[test]
fn concurrent_up_with_backup_keeps_the_state_before_any_change() {
    // Two runners with the same backup path on a WAL database large enough
    // that a copy takes several steps; the second starts while the first
    // copies, so the first migrates while the second copies.
    for (round, delay) in [0u64, 20, 40, 70, 100, 150].into_iter().enumerate() {
        let p = Project::new(&[
            ("1_wal.pragmas", "journal_mode = wal\n"),
            (
                "2_pad.sql",
                "CREATE TABLE pad (x); INSERT INTO pad SELECT randomblob(3000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) SELECT i FROM n);",
            ),
        ]);
        assert_eq!(code(&p.cli(&["up"])), 0);
        p.write(
            "3_change.sql",
            "CREATE TABLE changed (x); DELETE FROM pad WHERE rowid % 2 = 0;",
        );
        let children: Vec<_> = (0..2)
            .map(|i| {
                if i == 1 {
                    std::thread::sleep(Duration::from_millis(delay));
                }
                start(&p, &["up", "--backup", "pre.db"])
            })
            .collect();
        let outs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let ok = outs.iter().filter(|o| code(o) == 0).count();
        assert!(
            ok >= 1,
            "round {round}: {:?}",
            outs.iter().map(stderr).collect::<Vec<_>>()
        );
        for o in &outs {
            assert!(
                code(o) == 0 || stderr(o).contains("already exists"),
                "round {round}: {}",
                stderr(o)
            );
        }
        let pre = p.dir.path().join("pre.db");
        assert_eq!(
            rows(
                &pre,
                "SELECT count(*) FROM sqlite_master WHERE name = 'changed'"
            ),
            0,
            "round {round}: the pre-change backup holds the migrated state"
        );
        assert_eq!(rows(&pre, "SELECT count(*) FROM pad"), 4000);
        assert_eq!(rows(&pre, "SELECT max(version) FROM schema_migrations"), 2);
        assert_eq!(rows(&p.db(), "SELECT count(*) FROM pad"), 2000);
    }
}

#[test]
fn a_wal_backup_finishes_under_steady_writes() {
    let p = Project::new(&[
        ("1_wal.pragmas", "journal_mode = wal\n"),
        (
            "2_pair.sql",
            "CREATE TABLE a (n INTEGER); CREATE TABLE b (n INTEGER); INSERT INTO a VALUES (0); INSERT INTO b VALUES (0);\n\
             CREATE TABLE pad (x); INSERT INTO pad SELECT randomblob(1000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) SELECT i FROM n);",
        ),
    ]);
    assert_eq!(code(&p.cli(&["up"])), 0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let conn = Connection::open(p.db()).unwrap();
            conn.busy_timeout(Duration::from_secs(10)).unwrap();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                conn.execute_batch(
                    "BEGIN IMMEDIATE; UPDATE a SET n = n + 1; UPDATE b SET n = n + 1; COMMIT;",
                )
                .unwrap();
                i += 1;
                std::thread::sleep(Duration::from_micros(500 * (i % 4)));
            }
            i
        });
        for (i, args) in [vec!["backup", "copy.db"], vec!["backup", "copy2.db"]]
            .into_iter()
            .enumerate()
        {
            let child = start(&p, &args);
            let out = finish_within(child, Duration::from_secs(30), "a WAL backup under writes");
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            let copy = p.dir.path().join(["copy.db", "copy2.db"][i]);
            assert_eq!(
                rows(&copy, "SELECT (SELECT n FROM a) - (SELECT n FROM b)"),
                0,
                "the copy is one commit"
            );
        }
        // `up --backup` too, with a migration pending.
        p.write("3_c.sql", "CREATE TABLE c (x);");
        let child = start(&p, &["up", "--backup", "pre.db"]);
        let out = finish_within(child, Duration::from_secs(60), "up --backup under writes");
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stop.store(true, Ordering::Relaxed);
        assert!(writer.join().unwrap() > 0);
    });
    assert_eq!(
        rows(
            &p.dir.path().join("pre.db"),
            "SELECT count(*) FROM sqlite_master WHERE name = 'c'"
        ),
        0
    );
}

#[test]
fn special_files_in_the_folder_are_named_not_read() {
    let p = applied(&[("1_users.sql", USERS)]);
    let dir = p.dir.path().join("migrations");
    fifo(&dir.join("2_pipe.sql"));
    std::os::unix::fs::symlink("/dev/zero", dir.join("3_zero.sql")).unwrap();
    std::os::unix::fs::symlink("/dev/urandom", dir.join("4_random.pragmas")).unwrap();
    fifo(&p.dir.path().join("outside_fifo"));
    std::os::unix::fs::symlink(p.dir.path().join("outside_fifo"), dir.join("5_link.sql")).unwrap();
    for command in ["status", "up", "verify"] {
        let child = start(&p, &[command]);
        let out = finish_within(child, Duration::from_secs(30), command);
        let e = stderr(&out);
        assert_eq!(code(&out), 1, "{command}: {e}");
        for part in [
            "2_pipe.sql: not a regular file (a FIFO)",
            "3_zero.sql: not a regular file (a device)",
            "4_random.pragmas: not a regular file (a device)",
            "5_link.sql: not a regular file (a FIFO)",
        ] {
            assert!(e.contains(part), "{command}: {part:?} in {e}");
        }
    }
    // Commands that need no folder do not read `./migrations` at all, even
    // when it is a FIFO.
    std::fs::rename(&dir, p.dir.path().join("kept")).unwrap();
    fifo(&dir);
    for args in [
        vec!["doctor"],
        vec!["backup", "b.db"],
        vec!["checkpoint"],
        vec!["optimize"],
        vec!["schema"],
    ] {
        let child = start(&p, &args);
        let out = finish_within(child, Duration::from_secs(30), &format!("{args:?}"));
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("migrations"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn verify_writes_nothing_and_needs_no_write_access() {
    let p = applied(&[
        ("1_users.sql", USERS),
        (
            "2_side.sql",
            "-- migrate:no-transaction\nATTACH 'side.db' AS side;\nCREATE TABLE IF NOT EXISTS side.t (x);\nINSERT INTO side.t VALUES (1);\nDETACH side;\nVACUUM INTO 'vacuumed.db';\n",
        ),
        ("3_hot.indexes", "index on users (email)\n"),
    ]);
    let root = p.dir.path();
    std::fs::remove_file(root.join("side.db")).unwrap();
    std::fs::remove_file(root.join("vacuumed.db")).unwrap();
    let before = std::fs::read(p.db()).unwrap();
    let out = p.cli(&["verify"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        !root.join("side.db").exists(),
        "verify attached a real file"
    );
    assert!(!root.join("vacuumed.db").exists(), "verify ran VACUUM INTO");
    assert_eq!(std::fs::read(p.db()).unwrap(), before);
    // An index written with other spacing is compared without building one.
    let conn = Connection::open(p.db()).unwrap();
    conn.execute_batch(
        "DROP INDEX idx_users_email; CREATE INDEX idx_users_email ON users(  email  );",
    )
    .unwrap();
    drop(conn);
    // Read-only file in a read-only folder.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p.db(), std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = as_unprivileged(&p, &["verify"]);
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(out) = out else {
        eprintln!("setpriv is not available: the read-only verify was not run");
        return;
    };
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
}

#[test]
fn verify_during_a_concurrent_up_never_reports_drift() {
    let p = applied(&[("1_users.sql", USERS)]);
    for i in 2..80 {
        p.write(
            &format!("{i}_t{i}.sql"),
            &format!("CREATE TABLE t{i} (x); CREATE INDEX i{i} ON t{i} (x); INSERT INTO t{i} VALUES ({i});"),
        );
    }
    let mut up = p
        .command(&["up"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut runs = 0;
    while up.try_wait().unwrap().is_none() || runs < 3 {
        let out = p.cli(&["verify"]);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!text.contains("drift"), "verify during up: {text}");
        runs += 1;
    }
    assert!(up.wait().unwrap().success());
}

#[test]
fn database_urls_are_read_or_refused_clearly() {
    let p = applied(&[("1_users.sql", USERS)]);
    for url in [
        "sqlite:app.db",
        "sqlite://app.db",
        "sqlite://app.db?mode=rwc",
        "file:app.db",
        "file:app.db?mode=rw",
        // A name SQLite reads as a URI again, read the same way (#22.9).
        "sqlite:file:app.db",
        "file:file:app.db",
        "file:app.db#fragment",
    ] {
        let out = p
            .bare(&["--database", url, "status", "--exit-code"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{url}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("1 applied"),
            "{url}: {}",
            stdout(&out)
        );
    }
    for (url, says) in [
        ("file:x?mode=memory", "in-memory"),
        (":memory:", "in-memory"),
        ("sqlite::memory:", "in-memory"),
        ("file:app.db?mode=ro", "read-only"),
        ("file:app.db?immutable=1", "read-only"),
        ("file:app.db?vfs=unix-none", "not supported"),
        ("", "empty"),
        // Issue #22.9: URIs inside URLs, as SQLite would open them.
        ("sqlite:file::memory:", "in-memory"),
        ("file:file::memory:", "in-memory"),
        ("sqlite:file:", "in-memory"),
        ("sqlite:file:x?mode=memory", "in-memory"),
        ("sqlite3://file:app.db?mode=ro", "read-only"),
        ("file://elsewhere/app.db", "names a host"),
    ] {
        for command in ["up", "status"] {
            let out = p.bare(&["--database", url, command]).output().unwrap();
            assert_eq!(code(&out), 2, "{url} {command}: {}", stderr(&out));
            assert!(stderr(&out).contains(says), "{url}: {}", stderr(&out));
        }
    }
    let names: Vec<_> = std::fs::read_dir(p.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains(':') && !n.contains('?')),
        "{names:?}"
    );
}

#[test]
fn vacuum_into_is_complete_or_absent() {
    let p = applied(&[(
        "1_pad.sql",
        "CREATE TABLE pad (x); INSERT INTO pad SELECT randomblob(4000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT i FROM n);",
    )]);
    let root = p.dir.path();
    let limited = |trap: &str| {
        // A file size limit: the copy hits it half-way, as on a full disk.
        // Killed by SIGXFSZ, or (with the signal ignored) told EFBIG.
        Command::new("sh")
            .current_dir(root)
            .args([
                "-c",
                &format!(
                    "{trap} ulimit -f 2000; exec \"$0\" --database app.db vacuum --into copy.db"
                ),
                BIN,
            ])
            .output()
            .unwrap()
    };
    let killed = limited("");
    assert_ne!(code_or_signal(&killed), 0);
    assert!(
        !root.join("copy.db").exists(),
        "a killed vacuum left a copy"
    );
    let failed = limited("trap '' XFSZ;");
    let e = stderr(&failed);
    assert_eq!(code(&failed), 1, "{e}");
    assert!(
        e.contains("copy.db") && e.contains("was not created"),
        "{e}"
    );
    assert!(!e.contains("app.db:"), "the error blames the source: {e}");
    assert!(!root.join("copy.db").exists());
    // Then a normal run completes, reusing the scratch file, and leaves no
    // hidden file behind.
    let out = p.cli(&["vacuum", "--into", "copy.db"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        rows(&root.join("copy.db"), "SELECT count(*) FROM pad"),
        2000
    );
    let hidden: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    let out = p.cli(&["vacuum", "--into", "copy.db"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("already exists"));
}

fn code_or_signal(o: &std::process::Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    o.status
        .code()
        .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0))
}

#[test]
fn an_interrupted_backup_leaves_nothing_the_next_one_does_not_reuse() {
    let p = applied(&[(
        "1_pad.sql",
        "CREATE TABLE pad (x); INSERT INTO pad SELECT randomblob(4000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT i FROM n);",
    )]);
    let root = p.dir.path();
    for _ in 0..3 {
        let out = Command::new("sh")
            .current_dir(root)
            .args([
                "-c",
                "ulimit -f 2000; exec \"$0\" --database app.db backup copy.db",
                BIN,
            ])
            .output()
            .unwrap();
        assert_ne!(code_or_signal(&out), 0);
        assert!(!root.join("copy.db").exists());
    }
    let hidden = || {
        std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .count()
    };
    assert!(hidden() <= 1, "each kill left its own scratch file");
    assert_eq!(code(&p.cli(&["backup", "copy.db"])), 0);
    assert_eq!(hidden(), 0);
}

#[test]
fn out_of_range_values_are_usage_errors() {
    let p = applied(&[("1_users.sql", USERS)]);
    for value in ["2147483648", "18446744073709551616", "-1"] {
        let out = p.cli(&["--busy-timeout", value, "status"]);
        assert_eq!(code(&out), 2, "{value}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
    for (line, pragma) in [
        ("busy_timeout = 2147483648", "busy_timeout"),
        ("cache_size = 9999999999", "cache_size"),
        ("wal_autocheckpoint = -9999999999", "wal_autocheckpoint"),
        ("analysis_limit = 4294967296", "analysis_limit"),
        ("mmap_size = 99999999999GiB", "mmap_size"),
    ] {
        p.write("2_settings.pragmas", &format!("{line}\n"));
        let out = p.cli(&["status"]);
        let e = stderr(&out);
        assert_eq!(code(&out), 1, "{line}: {e}");
        assert!(
            e.contains("2_settings.pragmas:1") && e.contains(pragma),
            "{line}: {e}"
        );
    }
}

#[test]
fn reports_show_names_from_the_database_escaped() {
    let p = applied(&[("1_users.sql", USERS)]);
    let conn = Connection::open(p.db()).unwrap();
    conn.execute_batch(
        "CREATE TABLE \"evil\nok: no problems found\" (id INTEGER PRIMARY KEY, u INTEGER REFERENCES users (id));",
    )
    .unwrap();
    drop(conn);
    let out = p.cli(&["doctor"]);
    let text = stdout(&out);
    assert!(text.contains("evil\\nok"), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("ok: no problems found\"")),
        "{text}"
    );
}

#[test]
fn a_truncating_checkpoint_says_what_it_did() {
    let p = applied(&[
        ("1_wal.pragmas", "journal_mode = wal\n"),
        ("2_users.sql", USERS),
    ]);
    let conn = Connection::open(p.db()).unwrap();
    conn.execute_batch(
        "PRAGMA wal_autocheckpoint = 0; INSERT INTO users (email) SELECT email FROM users;",
    )
    .unwrap();
    let out = p.cli(&["checkpoint", "--mode", "truncate"]);
    drop(conn);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("truncated to 0 bytes (it was"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn file_names_and_linked_files_are_reported_without_their_content() {
    let p = applied(&[("1_users.sql", USERS)]);
    let dir = p.dir.path().join("migrations");
    let secret: String = (0..50).map(|i| format!("secret_{i} = {i}\n")).collect();
    std::fs::write(p.dir.path().join("outside.txt"), &secret).unwrap();
    std::os::unix::fs::symlink(p.dir.path().join("outside.txt"), dir.join("2_x.pragmas")).unwrap();
    use std::os::unix::ffi::OsStrExt;
    std::fs::write(
        dir.join(std::ffi::OsStr::from_bytes(b"3_caf\xe9.sql")),
        "SELECT 1;",
    )
    .unwrap();
    let out = p.cli(&["status"]);
    let e = stderr(&out);
    assert_eq!(code(&out), 1, "{e}");
    assert!(e.contains("47 more problems in this file"), "{e}");
    assert!(!e.contains("secret_3 "), "{e}");
    assert!(e.contains("3_caf") && e.contains("not valid UTF-8"), "{e}");
    assert!(!e.contains("No such file"), "{e}");
}

#[test]
fn new_after_the_largest_version_is_an_error_not_an_overflow() {
    for highest in ["9223372036854775807", "18446744073709551615"] {
        let p = Project::new(&[]);
        p.write(&format!("{highest}_last.sql"), "SELECT 1;");
        let out = p.bare(&["new", "next"]).output().unwrap();
        let e = stderr(&out);
        assert_eq!(code(&out), 1, "{highest}: {e}");
        assert!(
            e.contains("no version fits") && !e.contains("panicked"),
            "{e}"
        );
        let files = std::fs::read_dir(p.dir.path().join("migrations"))
            .unwrap()
            .count();
        assert_eq!(files, 1, "{highest}: a file was written");
    }
}

/// Issue #22.16: names read from the history go out escaped in `status`,
/// `repair` and errors: a newline forges no line, an escape sequence does
/// not reach the terminal.
#[test]
fn history_names_are_escaped_wherever_they_are_shown() {
    let p = applied(&[("1_users.sql", USERS), ("2_more.sql", "SELECT 1;")]);
    let conn = Connection::open(p.db()).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, name, kind, checksum, applied_at, duration_ms) \
         SELECT 2, ?1, kind, checksum, applied_at, 0 FROM schema_migrations WHERE version = 1 \
         ON CONFLICT (version) DO UPDATE SET name = excluded.name",
        ["evil\n3         forged            sql   applied\x1b[31m"],
    )
    .unwrap();
    drop(conn);
    std::fs::remove_file(p.dir.path().join("migrations/2_more.sql")).unwrap();
    for args in [
        &["status"][..],
        &["repair", "--dry-run"],
        &["up"],
        &["repair"],
    ] {
        let out = p.cli(args);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains('\x1b'), "{args:?}: {all:?}");
        assert!(all.contains("evil\\n3"), "{args:?}: {all}");
        assert!(!all.lines().any(|l| l.starts_with("3 ")), "{args:?}: {all}");
    }
}

/// Issue #22.11: a trigger of another table that deletes (or adds, or
/// replaces) history rows while a migration runs fails that migration,
/// rolled back; the history stays whole. Atomic runs too.
#[test]
fn a_migration_that_changes_the_history_through_a_trigger_is_rolled_back() {
    let bodies = [
        "DELETE FROM schema_migrations WHERE version = 1;",
        "DELETE FROM schema_migrations;",
        "UPDATE schema_migrations SET version = 7 WHERE version = 1;",
        "INSERT INTO schema_migrations SELECT 9, name, kind, checksum, applied_at, 0, NULL, NULL FROM schema_migrations WHERE version = 1;",
    ];
    for body in bodies {
        for atomic in [false, true] {
            let p = applied(&[
                ("1_users.sql", USERS),
                (
                    "2_trap.sql",
                    &format!(
                        "CREATE TABLE t (x);\nCREATE TRIGGER trap AFTER INSERT ON t BEGIN {body} END;\n"
                    ),
                ),
            ]);
            p.write("3_fill.sql", "INSERT INTO t VALUES (1);\n");
            let before = std::fs::read(p.db()).unwrap();
            let mut args = vec!["up"];
            if atomic {
                args.push("--atomic");
            }
            let out = p.cli(&args);
            let e = stderr(&out);
            assert_eq!(code(&out), 1, "{body}: {e}");
            assert!(e.contains("changed the history table"), "{body}: {e}");
            assert!(e.contains("3_fill.sql"), "{body}: {e}");
            assert_eq!(std::fs::read(p.db()).unwrap(), before, "{body}");
        }
    }
    // The trap made earlier in the same run (the check asks again after a
    // file that makes a trigger), its body naming the table in another
    // case and quoted, and a temp trigger.
    for (trap, fill) in [
        (
            "CREATE TABLE t (x);\nCREATE TRIGGER trap AFTER INSERT ON t BEGIN DELETE FROM \"SCHEMA_Migrations\" WHERE version = 1; END;\n",
            "INSERT INTO t VALUES (1);\n",
        ),
        (
            "CREATE TABLE t (x);\nCREATE TEMP TRIGGER trap AFTER INSERT ON main.t BEGIN DELETE FROM main.schema_migrations; END;\n",
            "INSERT INTO t VALUES (1);\n",
        ),
    ] {
        let p = applied(&[("1_users.sql", USERS)]);
        // A plain file first, so that what the run knows of triggers is
        // asked before the trap is made.
        p.write("2_plain.sql", "CREATE TABLE plain (x);\n");
        p.write("3_trap.sql", trap);
        p.write("4_fill.sql", fill);
        let before = std::fs::read(p.db()).unwrap();
        let out = p.cli(&["up"]);
        let e = stderr(&out);
        assert_eq!(code(&out), 1, "{trap}: {e}");
        assert!(
            e.contains("changed the history table") && e.contains("4_fill.sql"),
            "{e}"
        );
        let conn = Connection::open(p.db()).unwrap();
        let versions: Vec<i64> = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(versions, [1, 2, 3], "{trap}");
        drop(conn);
        assert_ne!(std::fs::read(p.db()).unwrap(), before, "3_trap.sql applied");
    }
}

/// Issue #22.17: blank down files (0-byte, newline-only, spaces), which
/// diesel and sqlx write and run, load: `up`, `status` and `verify` work,
/// and reverting one is refused naming the file. A FIFO or a link to one
/// given as drizzle's journal or diesel's `metadata.toml` is named, not
/// passed over.
#[test]
fn blank_down_files_load_and_their_revert_is_refused_by_name() {
    let layouts = [
        [
            "2024-01-01-000000_users/up.sql",
            "2024-01-01-000000_users/down.sql",
        ],
        [
            "20240101000000_users.up.sql",
            "20240101000000_users.down.sql",
        ],
    ];
    for (blank, [up, down]) in ["", "\n", "  \n\t\n", "\r\n"]
        .into_iter()
        .flat_map(|b| layouts.map(|l| (b, l)))
    {
        let p = Project::new(&[]);
        p.write(up, USERS);
        p.write(down, blank);
        for args in [&["up"][..], &["status"], &["verify"]] {
            let out = p.cli(args);
            assert_eq!(code(&out), 0, "{blank:?} {args:?}: {}", stderr(&out));
        }
        let before = std::fs::read(p.db()).unwrap();
        let out = p.cli(&["down"]);
        let e = stderr(&out);
        assert_eq!(code(&out), 1, "{blank:?}: {e}");
        assert!(e.contains(down) && e.contains("no statement"), "{e}");
        assert_eq!(std::fs::read(p.db()).unwrap(), before);
    }
}

#[test]
fn special_files_as_a_journal_or_metadata_are_named() {
    // drizzle's journal as a FIFO, and as a link to one.
    for link in [false, true] {
        let p = Project::new(&[("0000_init.sql", USERS)]);
        let meta = p.dir.path().join("migrations/meta");
        std::fs::create_dir(&meta).unwrap();
        if link {
            fifo(&p.dir.path().join("pipe"));
            std::os::unix::fs::symlink(p.dir.path().join("pipe"), meta.join("_journal.json"))
                .unwrap();
        } else {
            fifo(&meta.join("_journal.json"));
        }
        let out = finish_within(start(&p, &["status"]), Duration::from_secs(30), "journal");
        let e = stderr(&out);
        assert_eq!(code(&out), 1, "{e}");
        assert!(
            e.contains("meta/_journal.json: not a regular file (a FIFO)"),
            "{e}"
        );
    }
    // diesel's metadata.toml as a FIFO; and an up.sql that is one.
    let p = Project::new(&[]);
    p.write("2024-01-01-000000_users/up.sql", USERS);
    fifo(
        &p.dir
            .path()
            .join("migrations/2024-01-01-000000_users/metadata.toml"),
    );
    std::fs::create_dir(p.dir.path().join("migrations/2024-01-02-000000_posts")).unwrap();
    fifo(
        &p.dir
            .path()
            .join("migrations/2024-01-02-000000_posts/up.sql"),
    );
    let out = finish_within(start(&p, &["status"]), Duration::from_secs(30), "metadata");
    let e = stderr(&out);
    assert_eq!(code(&out), 1, "{e}");
    assert!(
        e.contains("metadata.toml: not a regular file (a FIFO)"),
        "{e}"
    );
    assert!(
        e.contains("2024-01-02-000000_posts/up.sql: not a regular file (a FIFO)"),
        "{e}"
    );
}

/// Issue #22.14: an explicit `--busy-timeout` wins over a pragma set's
/// busy_timeout for the CLI's own wait; without the flag the set's value
/// applies. The lock is held well past the set's 300 ms and well within
/// the flag's 20 s, so the outcome does not hang on the machine's speed.
#[test]
fn an_explicit_busy_timeout_wins_over_a_pragma_sets() {
    let p = applied(&[
        ("1_wait.pragmas", "busy_timeout = 300\n"),
        ("2_users.sql", USERS),
    ]);
    let hold_then_run = |version: u32, args: &[&str]| {
        p.write(
            &format!("{version}_more.sql"),
            "INSERT INTO users (email) VALUES ('x');",
        );
        let holder = Connection::open(p.db()).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let child = start(&p, args);
        std::thread::sleep(Duration::from_millis(1500));
        holder.execute_batch("COMMIT").unwrap();
        drop(holder);
        finish_within(child, Duration::from_secs(60), "up")
    };
    let out = hold_then_run(3, &["up", "--busy-timeout", "20000"]);
    assert_eq!(code(&out), 0, "the flag's 20 s wait: {}", stderr(&out));
    let out = hold_then_run(4, &["up"]);
    assert_eq!(code(&out), 1, "the set's 300 ms: {}", stderr(&out));
    assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
}

/// Issue #22.6: a table rebuild written as SQL (create new, copy, drop,
/// rename) drops the indexes an earlier index set declared; they are built
/// again in the same transaction and the report says so, and `verify` is
/// clean afterwards. In an atomic run too, and when the set is applied in
/// the same run as the rebuild.
#[test]
fn a_table_rebuild_keeps_the_indexes_of_applied_index_sets() {
    const NOTES: &str = "CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER, created_at TEXT, body TEXT);\nINSERT INTO notes VALUES (1, 7, '2026-01-01', 'a');\n";
    const SET: &str = "index idx_notes_user_id_created_at on notes (user_id, created_at)\n";
    const REBUILD: &str = "CREATE TABLE notes_new (id INTEGER PRIMARY KEY, user_id INTEGER, created_at TEXT, body TEXT NOT NULL DEFAULT '');\nINSERT INTO notes_new SELECT id, user_id, created_at, coalesce(body, '') FROM notes;\nDROP TABLE notes;\nALTER TABLE notes_new RENAME TO notes;\n";
    for (before_run, atomic) in [(true, false), (false, false), (true, true)] {
        let p = Project::new(&[("1_notes.sql", NOTES), ("2_hot.indexes", SET)]);
        if before_run {
            ok(&p, &["up"]);
        }
        p.write("3_rebuild.sql", REBUILD);
        let mut args = vec!["up"];
        if atomic {
            args.push("--atomic");
        }
        let out = p.cli(&args);
        let e = stderr(&out);
        assert_eq!(code(&out), 0, "{e}");
        assert!(
            e.contains("3_rebuild.sql: dropped the index `idx_notes_user_id_created_at` that 2_hot.indexes declares"),
            "{e}"
        );
        let index = Connection::open(p.db())
            .unwrap()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'idx_notes_user_id_created_at'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(index, 1);
        assert!(ok(&p, &["verify"]).starts_with("ok"));
    }
}

/// `backup LINK --force`, with the link pointing to another file system
/// (/dev/shm, a tmpfs): the scratch file is written beside the link's
/// name, so the rename into place stays on one file system and replaces
/// the link with the copy.
#[test]
fn a_forced_backup_over_a_link_to_another_file_system_lands_beside_the_link() {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        eprintln!("SKIPPED: no /dev/shm on this machine");
        return;
    }
    let p = applied(&[("1_users.sql", USERS)]);
    let target = tempfile::NamedTempFile::new_in(shm).unwrap();
    std::os::unix::fs::symlink(target.path(), p.dir.path().join("link.db")).unwrap();
    let out = p.cli(&["backup", "link.db", "--force"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let link = p.dir.path().join("link.db");
    assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(rows(&link, "SELECT count(*) FROM users"), 2);
    let left: Vec<_> = std::fs::read_dir(shm)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .contains("link.db.migrate-partial")
        })
        .collect();
    assert!(left.is_empty(), "a scratch file in /dev/shm");
}
