//! FlashMath, the seed app: opens its database through the embedded
//! migrations, records a few answers (a trigger upserts `mastery_stats`),
//! awards league XP and prints the leaderboard.
//!
//! Usage: `flashmath [DATABASE]` (default `flashmath.db`).

use flashmath::MIGRATIONS;
use migrate_core::rusqlite::{Connection, params};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "flashmath.db".into());
    let conn = MIGRATIONS.open(&path)?;

    let league = ensure_league(&conn)?;
    for (email, name, answers) in [
        (
            "ada@example.com",
            "Ada",
            [(true, 900), (true, 700), (false, 2100)],
        ),
        (
            "alan@example.com",
            "Alan",
            [(true, 1200), (false, 1800), (false, 2500)],
        ),
    ] {
        let user = ensure_user(&conn, email, name)?;
        let xp = submit_session(&conn, user, &answers)?;
        conn.execute(
            "INSERT INTO league_participants (league_id, user_id, weekly_xp) VALUES (?1, ?2, ?3)
             ON CONFLICT (league_id, user_id) DO UPDATE SET weekly_xp = weekly_xp + excluded.weekly_xp",
            params![league, user, xp],
        )?;
    }

    println!("leaderboard:");
    let mut stmt = conn.prepare(
        "SELECT u.display_name, p.weekly_xp FROM league_participants p JOIN users u ON u.id = p.user_id
         WHERE p.league_id = ?1 ORDER BY p.weekly_xp DESC LIMIT 10",
    )?;
    for row in stmt.query_map([league], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (name, xp) = row?;
        println!("  {name:<6} {xp:>4} xp");
    }
    let (facts, accuracy): (i64, f64) = conn.query_row(
        "SELECT count(*), coalesce(sum(correct) * 1.0 / sum(attempts), 0) FROM mastery_stats",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    println!(
        "mastery: {facts} facts tracked, {:.0}% correct",
        accuracy * 100.0
    );
    Ok(())
}

fn ensure_league(conn: &Connection) -> migrate_core::rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO leagues (id, name, week_start) VALUES (1, 'Bronze', date('now', 'weekday 1', '-7 days'))
         ON CONFLICT (id) DO NOTHING",
        [],
    )?;
    Ok(1)
}

fn ensure_user(conn: &Connection, email: &str, name: &str) -> migrate_core::rusqlite::Result<i64> {
    conn.query_row(
        "INSERT INTO users (email, display_name) VALUES (?1, ?2)
         ON CONFLICT (email) DO UPDATE SET display_name = excluded.display_name RETURNING id",
        params![email, name],
        |r| r.get(0),
    )
}

/// Records one session of 7×8 answers; returns the XP earned.
fn submit_session(
    conn: &Connection,
    user: i64,
    answers: &[(bool, i64)],
) -> migrate_core::rusqlite::Result<i64> {
    let session: i64 = conn.query_row(
        "INSERT INTO sessions (user_id, operation) VALUES (?1, 'mul') RETURNING id",
        [user],
        |r| r.get(0),
    )?;
    let mut xp = 0;
    for &(correct, ms) in answers {
        conn.execute(
            "INSERT INTO answer_events (session_id, user_id, operation, fact, correct, response_ms)
             VALUES (?1, ?2, 'mul', '7x8', ?3, ?4)",
            params![session, user, correct, ms],
        )?;
        xp += if correct { 10 } else { 1 };
    }
    conn.execute(
        "UPDATE sessions SET finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
        [session],
    )?;
    Ok(xp)
}
