-- +goose Up
-- Capability grants of the open platform (能力授权): which capabilities
-- (groups of open-API routes) an app may call, with an optional quota per
-- day or month. An app is restricted to its grants once listed in
-- app_grant_modes with restricted = true — open-platform apps are, from
-- their creation; the city's own apps, created by administrators, are not
-- unless an administrator restricts them.
CREATE TABLE app_grant_modes (
    app_id     text COLLATE "C" PRIMARY KEY,
    restricted boolean NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE app_capabilities (
    app_id     text COLLATE "C" NOT NULL,
    capability text COLLATE "C" NOT NULL,
    quota      bigint CHECK (quota > 0),  -- calls per period; NULL: unlimited
    period     text NOT NULL DEFAULT 'day' CHECK (period IN ('day', 'month')),
    granted_by text NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, capability)
);

-- +goose Down
DROP TABLE app_capabilities;
DROP TABLE app_grant_modes;
