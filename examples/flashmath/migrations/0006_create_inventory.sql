-- Items a user owns (streak freezes, themes).
CREATE TABLE inventory (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id  TEXT    NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 0)
);
