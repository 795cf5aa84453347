-- +goose Up
-- Industry codes (行业管理编码): an object type may name the attribute that
-- holds an object's industry code and require it to be unique among the
-- type's live codes (pending review or active). The database enforces it,
-- whoever writes the attributes: a trigger copies the industry code out of
-- the attributes with the type's settings, and a partial unique index
-- refuses a second live code with the same one, so two concurrent
-- activations cannot both win. Cancelled and rejected codes free theirs.
ALTER TABLE object_types
    ADD COLUMN industry_code_field  text NOT NULL DEFAULT '',
    ADD COLUMN industry_code_unique boolean NOT NULL DEFAULT false;

ALTER TABLE object_codes
    ADD COLUMN industry_code   text,
    ADD COLUMN industry_unique boolean NOT NULL DEFAULT false;

CREATE UNIQUE INDEX object_codes_industry_unique ON object_codes (type_id, industry_code)
    WHERE industry_unique AND status IN ('pending_review', 'active');
CREATE INDEX object_codes_industry_code ON object_codes (industry_code) WHERE industry_code IS NOT NULL;

-- The type row is read FOR SHARE: a change of the type's industry settings
-- (which rewrites its codes) and a write of one of its codes are ordered.
-- +goose StatementBegin
CREATE FUNCTION object_codes_industry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    field  text;
    unique_ boolean;
BEGIN
    NEW.industry_code := NULL;
    NEW.industry_unique := false;
    IF NEW.type_id IS NULL OR NEW.attributes IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT industry_code_field, industry_code_unique INTO field, unique_
        FROM object_types WHERE id = NEW.type_id FOR SHARE;
    IF field IS NULL OR field = '' THEN
        RETURN NEW;
    END IF;
    NEW.industry_code := nullif(btrim(NEW.attributes ->> field), '');
    NEW.industry_unique := unique_ AND NEW.industry_code IS NOT NULL;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- Pre-issued empty codes (no attributes) skip the function altogether.
CREATE TRIGGER object_codes_industry BEFORE INSERT OR UPDATE OF attributes, type_id ON object_codes
    FOR EACH ROW WHEN (NEW.attributes IS NOT NULL OR NEW.industry_code IS NOT NULL)
    EXECUTE FUNCTION object_codes_industry();

-- +goose Down
DROP TRIGGER object_codes_industry ON object_codes;
DROP FUNCTION object_codes_industry();
ALTER TABLE object_codes DROP COLUMN industry_unique, DROP COLUMN industry_code;
ALTER TABLE object_types DROP COLUMN industry_code_unique, DROP COLUMN industry_code_field;
