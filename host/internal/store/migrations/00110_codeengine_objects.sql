-- +goose Up
-- Object types (物品类型) and static object codes (一物一码): pre-issued
-- empty in batches, activated in the field with the type's attributes,
-- verified by anyone who scans them, cancelled when the object is gone.
CREATE SEQUENCE object_type_seq;
CREATE TABLE object_types (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    parent_id       text REFERENCES object_types (id),
    management      text NOT NULL DEFAULT 'local' CHECK (management IN ('city', 'local')),
    required_fields jsonb NOT NULL DEFAULT '[]',
    auto_activate   boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL
);

-- The unified numbers (统一编号) are allocated in ranges from one counter,
-- so a batch of a million takes one row lock, not a million nextval calls.
CREATE TABLE object_number_counter (next bigint NOT NULL);
INSERT INTO object_number_counter VALUES (10000000);

CREATE TABLE object_batches (
    id          text PRIMARY KEY,
    platform_id text NOT NULL,
    app_id      text NOT NULL,
    rule_id     text NOT NULL,
    type_id     text REFERENCES object_types (id),
    region_code text NOT NULL DEFAULT '',
    count       int NOT NULL,
    first_seq   bigint NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE object_codes (
    token        text PRIMARY KEY,               -- unguessable; the URL's last segment
    number       bigint NOT NULL UNIQUE,         -- 9-digit unified number with check digit
    batch_id     text NOT NULL,
    platform_id  text NOT NULL,
    rule_id      text NOT NULL,
    type_id      text,
    status       text NOT NULL CHECK (status IN ('empty', 'active', 'cancelled')),
    region_code  text NOT NULL DEFAULT '',
    owner_unit   text NOT NULL DEFAULT '',
    attributes   jsonb,
    activated_at timestamptz,
    activated_by text,
    cancelled_at timestamptz,
    created_at   timestamptz NOT NULL
);
CREATE INDEX object_codes_batch ON object_codes (batch_id, number);

-- +goose Down
DROP TABLE object_codes;
DROP TABLE object_batches;
DROP TABLE object_number_counter;
DROP TABLE object_types;
DROP SEQUENCE object_type_seq;
