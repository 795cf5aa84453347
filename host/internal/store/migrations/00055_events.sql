-- +goose Up
-- Usage events (generate, show, verify, activate, ...), partitioned by month;
-- partitions are created ahead by package events. The default partition
-- only catches events outside every monthly partition.
CREATE TABLE usage_events (
    at           timestamptz NOT NULL,
    type         text NOT NULL,
    result       text NOT NULL,
    platform_id  text NOT NULL DEFAULT '',
    app_id       text NOT NULL DEFAULT '',
    rule_id      text NOT NULL DEFAULT '',
    rule_version int NOT NULL DEFAULT 0,
    kind         text NOT NULL DEFAULT '',
    subject_id   text NOT NULL DEFAULT '',
    code_id      text NOT NULL DEFAULT '',
    org_id       text NOT NULL DEFAULT '',
    region_code  text NOT NULL DEFAULT '',
    detail       jsonb
) PARTITION BY RANGE (at);
CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT;
CREATE INDEX usage_events_subject ON usage_events (subject_id, at);
CREATE INDEX usage_events_code ON usage_events (code_id, at);

-- Counts per hour and per day, maintained in the transaction that commits
-- the events, so dashboards never scan raw events.
CREATE TABLE usage_rollups (
    grain       text NOT NULL CHECK (grain IN ('hour', 'day')),
    bucket      timestamptz NOT NULL,
    platform_id text NOT NULL,
    app_id      text NOT NULL,
    rule_id     text NOT NULL,
    type        text NOT NULL,
    result      text NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (grain, bucket, platform_id, app_id, rule_id, type, result)
);

-- +goose Down
DROP TABLE usage_rollups;
DROP TABLE usage_events;
