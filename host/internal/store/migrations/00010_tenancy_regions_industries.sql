-- +goose Up
-- Regions (区划) and industries (行业): the shared reference data every
-- platform, app and department points at. Only package tenancy reads or
-- writes these tables.

-- Regions are keyed by national administrative division codes: 6 digits for
-- levels 1-3 (province, prefecture city, county/district), 9 for level 4
-- (township/street) and 12 for level 5 (village). A child's code starts with
-- its parent's significant digits, so "in region X" is a prefix match.
CREATE TABLE regions (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    parent_code text REFERENCES regions (code),
    name        text NOT NULL CHECK (name <> ''),
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    status      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT regions_root_has_no_parent CHECK ((level = 1) = (parent_code IS NULL))
);
CREATE INDEX regions_parent ON regions (parent_code, code);

CREATE TABLE industries (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{1,32}$'),
    parent_code text REFERENCES industries (code),
    name        text NOT NULL CHECK (name <> ''),
    sort        integer NOT NULL DEFAULT 0,
    status      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX industries_parent ON industries (parent_code);

-- Which built-in data sets were loaded once, so that data an administrator
-- deleted is not brought back at the next start.
CREATE TABLE tenancy_seeds (
    name      text PRIMARY KEY,
    loaded_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS tenancy_seeds;
DROP TABLE IF EXISTS industries;
DROP TABLE IF EXISTS regions;
