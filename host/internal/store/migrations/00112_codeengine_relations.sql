-- +goose Up
-- Relations between codes (码间关系), by unified number: a code has at most
-- one parent; cycles are refused by the service. Every change is kept in
-- the history.
CREATE TABLE code_relations (
    child_number  bigint PRIMARY KEY,
    parent_number bigint NOT NULL,
    platform_id   text NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX code_relations_parent ON code_relations (parent_number);

CREATE TABLE code_relation_history (
    id            bigserial PRIMARY KEY,
    action        text NOT NULL CHECK (action IN ('bind', 'unbind')),
    parent_number bigint NOT NULL,
    child_number  bigint NOT NULL,
    actor         text NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX code_relation_history_child ON code_relation_history (child_number, at);
CREATE INDEX code_relation_history_parent ON code_relation_history (parent_number, at);

-- +goose Down
DROP TABLE code_relation_history;
DROP TABLE code_relations;
