-- Per user, per fact: how well it is known. Upserted on every answer by the
-- trigger of 0103, through the unique index of 0102_hot_paths.indexes.
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
