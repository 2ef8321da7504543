-- Every answer given, append-only.
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
CREATE INDEX idx_answer_events_session ON answer_events (session_id);
CREATE INDEX idx_answer_events_user ON answer_events (user_id);
