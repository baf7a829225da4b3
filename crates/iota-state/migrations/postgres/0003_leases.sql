-- iota state store, schema version 3 (PostgreSQL): leases, so that one replica among several
-- does a job that must run once (the lister of `iota s3-poll`). migrations/sqlite/
-- 0003_leases.sql creates the same table.

-- One row per job: who holds it and until when. A holder renews its lease before it expires;
-- once expired, any replica may take it.
CREATE TABLE leases (
    name TEXT COLLATE "C" PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_us BIGINT NOT NULL
);
