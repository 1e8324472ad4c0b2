-- Checkout and the saga that settles an order: the payment token the payment step charges,
-- the order's version (the `aggregate_version` of the events it publishes), idempotency keys
-- as the `Idempotency-Key` header allows them, and the index the pending deadline scans.

-- No order existed before checkout did (only checkout places orders), so no row lacks a token.
ALTER TABLE orders
    ADD COLUMN payment_token text NOT NULL
        CONSTRAINT orders_payment_token_length CHECK (char_length(payment_token) BETWEEN 1 AND 64),
    ADD COLUMN version bigint NOT NULL DEFAULT 1
        CONSTRAINT orders_version_positive CHECK (version >= 1);

-- 1 to 255 visible ASCII characters, as the header carries them.
ALTER TABLE orders DROP CONSTRAINT orders_idempotency_key_length;
ALTER TABLE orders ADD CONSTRAINT orders_idempotency_key_format CHECK (idempotency_key ~ '^[!-~]{1,255}$');

-- Orders still waiting for stock and payment, oldest first: what the deadline cancels.
CREATE INDEX orders_pending_since_idx ON orders (created_at) WHERE status = 'pending';
