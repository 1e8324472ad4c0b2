-- Orders and what they contain, copied from the replica at checkout so that later catalog
-- changes never alter a placed order.
CREATE TABLE orders (
    id                  uuid        PRIMARY KEY,
    user_id             uuid        NOT NULL,
    status              text        NOT NULL
        CONSTRAINT orders_status_known CHECK (status IN ('pending', 'confirmed', 'cancelled', 'rejected')),
    currency            char(3)     NOT NULL CONSTRAINT orders_currency_code CHECK (currency ~ '^[A-Z]{3}$'),
    total_minor         bigint      NOT NULL CONSTRAINT orders_total_not_negative CHECK (total_minor >= 0),
    shipping_address    jsonb       NOT NULL
        CONSTRAINT orders_shipping_address_object CHECK (jsonb_typeof(shipping_address) = 'object'),
    -- Checkout is idempotent per user and key; the fingerprint of the request body tells a
    -- retry (same body) from a reused key (different body).
    idempotency_key     text        NOT NULL
        CONSTRAINT orders_idempotency_key_length CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    request_fingerprint text        NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT orders_user_idempotency_key UNIQUE (user_id, idempotency_key)
);

-- A customer's order history, newest first (keyset pagination on created_at, id).
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);

CREATE TABLE order_items (
    order_id         uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no          integer NOT NULL CONSTRAINT order_items_line_no_positive CHECK (line_no >= 1),
    product_id       uuid    NOT NULL,
    sku              text    NOT NULL,
    product_name     text    NOT NULL,
    unit_price_minor bigint  NOT NULL CONSTRAINT order_items_unit_price_not_negative CHECK (unit_price_minor >= 0),
    quantity         integer NOT NULL CONSTRAINT order_items_quantity_range CHECK (quantity BETWEEN 1 AND 99),
    line_total_minor bigint  NOT NULL
        CONSTRAINT order_items_line_total CHECK (line_total_minor = unit_price_minor * quantity),
    CONSTRAINT order_items_pkey PRIMARY KEY (order_id, line_no)
);

CREATE TABLE order_status_history (
    id          bigserial   PRIMARY KEY,
    order_id    uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status      text        NOT NULL
        CONSTRAINT order_status_history_status_known CHECK (status IN ('pending', 'confirmed', 'cancelled', 'rejected')),
    reason      text,
    occurred_at timestamptz NOT NULL
);

CREATE INDEX order_status_history_order_idx ON order_status_history (order_id, id);
