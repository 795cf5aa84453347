-- +goose Up
-- Code rules, second step. A rule keeps the spec fields it took (and the
-- spec's name) when its spec is deleted, has a QR style, and names its
-- industry by code. Each version records what was last pushed to the rule's
-- sub-platform: apps of that platform issue codes by the pushed content, so
-- an edit takes effect there only when pushed again.
ALTER TABLE code_rules RENAME COLUMN industry TO industry_code;
ALTER TABLE code_rules
    ADD COLUMN spec_name   text NOT NULL DEFAULT '',
    ADD COLUMN spec_fields jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN qr_style    jsonb NOT NULL DEFAULT '{}',
    ADD CONSTRAINT code_rules_family_check
        CHECK (family IN ('identity', 'health', 'payment', 'enterprise', 'object', 'virtual'));
UPDATE code_rules r SET spec_fields = v.spec_fields
FROM (SELECT DISTINCT ON (rule_id) rule_id, spec_fields FROM code_rule_versions ORDER BY rule_id, version DESC) v
WHERE v.rule_id = r.id;
UPDATE code_rules r SET spec_name = s.name FROM code_specs s WHERE s.id = r.spec_id;
CREATE INDEX code_rules_platform ON code_rules (platform_id, created_at DESC);
CREATE INDEX code_rules_created ON code_rules (created_at DESC);
CREATE INDEX code_specs_created ON code_specs (created_at DESC);

ALTER TABLE code_rule_versions
    DROP COLUMN spec_fields,
    ADD COLUMN pushed jsonb;  -- {"function", "extensionFields", "collectionFields"} as last pushed; NULL: never
-- Rules already in their sub-platform's pool were pushed as they are.
UPDATE code_rule_versions v
SET pushed = jsonb_build_object('function', v.function, 'extensionFields', v.ext_fields, 'collectionFields', v.collection)
FROM code_rules r JOIN code_rule_pool p ON p.rule_id = r.id AND p.platform_id = r.platform_id
WHERE v.rule_id = r.id;

-- +goose Down
ALTER TABLE code_rule_versions
    DROP COLUMN pushed,
    ADD COLUMN spec_fields jsonb NOT NULL DEFAULT '[]';
UPDATE code_rule_versions v SET spec_fields = r.spec_fields FROM code_rules r WHERE r.id = v.rule_id;
DROP INDEX code_specs_created;
DROP INDEX code_rules_created;
DROP INDEX code_rules_platform;
ALTER TABLE code_rules
    DROP CONSTRAINT code_rules_family_check,
    DROP COLUMN qr_style,
    DROP COLUMN spec_fields,
    DROP COLUMN spec_name;
ALTER TABLE code_rules RENAME COLUMN industry_code TO industry;
