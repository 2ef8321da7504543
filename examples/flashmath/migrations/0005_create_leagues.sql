-- Weekly leagues and their leaderboards.
CREATE TABLE leagues (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    week_start TEXT NOT NULL
);

CREATE TABLE league_participants (
    league_id INTEGER NOT NULL REFERENCES leagues (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    weekly_xp INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (league_id, user_id)
);
CREATE INDEX idx_league_participants_user ON league_participants (user_id);
