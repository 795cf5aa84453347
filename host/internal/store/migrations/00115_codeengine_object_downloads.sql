-- +goose Up
-- Download records of object codes (一物一码下载管理): every xlsx export of
-- code information and every zip of code images, with who took it, what
-- (the filters or the batch range, enough to take it again), when and how
-- many rows. For the console's data scope: platform_id is the
-- downloader's platform, region_code the region of what was taken (the
-- export's region filter or the operator's own region, a batch's region),
-- type_id its object type (NULL: every type).
CREATE TABLE object_code_downloads (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('export', 'images')),
    platform_id text NOT NULL,
    region_code text NOT NULL DEFAULT '',
    type_id     text,
    actor       text NOT NULL,                  -- operator:<id> or app:<id>
    account     text NOT NULL DEFAULT '',       -- the operator's account or the app id
    filters     jsonb NOT NULL DEFAULT '{}',
    rows        integer NOT NULL,
    file_name   text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX object_code_downloads_recent ON object_code_downloads (created_at DESC, id DESC);
CREATE INDEX object_code_downloads_platform ON object_code_downloads (platform_id, created_at DESC);

-- The console's list and export filter object codes by type and creation
-- time besides batch.
CREATE INDEX object_codes_type ON object_codes (type_id, number);
CREATE INDEX object_codes_created ON object_codes (created_at);

-- +goose Down
DROP INDEX object_codes_created;
DROP INDEX object_codes_type;
DROP TABLE object_code_downloads;
