-- +goose Up
-- Developers' apps (created on the main platform through tenancy, and
-- restricted to their grants from the start) and their applications for a
-- capability or for more quota (能力申请), reviewed by administrators.
CREATE TABLE open_apps (
    app_id       text COLLATE "C" PRIMARY KEY,
    developer_id text COLLATE "C" NOT NULL REFERENCES open_developers (id),
    name         text NOT NULL,
    type         text NOT NULL CHECK (type IN ('web', 'mobile', 'miniprogram', 'server')),
    icon_url     text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);
CREATE INDEX open_apps_developer ON open_apps (developer_id, created_at DESC);

CREATE TABLE open_applications (
    id            bigserial PRIMARY KEY,
    developer_id  text COLLATE "C" NOT NULL REFERENCES open_developers (id),
    app_id        text COLLATE "C" NOT NULL REFERENCES open_apps (app_id),
    platform_id   text COLLATE "C" NOT NULL,
    capability    text COLLATE "C" NOT NULL,
    quota         bigint CHECK (quota > 0),  -- NULL: unlimited
    period        text NOT NULL CHECK (period IN ('day', 'month')),
    reason        text NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    review_reason text NOT NULL DEFAULT '',
    reviewed_by   text NOT NULL DEFAULT '',
    reviewed_at   timestamptz,
    created_at    timestamptz NOT NULL
);
-- One pending application per app and capability.
CREATE UNIQUE INDEX open_applications_one_pending ON open_applications (app_id, capability) WHERE status = 'pending';
CREATE INDEX open_applications_status ON open_applications (status, created_at DESC);

-- +goose Down
DROP TABLE open_applications;
DROP TABLE open_apps;
