-- The search service's replica of the catalog: product snapshots and stock levels merged per
-- product, from two event streams that may arrive in any order. The search index is a
-- projection of this table; `revision` orders the projections.

CREATE TABLE catalog (
    product_id        uuid PRIMARY KEY,
    sku               text NOT NULL DEFAULT '',
    name              text NOT NULL DEFAULT '',
    description       text NOT NULL DEFAULT '',
    category          text NOT NULL DEFAULT '',
    price_minor       bigint NOT NULL DEFAULT 0,
    currency          text NOT NULL DEFAULT '',
    active            boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- 0 while only stock events have been seen: not yet searchable.
    product_version   bigint NOT NULL DEFAULT 0,
    on_hand           integer NOT NULL DEFAULT 0,
    reserved          integer NOT NULL DEFAULT 0,
    inventory_version bigint NOT NULL DEFAULT 0,
    -- Bumped on every accepted change; the index keeps the newest revision of each document.
    revision          bigint NOT NULL DEFAULT 1
);

-- Events this service's consumers have applied (see shared/messaging).
CREATE TABLE inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
