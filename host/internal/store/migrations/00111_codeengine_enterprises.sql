-- +goose Up
-- Enterprise codes (一企一码): one code per enterprise (unified social credit
-- code), its addresses grouped under it. enterprise_registry is the local
-- stand-in for the market-regulation registry the two-factor check asks.
CREATE TABLE enterprise_registry (
    uscc       text PRIMARY KEY,
    name       text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE SEQUENCE enterprise_seq;
CREATE TABLE enterprises (
    id          text PRIMARY KEY,
    uscc        text NOT NULL UNIQUE,
    name        text NOT NULL,
    platform_id text NOT NULL,
    app_id      text NOT NULL,
    rule_id     text NOT NULL,
    token       text NOT NULL UNIQUE,
    number      bigint NOT NULL UNIQUE,
    addresses   jsonb NOT NULL DEFAULT '[]',
    status      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE enterprises;
DROP SEQUENCE enterprise_seq;
DROP TABLE enterprise_registry;
