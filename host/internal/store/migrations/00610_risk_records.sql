-- +goose Up
-- Risk decisions that were not a plain allow (风控拦截记录): flagged events
-- and intercepted ones, with the indicators the policy saw; intercepted
-- ones are released (批量解除) by operators.
CREATE TABLE risk_records (
    id          bigserial PRIMARY KEY,
    action      text NOT NULL CHECK (action IN ('flag', 'intercept')),
    event_type  text NOT NULL,
    app_id      text COLLATE "C" NOT NULL,
    platform_id text COLLATE "C" NOT NULL,
    ip          text NOT NULL DEFAULT '',
    user_id     text NOT NULL DEFAULT '',
    org_id      text NOT NULL DEFAULT '',
    code_id     text NOT NULL DEFAULT '',
    indicators  jsonb NOT NULL,
    triggered   text[] NOT NULL,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'released')),
    created_at  timestamptz NOT NULL,
    released_by text,
    released_at timestamptz
);
CREATE INDEX risk_records_time ON risk_records (created_at DESC);

-- +goose Down
DROP TABLE risk_records;
