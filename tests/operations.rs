//! Backup and maintenance on real files.

use std::ops::ControlFlow;

use migrate_core::backup::{BackupError, CHUNK_BYTES, backup};
use migrate_core::maintenance::{self, CheckpointMode, Vacuum, VacuumError};
use migrate_core::rusqlite::Connection;
use migrate_tests::{Fixture, column};

/// A WAL database of a few thousand pages.
fn big_db(f: &Fixture) -> Connection {
    let conn = f.conn();
    conn.query_row("PRAGMA journal_mode = wal", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000)
         INSERT INTO t (body) SELECT printf('%.200c', 'x') || x FROM n;",
    )
    .unwrap();
    conn
}

/// The files in the fixture's root whose names contain `part`.
fn files_named(f: &Fixture, part: &str) -> Vec<String> {
    std::fs::read_dir(f.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(part))
        .collect()
}

fn rows(conn: &Connection) -> Vec<String> {
    column(conn, "SELECT id || ':' || body FROM t ORDER BY id")
}

#[test]
fn backup_copies_every_row_while_another_connection_writes() {
    let f = Fixture::new(&[]);
    let conn = big_db(&f);
    let before = rows(&conn).len();
    let path = f.db();
    let writer = std::thread::spawn(move || {
        let w = Connection::open(path).unwrap();
        w.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        for i in 0..200 {
            w.execute("INSERT INTO t (body) VALUES (?1)", [format!("w{i}")])
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
    let dest = f.root().join("copy.db");
    let mut steps = 0;
    let report = backup(&conn, &dest, false, |_| {
        steps += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    writer.join().unwrap();
    assert!(steps > 1, "copied in steps, so writers can go on");
    let copy = Connection::open(&dest).unwrap();
    assert_eq!(column(&copy, "PRAGMA integrity_check"), ["ok"]);
    let copied = rows(&copy).len();
    assert!((before..=before + 200).contains(&copied), "{copied}");
    assert_eq!(
        report.pages as i64,
        copy.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
            .unwrap()
    );

    // Once the writer is done, a second copy has exactly the source's rows.
    let again = f.root().join("again.db");
    backup(&conn, &again, false, |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(rows(&Connection::open(&again).unwrap()), rows(&conn));
}

#[test]
fn an_interrupted_backup_leaves_no_destination_and_no_scratch() {
    let f = Fixture::new(&[]);
    let conn = big_db(&f);
    let dest = f.root().join("copy.db");
    let e = backup(&conn, &dest, false, |p| {
        if p.copied > 0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap_err();
    assert!(matches!(e, BackupError::Interrupted), "{e}");
    assert!(!dest.exists());
    let left = files_named(&f, "partial");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_existing_destination_is_refused_unless_forced() {
    let f = Fixture::new(&[]);
    let conn = big_db(&f);
    let dest = f.root().join("copy.db");
    std::fs::write(&dest, b"precious").unwrap();
    let e = backup(&conn, &dest, false, |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(e, BackupError::Exists(_)), "{e}");
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious");
    backup(&conn, &dest, true, |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(rows(&Connection::open(&dest).unwrap()), rows(&conn));
}

/// A rollback-journal database of more than two copy chunks, and its
/// page size.
fn big_rollback_db(f: &Fixture) -> (Connection, u64) {
    let conn = f.conn();
    let chunk_pages = CHUNK_BYTES / 4096;
    conn.execute_batch(&format!(
        "PRAGMA page_size = 4096;
         CREATE TABLE a (id INTEGER PRIMARY KEY, pad BLOB NOT NULL);
         CREATE TABLE b (id INTEGER PRIMARY KEY);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {})
         INSERT INTO a (pad) SELECT zeroblob(4000) FROM n;
         INSERT INTO b SELECT id FROM a;",
        chunk_pages * 2 + 100
    ))
    .unwrap();
    (conn, 4096)
}

#[test]
fn a_rollback_journal_database_is_copied_as_a_file_byte_for_byte() {
    let f = Fixture::new(&[]);
    let (conn, page_size) = big_rollback_db(&f);
    let dest = f.root().join("copy.db");
    let mut seen = Vec::new();
    let report = backup(&conn, &dest, false, |p| {
        seen.push(p.copied);
        ControlFlow::Continue(())
    })
    .unwrap();
    // Copied in chunks (the backup API would report a step of 1024 pages).
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0], CHUNK_BYTES / page_size);
    assert_eq!(*seen.last().unwrap(), report.pages);
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(f.db()).unwrap()
    );
}

#[test]
fn a_file_copy_comes_from_one_commit_while_another_connection_commits() {
    let f = Fixture::new(&[]);
    let (conn, _) = big_rollback_db(&f);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let path = f.db();
    let stop = done.clone();
    // Every commit adds a row to both tables: a copy mixing two commits
    // would show it.
    let writer = std::thread::spawn(move || {
        let w = Connection::open(path).unwrap();
        w.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
        let mut commits = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            w.execute_batch(
                "BEGIN IMMEDIATE;
                 INSERT INTO a (pad) VALUES (zeroblob(4000));
                 INSERT INTO b VALUES (last_insert_rowid());
                 UPDATE a SET pad = zeroblob(4000) WHERE id = abs(random()) % 1000 + 1;
                 COMMIT;",
            )
            .unwrap();
            commits += 1;
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        commits
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    let dest = f.root().join("copy.db");
    backup(&conn, &dest, false, |_| ControlFlow::Continue(())).unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(writer.join().unwrap() > 0);
    let copy = Connection::open(&dest).unwrap();
    assert_eq!(column(&copy, "PRAGMA integrity_check"), ["ok"]);
    assert_eq!(
        column(&copy, "SELECT count(*) FROM a"),
        column(&copy, "SELECT count(*) FROM b")
    );
    assert_eq!(
        column(
            &copy,
            "SELECT count(*) FROM a WHERE id NOT IN (SELECT id FROM b)"
        ),
        ["0"]
    );
}

#[test]
fn an_interrupted_file_copy_leaves_no_destination_and_no_scratch() {
    let f = Fixture::new(&[]);
    let (conn, _) = big_rollback_db(&f);
    let dest = f.root().join("copy.db");
    let e = backup(&conn, &dest, false, |_| ControlFlow::Break(())).unwrap_err();
    assert!(matches!(e, BackupError::Interrupted), "{e}");
    let left = files_named(&f, "copy");
    assert!(left.is_empty(), "{left:?}");
    // The source is untouched and usable.
    assert_eq!(column(&conn, "PRAGMA integrity_check"), ["ok"]);
    conn.execute("INSERT INTO b VALUES (-1)", []).unwrap();
}

#[test]
fn maintenance_keeps_every_row() {
    let f = Fixture::new(&[]);
    let conn = big_db(&f);
    let all = rows(&conn);
    conn.execute("DELETE FROM t WHERE id % 2 = 0", []).unwrap();
    let kept = rows(&conn);
    assert!(kept.len() < all.len());

    let c = maintenance::checkpoint(&conn, CheckpointMode::Truncate).unwrap();
    assert!(!c.not_wal && !c.blocked && c.checkpointed == c.wal_frames);
    assert!(
        !maintenance::optimize(&conn).unwrap().is_empty(),
        "t has never been analysed"
    );

    let e = maintenance::vacuum(&conn, &Vacuum::Incremental(0)).unwrap_err();
    assert!(
        matches!(e, VacuumError::NotIncremental { found: "none" }),
        "{e}"
    );
    let r = maintenance::vacuum(&conn, &Vacuum::Full).unwrap();
    assert!(r.free_after == 0 && r.pages_after < r.pages_before, "{r:?}");
    assert_eq!(rows(&conn), kept);

    let into = f.root().join("compact.db");
    maintenance::vacuum(&conn, &Vacuum::Into(&into)).unwrap();
    assert_eq!(rows(&Connection::open(&into).unwrap()), kept);
    assert!(matches!(
        maintenance::vacuum(&conn, &Vacuum::Into(&into)),
        Err(VacuumError::Exists(_))
    ));

    conn.execute_batch("PRAGMA auto_vacuum = incremental; VACUUM; DELETE FROM t WHERE id > 10000;")
        .unwrap();
    let kept = rows(&conn);
    let r = maintenance::vacuum(&conn, &Vacuum::Incremental(0)).unwrap();
    assert!(r.free_before > 0 && r.free_after == 0, "{r:?}");
    assert_eq!(rows(&conn), kept);
}

#[test]
fn up_with_backup_copies_the_database_before_the_first_change() {
    let f = Fixture::new(&[("1_t.sql", "CREATE TABLE t (x);")]);
    f.run_with(|r| r).unwrap();
    f.write("2_u.sql", "CREATE TABLE u (x);");
    let dest = f.root().join("before.db");
    let report = f.run_with(|r| r.backup_to(Some(dest.clone()))).unwrap();
    assert_eq!(report.backup.as_deref(), Some(dest.as_path()));
    let copy = Connection::open(&dest).unwrap();
    assert_eq!(migrate_tests::tables(&copy), ["schema_migrations", "t"]);
    // Nothing pending: no backup is taken, and an existing file is never touched.
    let report = f.run_with(|r| r.backup_to(Some(dest.clone()))).unwrap();
    assert!(report.backup.is_none());
    f.write("3_v.sql", "CREATE TABLE v (x);");
    let e = f.run_with(|r| r.backup_to(Some(dest))).unwrap_err();
    assert!(
        e.to_string().contains("already exists") && e.to_string().contains("no migration ran"),
        "{e}"
    );
    assert!(!migrate_tests::tables(&f.conn()).contains(&"v".to_string()));
}
