-- iota state store, schema version 2 (SQLite): configured trail sources and their health.
-- migrations/postgres/0002_sources.sql creates the same tables and columns.

-- One row per source (`iota sources add`): the bucket and key prefix `iota s3-poll` reads,
-- how to reach it, and which accounts and regions to keep (JSON arrays of text; empty: all).
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    prefix TEXT NOT NULL,
    region TEXT,
    assume_role TEXT,
    accounts TEXT NOT NULL,
    regions TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL
);

-- The outcome of a source's polls, from its first poll on (no row: never polled). objects
-- and events add up over every poll; failed_objects is the last poll's; newest_event_us is
-- the time of the newest event read so far (lag = now - it). The processed objects
-- themselves stay in `objects` (source 's3://<bucket>'), which outlives a removed source.
CREATE TABLE source_health (
    source TEXT PRIMARY KEY REFERENCES sources (name) ON DELETE CASCADE,
    last_poll_started_us INTEGER NOT NULL,
    last_poll_us INTEGER NOT NULL,
    last_success_us INTEGER,
    last_error TEXT,
    polls INTEGER NOT NULL,
    objects INTEGER NOT NULL,
    events INTEGER NOT NULL,
    failed_objects INTEGER NOT NULL,
    newest_event_us INTEGER
);
