package interop

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

const purposePhone = "interop-scene-phone"

func (s *Service) sceneRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/interop/scenes", s.listScenes).
			Doc("互通场景列表", "Mutual-recognition scenes of the platforms in the caller's scope, by sort number (ascending by default, or descending), fuzzy search over name and code.").
			Tag("interop").Console("interopscene.read"),
		httpapi.Handle(http.MethodPost, "/console/interop/scenes", s.createScene).
			Doc("新增互通场景", "Adds a scene of the caller's platform: name, unique code, category, type, required user authentication level, intro, contact and phone (stored sealed, shown masked), sort number and owning unit. Type, authentication level and owning unit cannot be changed later. Created enabled with routing on and no authorizations.").
			Tag("interop").Console("interopscene.create").Errors(fault.CodeResourceAlreadyExists),
		httpapi.Handle(http.MethodGet, "/console/interop/scenes/:id", s.getScene).
			Doc("互通场景详情", "One scene with the business codes it is authorized to decode.").
			Tag("interop").Console("interopscene.read").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPut, "/console/interop/scenes/:id", s.updateScene).
			Doc("修改互通场景", "Replaces a scene's editable fields (name, code, category, intro, contact, sort number; phone when given). Sending type, authLevel or ownerUnit with another value than the scene's is refused.").
			Tag("interop").Console("interopscene.update").Errors(fault.CodeResourceNotFound, fault.CodeResourceAlreadyExists),
		httpapi.Handle(http.MethodDelete, "/console/interop/scenes/:id", s.deleteScene).
			Doc("删除互通场景", "Deletes a scene. A scene still authorized to decode business codes is refused (ResourceInUse): revoke its authorizations first, so no authorization disappears unseen.").
			Tag("interop").Console("interopscene.delete").Errors(fault.CodeResourceNotFound, fault.CodeResourceInUse),
		httpapi.Handle(http.MethodPost, "/console/interop/scenes/:id/enable", s.enableScene).
			Doc("启用互通场景", "Enables a scene.").
			Tag("interop").Console("interopscene.enable").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPost, "/console/interop/scenes/:id/disable", s.disableScene).
			Doc("停用互通场景", "Disables a scene: parses in it are refused.").
			Tag("interop").Console("interopscene.disable").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPut, "/console/interop/scenes/:id/routing", s.setRouting).
			Doc("场景路由开关", "Switches a scene's routing (路由权限) on or off: while off, parses in the scene are refused, its authorizations kept.").
			Tag("interop").Console("interopscene.routing").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPost, "/console/interop/scenes/:id/grants", s.grant).
			Doc("授权解码", "Authorizes the scene to decode business codes (in the caller's scope); codes already authorized stay.").
			Tag("interop").Console("interopscene.grant").Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodDelete, "/console/interop/scenes/:id/grants/:codeId", s.revoke).
			Doc("取消授权", "Revokes the scene's authorization to decode a business code.").
			Tag("interop").Console("interopscene.grant").Errors(fault.CodeResourceNotFound),
	}
}

// Scene is a mutual-recognition scene (互通场景).
type Scene struct {
	ID         int64        `json:"id"`
	PlatformID string       `json:"platformId"`
	Code       string       `json:"code"`
	Name       string       `json:"name"`
	Category   string       `json:"category"`
	Type       string       `json:"type" doc:"fixed at creation"`
	AuthLevel  int          `json:"authLevel" doc:"required user authentication level 0-4, fixed at creation"`
	Intro      string       `json:"intro"`
	Contact    string       `json:"contact"`
	Phone      string       `json:"phone" doc:"masked"`
	SortNo     int          `json:"sortNo"`
	OwnerUnit  string       `json:"ownerUnit" doc:"fixed at creation"`
	Status     string       `json:"status" doc:"enabled | disabled"`
	Routing    bool         `json:"routing" doc:"routing permission (路由权限) on"`
	Grants     []SceneGrant `json:"grants,omitempty" doc:"details only: the business codes it may decode"`
	CreatedBy  string       `json:"createdBy"`
	CreatedAt  time.Time    `json:"createdAt"`
	UpdatedAt  time.Time    `json:"updatedAt"`

	regionCode string
}

// SceneGrant is a scene's authorization to decode a business code.
type SceneGrant struct {
	CodeID    int64     `json:"codeId"`
	CodeName  string    `json:"codeName"`
	GrantedBy string    `json:"grantedBy"`
	GrantedAt time.Time `json:"grantedAt"`
}

