-- +goose Up
-- Dictionary groups (字典分组) and their items (字典). Only package tenancy
-- reads or writes these tables. Deleting a group deletes its items.
CREATE TABLE dict_groups (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL CHECK (code ~ '^[A-Za-z][A-Za-z0-9_.-]{0,63}$'),
    name        text NOT NULL CHECK (name <> ''),
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT dict_groups_code_key UNIQUE (code)
);

CREATE TABLE dict_items (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_code text NOT NULL REFERENCES dict_groups (code) ON DELETE CASCADE,
    label      text NOT NULL CHECK (label <> ''),
    value      text NOT NULL CHECK (value <> ''),
    sort       integer NOT NULL DEFAULT 0,
    status     text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT dict_items_group_value_key UNIQUE (group_code, value)
);
CREATE INDEX dict_items_group ON dict_items (group_code, sort, id);

-- +goose Down
DROP TABLE IF EXISTS dict_items;
DROP TABLE IF EXISTS dict_groups;
