-- +goose Up
-- Review of object codes (一物一码信息审核). An object type may require its
-- competent department to review what is entered: activation and entry then
-- leave a code pending_review, not active, until a reviewer approves it
-- (active) or rejects it with a reason (rejected: the submitted data stays
-- for the submitter to correct and submit again). A submission nobody
-- reviewed within 72 hours is approved by the host's sweep when the type
-- allows it (review_auto_approve, read when the sweep runs).
ALTER TABLE object_types
    ADD COLUMN review_required     boolean NOT NULL DEFAULT false,
    ADD COLUMN review_auto_approve boolean NOT NULL DEFAULT true;

ALTER TABLE object_codes DROP CONSTRAINT object_codes_status_check;
ALTER TABLE object_codes ADD CONSTRAINT object_codes_status_check
    CHECK (status IN ('empty', 'pending_review', 'rejected', 'active', 'cancelled'));

-- One row per submission. Every writer of a row holds the row lock of its
-- code (object_codes) first, so a reviewer, the sweep of any node and a
-- resubmission never decide the same submission twice.
CREATE TABLE object_code_reviews (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token        text NOT NULL REFERENCES object_codes (token),
    number       bigint NOT NULL,
    platform_id  text NOT NULL,
    type_id      text NOT NULL,
    region_code  text NOT NULL DEFAULT '',
    action       text NOT NULL CHECK (action IN ('activate', 'entry', 'modify')),
    attributes   jsonb,                          -- as submitted
    owner_unit   text NOT NULL DEFAULT '',
    submitted_by text NOT NULL,                  -- app:<id>
    submitted_at timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,           -- auto-approval time, if the type allows it
    result       text NOT NULL DEFAULT 'pending'
                 CHECK (result IN ('pending', 'approved', 'rejected', 'auto_approved', 'withdrawn')),
    reviewer_id  bigint,                         -- the operator; NULL for the sweep
    reviewer     text NOT NULL DEFAULT '',       -- account, or "system" for auto-approval
    reviewed_at  timestamptz,
    reason       text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX object_code_reviews_one_pending ON object_code_reviews (token) WHERE result = 'pending';
CREATE INDEX object_code_reviews_due ON object_code_reviews (due_at) WHERE result = 'pending';
CREATE INDEX object_code_reviews_token ON object_code_reviews (token, id);
CREATE INDEX object_code_reviews_submitted ON object_code_reviews (submitted_at DESC, id DESC);

-- +goose Down
DROP TABLE object_code_reviews;
UPDATE object_codes SET status = 'empty' WHERE status IN ('pending_review', 'rejected');
ALTER TABLE object_codes DROP CONSTRAINT object_codes_status_check;
ALTER TABLE object_codes ADD CONSTRAINT object_codes_status_check CHECK (status IN ('empty', 'active', 'cancelled'));
ALTER TABLE object_types DROP COLUMN review_auto_approve, DROP COLUMN review_required;
