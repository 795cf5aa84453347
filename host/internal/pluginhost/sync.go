package pluginhost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// Data sync (数据同步输出): the service templates' requirements ask that a
// vendor's own system receive what citizens submit. Plugins make no
// outbound calls, so the vendor's system pulls, as an app of the platform
// with the open API's signature, the collections an operator granted it.
// Records come in commit order with deletions, from a cursor the app keeps:
// pulling again from the last cursor never misses nor repeats a change.

// syncRoutes declares the grants (console) and the pull (open API).
func (s *Service) syncRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/plugins/:name/sync-grants", s.grantsRoute).
			Doc("数据同步授权列表", "The platform's apps allowed to pull the plugin's records, with the collections and whether personal fields come in full.").
			Tag("plugins").Console("plugin.read"),
		httpapi.Handle(http.MethodPut, "/console/plugins/:name/sync-grants/:appId", s.grantRoute).
			Doc("授权应用同步插件数据", "Lets an app of the platform pull some of the plugin's collections through the open API. Personal fields are masked unless personal is true; every grant is audited.").
			Tag("plugins").Console("plugin.update"),
		httpapi.Handle(http.MethodDelete, "/console/plugins/:name/sync-grants/:appId", s.revokeRoute).
			Doc("撤销数据同步授权", "The app can no longer pull the plugin's records.").
			Tag("plugins").Console("plugin.update"),
		httpapi.Handle(http.MethodGet, "/openapi/v1/plugins/:name/records/:collection", s.pullRoute).
			Doc("拉取插件数据（数据同步）", "The records of a plugin's collection on the app's platform changed after the cursor, in commit order, deletions included (deleted: true, no data). Keep the answer's cursor and pass it next time: nothing is missed or repeated. Only the collection's declared fields are given; personal ones masked unless the grant says otherwise. Needs a grant from an operator (UnauthorizedOperation otherwise).").
			Tag("plugins").App().Reads().Errors(fault.CodeResourceNotFound),
	}
}

// SyncGrant lets one app pull collections of a plugin.
type SyncGrant struct {
	AppID       string    `json:"appId"`
	AppName     string    `json:"appName"`
	Collections []string  `json:"collections"`
	Personal    bool      `json:"personal" doc:"personal fields in full; masked otherwise"`
	GrantedBy   string    `json:"grantedBy"`
	GrantedAt   time.Time `json:"grantedAt"`
}

// GrantsIn names a plugin on a platform.
type GrantsIn struct {
	Name       string `path:"name" validate:"required,max=40"`
	PlatformID string `query:"platformId" validate:"max=32"`
}

// GrantList is the platform's grants for a plugin.
type GrantList struct {
	Items []SyncGrant `json:"items"`
}

