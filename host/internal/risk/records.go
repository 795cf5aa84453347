package risk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// Routes declares the console's interception records (风控拦截管理).
func (g *Guard) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/risk/records", g.listRoute).
			Doc("风控拦截记录", "Flagged and intercepted events of the platforms in the caller's scope, newest first: the event, its IP, user, organization and code, the indicators the risk policy saw and the ones over their thresholds.").
			Tag("risk").Console("riskrecord.read"),
		httpapi.Handle(http.MethodGet, "/console/risk/records/:id", g.getRecordRoute).
			Doc("风控记录详情", "One record (风控受理日志/拦截详情): the event, the indicators' counts the policy saw, the ones and the rules that triggered, whether it was enforced, its release.").
			Tag("risk").Console("riskrecord.read"),
		httpapi.Handle(http.MethodPost, "/console/risk/records/release", g.releaseRoute).
			Doc("批量解除异常", "Releases intercepted records (at most 500): their windows start afresh, so the IP, user, organization and code they name pass again.").
			Tag("risk").Console("riskrecord.release"),
		httpapi.Handle(http.MethodGet, "/console/risk/stats", g.statsRoute).
			Doc("风控异常统计", "Today's and total anomalies (flagged and intercepted), how many interceptions were released and the release rate, the indicators that triggered most, and today's hourly trend (Beijing time), over the platforms in the caller's scope.").
			Tag("risk").Console("riskrecord.read"),
		httpapi.Handle(http.MethodGet, "/console/risk/records/export", g.exportRoute).
			Doc("导出拦截记录", "The filtered records (at most 100,000) as an xlsx workbook.").
			Tag("risk").Console("riskrecord.export"),
	}
}

// Record is a flagged or intercepted event.
type Record struct {
	ID         int64              `json:"id"`
	Action     string             `json:"action"`
	EventType  string             `json:"eventType"`
	AppID      string             `json:"appId"`
	PlatformID string             `json:"platformId"`
	IP         string             `json:"ip"`
	UserID     string             `json:"userId,omitempty"`
	OrgID      string             `json:"orgId,omitempty"`
	CodeID     string             `json:"codeId,omitempty"`
	Indicators map[string]float64 `json:"indicators"`
	Triggered  []string           `json:"triggered"`
	RuleIDs    []int64            `json:"ruleIds" doc:"the risk rules that fired"`
	Enforced   bool               `json:"enforced" doc:"false when the app's monitor mode kept an interception from applying"`
	Status     string             `json:"status"`
	CreatedAt  time.Time          `json:"createdAt"`
	ReleasedBy *string            `json:"releasedBy,omitempty"`
	ReleasedAt *time.Time         `json:"releasedAt,omitempty"`
}

// RecordsIn filters records.
type RecordsIn struct {
	Action   string     `query:"action" validate:"omitempty,oneof=flag intercept"`
	Status   string     `query:"status" validate:"omitempty,oneof=open released"`
	IP       string     `query:"ip" validate:"max=64"`
	AppID    string     `query:"appId" validate:"max=32"`
	Model    string     `query:"model" validate:"omitempty,oneof=generate show verify" doc:"the event type (所属模型)"`
	ID       int64      `query:"id" validate:"min=0" doc:"the record's number (记录编码)"`
	RuleID   int64      `query:"ruleId" validate:"min=0" doc:"records a risk rule fired in"`
	From     *time.Time `query:"from" doc:"records at or after (RFC 3339)"`
	To       *time.Time `query:"to" doc:"records before (RFC 3339)"`
	PageNo   int        `query:"pageNo" validate:"min=0,max=100000"`
	PageSize int        `query:"pageSize" validate:"min=0,max=500"`
}

// RecordPage is a page of records.
type RecordPage struct {
	Total int64    `json:"total"`
	Items []Record `json:"items"`
}

const recordCols = `id, action, event_type, app_id, platform_id, ip, user_id, org_id, code_id, indicators, triggered, rule_ids, enforced,
	status, created_at, released_by, released_at`

