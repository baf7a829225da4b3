-- iota state store, schema version 3 (SQLite): leases, so that one replica among several does
-- a job that must run once (the lister of `iota s3-poll`). migrations/postgres/0003_leases.sql
-- creates the same table.

-- One row per job: who holds it and until when. A holder renews its lease before it expires;
-- once expired, any replica may take it.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_us INTEGER NOT NULL
);
