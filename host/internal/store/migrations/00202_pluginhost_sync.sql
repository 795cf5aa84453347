-- +goose Up
-- Data sync (数据同步输出): apps of a platform, granted by an operator, pull
-- a plugin's records in commit order.
--
-- Every write stamps the record with its transaction id. A reader serves
-- only records whose transaction is older than the oldest one still running
-- (the snapshot's xmin): those are final, so a cursor that moves past them
-- never skips a record that commits later with a smaller stamp.
ALTER TABLE plugin_records ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX plugin_records_sync ON plugin_records (plugin, platform_id, collection, txid, id);

-- Deleted records, so that a puller learns of deletions too.
CREATE TABLE plugin_record_tombstones (
    plugin      text COLLATE "C" NOT NULL,
    platform_id text COLLATE "C" NOT NULL,
    collection  text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    code_token  text COLLATE "C" NOT NULL DEFAULT '',
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    deleted_at  timestamptz NOT NULL,
    PRIMARY KEY (plugin, platform_id, collection, txid, id)
);

-- Which app may pull which collections of a plugin on its platform, and
-- whether personal fields come in full.
CREATE TABLE plugin_sync_grants (
    platform_id text COLLATE "C" NOT NULL,
    plugin      text COLLATE "C" NOT NULL,
    app_id      text COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    collections text[] NOT NULL,
    personal    boolean NOT NULL DEFAULT false,
    granted_by  text NOT NULL,
    granted_at  timestamptz NOT NULL,
    PRIMARY KEY (platform_id, plugin, app_id)
);

-- +goose Down
DROP TABLE plugin_sync_grants, plugin_record_tombstones;
DROP INDEX plugin_records_sync;
ALTER TABLE plugin_records DROP COLUMN txid;
