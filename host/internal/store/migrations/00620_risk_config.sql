-- +goose Up
-- Risk configuration (风控配置): indicators counted over sliding windows,
-- rules over them per app and model, the apps' risk modes and the risk
-- dictionary. Rules are data the Rego policy (policies/risk) reads; the
-- policy stays the one place that decides.

-- 风控指标: what is counted. Counts are per event type, per value of the
-- dimension (an IP, a user ...), over the last window_seconds.
CREATE TABLE risk_indicators (
    code           text COLLATE "C" PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    name           text NOT NULL,
    dimension      text NOT NULL CHECK (dimension IN ('ip', 'user', 'org', 'app', 'code')),
    window_seconds int NOT NULL CHECK (window_seconds BETWEEN 10 AND 86400),
    event_types    text[] NOT NULL CHECK (cardinality(event_types) > 0 AND event_types <@ ARRAY['generate', 'show', 'verify']),
    remark         text NOT NULL DEFAULT '',
    builtin        boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO risk_indicators (code, name, dimension, window_seconds, event_types, builtin) VALUES
    ('user_1m', '用户每分钟次数', 'user', 60, ARRAY['generate', 'show', 'verify'], true),
    ('ip_1m', 'IP每分钟次数', 'ip', 60, ARRAY['generate', 'show', 'verify'], true),
    ('org_1m', '受理机构每分钟次数', 'org', 60, ARRAY['generate', 'show', 'verify'], true),
    ('code_1m', '单码每分钟次数', 'code', 60, ARRAY['generate', 'show', 'verify'], true);

-- 风控规则: an indicator's threshold for one app (or, with app_id '', for
-- every app of the platform; the main platform's such rules cover the
-- city) and one model (event type). Enabled rules cannot be edited.
CREATE TABLE risk_rules (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    platform_id text COLLATE "C" NOT NULL,
    app_id      text COLLATE "C" NOT NULL DEFAULT '',
    model       text NOT NULL CHECK (model IN ('generate', 'show', 'verify')),
    indicator   text COLLATE "C" NOT NULL REFERENCES risk_indicators (code),
    threshold   double precision NOT NULL CHECK (threshold > 0),
    action      text NOT NULL CHECK (action IN ('flag', 'intercept')),
    status      text NOT NULL DEFAULT 'disabled' CHECK (status IN ('enabled', 'disabled')),
    remark      text NOT NULL DEFAULT '',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX risk_rules_platform ON risk_rules (platform_id, app_id);

-- 风控应用: how risk control treats an app: enforce (the default for apps
-- not listed), monitor (decisions recorded, never enforced) or off.
CREATE TABLE risk_apps (
    app_id      text COLLATE "C" PRIMARY KEY,
    platform_id text COLLATE "C" NOT NULL,
    mode        text NOT NULL CHECK (mode IN ('enforce', 'monitor', 'off')),
    remark      text NOT NULL DEFAULT '',
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- 风控字典: parameter items and their sub-items (labels of models,
-- dimensions, actions ... for the console, and operators' own).
CREATE TABLE risk_dict (
    id         bigserial PRIMARY KEY,
    item_code  text COLLATE "C" NOT NULL,
    item_name  text NOT NULL,
    sub_code   text COLLATE "C" NOT NULL,
    sub_name   text NOT NULL,
    sort       int NOT NULL DEFAULT 0,
    remark     text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (item_code, sub_code)
);
INSERT INTO risk_dict (item_code, item_name, sub_code, sub_name, sort) VALUES
    ('risk_model', '风控模型', 'generate', '生码', 1),
    ('risk_model', '风控模型', 'show', '亮码', 2),
    ('risk_model', '风控模型', 'verify', '验码', 3),
    ('risk_dimension', '指标维度', 'ip', 'IP地址', 1),
    ('risk_dimension', '指标维度', 'user', '用户', 2),
    ('risk_dimension', '指标维度', 'org', '受理机构', 3),
    ('risk_dimension', '指标维度', 'app', '应用', 4),
    ('risk_dimension', '指标维度', 'code', '码', 5),
    ('risk_action', '处置方式', 'flag', '标记', 1),
    ('risk_action', '处置方式', 'intercept', '拦截', 2),
    ('risk_app_mode', '风控模式', 'enforce', '拦截生效', 1),
    ('risk_app_mode', '风控模式', 'monitor', '仅监测', 2),
    ('risk_app_mode', '风控模式', 'off', '不受风控', 3);

-- Records name the rules that fired, and whether the decision was
-- enforced (an app in monitor mode is never intercepted).
ALTER TABLE risk_records ADD COLUMN rule_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN enforced boolean NOT NULL DEFAULT true;
CREATE INDEX risk_records_app ON risk_records (app_id, created_at DESC);

-- +goose Down
DROP INDEX risk_records_app;
ALTER TABLE risk_records DROP COLUMN rule_ids, DROP COLUMN enforced;
DROP TABLE risk_dict;
DROP TABLE risk_apps;
DROP TABLE risk_rules;
DROP TABLE risk_indicators;
