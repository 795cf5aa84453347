-- +goose Up
-- Landing tickets: an app hands its logged-in user a one-time ticket to
-- open a code's landing page as themselves. Stored hashed.
CREATE TABLE landing_tickets (
    ticket_hash text COLLATE "C" PRIMARY KEY,
    person_id   bigint NOT NULL,
    app_id      text COLLATE "C" NOT NULL,
    name_masked   text NOT NULL DEFAULT '',
    mobile_masked text NOT NULL DEFAULT '',
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX landing_tickets_expiry ON landing_tickets (expires_at);

-- Visitor sessions: what a redeemed ticket becomes (an HttpOnly cookie on
-- the landing pages). Stored hashed.
CREATE TABLE visitor_sessions (
    id_hash       text COLLATE "C" PRIMARY KEY,
    person_id     bigint NOT NULL,
    name_masked   text NOT NULL DEFAULT '',
    mobile_masked text NOT NULL DEFAULT '',
    expires_at    timestamptz NOT NULL
);
CREATE INDEX visitor_sessions_expiry ON visitor_sessions (expires_at);

-- +goose Down
DROP TABLE visitor_sessions, landing_tickets;
