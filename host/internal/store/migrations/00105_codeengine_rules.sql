-- +goose Up
-- Code specs (码规范), code rules (码规则) with versions, the rule pools of
-- sub-platforms, and the rules each app is bound to.
CREATE SEQUENCE code_spec_seq;
CREATE TABLE code_specs (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    fields      jsonb NOT NULL DEFAULT '[]',
    status      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE SEQUENCE code_rule_seq;
CREATE TABLE code_rules (
    id          text PRIMARY KEY,                  -- codeDefId
    name        text NOT NULL,
    form        text NOT NULL CHECK (form IN ('dynamic', 'static')),
    kind        text NOT NULL CHECK (kind IN ('person', 'enterprise', 'object', 'virtual')),
    family      text NOT NULL,
    platform_id text NOT NULL,                     -- applicable platform
    industry    text NOT NULL DEFAULT '',
    spec_id     text REFERENCES code_specs (id) ON DELETE SET NULL,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published')),
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE code_rule_versions (
    rule_id     text NOT NULL REFERENCES code_rules (id) ON DELETE CASCADE,
    version     int NOT NULL,
    function    jsonb NOT NULL,                    -- validity, refresh, offline
    spec_fields jsonb NOT NULL DEFAULT '[]',
    ext_fields  jsonb NOT NULL DEFAULT '[]',
    collection  jsonb NOT NULL DEFAULT '[]',       -- data-collection fields
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (rule_id, version)
);

-- A sub-platform's pool: rules pushed to it (the main platform's pool is
-- its own rules).
CREATE TABLE code_rule_pool (
    platform_id text NOT NULL,
    rule_id     text NOT NULL REFERENCES code_rules (id) ON DELETE CASCADE,
    pushed_at   timestamptz NOT NULL,
    PRIMARY KEY (platform_id, rule_id)
);

CREATE TABLE app_rule_bindings (
    app_id      text NOT NULL,
    rule_id     text NOT NULL REFERENCES code_rules (id),
    platform_id text NOT NULL,
    bound_at    timestamptz NOT NULL,
    PRIMARY KEY (app_id, rule_id)
);
CREATE INDEX app_rule_bindings_rule ON app_rule_bindings (rule_id);

-- +goose Down
DROP TABLE app_rule_bindings;
DROP TABLE code_rule_pool;
DROP TABLE code_rule_versions;
DROP TABLE code_rules;
DROP SEQUENCE code_rule_seq;
DROP TABLE code_specs;
DROP SEQUENCE code_spec_seq;
