-- +goose Up
-- The audit trail: one SM3 hash chain over every entry, in seq order.
-- Only package audit reads or writes these tables.
CREATE TABLE audit_entries (
    seq         bigint PRIMARY KEY,            -- dense chain order, 1, 2, 3, ...
    at          timestamptz(3) NOT NULL,       -- server time, millisecond precision
    type        text NOT NULL CHECK (type IN ('operation', 'login', 'api', 'data_security')),
    operator_id text NOT NULL DEFAULT '',
    account     text NOT NULL DEFAULT '',
    platform_id text NOT NULL DEFAULT '',
    source_ip   text NOT NULL DEFAULT '',      -- text, not inet: stored exactly as hashed
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    result      text NOT NULL CHECK (result IN ('success', 'failure')),
    detail      jsonb NOT NULL DEFAULT '{}',   -- personal data arrives already masked
    request_id  text NOT NULL DEFAULT '',
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);

-- Lists are newest first, filtered by time range plus at most a few of
-- type, platform (data scope), action and account prefix.
CREATE INDEX audit_entries_at ON audit_entries (at DESC, seq DESC);
CREATE INDEX audit_entries_type_at ON audit_entries (type, at DESC);
CREATE INDEX audit_entries_platform_at ON audit_entries (platform_id, at DESC);
CREATE INDEX audit_entries_action_at ON audit_entries (action, at DESC);
CREATE INDEX audit_entries_account ON audit_entries (account text_pattern_ops);

-- The head of the chain: the last seq and its hash. Writers lock this row
-- FOR UPDATE, so every host sharing the database appends to one chain.
CREATE TABLE audit_head (
    id   smallint PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));

-- +goose Down
DROP TABLE IF EXISTS audit_head;
DROP TABLE IF EXISTS audit_entries;