const sceneCols = `id, platform_id, region_code, code, name, category, type, auth_level, intro, contact, phone_masked, sort_no, owner_unit,
	status, routing, created_by, created_at, updated_at`

func scanScene(r pgx.Row) (Scene, error) {
	var x Scene
	err := r.Scan(&x.ID, &x.PlatformID, &x.regionCode, &x.Code, &x.Name, &x.Category, &x.Type, &x.AuthLevel, &x.Intro, &x.Contact, &x.Phone,
		&x.SortNo, &x.OwnerUnit, &x.Status, &x.Routing, &x.CreatedBy, &x.CreatedAt, &x.UpdatedAt)
	return x, err
}

// ScenesIn filters scenes.
type ScenesIn struct {
	Keyword    string `query:"keyword" validate:"max=64" doc:"part of the name or the code"`
	PlatformID string `query:"platformId" validate:"max=32"`
	Status     string `query:"status" validate:"omitempty,oneof=enabled disabled"`
	Order      string `query:"order" validate:"omitempty,oneof=asc desc" doc:"by sort number: asc (default) or desc"`
	PageIn
}

func (s *Service) listScenes(ctx context.Context, in *ScenesIn) (*Page[Scene], error) {
	var w where
	if k := strings.TrimSpace(in.Keyword); k != "" {
		w.add("(strpos(lower(name), lower(%[1]s)) > 0 OR strpos(lower(code), lower(%[1]s)) > 0)", k)
	}
	w.eq("platform_id", in.PlatformID)
	w.eq("status", in.Status)
	w.scope(ctx, policy.ScopeColumns{Platform: "platform_id", Region: "region_code"})
	p := &Page[Scene]{Items: []Scene{}}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM interop_scenes WHERE `+w.String(), w.args...).Scan(&p.Total); err != nil {
		return nil, err
	}
	order := "sort_no, id"
	if in.Order == "desc" {
		order = "sort_no DESC, id DESC"
	}
	limit, offset := in.limits()
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+sceneCols+` FROM interop_scenes WHERE `+w.String()+
		fmt.Sprintf(` ORDER BY %s LIMIT %d OFFSET %d`, order, limit, offset), w.args...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Scene, error) { return scanScene(r) })
	if err != nil {
		return nil, err
	}
	if items != nil {
		p.Items = items
	}
	return p, nil
}

func (s *Service) scene(ctx context.Context, q querier, id int64, lock bool) (*Scene, error) {
	sql := `SELECT ` + sceneCols + ` FROM interop_scenes WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	x, err := scanScene(q.QueryRow(ctx, sql, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("mutual-recognition scene %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	if err := inScope(ctx, fmt.Sprintf("mutual-recognition scene %d", id), x.PlatformID, x.regionCode); err != nil {
		return nil, err
	}
	return &x, nil
}

func (s *Service) getScene(ctx context.Context, in *IDIn) (*Scene, error) {
	x, err := s.scene(ctx, s.cfg.Pool, in.ID, false)
	if err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT g.code_id, c.name, g.granted_by, g.granted_at FROM interop_scene_grants g
		JOIN interop_codes c ON c.id = g.code_id WHERE g.scene_id = $1 ORDER BY g.granted_at, g.code_id`, in.ID)
	if err != nil {
		return nil, err
	}
	x.Grants, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SceneGrant, error) {
		var g SceneGrant
		return g, r.Scan(&g.CodeID, &g.CodeName, &g.GrantedBy, &g.GrantedAt)
	})
	if err != nil {
		return nil, err
	}
	if x.Grants == nil {
		x.Grants = []SceneGrant{}
	}
	return x, nil
}

// SceneFields are a scene's editable fields.
type SceneFields struct {
	Name     string `json:"name" validate:"required,max=64"`
	Code     string `json:"code" validate:"required,max=32" doc:"unique: letters, digits, _ and -, 2-32 characters"`
	Category string `json:"category" validate:"max=32"`
	Intro    string `json:"intro" validate:"max=500"`
	Contact  string `json:"contact" validate:"max=32"`
	SortNo   int    `json:"sortNo" validate:"min=0,max=1000000"`
}

// SceneIn creates a scene.
type SceneIn struct {
	SceneFields
	Type      string `json:"type" validate:"required,max=32" doc:"场景类型; fixed at creation"`
	AuthLevel int    `json:"authLevel" validate:"min=0,max=4" doc:"用户认证等级 0-4; fixed at creation"`
	OwnerUnit string `json:"ownerUnit" validate:"max=128" doc:"所属单位; fixed at creation"`
	Phone     string `json:"phone" validate:"max=20" doc:"contact phone: stored sealed, shown masked"`
}

var (
	sceneCodeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{2,32}$`)
	phoneRE     = regexp.MustCompile(`^\+?[0-9][0-9-]{4,18}$`)
)

func (f *SceneFields) check() error {
	f.Name, f.Code = strings.TrimSpace(f.Name), strings.TrimSpace(f.Code)
	if f.Name == "" {
		return fault.Missing("name")
	}
	if !sceneCodeRE.MatchString(f.Code) {
		return fault.Invalidf("parameter %q: a scene code is 2-32 letters, digits, _ or -", "code")
	}
	return nil
}

// sealPhone answers the sealed and masked forms of a phone number.
func (s *Service) sealPhone(phone string) (sealed, masked string, err error) {
	phone = strings.TrimSpace(phone)
	if phone == "" {
		return "", "", nil
	}
	if !phoneRE.MatchString(phone) {
		return "", "", fault.Invalidf("parameter %q: %s is not a phone number", "phone", maskPhone(phone))
	}
	if sealed, err = s.cfg.Sealer.Seal([]byte(phone), purposePhone); err != nil {
		return "", "", fmt.Errorf("interop: seal phone: %w", err)
	}
	return sealed, maskPhone(phone), nil
}

func sceneConflict(err error, code string) error {
	if store.IsUniqueViolation(err, "") {
		return fault.Conflictf(fault.CodeResourceAlreadyExists, "a mutual-recognition scene with code %q already exists", code)
	}
	return err
}

func (s *Service) createScene(ctx context.Context, in *SceneIn) (*Scene, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	if in.Type = strings.TrimSpace(in.Type); in.Type == "" {
		return nil, fault.Missing("type")
	}
	a := actor.From(ctx)
	if a == nil || a.PlatformID == "" {
		return nil, fault.Deniedf("scenes are created by a platform's operators")
	}
	if err := inScope(ctx, "platform "+a.PlatformID, a.PlatformID, a.RegionCode); err != nil {
		return nil, err
	}
	sealed, masked, err := s.sealPhone(in.Phone)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock()
	x, err := scanScene(s.cfg.Pool.QueryRow(ctx, `INSERT INTO interop_scenes (platform_id, region_code, code, name, category, type, auth_level,
		intro, contact, phone_sealed, phone_masked, sort_no, owner_unit, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING `+sceneCols,
		a.PlatformID, a.RegionCode, in.Code, in.Name, in.Category, in.Type, in.AuthLevel, in.Intro, in.Contact, sealed, masked,
		in.SortNo, strings.TrimSpace(in.OwnerUnit), a.Account, now))
	if err != nil {
		return nil, sceneConflict(err, in.Code)
	}
	s.invalidate()
	return &x, nil
}

// UpdateSceneIn replaces a scene's editable fields. Type, AuthLevel and
// OwnerUnit may be sent back as they are; another value is refused.
type UpdateSceneIn struct {
	ID int64 `path:"id" json:"-" validate:"min=1"`
	SceneFields
	Type      *string `json:"type" doc:"must equal the scene's"`
	AuthLevel *int    `json:"authLevel" doc:"must equal the scene's"`
	OwnerUnit *string `json:"ownerUnit" doc:"must equal the scene's"`
	Phone     *string `json:"phone" validate:"omitempty,max=20" doc:"absent: unchanged; empty: removed"`
}

func (s *Service) updateScene(ctx context.Context, in *UpdateSceneIn) (*Scene, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	cur, err := s.scene(ctx, s.cfg.Pool, in.ID, false)
	if err != nil {
		return nil, err
	}
	fixed := func(param string) error {
		return fault.Invalidf("parameter %q cannot be changed after the scene is created", param)
	}
	switch {
	case in.Type != nil && strings.TrimSpace(*in.Type) != cur.Type:
		return nil, fixed("type")
	case in.AuthLevel != nil && *in.AuthLevel != cur.AuthLevel:
		return nil, fixed("authLevel")
	case in.OwnerUnit != nil && strings.TrimSpace(*in.OwnerUnit) != cur.OwnerUnit:
		return nil, fixed("ownerUnit")
	}
	sets := `name = $2, code = $3, category = $4, intro = $5, contact = $6, sort_no = $7, updated_at = $8`
	args := []any{in.ID, in.Name, in.Code, in.Category, in.Intro, in.Contact, in.SortNo, s.cfg.Clock()}
	if in.Phone != nil {
		sealed, masked, err := s.sealPhone(*in.Phone)
		if err != nil {
			return nil, err
		}
		sets += `, phone_sealed = $9, phone_masked = $10`
		args = append(args, sealed, masked)
	}
	x, err := scanScene(s.cfg.Pool.QueryRow(ctx, `UPDATE interop_scenes SET `+sets+` WHERE id = $1 RETURNING `+sceneCols, args...))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("mutual-recognition scene %d not found", in.ID)
	}
	if err != nil {
		return nil, sceneConflict(err, in.Code)
	}
	s.invalidate()
	return &x, nil
}

