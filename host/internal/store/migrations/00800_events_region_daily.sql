-- +goose Up
-- Per-day counts by region of the code (the object's 区划) and code kind,
-- maintained in the transaction that commits the events, for the scene
-- statistics (物码区划统计): scans, landing visits and service use per
-- district without scanning raw events. Only events naming a region are
-- counted; personal codes carry none. Days are China Standard Time, as
-- the daily rows of usage_rollups.
CREATE TABLE usage_region_daily (
    day         date NOT NULL,
    platform_id text COLLATE "C" NOT NULL,
    region_code text COLLATE "C" NOT NULL,
    kind        text COLLATE "C" NOT NULL,
    type        text COLLATE "C" NOT NULL,
    result      text COLLATE "C" NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (day, platform_id, region_code, kind, type, result)
) WITH (fillfactor = 70);
INSERT INTO usage_region_daily (day, platform_id, region_code, kind, type, result, n)
SELECT (at AT TIME ZONE INTERVAL '+08:00')::date, platform_id, region_code, kind, type, result, count(*)
FROM usage_events WHERE region_code <> '' GROUP BY 1, 2, 3, 4, 5, 6;

-- +goose Down
DROP TABLE usage_region_daily;
