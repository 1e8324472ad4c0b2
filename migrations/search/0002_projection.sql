-- The index is a projection of `catalog`, written by a projector that takes the rows changed
-- since their last projection in batches (one index commit per batch, not per event).

ALTER TABLE catalog
    -- The revision last written to the index; behind `revision` means the row awaits projection.
    ADD COLUMN projected_revision bigint NOT NULL DEFAULT 0,
    -- When the newest event merged into the row happened (for the freshness metric).
    ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now(),
    -- When the row was last written to the index (a reindex re-applies rows projected while it ran).
    ADD COLUMN projected_at timestamptz;

CREATE INDEX catalog_unprojected ON catalog (product_id) WHERE projected_revision < revision;
