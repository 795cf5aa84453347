-- +goose Up
-- Service lists (服务清单): which codes a service of the pool serves —
-- person, enterprise or object codes — narrowed by the departments that
-- offer it and by the industries and object types of the codes.
ALTER TABLE scene_services
    ADD COLUMN code_kinds   text[] COLLATE "C" NOT NULL DEFAULT '{}',  -- person, enterprise, object
    ADD COLUMN departments  text[] COLLATE "C" NOT NULL DEFAULT '{}',  -- empty: every department
    ADD COLUMN industries   text[] COLLATE "C" NOT NULL DEFAULT '{}',  -- empty: every industry
    ADD COLUMN object_types text[] COLLATE "C" NOT NULL DEFAULT '{}';  -- empty: every object type

-- +goose Down
ALTER TABLE scene_services DROP COLUMN code_kinds, DROP COLUMN departments, DROP COLUMN industries, DROP COLUMN object_types;
