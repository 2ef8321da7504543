-- Per user, per fact: how well it is known. Upserted on every answer.
CREATE TABLE mastery_stats (
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    operation    TEXT    NOT NULL,
    fact         TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    correct      INTEGER NOT NULL DEFAULT 0,
    avg_ms       REAL    NOT NULL DEFAULT 0,
    updated_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (user_id, operation, fact)
) WITHOUT ROWID;

-- Keep the aggregate in step with the event log.
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
