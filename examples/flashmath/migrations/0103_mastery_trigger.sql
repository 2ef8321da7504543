-- Keep the aggregate in step with the event log. The upsert needs the
-- unique index idx_mastery_user_op_fact (0102), so it comes after it.
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
