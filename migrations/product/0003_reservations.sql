-- Stock reservations for the checkout saga. An order's stock is held when it is placed,
-- becomes sold when the order is confirmed, and goes back when it is cancelled; for every
-- product, on_hand + sold stays what was put into stock by hand.

ALTER TABLE inventory
    ADD COLUMN sold integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    -- Bumped on every change to the levels; the version of `inventory.adjusted` events.
    ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- One row per order this service has heard of. 'released' without lines is a tombstone: the
-- order was cancelled before it was placed here, so a late `order.placed` reserves nothing.
CREATE TABLE reservations (
    order_id   uuid PRIMARY KEY,
    status     text NOT NULL CHECK (status IN ('held', 'committed', 'released', 'rejected')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- What a held (later committed or released) reservation took from each product.
CREATE TABLE reservation_lines (
    order_id   uuid NOT NULL REFERENCES reservations (order_id),
    product_id uuid NOT NULL REFERENCES products (id),
    quantity   integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX reservation_lines_product_idx ON reservation_lines (product_id);
