-- +goose Up
-- Blacklists of the risk-control subsystem (风控黑名单): IP addresses and
-- ranges, access accounts (apps), and users. A released (处理/解除) entry
-- stays for the record.
CREATE TABLE risk_blacklist (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('ip', 'account', 'user')),
    value       text COLLATE "C" NOT NULL,  -- a CIDR (one address is /32 or /128), an app id, a user id
    reason      text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'released')),
    expires_at  timestamptz,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    released_by text,
    released_at timestamptz
);
CREATE UNIQUE INDEX risk_blacklist_active ON risk_blacklist (kind, value) WHERE status = 'active';

-- +goose Down
DROP TABLE risk_blacklist;
