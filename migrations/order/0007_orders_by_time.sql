-- Every order, newest first: the administrators' listing, gathered from every shard.
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
