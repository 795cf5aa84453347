-- +goose Up
-- Scenes and services (场景与服务): the scene type tree, scenes, the shared
-- service pool, what each client (App, mini-program A, mini-program B) is
-- shown, the organizations integrating scenes (场景对接方) and the users'
-- scene switches. Every row belongs to a platform; a main-platform scene is
-- offered to every platform's apps.
CREATE TABLE scene_types (
    id          bigserial PRIMARY KEY,
    platform_id text COLLATE "C" NOT NULL,
    parent_id   bigint REFERENCES scene_types (id),
    name        text NOT NULL,
    sort        int NOT NULL DEFAULT 0,
    params      jsonb NOT NULL DEFAULT '[]',  -- typed definition parameters
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX scene_types_parent ON scene_types (parent_id, sort);

CREATE TABLE scene_counterparts (
    id          bigserial PRIMARY KEY,
    platform_id text COLLATE "C" NOT NULL,
    name        text NOT NULL,
    credit_code text COLLATE "C" NOT NULL UNIQUE,  -- 统一社会信用代码, GB 32100-2015
    address     text NOT NULL DEFAULT '',
    contacts    jsonb NOT NULL DEFAULT '[]',
    app_ids     text[] COLLATE "C" NOT NULL DEFAULT '{}',  -- the apps it decodes with
    org_ids     text[] COLLATE "C" NOT NULL DEFAULT '{}',  -- its acceptOrgId values
    enabled     boolean NOT NULL DEFAULT true,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE scenes (
    id             bigserial PRIMARY KEY,
    platform_id    text COLLATE "C" NOT NULL,
    type_id        bigint REFERENCES scene_types (id),
    counterpart_id bigint REFERENCES scene_counterparts (id),
    name           text NOT NULL,
    category       text NOT NULL DEFAULT '',
    intro          text NOT NULL DEFAULT '',       -- sanitized HTML
    images         text[] NOT NULL DEFAULT '{}',   -- https URLs
    contact        jsonb NOT NULL DEFAULT '{}',
    auth_level     smallint NOT NULL DEFAULT 0,   -- the user's required authorization level
    params         jsonb NOT NULL DEFAULT '{}',   -- values of the type's parameters
    keywords       text[] NOT NULL DEFAULT '{}',
    org_ids        text[] COLLATE "C" NOT NULL DEFAULT '{}',
    applications   jsonb NOT NULL DEFAULT '[]',
    activities     jsonb NOT NULL DEFAULT '[]',
    clients        text[] COLLATE "C" NOT NULL DEFAULT '{}',  -- published to
    disabled       boolean NOT NULL DEFAULT false,            -- emergency stop
    disabled_note  text NOT NULL DEFAULT '',
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX scenes_keywords ON scenes USING gin (keywords);

CREATE TABLE scene_services (
    id          bigserial PRIMARY KEY,
    platform_id text COLLATE "C" NOT NULL,
    name        text NOT NULL,
    icon        text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    link        text NOT NULL,
    category    text NOT NULL DEFAULT '',
    keywords    text[] NOT NULL DEFAULT '{}',
    clients     text[] COLLATE "C" NOT NULL DEFAULT '{}',  -- recommended on "more services" of
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- A scene's recommended services, each published to its own clients.
CREATE TABLE scene_service_links (
    scene_id   bigint NOT NULL REFERENCES scenes (id) ON DELETE CASCADE,
    service_id bigint NOT NULL REFERENCES scene_services (id) ON DELETE CASCADE,
    sort       int NOT NULL DEFAULT 0,
    clients    text[] COLLATE "C" NOT NULL DEFAULT '{}',
    PRIMARY KEY (scene_id, service_id)
);
CREATE INDEX scene_service_links_service ON scene_service_links (service_id);

-- Scenes a user switched off (a scene is on unless a row says otherwise).
CREATE TABLE scene_switches (
    app_id     text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    scene_id   bigint NOT NULL REFERENCES scenes (id) ON DELETE CASCADE,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id, scene_id)
);

-- +goose Down
DROP TABLE scene_switches;
DROP TABLE scene_service_links;
DROP TABLE scene_services;
DROP TABLE scenes;
DROP TABLE scene_counterparts;
DROP TABLE scene_types;
