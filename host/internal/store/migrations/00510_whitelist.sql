-- +goose Up
-- Whitelists (白名单): the scan whitelist names the domains whose object and
-- enterprise code URLs are recognized; the service whitelist the domains a
-- landing page may send a citizen to. A main-platform entry holds for every
-- platform, a sub-platform's for its own.
CREATE TABLE whitelist_entries (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('scan', 'service')),
    platform_id text COLLATE "C" NOT NULL,
    domain      text COLLATE "C" NOT NULL,   -- host, or *.host for its subdomains
    note        text NOT NULL DEFAULT '',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    UNIQUE (kind, platform_id, domain)
);

-- +goose Down
DROP TABLE whitelist_entries;
