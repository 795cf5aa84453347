-- +goose Up
-- Ids are opaque ASCII: the "C" collation compares them bytewise, which
-- makes every index insertion cheaper than a linguistic collation.
ALTER TABLE usage_events ALTER subject_id TYPE text COLLATE "C", ALTER code_id TYPE text COLLATE "C";
ALTER TABLE usage_rollups ALTER grain TYPE text COLLATE "C", ALTER platform_id TYPE text COLLATE "C",
    ALTER app_id TYPE text COLLATE "C", ALTER rule_id TYPE text COLLATE "C", ALTER type TYPE text COLLATE "C",
    ALTER result TYPE text COLLATE "C";
-- Counters are updated in place: room on each page lets PostgreSQL do it
-- without new index entries (HOT updates).
ALTER TABLE usage_rollups SET (fillfactor = 70);

-- Days of the daily rollups begin at midnight China Standard Time (UTC+8),
-- the writer's default location; hours are unchanged. Rebuild the daily
-- rows from the raw events, which are the truth.
DELETE FROM usage_rollups WHERE grain = 'day';
INSERT INTO usage_rollups (grain, bucket, platform_id, app_id, rule_id, type, result, n)
SELECT 'day', date_trunc('day', at AT TIME ZONE INTERVAL '+08:00') AT TIME ZONE INTERVAL '+08:00',
       platform_id, app_id, rule_id, type, result, count(*)
FROM usage_events GROUP BY 2, 3, 4, 5, 6, 7;

-- Per-subject daily counts (the per-user generation and usage records),
-- maintained in the transaction that commits the events. Only events
-- naming a subject are counted.
CREATE TABLE usage_subject_daily (
    subject_id  text COLLATE "C" NOT NULL,
    day         date NOT NULL,
    app_id      text COLLATE "C" NOT NULL,
    platform_id text COLLATE "C" NOT NULL,
    type        text COLLATE "C" NOT NULL,
    result      text COLLATE "C" NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (subject_id, day, app_id, platform_id, type, result)
) WITH (fillfactor = 70);
INSERT INTO usage_subject_daily (subject_id, day, app_id, platform_id, type, result, n)
SELECT subject_id, (at AT TIME ZONE INTERVAL '+08:00')::date, app_id, platform_id, type, result, count(*)
FROM usage_events WHERE subject_id <> '' GROUP BY 1, 2, 3, 4, 5, 6;

-- +goose Down
DROP TABLE usage_subject_daily;
ALTER TABLE usage_rollups RESET (fillfactor);
