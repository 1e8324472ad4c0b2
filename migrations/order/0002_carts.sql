-- One persistent cart per user. The `carts` row is locked by every change to the cart, so
-- concurrent requests cannot push it past its line limit.
CREATE TABLE carts (
    user_id    uuid        PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Lines hold no prices: a cart is always priced from the replica when it is read.
CREATE TABLE cart_items (
    user_id    uuid        NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
    product_id uuid        NOT NULL REFERENCES product_replica (product_id),
    quantity   integer     NOT NULL CONSTRAINT cart_items_quantity_range CHECK (quantity BETWEEN 1 AND 99),
    added_at   timestamptz NOT NULL,
    CONSTRAINT cart_items_pkey PRIMARY KEY (user_id, product_id)
);
