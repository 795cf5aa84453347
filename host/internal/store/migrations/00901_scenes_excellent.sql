-- +goose Up
-- Excellent scenes (优秀场景): showcases of scenes that work well, with
-- uploaded images. Disabled ones are seen by platform administrators only.
CREATE TABLE excellent_scenes (
    id          bigserial PRIMARY KEY,
    platform_id text COLLATE "C" NOT NULL,
    scene_id    bigint REFERENCES scenes (id) ON DELETE SET NULL,
    title       text NOT NULL,
    summary     text NOT NULL DEFAULT '',
    content     text NOT NULL DEFAULT '',     -- sanitized HTML
    image_ids   bigint[] NOT NULL DEFAULT '{}',
    enabled     boolean NOT NULL DEFAULT true,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX excellent_scenes_created ON excellent_scenes (created_at);

CREATE TABLE excellent_scene_files (
    id           bigserial PRIMARY KEY,
    platform_id  text COLLATE "C" NOT NULL,
    content_type text NOT NULL,
    name         text NOT NULL,
    data         bytea NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL
);

-- +goose Down
DROP TABLE excellent_scene_files;
DROP TABLE excellent_scenes;
