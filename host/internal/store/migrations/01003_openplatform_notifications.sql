-- +goose Up
-- Notifications to developers (结果通知): message templates rendered into
-- an outbox, one row per channel. Site rows are the developer's
-- notifications on the portal; email and SMS rows are handed to the
-- notifier (the default only records them). Recipients are kept masked.
CREATE TABLE open_message_templates (
    code       text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    title      text NOT NULL,
    body       text NOT NULL,  -- {{placeholders}} filled at rendering
    channels   text[] NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO open_message_templates (code, name, title, body, channels) VALUES
('qualification.submitted', '资质提交受理', '开发者资质已提交', '您的{{kind}}资质已提交，平台将在3个工作日内完成审核。', '{site}'),
('qualification.approved', '资质审核通过', '开发者资质审核通过', '您的{{kind}}资质已审核通过，现在可以创建应用并申请服务能力。', '{site,email,sms}'),
('qualification.rejected', '资质审核驳回', '开发者资质审核未通过', '您的{{kind}}资质未通过审核，原因：{{reason}}。请修改后重新提交。', '{site,email,sms}'),
('application.submitted', '能力申请受理', '服务能力申请已受理', '应用“{{app}}”申请的能力“{{capability}}”已受理，等待平台审核。', '{site}'),
('application.approved', '能力申请通过', '服务能力申请审核通过', '应用“{{app}}”申请的能力“{{capability}}”已开通，配额：{{quota}}。', '{site,email}'),
('application.rejected', '能力申请驳回', '服务能力申请未通过', '应用“{{app}}”申请的能力“{{capability}}”未通过审核，原因：{{reason}}。', '{site,email}'),
('developer.frozen', '账号冻结', '开发者账号已冻结', '您的开发者账号已被冻结，原因：{{reason}}。冻结期间无法登录，应用调用将被拒绝。', '{email,sms}'),
('developer.restored', '账号恢复', '开发者账号已恢复', '您的开发者账号已恢复正常使用。', '{site,email,sms}');

CREATE TABLE open_outbox (
    id           bigserial PRIMARY KEY,
    developer_id text COLLATE "C" NOT NULL REFERENCES open_developers (id) ON DELETE CASCADE,
    channel      text NOT NULL CHECK (channel IN ('site', 'email', 'sms')),
    template     text COLLATE "C" NOT NULL,
    recipient    text NOT NULL DEFAULT '',  -- masked
    title        text NOT NULL,
    body         text NOT NULL,
    status       text NOT NULL CHECK (status IN ('recorded', 'sent', 'failed')),
    error        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    read_at      timestamptz
);
CREATE INDEX open_outbox_developer ON open_outbox (developer_id, channel, id DESC);

-- +goose Down
DROP TABLE open_outbox;
DROP TABLE open_message_templates;
