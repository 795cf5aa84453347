-- +goose Up
-- 互联互通: external business codes (业务码) other systems issue, which the
-- platform recognizes by a match rule and routes to a landing URL or to
-- their own parse service; the log of every parse (业务码解析日志); alert
-- templates, rules and records (告警管理/告警记录); and the
-- mutual-recognition scenes (互通场景) authorized to decode them.
CREATE TABLE interop_codes (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    app_id      text COLLATE "C" NOT NULL,
    app_name    text NOT NULL,                 -- as it was when the code was saved, for search
    platform_id text COLLATE "C" NOT NULL,     -- the app's platform
    region_code text COLLATE "C" NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    match_kind  text NOT NULL CHECK (match_kind IN ('prefix', 'regex', 'template')),
    match_value text COLLATE "C" NOT NULL,
    target_kind text NOT NULL CHECK (target_kind IN ('redirect', 'service')),
    target_url  text NOT NULL,
    timeout_ms  integer NOT NULL CHECK (timeout_ms BETWEEN 100 AND 30000),
    status      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT interop_codes_name UNIQUE (platform_id, name),
    CONSTRAINT interop_codes_rule UNIQUE (platform_id, match_kind, match_value)
);
CREATE INDEX interop_codes_created ON interop_codes (created_at DESC);

-- One row per parse. content is masked: the rule's literal part and a few
-- characters of the rest, never the whole code.
CREATE TABLE interop_parse_logs (
    id            bigserial PRIMARY KEY,
    code_id       bigint,                      -- NULL when nothing matched
    code_name     text NOT NULL DEFAULT '',
    app_id        text COLLATE "C" NOT NULL DEFAULT '',
    app_name      text NOT NULL DEFAULT '',
    platform_id   text COLLATE "C" NOT NULL,   -- the code's platform; the caller's when nothing matched
    region_code   text COLLATE "C" NOT NULL DEFAULT '',
    caller_app_id text COLLATE "C" NOT NULL,
    scene_id      bigint,
    scene_name    text NOT NULL DEFAULT '',
    accept_org_id text NOT NULL DEFAULT '',
    content       text NOT NULL,
    status        text NOT NULL CHECK (status IN ('success', 'failure')),
    reason        text NOT NULL DEFAULT '',
    latency_ms    integer NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX interop_parse_logs_platform ON interop_parse_logs (platform_id, created_at DESC);
CREATE INDEX interop_parse_logs_code ON interop_parse_logs (code_id, created_at DESC);
CREATE INDEX interop_parse_logs_time ON interop_parse_logs (created_at DESC);

-- Alert templates: what is measured. Rules pick one and set its thresholds.
CREATE TABLE interop_alert_templates (
    id                  text COLLATE "C" PRIMARY KEY,
    name                text NOT NULL,
    metric              text NOT NULL CHECK (metric IN ('failure_rate', 'volume')),
    unit                text NOT NULL,
    description         text NOT NULL,
    default_threshold   double precision NOT NULL,
    default_window      integer NOT NULL,       -- seconds
    default_min_samples integer NOT NULL,
    sort                integer NOT NULL
);
INSERT INTO interop_alert_templates VALUES
    ('parse_failure_rate', '解析失败率', 'failure_rate', '%',
     '窗口内解析失败次数占解析次数的百分比达到阈值时告警；解析次数不足最小样本数时不告警。', 50, 300, 20, 10),
    ('parse_volume', '解析量突增', 'volume', '次',
     '窗口内解析次数（调用量）达到阈值时告警。', 1000, 60, 0, 20);

CREATE TABLE interop_alert_rules (
    id            bigserial PRIMARY KEY,
    code_id       bigint NOT NULL REFERENCES interop_codes (id) ON DELETE CASCADE,
    template_id   text COLLATE "C" NOT NULL REFERENCES interop_alert_templates (id),
    threshold     double precision NOT NULL,
    window_sec    integer NOT NULL CHECK (window_sec BETWEEN 10 AND 3600),
    min_samples   integer NOT NULL DEFAULT 0,
    cooldown_sec  integer NOT NULL CHECK (cooldown_sec BETWEEN 10 AND 86400),
    note          text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    last_fired_at timestamptz,                  -- one record per cooldown, whichever node saw it
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX interop_alert_rules_code ON interop_alert_rules (code_id);

-- Alert records keep the names as they were when the alert fired: the
-- rule or the code may be gone since.
CREATE TABLE interop_alert_records (
    id          bigserial PRIMARY KEY,
    rule_id     bigint REFERENCES interop_alert_rules (id) ON DELETE SET NULL,
    template_id text COLLATE "C" NOT NULL,
    code_id     bigint NOT NULL,
    code_name   text NOT NULL,
    app_id      text COLLATE "C" NOT NULL,
    app_name    text NOT NULL,
    platform_id text COLLATE "C" NOT NULL,
    region_code text COLLATE "C" NOT NULL DEFAULT '',
    measured    double precision NOT NULL,
    threshold   double precision NOT NULL,
    samples     bigint NOT NULL,
    failures    bigint NOT NULL,
    window_sec  integer NOT NULL,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX interop_alert_records_platform ON interop_alert_records (platform_id, created_at DESC);
CREATE INDEX interop_alert_records_time ON interop_alert_records (created_at DESC);

-- Mutual-recognition scenes (互通场景). type, auth_level and owner_unit are
-- fixed at creation. The contact's phone is sealed (SM4), shown masked.
CREATE TABLE interop_scenes (
    id           bigserial PRIMARY KEY,
    platform_id  text COLLATE "C" NOT NULL,
    region_code  text COLLATE "C" NOT NULL DEFAULT '',
    code         text COLLATE "C" NOT NULL UNIQUE,
    name         text NOT NULL,
    category     text NOT NULL DEFAULT '',
    type         text NOT NULL,
    auth_level   integer NOT NULL CHECK (auth_level BETWEEN 0 AND 4),
    intro        text NOT NULL DEFAULT '',
    contact      text NOT NULL DEFAULT '',
    phone_sealed text NOT NULL DEFAULT '',
    phone_masked text NOT NULL DEFAULT '',
    sort_no      integer NOT NULL DEFAULT 0,
    owner_unit   text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    routing      boolean NOT NULL DEFAULT true,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- A scene authorized (授权) to decode a business code. A scene holding
-- grants cannot be deleted; a deleted code takes its grants with it.
CREATE TABLE interop_scene_grants (
    scene_id   bigint NOT NULL REFERENCES interop_scenes (id),
    code_id    bigint NOT NULL REFERENCES interop_codes (id) ON DELETE CASCADE,
    granted_by text NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (scene_id, code_id)
);
CREATE INDEX interop_scene_grants_code ON interop_scene_grants (code_id);

-- +goose Down
DROP TABLE interop_scene_grants;
DROP TABLE interop_scenes;
DROP TABLE interop_alert_records;
DROP TABLE interop_alert_rules;
DROP TABLE interop_alert_templates;
DROP TABLE interop_parse_logs;
DROP TABLE interop_codes;
