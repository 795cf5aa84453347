-- +goose Up
-- Push (推送): the platform posts events to the apps that subscribed, signed
-- with the app's secret as the open API signs requests.
CREATE TABLE webhook_subscriptions (
    app_id      text COLLATE "C" PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    platform_id text COLLATE "C" NOT NULL,
    url         text NOT NULL,
    events      text[] NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX webhook_subscriptions_platform ON webhook_subscriptions (platform_id) WHERE enabled;

-- One row per event and subscriber: written in the transaction that makes
-- the event, so a change that committed is pushed and one that rolled back
-- is not.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    app_id          text COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    platform_id     text COLLATE "C" NOT NULL,
    event           text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dropped')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     int,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_app ON webhook_deliveries (app_id, id DESC);

-- Object codes that become active or are cancelled, by whatever path
-- (activation, entry, review, auto-approval): 推送激活二维码接口 hands the
-- code and the component it is bound to to the platform's subscribers.
-- +goose StatementBegin
CREATE FUNCTION webhook_object_code() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ev text := CASE NEW.status WHEN 'active' THEN 'object.activated' ELSE 'object.cancelled' END;
BEGIN
    INSERT INTO webhook_deliveries (app_id, platform_id, event, payload, created_at, next_attempt_at)
    SELECT s.app_id, NEW.platform_id, ev, jsonb_build_object(
            'token', NEW.token, 'number', NEW.number, 'batchId', NEW.batch_id, 'typeId', NEW.type_id,
            'status', NEW.status, 'regionCode', NEW.region_code, 'ownerUnit', NEW.owner_unit,
            'attributes', NEW.attributes, 'activatedAt', NEW.activated_at, 'cancelledAt', NEW.cancelled_at),
        now(), 'epoch' -- due at once, whatever the dispatching node's clock says
    FROM webhook_subscriptions s
    WHERE s.platform_id = NEW.platform_id AND s.enabled AND ev = ANY (s.events);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER object_codes_webhook_insert AFTER INSERT ON object_codes
    FOR EACH ROW WHEN (NEW.status = 'active') EXECUTE FUNCTION webhook_object_code();
CREATE TRIGGER object_codes_webhook_update AFTER UPDATE OF status ON object_codes
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('active', 'cancelled'))
    EXECUTE FUNCTION webhook_object_code();

-- +goose Down
DROP TRIGGER object_codes_webhook_update ON object_codes;
DROP TRIGGER object_codes_webhook_insert ON object_codes;
DROP FUNCTION webhook_object_code();
DROP TABLE webhook_deliveries, webhook_subscriptions;
