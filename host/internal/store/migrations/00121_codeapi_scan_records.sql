-- +goose Up
-- Scans that offline verifiers report later; the same scan uploaded twice
-- (a retried night upload) is stored once.
CREATE TABLE scan_records (
    code_id     text NOT NULL,
    org_id      text NOT NULL,
    terminal_no text NOT NULL DEFAULT '',
    scanned_at  timestamptz NOT NULL,
    app_id      text NOT NULL,
    platform_id text NOT NULL,
    rule_id     text NOT NULL,
    result      text NOT NULL,
    uploaded_at timestamptz NOT NULL,
    PRIMARY KEY (code_id, org_id, terminal_no, scanned_at)
);

-- +goose Down
DROP TABLE scan_records;
