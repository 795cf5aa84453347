-- +goose Up
-- Console operators, roles, menus, sessions and image captchas.
-- Only package auth reads or writes these tables. Timestamps are written by
-- the service from its clock (no now() defaults in the logic), so lockouts
-- and session expiry follow one time source.

-- The menu tree; buttons carry the permission codes that roles grant.
CREATE TABLE auth_menus (
    id         bigserial PRIMARY KEY,
    parent_id  bigint REFERENCES auth_menus (id),  -- children must go first
    key        text UNIQUE,                        -- stable key of a built-in entry; NULL for console-made ones
    name       text NOT NULL,
    path       text NOT NULL DEFAULT '',
    icon       text NOT NULL DEFAULT '',
    sort       integer NOT NULL DEFAULT 0,
    kind       text NOT NULL CHECK (kind IN ('menu', 'button')),
    permission text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX auth_menus_parent ON auth_menus (parent_id);

CREATE TABLE auth_roles (
    id          bigserial PRIMARY KEY,
    platform_id text NOT NULL,
    code        text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    status      text NOT NULL CHECK (status IN ('enabled', 'disabled')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT auth_roles_platform_code UNIQUE (platform_id, code)
);

CREATE TABLE auth_role_menus (
    role_id bigint NOT NULL REFERENCES auth_roles (id) ON DELETE CASCADE,
    menu_id bigint NOT NULL REFERENCES auth_menus (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, menu_id)
);
CREATE INDEX auth_role_menus_menu ON auth_role_menus (menu_id);

CREATE TABLE auth_operators (
    id                   bigserial PRIMARY KEY,
    account              text NOT NULL,
    name                 text NOT NULL DEFAULT '',
    mobile_sealed        text NOT NULL DEFAULT '',   -- codec Sealer, purpose operator-mobile
    mobile_index         text NOT NULL DEFAULT '',   -- codec BlindIndex of the normalized number
    email                text NOT NULL DEFAULT '',
    type                 text NOT NULL CHECK (type IN ('root', 'platform_admin', 'staff')),
    platform_id          text NOT NULL,
    region_code          text NOT NULL DEFAULT '',   -- non-empty: a region account
    department_id        text NOT NULL DEFAULT '',
    parent_id            bigint REFERENCES auth_operators (id),  -- sub-accounts go first (or in the same statement)
    object_types         text[] NOT NULL DEFAULT '{}',
    status               text NOT NULL CHECK (status IN ('enabled', 'disabled')),
    password_hash        text NOT NULL,              -- PHC string, argon2id
    must_change_password boolean NOT NULL,
    password_changed_at  timestamptz,
    failed_logins        integer NOT NULL DEFAULT 0,
    locked_until         timestamptz,
    last_login_at        timestamptz,
    last_login_ip        text NOT NULL DEFAULT '',
    created_by           bigint,                     -- no FK: the creator may be deleted later
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
-- Accounts are unique regardless of case, so "Admin" cannot shadow "admin".
CREATE UNIQUE INDEX auth_operators_account ON auth_operators (lower(account));
-- At most one initial administrator, even when several hosts seed at once.
CREATE UNIQUE INDEX auth_operators_one_root ON auth_operators (type) WHERE type = 'root';
-- Lists are filtered by platform and region prefix (data scope).
CREATE INDEX auth_operators_scope ON auth_operators (platform_id, region_code text_pattern_ops);
CREATE INDEX auth_operators_mobile ON auth_operators (mobile_index) WHERE mobile_index <> '';
CREATE INDEX auth_operators_parent ON auth_operators (parent_id) WHERE parent_id IS NOT NULL;

-- Deleting a role removes its assignments (cascade).
CREATE TABLE auth_operator_roles (
    operator_id bigint NOT NULL REFERENCES auth_operators (id) ON DELETE CASCADE,
    role_id     bigint NOT NULL REFERENCES auth_roles (id) ON DELETE CASCADE,
    PRIMARY KEY (operator_id, role_id)
);
CREATE INDEX auth_operator_roles_role ON auth_operator_roles (role_id);

-- Console sessions: only the SM3 hash of the bearer token is stored.
CREATE TABLE auth_sessions (
    id           bigserial PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    operator_id  bigint NOT NULL REFERENCES auth_operators (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,             -- idle timeout slides from here
    expires_at   timestamptz NOT NULL,             -- absolute end of the session
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_operator ON auth_sessions (operator_id);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);
CREATE INDEX auth_sessions_last_seen ON auth_sessions (last_seen_at);

-- Image captcha answers, shared by every host node; single use.
CREATE TABLE auth_captchas (
    id          text PRIMARY KEY,
    answer_hash text NOT NULL,                     -- SM3 hex of id ":" answer
    expires_at  timestamptz NOT NULL
);
CREATE INDEX auth_captchas_expires ON auth_captchas (expires_at);

-- +goose Down
DROP TABLE IF EXISTS auth_captchas;
DROP TABLE IF EXISTS auth_sessions;
DROP TABLE IF EXISTS auth_operator_roles;
DROP TABLE IF EXISTS auth_operators;
DROP TABLE IF EXISTS auth_role_menus;
DROP TABLE IF EXISTS auth_roles;
DROP TABLE IF EXISTS auth_menus;