func (s *Service) grantsRoute(ctx context.Context, in *GrantsIn) (*GrantList, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	if s.manifestOf(ctx, in.Name) == nil {
		return nil, fault.NotFoundf("plugin %s is not installed", in.Name)
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT g.app_id, a.name, g.collections, g.personal, g.granted_by, g.granted_at
		FROM plugin_sync_grants g JOIN apps a ON a.id = g.app_id
		WHERE g.platform_id = $1 AND g.plugin = $2 ORDER BY g.granted_at, g.app_id`, p, in.Name)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SyncGrant, error) {
		var g SyncGrant
		return g, r.Scan(&g.AppID, &g.AppName, &g.Collections, &g.Personal, &g.GrantedBy, &g.GrantedAt)
	})
	if err != nil {
		return nil, err
	}
	return &GrantList{Items: items}, nil
}

// GrantIn grants an app the pull of some collections.
type GrantIn struct {
	Name        string   `path:"name" validate:"required,max=40"`
	AppID       string   `path:"appId" validate:"required,max=32"`
	PlatformID  string   `json:"platformId" validate:"max=32"`
	Collections []string `json:"collections" validate:"required,min=1,max=50,dive,max=40" doc:"declared collections of the plugin"`
	Personal    bool     `json:"personal" doc:"personal fields in full (the app must be entitled to them); masked by default"`
}

func (s *Service) grantRoute(ctx context.Context, in *GrantIn) (*SyncGrant, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	m := s.manifestOf(ctx, in.Name)
	if m == nil {
		return nil, fault.NotFoundf("plugin %s is not installed", in.Name)
	}
	cols := slices.Clone(in.Collections)
	slices.Sort(cols)
	cols = slices.Compact(cols)
	for _, c := range cols {
		if collectionOf(m, c) == nil {
			return nil, fault.Invalidf("plugin %s has no collection %q", in.Name, c)
		}
	}
	// The app must be one of this platform's: a grant cannot hand a
	// platform's data to another platform's app.
	g := SyncGrant{AppID: in.AppID, Collections: cols, Personal: in.Personal, GrantedBy: actor.AccountOf(ctx), GrantedAt: s.cfg.Clock()}
	err = s.cfg.Pool.QueryRow(ctx, `SELECT name FROM apps WHERE id = $1 AND platform_id = $2`, in.AppID, p).Scan(&g.AppName)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("the platform has no app %s", in.AppID)
	}
	if err != nil {
		return nil, err
	}
	_, err = s.cfg.Pool.Exec(ctx, `INSERT INTO plugin_sync_grants (platform_id, plugin, app_id, collections, personal, granted_by, granted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (platform_id, plugin, app_id) DO UPDATE
		SET collections = EXCLUDED.collections, personal = EXCLUDED.personal, granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at`,
		p, in.Name, in.AppID, cols, in.Personal, g.GrantedBy, g.GrantedAt)
	if err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(map[string]any{"plugin": in.Name, "app": in.AppID, "collections": cols, "personal": in.Personal})
	s.auditEntry(ctx, audit.Entry{Type: audit.TypeDataSecurity, Action: "plugin.sync.grant", Target: "plugin:" + in.Name,
		PlatformID: p, Result: audit.Success, Detail: detail})
	return &g, nil
}

// RevokeIn names a grant.
type RevokeIn struct {
	Name       string `path:"name" validate:"required,max=40"`
	AppID      string `path:"appId" validate:"required,max=32"`
	PlatformID string `query:"platformId" validate:"max=32"`
}

func (s *Service) revokeRoute(ctx context.Context, in *RevokeIn) (*httpapi.Empty, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	tag, err := s.cfg.Pool.Exec(ctx, `DELETE FROM plugin_sync_grants WHERE platform_id = $1 AND plugin = $2 AND app_id = $3`, p, in.Name, in.AppID)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, fault.NotFoundf("app %s has no grant on plugin %s", in.AppID, in.Name)
	}
	detail, _ := json.Marshal(map[string]any{"plugin": in.Name, "app": in.AppID})
	s.auditEntry(ctx, audit.Entry{Type: audit.TypeDataSecurity, Action: "plugin.sync.revoke", Target: "plugin:" + in.Name,
		PlatformID: p, Result: audit.Success, Detail: detail})
	return &httpapi.Empty{}, nil
}

// PullIn asks for the changes after a cursor.
type PullIn struct {
	Name       string `path:"name" validate:"required,max=40"`
	Collection string `path:"collection" validate:"required,max=40"`
	Cursor     string `query:"cursor" validate:"max=200" doc:"the cursor of the previous answer; empty: from the first record"`
	PageSize   int    `query:"pageSize" validate:"min=0,max=1000" doc:"default 100"`
}

// SyncItem is one change: a record as it is now, or its deletion.
type SyncItem struct {
	ID        string         `json:"id"`
	CodeToken string         `json:"codeToken,omitempty"`
	Deleted   bool           `json:"deleted,omitempty"`
	Version   int64          `json:"version,omitempty"`
	Data      map[string]any `json:"data,omitempty" doc:"the collection's declared fields"`
	CreatedAt *time.Time     `json:"createdAt,omitempty"`
	UpdatedAt time.Time      `json:"updatedAt" doc:"for a deletion, when it was deleted"`
}

// SyncPage is a page of changes and the cursor to pull from next.
type SyncPage struct {
	Items  []SyncItem `json:"items"`
	Cursor string     `json:"cursor" doc:"pass it as cursor next time; unchanged when nothing new"`
	More   bool       `json:"more" doc:"more changes wait: pull again at once"`
}

func (s *Service) pullRoute(ctx context.Context, in *PullIn) (*SyncPage, error) {
	a := actor.From(ctx)
	if a == nil || a.AppID == "" {
		return nil, fault.Deniedf("an app's signature is required")
	}
	m := s.manifestOf(ctx, in.Name)
	if m == nil {
		return nil, fault.NotFoundf("plugin %s is not installed", in.Name)
	}
	col := collectionOf(m, in.Collection)
	if col == nil {
		return nil, fault.NotFoundf("plugin %s has no collection %s", in.Name, in.Collection)
	}
	var cols []string
	var personal bool
	err := s.cfg.Pool.QueryRow(ctx, `SELECT collections, personal FROM plugin_sync_grants WHERE platform_id = $1 AND plugin = $2 AND app_id = $3`,
		a.PlatformID, in.Name, a.AppID).Scan(&cols, &personal)
	if err != nil && !store.NoRows(err) {
		return nil, err
	}
	if !slices.Contains(cols, in.Collection) {
		return nil, fault.Deniedf("app %s is not granted the sync of %s/%s", a.AppID, in.Name, in.Collection)
	}
	after, afterID, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	size := in.PageSize
	if size == 0 {
		size = 100
	}
	// Only changes whose transaction ended before the oldest one still
	// running are served: a later cursor can then never pass over a change
	// that commits afterwards with a smaller transaction id.
	rows, err := s.cfg.Pool.Query(ctx, `WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x)
		SELECT tx::text, id, code_token, deleted, doc, version, created_at, updated_at FROM (
			SELECT txid AS tx, id, code_token, false AS deleted, doc, version, created_at, updated_at FROM plugin_records, horizon
			WHERE plugin = $1 AND platform_id = $2 AND collection = $3 AND (txid, id) > ($4::xid8, $5) AND txid < horizon.x
			UNION ALL
			SELECT txid, id, code_token, true, NULL, 0, deleted_at, deleted_at FROM plugin_record_tombstones, horizon
			WHERE plugin = $1 AND platform_id = $2 AND collection = $3 AND (txid, id) > ($4::xid8, $5) AND txid < horizon.x
		) changes ORDER BY tx, id LIMIT $6`, in.Name, a.PlatformID, in.Collection, after, afterID, size)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := &SyncPage{Items: []SyncItem{}, Cursor: in.Cursor}
	for rows.Next() {
		var it SyncItem
		var tx string
		var doc []byte
		var created time.Time
		if err := rows.Scan(&tx, &it.ID, &it.CodeToken, &it.Deleted, &doc, &it.Version, &created, &it.UpdatedAt); err != nil {
			return nil, err
		}
		if !it.Deleted {
			it.CreatedAt = &created
			it.Data = declaredFields(col, doc, personal)
		}
		page.Items = append(page.Items, it)
		page.Cursor = encodeCursor(tx, it.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	page.More = len(page.Items) == size
	return page, nil
}

// declaredFields keeps the fields the manifest declares, the contract the
// export follows too: an undeclared field could hold anything.
func declaredFields(col *plugin.Collection, doc []byte, personal bool) map[string]any {
	var d map[string]any
	_ = json.Unmarshal(doc, &d)
	out := make(map[string]any, len(col.Fields))
	for _, f := range col.Fields {
		v, ok := d[f.Name]
		if !ok {
			continue
		}
		if f.Personal && !personal && v != nil {
			v = mask(cellValue(v))
		}
		out[f.Name] = v
	}
	return out
}

func collectionOf(m *plugin.Manifest, name string) *plugin.Collection {
	for i := range m.Collections {
		if m.Collections[i].Name == name {
			return &m.Collections[i]
		}
	}
	return nil
}

// A cursor is the last change served: its transaction id and record id.
func encodeCursor(txid, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(txid + ":" + id))
}

func decodeCursor(c string) (txid, id string, err error) {
	if c == "" {
		return "0", "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	txid, id, ok := strings.Cut(string(b), ":")
	if err != nil || !ok || txid == "" || len(txid) > 20 || strings.Trim(txid, "0123456789") != "" || !recordIDRe.MatchString(id) {
		return "", "", fault.Invalidf("cursor is not one this API gave")
	}
	return txid, id, nil
}
