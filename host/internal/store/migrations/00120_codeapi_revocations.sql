-- +goose Up
-- Withdrawn personal codes: every code of (app user, rule) issued before
-- revoked_before verifies as revoked (a lost phone, a cancelled account).
CREATE TABLE code_revocations (
    user_handle    bigint NOT NULL,
    rule_id        text NOT NULL,
    revoked_before timestamptz NOT NULL,
    reason         text NOT NULL DEFAULT '',
    revoked_by     text NOT NULL DEFAULT '',
    PRIMARY KEY (user_handle, rule_id)
);

-- Payment orders reported by apps (the manual's 5.1.14–5.1.16).
CREATE TABLE payment_orders (
    app_id         text NOT NULL,
    biz_order_no   text NOT NULL,
    kind           text NOT NULL,               -- traffic | payment
    user_id        text NOT NULL,
    merchant_code  text NOT NULL DEFAULT '',
    merchant_name  text NOT NULL DEFAULT '',
    org_code       text NOT NULL DEFAULT '',
    order_amount   bigint NOT NULL,             -- fen
    discount_amount bigint NOT NULL DEFAULT 0,
    pay_status     int NOT NULL DEFAULT 0,
    cash_url       text NOT NULL DEFAULT '',
    detail         jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (app_id, biz_order_no)
);
CREATE INDEX payment_orders_user ON payment_orders (app_id, user_id, created_at DESC);

-- +goose Down
DROP TABLE payment_orders;
DROP TABLE code_revocations;
