-- The schema the migrations make, as `migrate-cli schema` prints it. Edit it,
-- then `migrate-cli --dir examples/flashmath/migrations diff --to examples/flashmath/schema.sql --write NAME`
-- writes the migration (README, "Declarative changes").

PRAGMA page_size = 4096;
PRAGMA auto_vacuum = none;
PRAGMA journal_mode = wal;
PRAGMA user_version = 0;
PRAGMA application_id = 0;

CREATE TABLE answer_events (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    operation   TEXT    NOT NULL,
    fact        TEXT    NOT NULL,          -- e.g. '7x8'
    correct     INTEGER NOT NULL CHECK (correct IN (0, 1)),
    response_ms INTEGER NOT NULL CHECK (response_ms >= 0),
    answered_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE inventory (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id  TEXT    NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 0)
);

CREATE TABLE league_participants (
    league_id INTEGER NOT NULL REFERENCES leagues (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    weekly_xp INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (league_id, user_id)
);

CREATE TABLE leagues (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    week_start TEXT NOT NULL
);

CREATE TABLE mastery_stats (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    operation    TEXT    NOT NULL,
    fact         TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    correct      INTEGER NOT NULL DEFAULT 0,
    avg_ms       REAL    NOT NULL DEFAULT 0,
    updated_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    operation  TEXT    NOT NULL CHECK (operation IN ('add', 'sub', 'mul', 'div')),
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at TEXT
);

CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    email        TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX idx_answer_events_session ON answer_events (session_id);

CREATE INDEX idx_answer_events_user ON answer_events (user_id);

CREATE UNIQUE INDEX "idx_inventory_user_item" ON "inventory" ("user_id", "item_id");

CREATE INDEX "idx_league_leaderboard" ON "league_participants" ("league_id", "weekly_xp" DESC);

CREATE INDEX idx_league_participants_user ON league_participants (user_id);

CREATE UNIQUE INDEX "idx_mastery_user_op_fact" ON "mastery_stats" ("user_id", "operation", "fact");

CREATE INDEX "idx_sessions_user_date" ON "sessions" ("user_id", "created_at" DESC);

CREATE UNIQUE INDEX "idx_users_email" ON "users" ("email");

CREATE TRIGGER answer_events_mastery AFTER INSERT ON answer_events
BEGIN
    INSERT INTO mastery_stats (user_id, operation, fact, attempts, correct, avg_ms)
    VALUES (NEW.user_id, NEW.operation, NEW.fact, 1, NEW.correct, NEW.response_ms)
    ON CONFLICT (user_id, operation, fact) DO UPDATE SET
        attempts   = attempts + 1,
        correct    = correct + excluded.correct,
        avg_ms     = (avg_ms * attempts + excluded.avg_ms) / (attempts + 1),
        updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
END;