func (g *Guard) query(ctx context.Context, in *RecordsIn, limit, offset int) ([]Record, int64, error) {
	sc := policy.ScopeFrom(ctx)
	if in.From != nil && in.To != nil && !in.From.Before(*in.To) {
		return nil, 0, fault.Invalidf("parameter %q: must be after from", "to")
	}
	where := `($1 = '' OR action = $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR ip = $3) AND ($4 = '' OR app_id = $4)
		AND ($5 = '' OR event_type = $5) AND ($6 = 0 OR id = $6) AND ($7 = 0 OR $7 = ANY(rule_ids))
		AND ($8::timestamptz IS NULL OR created_at >= $8) AND ($9::timestamptz IS NULL OR created_at < $9)`
	args := []any{in.Action, in.Status, in.IP, in.AppID, in.Model, in.ID, in.RuleID, in.From, in.To}
	clause, more := sc.SQL(policy.ScopeColumns{Platform: "platform_id"}, len(args)+1)
	where += " AND " + clause
	args = append(args, more...)
	var total int64
	if err := g.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM risk_records WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := g.cfg.Pool.Query(ctx, `SELECT `+recordCols+` FROM risk_records WHERE `+where+fmt.Sprintf(` ORDER BY id DESC OFFSET %d LIMIT %d`, offset, limit), args...)
	if err != nil {
		return nil, 0, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Record, error) {
		var x Record
		var ind []byte
		err := r.Scan(&x.ID, &x.Action, &x.EventType, &x.AppID, &x.PlatformID, &x.IP, &x.UserID, &x.OrgID, &x.CodeID, &ind, &x.Triggered,
			&x.RuleIDs, &x.Enforced, &x.Status, &x.CreatedAt, &x.ReleasedBy, &x.ReleasedAt)
		_ = json.Unmarshal(ind, &x.Indicators)
		return x, err
	})
	return items, total, err
}

func (g *Guard) listRoute(ctx context.Context, in *RecordsIn) (*RecordPage, error) {
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	items, total, err := g.query(ctx, in, size, (max(in.PageNo, 1)-1)*size)
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []Record{}
	}
	return &RecordPage{Total: total, Items: items}, nil
}

// RecordIDIn names a record.
type RecordIDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

func (g *Guard) getRecordRoute(ctx context.Context, in *RecordIDIn) (*Record, error) {
	items, _, err := g.query(ctx, &RecordsIn{ID: in.ID}, 1, 0)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fault.NotFoundf("risk record %d not found", in.ID)
	}
	return &items[0], nil
}

// ReleaseIn names the records to release.
type ReleaseIn struct {
	IDs []int64 `json:"ids" validate:"required,min=1,max=500"`
}

// Released counts what a release did.
type Released struct {
	Released int `json:"released"`
}

func (g *Guard) releaseRoute(ctx context.Context, in *ReleaseIn) (*Released, error) {
	clause, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 4)
	now := g.cfg.Clock()
	rows, err := g.cfg.Pool.Query(ctx, `UPDATE risk_records SET status = 'released', released_by = $2, released_at = $3
		WHERE id = ANY($1) AND action = 'intercept' AND status = 'open' AND `+clause+`
		RETURNING event_type, app_id, ip, user_id, org_id, code_id`, append([]any{in.IDs, actor.AccountOf(ctx), now}, args...)...)
	if err != nil {
		return nil, err
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		return e, r.Scan(&e.Type, &e.AppID, &e.IP, &e.UserID, &e.OrgID, &e.CodeID)
	})
	if err != nil {
		return nil, err
	}
	inds := g.setup(ctx).indicators
	for _, e := range evs {
		for _, k := range keysOf(inds, e) {
			if err := g.win.reset(ctx, k.key, now); err != nil {
				return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the risk windows are unavailable; try again")
			}
		}
	}
	return &Released{Released: len(evs)}, nil
}

type recordsXLSX struct{ data []byte }

