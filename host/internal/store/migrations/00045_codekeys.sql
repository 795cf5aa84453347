-- +goose Up
-- SM2 keys that sign dynamic codes, per platform. The private key is stored
-- sealed under the master key; the public key is published at /api/keys.
-- A retired key stays published until verify_until, so codes it signed keep
-- verifying for their whole validity.
CREATE TABLE code_signing_keys (
    kid            bigint PRIMARY KEY,         -- 32-bit key id carried in codes
    platform_id    text NOT NULL,
    public_key     text NOT NULL,              -- hex 04||X||Y
    private_sealed text NOT NULL,
    status         text NOT NULL CHECK (status IN ('active', 'retired')),
    created_at     timestamptz NOT NULL,
    retired_at     timestamptz,
    verify_until   timestamptz
);
CREATE UNIQUE INDEX code_signing_keys_one_active ON code_signing_keys (platform_id) WHERE status = 'active';

-- +goose Down
DROP TABLE code_signing_keys;
