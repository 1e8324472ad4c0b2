-- Accounts and their shipping addresses. The bounds mirror the domain types in
-- services/user/src/domain, so a row that skipped them still cannot be stored.

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    -- Stored as entered (trimmed); compared and kept unique case-insensitively.
    email         text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    -- An argon2id hash in PHC string format, never the password itself.
    password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    display_name  text        NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 80),
    role          text        NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A unique index (not a table constraint) because it is on an expression; PostgreSQL reports
-- its name as the violated constraint, which the API maps to 409 Conflict.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE addresses (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient   text        NOT NULL CHECK (char_length(recipient) BETWEEN 1 AND 100),
    line1       text        NOT NULL CHECK (char_length(line1) BETWEEN 1 AND 200),
    line2       text                 CHECK (char_length(line2) BETWEEN 1 AND 200),
    city        text        NOT NULL CHECK (char_length(city) BETWEEN 1 AND 100),
    region      text                 CHECK (char_length(region) BETWEEN 1 AND 100),
    postal_code text        NOT NULL CHECK (char_length(postal_code) BETWEEN 2 AND 12),
    country     char(2)     NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone       text                 CHECK (char_length(phone) BETWEEN 5 AND 25),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX addresses_user_id_idx ON addresses (user_id, created_at, id);
