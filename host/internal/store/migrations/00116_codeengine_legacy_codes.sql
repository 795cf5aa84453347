-- +goose Up
-- Codes of an earlier generation (一企一码兼容): stickers printed before the
-- platform, imported with their content exactly as printed (an old URL or
-- a bare string) and what each stands for — an object code or an
-- enterprise. Scanning the old content reaches the new landing page; the
-- old codes are read-only. An object code an old sticker stands for (bound
-- to it, or created from the import row) is marked generation 'legacy' and
-- refuses every edit, so what the old sticker promised stays true.
ALTER TABLE object_codes
    ADD COLUMN generation text NOT NULL DEFAULT 'current' CHECK (generation IN ('current', 'legacy'));

CREATE TABLE legacy_codes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content       text NOT NULL UNIQUE,          -- as printed: scanned content is matched exactly
    platform_id   text NOT NULL,                 -- the target's platform
    region_code   text NOT NULL DEFAULT '',      -- the target object's region (data scope)
    target_kind   text NOT NULL CHECK (target_kind IN ('object', 'enterprise')),
    object_token  text REFERENCES object_codes (token),
    enterprise_id text REFERENCES enterprises (id),
    note          text NOT NULL DEFAULT '',
    imported_by   text NOT NULL,                 -- operator:<id>
    created_at    timestamptz NOT NULL,
    CHECK ((target_kind = 'object') = (object_token IS NOT NULL)),
    CHECK ((target_kind = 'enterprise') = (enterprise_id IS NOT NULL))
);
CREATE INDEX legacy_codes_object ON legacy_codes (object_token) WHERE object_token IS NOT NULL;
CREATE INDEX legacy_codes_recent ON legacy_codes (created_at DESC, id DESC);
CREATE INDEX object_codes_legacy ON object_codes (created_at) WHERE generation = 'legacy';

-- +goose Down
DROP INDEX object_codes_legacy;
DROP TABLE legacy_codes;
ALTER TABLE object_codes DROP COLUMN generation;
