-- +goose Up
-- Departments (组织机构) of a platform, a tree per platform. Only package
-- tenancy reads or writes this table. Deleting a platform deletes its
-- departments; parent_id uses the default NO ACTION so that such a cascade
-- may remove a whole tree in one statement.
CREATE TABLE departments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_id text NOT NULL REFERENCES platforms (id) ON DELETE CASCADE,
    region_code text REFERENCES regions (code),
    parent_id   bigint REFERENCES departments (id),
    name        text NOT NULL CHECK (name <> ''),
    sort        integer NOT NULL DEFAULT 0,
    leader      text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX departments_sibling_name ON departments (platform_id, coalesce(parent_id, 0), name);
CREATE INDEX departments_parent ON departments (parent_id);
CREATE INDEX departments_region ON departments (region_code text_pattern_ops);

-- +goose Down
DROP TABLE IF EXISTS departments;
