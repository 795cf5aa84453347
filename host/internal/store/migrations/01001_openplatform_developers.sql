-- +goose Up
-- Developers of the open platform (开发者账号): partners who register on
-- the portal, prove who they are (qualifications), create apps and apply
-- for capabilities. Not to be confused with tenancy's developers table,
-- which names each app's one contact.
--
-- Identity is a provider's (the city's unified identity later; the local
-- account provider by default): provider + subject name the account there.
CREATE SEQUENCE open_developer_seq;

CREATE TABLE open_developers (
    id            text COLLATE "C" PRIMARY KEY,          -- DV + 8 digits
    account       text COLLATE "C" NOT NULL UNIQUE,      -- lower case
    provider      text NOT NULL,
    subject       text COLLATE "C" NOT NULL,
    -- Developers belong to the main platform, where their apps are made;
    -- the console's data scope filters on it.
    platform_id   text COLLATE "C" NOT NULL,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
    frozen_reason text NOT NULL DEFAULT '',
    -- certification follows the latest qualification's review.
    certification text NOT NULL DEFAULT 'none' CHECK (certification IN ('none', 'pending', 'approved', 'rejected')),
    cert_kind     text NOT NULL DEFAULT '',              -- personal | enterprise once approved
    nickname      text NOT NULL DEFAULT '',
    avatar_url    text NOT NULL DEFAULT '',
    bio           text NOT NULL DEFAULT '',
    skills        text[] NOT NULL DEFAULT '{}',
    -- Personal data: sealed (SM4 under the master key), answered masked.
    mobile_sealed text NOT NULL DEFAULT '',
    mobile_masked text NOT NULL DEFAULT '',
    email_sealed  text NOT NULL DEFAULT '',
    email_masked  text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_login_at timestamptz,
    UNIQUE (provider, subject)
);
CREATE INDEX open_developers_created ON open_developers (created_at DESC);

-- The local account provider's credentials: argon2id hashes (the console's
-- parameters and policy) and the lockout counter.
CREATE TABLE open_local_accounts (
    account       text COLLATE "C" PRIMARY KEY,
    password_hash text NOT NULL,
    failures      int NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL
);

-- Portal sessions; only the SM3 of the token is kept.
CREATE TABLE open_sessions (
    token_hash   bytea PRIMARY KEY,
    developer_id text COLLATE "C" NOT NULL REFERENCES open_developers (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX open_sessions_developer ON open_sessions (developer_id);

-- +goose Down
DROP TABLE open_sessions;
DROP TABLE open_local_accounts;
DROP TABLE open_developers;
DROP SEQUENCE open_developer_seq;
