-- +goose Up
-- Qualifications (开发者资质) and their review. Files are uploaded first
-- (business licences: image or PDF, size-capped, kept here) and named by a
-- qualification; only administrators download them.
CREATE TABLE open_files (
    id           bigserial PRIMARY KEY,
    developer_id text COLLATE "C" NOT NULL REFERENCES open_developers (id) ON DELETE CASCADE,
    filename     text NOT NULL,
    content_type text NOT NULL,  -- sniffed, never the client's word
    size         int NOT NULL,
    content      bytea NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE TABLE open_qualifications (
    id              bigserial PRIMARY KEY,
    developer_id    text COLLATE "C" NOT NULL REFERENCES open_developers (id) ON DELETE CASCADE,
    platform_id     text COLLATE "C" NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('personal', 'enterprise')),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    -- personal: the real name and certificate number, sealed and masked.
    name_sealed     text NOT NULL DEFAULT '',
    name_masked     text NOT NULL DEFAULT '',
    cert_sealed     text NOT NULL DEFAULT '',
    cert_masked     text NOT NULL DEFAULT '',
    -- both: a contact (mobile or email), sealed and masked.
    contact_sealed  text NOT NULL DEFAULT '',
    contact_masked  text NOT NULL DEFAULT '',
    -- enterprise: its name, unified social credit code and licence.
    enterprise_name text NOT NULL DEFAULT '',
    credit_code     text COLLATE "C" NOT NULL DEFAULT '',
    licence_file_id bigint REFERENCES open_files (id),
    reason          text NOT NULL DEFAULT '',  -- a rejection's
    reviewed_by     text NOT NULL DEFAULT '',
    reviewed_at     timestamptz,
    submitted_at    timestamptz NOT NULL
);
-- One qualification waits for review at a time per developer.
CREATE UNIQUE INDEX open_qualifications_one_pending ON open_qualifications (developer_id) WHERE status = 'pending';
CREATE INDEX open_qualifications_status ON open_qualifications (status, submitted_at DESC);

-- +goose Down
DROP TABLE open_qualifications;
DROP TABLE open_files;
