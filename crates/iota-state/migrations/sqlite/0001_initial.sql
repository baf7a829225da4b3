-- iota state store, schema version 1 (SQLite). migrations/postgres/0001_initial.sql creates
-- the same tables and columns. Times are microseconds since the Unix epoch (UTC); lists and
-- objects are JSON text.

-- One row per (rule id, dedup string, dedup window): an alert, a signal, or a window still
-- below its rule's threshold. The representative columns (event_id .. event) hold the
-- window's earliest event.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    dedup TEXT NOT NULL,
    window_start_us INTEGER NOT NULL,
    dedup_period_minutes INTEGER NOT NULL,
    threshold INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('below_threshold', 'alert', 'signal')),
    event_count INTEGER NOT NULL,
    unique_count INTEGER NOT NULL,
    first_seen_us INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL,
    recorded_us INTEGER NOT NULL,
    created_us INTEGER,
    updated_us INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    log_type TEXT NOT NULL,
    description TEXT,
    runbook TEXT,
    reference TEXT,
    tags TEXT NOT NULL,
    reports TEXT NOT NULL,
    alert_context TEXT,
    destinations TEXT,
    outputs TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_bucket TEXT,
    source_key TEXT NOT NULL,
    source_line INTEGER,
    event TEXT NOT NULL
);
CREATE INDEX alerts_created ON alerts (created_us);
CREATE INDEX alerts_rule ON alerts (rule_id, created_us);
CREATE INDEX alerts_updated ON alerts (updated_us);

-- Distinct unique() values of a window below its threshold (dropped once it is an alert).
CREATE TABLE alert_uniques (
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (alert_id, value)
);

-- The earliest events of a window (at most 5).
CREATE TABLE alert_samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    event_time_us INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_bucket TEXT,
    source_key TEXT NOT NULL,
    source_line INTEGER,
    event TEXT NOT NULL
);
CREATE INDEX alert_samples_alert ON alert_samples (alert_id, event_time_us, event_id);

-- The outbox: one row per alert and output, created with the alert.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    output TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_us INTEGER NOT NULL,
    lease_until_us INTEGER,
    last_error TEXT,
    created_us INTEGER NOT NULL,
    delivered_us INTEGER,
    UNIQUE (alert_id, output)
);
CREATE INDEX deliveries_due ON deliveries (output, status, next_attempt_us);
CREATE INDEX deliveries_status ON deliveries (status);

CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_us INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'retry', 'failed')),
    error TEXT
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);

CREATE TABLE rule_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT,
    function TEXT NOT NULL,
    error TEXT NOT NULL,
    traceback TEXT,
    event_id TEXT,
    source_kind TEXT,
    source_bucket TEXT,
    source_key TEXT,
    source_line INTEGER,
    time_us INTEGER NOT NULL,
    recorded_us INTEGER NOT NULL
);
CREATE INDEX rule_errors_recorded ON rule_errors (recorded_us);
CREATE INDEX rule_errors_rule ON rule_errors (rule_id, recorded_us);

-- Processed source objects: a (source, key, etag) committed with outcome 'ok' is never
-- committed again.
CREATE TABLE objects (
    source TEXT NOT NULL,
    object_key TEXT NOT NULL,
    etag TEXT NOT NULL,
    size INTEGER NOT NULL,
    events INTEGER NOT NULL,
    alerts INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed')),
    error TEXT,
    attempts INTEGER NOT NULL,
    first_attempt_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    PRIMARY KEY (source, object_key, etag)
);
CREATE INDEX objects_outcome ON objects (source, outcome);
CREATE INDEX objects_updated ON objects (updated_us);

-- Rule state of the caching helpers: counters, string sets (JSON arrays) and dictionaries.
CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('counter', 'string_set', 'dict')),
    counter INTEGER,
    value TEXT,
    expires_us INTEGER,
    updated_us INTEGER NOT NULL
);
CREATE INDEX kv_expires ON kv (expires_us);
