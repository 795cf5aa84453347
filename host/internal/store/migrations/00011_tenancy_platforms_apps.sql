-- +goose Up
-- Platforms (main and sub), their apps and each app's developer. Only
-- package tenancy reads or writes these tables.

-- Sub-platforms are numbered P0001, P0002, ...; the main platform is P0000.
CREATE SEQUENCE platform_number_seq START 1;

CREATE TABLE platforms (
    id            text PRIMARY KEY CHECK (id ~ '^P[0-9]{4,}$'),
    kind          text NOT NULL CHECK (kind IN ('main', 'sub')),
    name          text NOT NULL CHECK (name <> ''),
    service_url   text NOT NULL DEFAULT '',
    region_code   text NOT NULL REFERENCES regions (code),
    contact       text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    admin_account text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT platforms_name_key UNIQUE (name),
    CONSTRAINT platforms_main_is_p0000 CHECK ((kind = 'main') = (id = 'P0000')),
    CONSTRAINT platforms_main_enabled CHECK (kind = 'sub' OR status = 'enabled')
);
CREATE INDEX platforms_created ON platforms (created_at DESC, id);
CREATE INDEX platforms_region ON platforms (region_code text_pattern_ops);

-- Developer numbers (开发者编号) are D00000001, D00000002, ...
CREATE SEQUENCE developer_number_seq START 1;

-- An app's secret and SM4 data key are stored only sealed under the host's
-- master key (codec.Sealer); the SM2 public key is public.
CREATE TABLE apps (
    id              text PRIMARY KEY CHECK (id ~ '^cc[0-9a-f]{16}$'),
    platform_id     text NOT NULL REFERENCES platforms (id),
    name            text NOT NULL CHECK (name <> ''),
    business_unit   text NOT NULL DEFAULT '',
    industry_code   text REFERENCES industries (code),
    region_code     text NOT NULL REFERENCES regions (code),
    description     text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    c_listed        boolean NOT NULL DEFAULT false,
    secret_sealed   text NOT NULL,
    sm2_public_key  text NOT NULL DEFAULT '',
    data_key_sealed text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT apps_platform_name_key UNIQUE (platform_id, name),
    -- An app listed on the citizen side (C端上架) is never disabled.
    CONSTRAINT apps_listed_enabled CHECK (NOT c_listed OR status = 'enabled')
);
CREATE INDEX apps_platform ON apps (platform_id, created_at DESC);
CREATE INDEX apps_region ON apps (region_code text_pattern_ops);
CREATE INDEX apps_created ON apps (created_at DESC, id);
CREATE INDEX apps_industry ON apps (industry_code);

-- Each app has exactly one developer. The mobile number is personal data:
-- sealed, with its masked form kept for lists.
CREATE TABLE developers (
    id            text PRIMARY KEY CHECK (id ~ '^D[0-9]{8,}$'),
    app_id        text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (name <> ''),
    contact       text NOT NULL DEFAULT '',
    mobile_sealed text NOT NULL DEFAULT '',
    mobile_masked text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT developers_app_key UNIQUE (app_id)
);
CREATE INDEX developers_created ON developers (created_at DESC, id);

-- +goose Down
DROP TABLE IF EXISTS developers;
DROP SEQUENCE IF EXISTS developer_number_seq;
DROP TABLE IF EXISTS apps;
DROP TABLE IF EXISTS platforms;
DROP SEQUENCE IF EXISTS platform_number_seq;