func (s *Service) deleteScene(ctx context.Context, in *IDIn) (*httpapi.Empty, error) {
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		x, err := s.scene(ctx, tx, in.ID, true)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM interop_scene_grants WHERE scene_id = $1`, in.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fault.Conflictf(fault.CodeResourceInUse,
				"mutual-recognition scene %q is still authorized to decode %d business code(s): revoke them first", x.Name, n)
		}
		_, err = tx.Exec(ctx, `DELETE FROM interop_scenes WHERE id = $1`, in.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return &httpapi.Empty{}, nil
}

func (s *Service) setSceneStatus(ctx context.Context, id int64, status string) (*Scene, error) {
	if _, err := s.scene(ctx, s.cfg.Pool, id, false); err != nil {
		return nil, err
	}
	x, err := scanScene(s.cfg.Pool.QueryRow(ctx, `UPDATE interop_scenes SET status = $2, updated_at = $3 WHERE id = $1 RETURNING `+sceneCols,
		id, status, s.cfg.Clock()))
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return &x, nil
}

func (s *Service) enableScene(ctx context.Context, in *IDIn) (*Scene, error) {
	return s.setSceneStatus(ctx, in.ID, "enabled")
}

func (s *Service) disableScene(ctx context.Context, in *IDIn) (*Scene, error) {
	return s.setSceneStatus(ctx, in.ID, "disabled")
}

// RoutingIn switches a scene's routing.
type RoutingIn struct {
	ID      int64 `path:"id" json:"-" validate:"min=1"`
	Enabled *bool `json:"enabled" validate:"required" doc:"true: routing on"`
}

func (s *Service) setRouting(ctx context.Context, in *RoutingIn) (*Scene, error) {
	if _, err := s.scene(ctx, s.cfg.Pool, in.ID, false); err != nil {
		return nil, err
	}
	x, err := scanScene(s.cfg.Pool.QueryRow(ctx, `UPDATE interop_scenes SET routing = $2, updated_at = $3 WHERE id = $1 RETURNING `+sceneCols,
		in.ID, *in.Enabled, s.cfg.Clock()))
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return &x, nil
}

// GrantIn authorizes a scene to decode business codes.
type GrantIn struct {
	ID      int64   `path:"id" json:"-" validate:"min=1"`
	CodeIDs []int64 `json:"codeIds" validate:"required,min=1,max=100,dive,min=1"`
}

func (s *Service) grant(ctx context.Context, in *GrantIn) (*Scene, error) {
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := s.scene(ctx, tx, in.ID, true); err != nil {
			return err
		}
		now, by := s.cfg.Clock(), actor.AccountOf(ctx)
		for _, id := range in.CodeIDs {
			if _, err := s.code(ctx, tx, id, false); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO interop_scene_grants (scene_id, code_id, granted_by, granted_at)
				VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, in.ID, id, by, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return s.getScene(ctx, &IDIn{ID: in.ID})
}

// RevokeIn names a scene's authorization.
type RevokeIn struct {
	ID     int64 `path:"id" validate:"min=1"`
	CodeID int64 `path:"codeId" validate:"min=1"`
}

func (s *Service) revoke(ctx context.Context, in *RevokeIn) (*Scene, error) {
	if _, err := s.scene(ctx, s.cfg.Pool, in.ID, false); err != nil {
		return nil, err
	}
	tag, err := s.cfg.Pool.Exec(ctx, `DELETE FROM interop_scene_grants WHERE scene_id = $1 AND code_id = $2`, in.ID, in.CodeID)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, fault.NotFoundf("scene %d is not authorized to decode business code %d", in.ID, in.CodeID)
	}
	s.invalidate()
	return s.getScene(ctx, &IDIn{ID: in.ID})
}
