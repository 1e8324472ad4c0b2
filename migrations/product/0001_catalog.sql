-- The catalog: categories, products and their inventory.

CREATE TABLE categories (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL CONSTRAINT categories_slug_key UNIQUE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id          uuid PRIMARY KEY,
    sku         text NOT NULL CONSTRAINT products_sku_key UNIQUE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    category_id uuid NOT NULL REFERENCES categories (id),
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    image_url   text,
    active      boolean NOT NULL DEFAULT true,
    -- Bumped on every change so replicas elsewhere can ignore stale copies.
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Keyset pagination: one index per sort order, id as the tie-breaker.
CREATE INDEX products_newest_idx ON products (created_at DESC, id DESC) WHERE active;
CREATE INDEX products_price_idx ON products (price_minor, id) WHERE active;
CREATE INDEX products_name_idx ON products (name, id) WHERE active;
CREATE INDEX products_category_idx ON products (category_id) WHERE active;

-- Stock on hand and the part of it held by reservations (checkout, a later stage).
CREATE TABLE inventory (
    product_id uuid PRIMARY KEY REFERENCES products (id),
    on_hand    integer NOT NULL CHECK (on_hand >= 0),
    reserved   integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT inventory_reserved_within_on_hand CHECK (reserved <= on_hand)
);

-- Audit trail of manual stock changes.
CREATE TABLE stock_adjustments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products (id),
    delta      integer NOT NULL CHECK (delta <> 0),
    reason     text NOT NULL,
    adjusted_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_adjustments_product_idx ON stock_adjustments (product_id, created_at);
