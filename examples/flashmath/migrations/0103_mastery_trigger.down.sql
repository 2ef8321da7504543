-- The trigger goes; the aggregate keeps the rows it has.
DROP TRIGGER answer_events_mastery;
