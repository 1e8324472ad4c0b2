-- Bumped on every change to what other services may replicate (the display name), so the
-- events describing those changes can be ordered.
ALTER TABLE users ADD COLUMN version bigint NOT NULL DEFAULT 1;
