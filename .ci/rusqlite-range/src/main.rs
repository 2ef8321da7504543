//! Migrates a database with the app's own rusqlite `Connection`, and checks
//! that everything migrate-core does works on that release.

static MIGRATIONS: migrate_core::Migrations = migrate_macros::embed_migrations!("migrations");

fn main() -> Result<(), migrate_core::Error> {
    let dir = std::env::temp_dir().join(format!("rusqlite-range-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("app.db");

    // The app's rusqlite type is migrate-core's: one SQLite in the build.
    let conn: rusqlite::Connection = MIGRATIONS.open(&path)?;
    conn.execute("INSERT INTO users (email) VALUES ('ada@example.com')", [])?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    drop(conn);

    // A connection the app opens itself gets the sets' connection profile.
    let mut conn = rusqlite::Connection::open(&path)?;
    MIGRATIONS.profile().apply(&conn)?;
    let status = MIGRATIONS.runner().status(&conn)?;
    assert!(
        status
            .iter()
            .all(|r| r.state == migrate_core::State::Applied)
    );
    let verified = migrate_core::verify::verify(&MIGRATIONS, &conn, &Default::default())?;
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
    assert!(MIGRATIONS.runner().run(&mut conn)?.applied.is_empty());
    let checkup = migrate_core::doctor::doctor(&conn, &path, &MIGRATIONS, false)?;
    assert!(checkup.problems.is_empty(), "{:?}", checkup.problems);
    let schema = migrate_core::testing::schema(&MIGRATIONS)?;
    assert!(
        schema.contains(r#"CREATE UNIQUE INDEX "idx_users_email""#),
        "{schema}"
    );

    let version = rusqlite::version();
    println!("ok: migrate-core on this rusqlite (SQLite {version})");
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
