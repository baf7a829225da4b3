-- iota state store, schema version 4 (SQLite): the data lake's flushes in flight.
-- migrations/postgres/0004_lake.sql creates the same tables.

-- A flush of lake files recorded before its files are written. It is deleted in the
-- transaction that commits the inputs its files hold; one still here was never committed:
-- 'pending' while its writer may still commit it, 'doomed' once its files are to be deleted
-- (an input it holds was committed by another flush, or it is older than any flush takes).
CREATE TABLE lake_flushes (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('pending', 'doomed')),
    -- The keys of its files below the lake's location, a JSON array.
    files TEXT NOT NULL,
    created_us INTEGER NOT NULL
);

-- The inputs whose events a flush in flight holds.
CREATE TABLE lake_flush_inputs (
    flush_id TEXT NOT NULL REFERENCES lake_flushes (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    object_key TEXT NOT NULL,
    etag TEXT NOT NULL,
    PRIMARY KEY (flush_id, source, object_key, etag)
);
CREATE INDEX lake_flush_inputs_object ON lake_flush_inputs (source, object_key, etag);
