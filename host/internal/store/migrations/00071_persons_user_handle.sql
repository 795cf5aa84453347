-- +goose Up
-- A numeric handle per (app, person): what a personal code carries, sealed,
-- so that decoding finds the issuing app, its userId and the person with one
-- indexed look-up.
ALTER TABLE person_app_users ADD COLUMN id bigserial;
ALTER TABLE person_app_users ADD CONSTRAINT person_app_users_id_key UNIQUE (id);

-- +goose Down
ALTER TABLE person_app_users DROP COLUMN id;
