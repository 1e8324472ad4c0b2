-- The order service's read replica of the product catalog. Carts and orders are priced from
-- it, so the request path never calls the product service. Rows are written only through
-- `store::catalog::apply_snapshot`, which keeps the highest version of each product.
CREATE TABLE product_replica (
    product_id  uuid        PRIMARY KEY,
    sku         text        NOT NULL,
    name        text        NOT NULL,
    category    text        NOT NULL,
    price_minor bigint      NOT NULL CONSTRAINT product_replica_price_not_negative CHECK (price_minor >= 0),
    currency    char(3)     NOT NULL CONSTRAINT product_replica_currency_code CHECK (currency ~ '^[A-Z]{3}$'),
    active      boolean     NOT NULL,
    version     bigint      NOT NULL,
    updated_at  timestamptz NOT NULL
);
