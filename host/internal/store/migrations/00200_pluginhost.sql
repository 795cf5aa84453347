-- +goose Up
-- Plugins and their versions. The artefact (a .wasm module or an
-- executable) is stored with its manifest so that every node can load the
-- same bytes; its SM3 is checked when it is stored and again before every
-- start.
CREATE TABLE plugins (
    name           text COLLATE "C" PRIMARY KEY,
    title          text NOT NULL,
    vendor         text NOT NULL DEFAULT '',
    runtime        text NOT NULL CHECK (runtime IN ('wasm', 'native')),
    active_version text NOT NULL,
    generation     bigint NOT NULL DEFAULT 1, -- bumped on every activation: nodes reload when it changes
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plugin_versions (
    name         text COLLATE "C" NOT NULL REFERENCES plugins (name) ON DELETE CASCADE,
    version      text COLLATE "C" NOT NULL,
    manifest     jsonb NOT NULL,
    artefact     bytea NOT NULL,
    sm3          text NOT NULL,
    signature    text NOT NULL DEFAULT '', -- hex SM2 signature of the package digest, when the vendor signed it
    signer       text NOT NULL DEFAULT '', -- id of the trusted vendor key that verified it
    installed_by text NOT NULL DEFAULT '',
    installed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

-- Vendor keys trusted to sign plugin packages.
CREATE TABLE plugin_vendor_keys (
    id         text COLLATE "C" PRIMARY KEY,
    vendor     text NOT NULL,
    public_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Per-platform enablement and configuration.
CREATE TABLE plugin_platforms (
    platform_id text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL REFERENCES plugins (name) ON DELETE CASCADE,
    enabled     boolean NOT NULL DEFAULT false,
    config      jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_id, name)
);

-- Platform settings of the plugin host.
CREATE TABLE plugin_platform_settings (
    platform_id        text COLLATE "C" PRIMARY KEY,
    require_signature  boolean NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Landing bindings: which plugin route serves a scanned code, from the most
-- specific (the code itself) to the least (the code kind). The platform's
-- standard landing page answers when nothing matches.
CREATE TABLE landing_bindings (
    id          bigserial PRIMARY KEY,
    platform_id text COLLATE "C" NOT NULL,
    scope       text NOT NULL CHECK (scope IN ('code', 'owner_type', 'region_type', 'type', 'kind')),
    code_token  text COLLATE "C" NOT NULL DEFAULT '',
    owner_unit  text NOT NULL DEFAULT '',
    region_code text COLLATE "C" NOT NULL DEFAULT '',
    type_id     text COLLATE "C" NOT NULL DEFAULT '',
    code_kind   text NOT NULL DEFAULT '',
    plugin      text COLLATE "C" NOT NULL REFERENCES plugins (name) ON DELETE CASCADE,
    title       text NOT NULL DEFAULT '',
    state       text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'review', 'online', 'offline')),
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One online binding per key: the routing decision is unambiguous.
CREATE UNIQUE INDEX landing_bindings_online ON landing_bindings
    (platform_id, scope, code_token, owner_unit, region_code, type_id, code_kind) WHERE state = 'online';

-- The platform's standard landing page (标准落地页) settings.
CREATE TABLE landing_pages (
    platform_id text COLLATE "C" PRIMARY KEY,
    settings    jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Plugin records: JSON documents per plugin, platform and collection.
CREATE TABLE plugin_records (
    plugin      text COLLATE "C" NOT NULL,
    platform_id text COLLATE "C" NOT NULL,
    collection  text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    code_token  text COLLATE "C" NOT NULL DEFAULT '',
    doc         jsonb NOT NULL,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plugin, platform_id, collection, id)
);
CREATE INDEX plugin_records_created ON plugin_records (plugin, platform_id, collection, created_at, id);
CREATE INDEX plugin_records_code ON plugin_records (plugin, platform_id, collection, code_token) WHERE code_token <> '';
CREATE INDEX plugin_records_doc ON plugin_records USING gin (doc jsonb_path_ops);

-- Plugin files (photos of reports).
CREATE TABLE plugin_files (
    id           text COLLATE "C" PRIMARY KEY,
    plugin       text COLLATE "C" NOT NULL,
    platform_id  text COLLATE "C" NOT NULL,
    name         text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sm3          text NOT NULL,
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Messages plugins send through message templates: an outbox a sender
-- drains (and tests read).
CREATE TABLE plugin_notifications (
    id          text COLLATE "C" PRIMARY KEY,
    plugin      text COLLATE "C" NOT NULL,
    platform_id text COLLATE "C" NOT NULL,
    template    text NOT NULL,
    recipient   text NOT NULL,
    params      jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'queued',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One-time landing access tokens (令牌获取信息): stored hashed.
CREATE TABLE landing_tokens (
    token_hash  text COLLATE "C" PRIMARY KEY,
    platform_id text COLLATE "C" NOT NULL,
    plugin      text COLLATE "C" NOT NULL,
    code        jsonb NOT NULL,
    visitor     jsonb NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX landing_tokens_expiry ON landing_tokens (expires_at);

-- +goose Down
DROP TABLE landing_tokens, plugin_notifications, plugin_files, plugin_records, landing_pages,
    landing_bindings, plugin_platform_settings, plugin_platforms, plugin_vendor_keys, plugin_versions, plugins;