func (x *recordsXLSX) ContentType() string {
	return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
}
func (x *recordsXLSX) Filename() string { return "risk-records.xlsx" }
func (x *recordsXLSX) WriteTo(_ context.Context, w io.Writer) error {
	_, err := w.Write(x.data)
	return err
}

func (g *Guard) exportRoute(ctx context.Context, in *RecordsIn) (*recordsXLSX, error) {
	items, total, err := g.query(ctx, in, 100000, 0)
	if err != nil {
		return nil, err
	}
	if total > 100000 {
		return nil, fault.Invalidf("%d records match; export at most 100000 (filter them)", total)
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := "风控拦截记录"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	_ = sw.SetRow("A1", []any{"编号", "处置", "事件", "应用", "平台", "IP", "用户", "受理机构", "码", "超限指标", "触发规则", "是否生效", "状态", "时间"})
	for i, r := range items {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		action := map[string]string{"flag": "标记", "intercept": "拦截"}[r.Action]
		status := map[string]string{"open": "未解除", "released": "已解除"}[r.Status]
		if err := sw.SetRow(cell, []any{r.ID, action, r.EventType, r.AppID, r.PlatformID, r.IP, r.UserID, r.OrgID, r.CodeID,
			strings.Join(r.Triggered, ","), joinIDs(r.RuleIDs), map[bool]string{true: "是", false: "否（仅监测）"}[r.Enforced],
			status, r.CreatedAt.In(cst).Format(time.DateTime)}); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	var buf strings.Builder
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return &recordsXLSX{data: []byte(buf.String())}, nil
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// Stats are the anomaly statistics (风控异常统计分析).
type Stats struct {
	Today        int64            `json:"today" doc:"flagged and intercepted today (Beijing time)"`
	TodayBlocked int64            `json:"todayIntercepted"`
	Total        int64            `json:"total"`
	Intercepted  int64            `json:"intercepted"`
	Released     int64            `json:"released"`
	ReleaseRate  float64          `json:"releaseRate" doc:"released / intercepted"`
	ByIndicator  map[string]int64 `json:"byIndicator" doc:"how often each indicator triggered"`
	Hourly       [24]int64        `json:"hourly" doc:"today's anomalies by hour"`
}

var cst = time.FixedZone("CST", 8*3600)

func (g *Guard) statsRoute(ctx context.Context, _ *httpapi.Empty) (*Stats, error) {
	clause, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 2)
	now := g.cfg.Clock().In(cst)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst)
	args = append([]any{day}, args...)
	st := &Stats{ByIndicator: map[string]int64{}}
	err := g.cfg.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE created_at >= $1),
			count(*) FILTER (WHERE created_at >= $1 AND action = 'intercept'),
			count(*), count(*) FILTER (WHERE action = 'intercept'),
			count(*) FILTER (WHERE action = 'intercept' AND status = 'released')
		FROM risk_records WHERE `+clause, args...).Scan(&st.Today, &st.TodayBlocked, &st.Total, &st.Intercepted, &st.Released)
	if err != nil {
		return nil, err
	}
	if st.Intercepted > 0 {
		st.ReleaseRate = float64(st.Released) / float64(st.Intercepted)
	}
	all, allArgs := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 1)
	rows, err := g.cfg.Pool.Query(ctx, `SELECT t, count(*) FROM risk_records, unnest(triggered) t WHERE `+all+` GROUP BY t`, allArgs...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return nil, err
		}
		st.ByIndicator[name] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = g.cfg.Pool.Query(ctx, `SELECT extract(hour FROM created_at AT TIME ZONE 'Asia/Shanghai')::int, count(*) FROM risk_records
		WHERE created_at >= $1 AND `+clause+` GROUP BY 1`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h int
		var n int64
		if err := rows.Scan(&h, &n); err != nil {
			return nil, err
		}
		if h >= 0 && h < 24 {
			st.Hourly[h] = n
		}
	}
	return st, rows.Err()
}
