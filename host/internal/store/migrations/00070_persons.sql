-- +goose Up
-- Persons (一人一码 subjects) and what they allowed. Personal data is stored
-- only sealed (SM4-GCM under the master key), with HMAC-SM3 blind indexes
-- for exact look-ups and masked copies for display.
CREATE TABLE persons (
    id              bigserial PRIMARY KEY,
    cert_type       text NOT NULL,
    cert_index      text NOT NULL UNIQUE,       -- blind index of cert_type:cert_no
    cert_no_sealed  text NOT NULL,
    cert_no_masked  text NOT NULL,
    name_sealed     text NOT NULL,
    name_masked     text NOT NULL,
    mobile_sealed   text NOT NULL DEFAULT '',
    mobile_masked   text NOT NULL DEFAULT '',
    mobile_index    text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX persons_mobile_index ON persons (mobile_index) WHERE mobile_index <> '';

-- The id an app knows a person by (userId): stable per app and person, and
-- different across apps so apps cannot join their users on it.
CREATE TABLE person_app_users (
    app_id      text NOT NULL,
    user_id     text NOT NULL,
    person_id   bigint NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    platform_id text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, user_id),
    UNIQUE (app_id, person_id)
);
CREATE INDEX person_app_users_person ON person_app_users (person_id);

-- Scenes (accepting organisations) a person allowed to see their identity
-- in full when their code is scanned there.
CREATE TABLE person_authorizations (
    person_id   bigint NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    org_id      text NOT NULL,
    app_id      text NOT NULL,                  -- the app the person granted it through
    granted_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    PRIMARY KEY (person_id, org_id)
);

-- Data bound to a person by type (health status, vaccination, ...), sealed.
CREATE TABLE person_bound_data (
    person_id   bigint NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    data_type   text NOT NULL,
    data_name   text NOT NULL DEFAULT '',
    data_sealed text NOT NULL,
    app_id      text NOT NULL,                  -- the app that bound it last
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (person_id, data_type)
);

-- +goose Down
DROP TABLE person_bound_data;
DROP TABLE person_authorizations;
DROP TABLE person_app_users;
DROP TABLE persons;
