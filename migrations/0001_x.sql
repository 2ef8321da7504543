-- x
-- Runs in one transaction; put `-- migrate:no-transaction` first for VACUUM and the like.

