-- +goose Up
-- Batch QR image jobs. Only package qr reads or writes these tables.
CREATE TABLE qr_jobs (
    id           text PRIMARY KEY,
    platform_id  text NOT NULL,                 -- data scope
    created_by   text NOT NULL,
    kind         text NOT NULL,                 -- what the images are (object, enterprise, ...); names the zip
    status       text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    total        integer NOT NULL CHECK (total > 0),
    done         integer NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '',
    style        jsonb NOT NULL,
    -- lease counts claims; a worker writes progress, chunks and the result
    -- only while the row still carries its lease, so a worker presumed dead
    -- cannot overwrite the run that replaced it.
    lease        integer NOT NULL DEFAULT 0,
    recoveries   integer NOT NULL DEFAULT 0,    -- times re-queued after a worker died
    heartbeat_at timestamptz,                   -- set while running
    zip_bytes    bigint NOT NULL DEFAULT 0,
    zip_chunks   integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX qr_jobs_queued ON qr_jobs (created_at, id) WHERE status = 'queued';
CREATE INDEX qr_jobs_running ON qr_jobs (heartbeat_at) WHERE status = 'running';
CREATE INDEX qr_jobs_expires ON qr_jobs (expires_at) WHERE status <> 'expired';
CREATE INDEX qr_jobs_platform ON qr_jobs (platform_id, created_at DESC);

-- What to draw, deleted once the zip is written.
CREATE TABLE qr_job_items (
    job_id  text NOT NULL REFERENCES qr_jobs (id) ON DELETE CASCADE,
    seq     integer NOT NULL,                   -- 0-based order in the zip
    name    text NOT NULL,                      -- sanitized, unique in the job
    content text NOT NULL,
    caption text NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, seq)
);

-- The zip in 1 MiB pieces, so any node can stream it without a shared disk.
CREATE TABLE qr_job_chunks (
    job_id text NOT NULL REFERENCES qr_jobs (id) ON DELETE CASCADE,
    lease  integer NOT NULL,
    seq    integer NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (job_id, lease, seq)
);
ALTER TABLE qr_job_chunks ALTER COLUMN data SET STORAGE EXTERNAL; -- already compressed: skip TOAST compression

-- +goose Down
DROP TABLE IF EXISTS qr_job_chunks;
DROP TABLE IF EXISTS qr_job_items;
DROP TABLE IF EXISTS qr_jobs;
