package interop

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/policy"
)

// ParseLog is one parse (业务码解析日志).
type ParseLog struct {
	ID          int64     `json:"id"`
	CodeID      *int64    `json:"codeId,omitempty" doc:"absent when nothing matched"`
	CodeName    string    `json:"codeName"`
	AppID       string    `json:"appId" doc:"the business code's app"`
	AppName     string    `json:"appName"`
	PlatformID  string    `json:"platformId" doc:"the business code's platform; the caller's when nothing matched"`
	CallerAppID string    `json:"callerAppId"`
	SceneID     *int64    `json:"sceneId,omitempty"`
	SceneName   string    `json:"sceneName,omitempty"`
	AcceptOrgID string    `json:"acceptOrgId,omitempty"`
	Content     string    `json:"content" doc:"masked"`
	Status      string    `json:"status" doc:"success | failure"`
	Reason      string    `json:"reason,omitempty"`
	LatencyMs   int       `json:"latencyMs"`
	CreatedAt   time.Time `json:"createdAt"`
}

// LogsIn filters parse logs.
type LogsIn struct {
	CodeName   string `query:"codeName" validate:"max=64" doc:"part of the business code's name"`
	AppName    string `query:"appName" validate:"max=64" doc:"part of the app's name"`
	PlatformID string `query:"platformId" validate:"max=32"`
	Status     string `query:"status" validate:"omitempty,oneof=success failure"`
	TimeRange
	PageIn
}

func (s *Service) listLogs(ctx context.Context, in *LogsIn) (*Page[ParseLog], error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var w where
	w.like("code_name", in.CodeName)
	w.like("app_name", in.AppName)
	w.eq("platform_id", in.PlatformID)
	w.eq("status", in.Status)
	w.between("created_at", in.TimeRange)
	w.scope(ctx, policy.ScopeColumns{Platform: "platform_id", Region: "region_code"})
	p := &Page[ParseLog]{Items: []ParseLog{}}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM interop_parse_logs WHERE `+w.String(), w.args...).Scan(&p.Total); err != nil {
		return nil, err
	}
	limit, offset := in.limits()
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, code_id, code_name, app_id, app_name, platform_id, caller_app_id, scene_id, scene_name,
		accept_org_id, content, status, reason, latency_ms, created_at FROM interop_parse_logs WHERE `+w.String()+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d OFFSET %d`, limit, offset), w.args...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ParseLog, error) {
		var l ParseLog
		err := r.Scan(&l.ID, &l.CodeID, &l.CodeName, &l.AppID, &l.AppName, &l.PlatformID, &l.CallerAppID, &l.SceneID, &l.SceneName,
			&l.AcceptOrgID, &l.Content, &l.Status, &l.Reason, &l.LatencyMs, &l.CreatedAt)
		return l, err
	})
	if err != nil {
		return nil, err
	}
	if items != nil {
		p.Items = items
	}
	return p, nil
}
