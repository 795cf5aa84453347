-- +goose Up
-- Scene traffic control (场景限流管控): limits on the calls apps make to an
-- open-API route, per second, per minute, and in total; a total cap trips
-- the route until an administrator restores it.
CREATE TABLE traffic_limits (
    id          bigserial PRIMARY KEY,
    route       text NOT NULL,               -- "POST /identity/decodeIdentityCode"
    app_id      text COLLATE "C" NOT NULL DEFAULT '', -- '' : every app's calls together
    per_second  int NOT NULL DEFAULT 0 CHECK (per_second >= 0),
    per_minute  int NOT NULL DEFAULT 0 CHECK (per_minute >= 0),
    total_cap   bigint NOT NULL DEFAULT 0 CHECK (total_cap >= 0),
    state       text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'tripped')),
    tripped_at  timestamptz,
    note        text NOT NULL DEFAULT '',
    -- Names the limit's counters in Redis: unique across installations
    -- sharing a Redis, and new for a limit created again.
    counter_key text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text),
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (route, app_id)
);

-- +goose Down
DROP TABLE traffic_limits;
