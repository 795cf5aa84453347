package scenes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// CounterpartRoutes declares the console's scene counterparts (场景对接方).
func (s *Service) CounterpartRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/scene-counterparts", s.listCounterpartsRoute).
			Doc("场景对接方列表", "Counterparts of the platforms in the caller's scope by name, credit code and state, with their scene counts; contacts' phones masked.").
			Tag("scenes").Console("counterpart.read"),
		httpapi.Handle(http.MethodGet, "/console/scene-counterparts/:id", s.getCounterpartRoute).
			Doc("场景对接方详情", "A counterpart with its contacts, apps, accepting organizations and scenes.").
			Tag("scenes").Console("counterpart.read"),
		httpapi.Handle(http.MethodPost, "/console/scene-counterparts", s.createCounterpartRoute).
			Doc("新增场景对接方", "Adds a counterpart by unit name, unified social credit code (统一社会信用代码, its check character verified) and contacts, with the apps (cityCodeAppId) it decodes with and its accepting organizations (acceptOrgId).").
			Tag("scenes").Console("counterpart.create"),
		httpapi.Handle(http.MethodPut, "/console/scene-counterparts/:id", s.updateCounterpartRoute).
			Doc("修改场景对接方", "Changes everything but the unit name and the credit code.").
			Tag("scenes").Console("counterpart.update"),
		httpapi.Handle(http.MethodPost, "/console/scene-counterparts/:id/disable", s.disableCounterpartRoute).
			Doc("停用场景对接方", "Stops a counterpart: its apps' decodes are refused (UnauthorizedOperation.CounterpartDisabled), its scenes leave the clients and decodes at their organizations are refused (UnauthorizedOperation.SceneDisabled).").
			Tag("scenes").Console("counterpart.disable"),
		httpapi.Handle(http.MethodPost, "/console/scene-counterparts/:id/enable", s.enableCounterpartRoute).
			Doc("启用场景对接方", "Restores a stopped counterpart, its apps and its scenes.").
			Tag("scenes").Console("counterpart.enable"),
	}
}

// Person is a contact of a counterpart.
type Person struct {
	Name  string `json:"name" validate:"required,max=50"`
	Phone string `json:"phone" validate:"required,max=30"`
	Email string `json:"email,omitempty" validate:"omitempty,email,max=100"`
	Role  string `json:"role,omitempty" validate:"max=30" doc:"e.g. 业务联系人, 技术联系人"`
}

// Counterpart is an organization integrating scenes.
type Counterpart struct {
	ID         int64     `json:"id"`
	PlatformID string    `json:"platformId"`
	Name       string    `json:"name"`
	CreditCode string    `json:"creditCode"`
	Address    string    `json:"address"`
	Contacts   []Person  `json:"contacts"`
	AppIDs     []string  `json:"appIds"`
	OrgIDs     []string  `json:"orgIds"`
	Enabled    bool      `json:"enabled"`
	Scenes     int       `json:"scenes" doc:"how many scenes it integrates"`
	CreatedBy  string    `json:"createdBy"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

const counterpartCols = `id, platform_id, name, credit_code, address, contacts, app_ids, org_ids, enabled,
	(SELECT count(*) FROM scenes s WHERE s.counterpart_id = scene_counterparts.id), created_by, created_at, updated_at`

func scanCounterpart(r pgx.CollectableRow) (Counterpart, error) {
	var x Counterpart
	var contacts []byte
	err := r.Scan(&x.ID, &x.PlatformID, &x.Name, &x.CreditCode, &x.Address, &contacts, &x.AppIDs, &x.OrgIDs, &x.Enabled, &x.Scenes,
		&x.CreatedBy, &x.CreatedAt, &x.UpdatedAt)
	if err == nil {
		err = json.Unmarshal(contacts, &x.Contacts)
	}
	return x, err
}

// CounterpartsIn filters counterparts.
type CounterpartsIn struct {
	Keyword    string `query:"keyword" validate:"max=50" doc:"part of the unit name"`
	CreditCode string `query:"creditCode" validate:"max=18"`
	State      string `query:"state" validate:"omitempty,oneof=enabled disabled"`
	PageNo     int    `query:"pageNo" validate:"min=0,max=100000"`
	PageSize   int    `query:"pageSize" validate:"min=0,max=500"`
}

// CounterpartPage is a page of counterparts.
type CounterpartPage struct {
	Total int64         `json:"total"`
	Items []Counterpart `json:"items"`
}

func (s *Service) listCounterpartsRoute(ctx context.Context, in *CounterpartsIn) (*CounterpartPage, error) {
	where := `($1 = '' OR strpos(name, $1) > 0) AND ($2 = '' OR credit_code = upper($2)) AND ($3 = '' OR enabled = ($3 = 'enabled'))`
	args := []any{in.Keyword, in.CreditCode, in.State}
	clause, more := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, len(args)+1)
	where += " AND " + clause
	args = append(args, more...)
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	out := &CounterpartPage{}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM scene_counterparts WHERE `+where, args...).Scan(&out.Total); err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+counterpartCols+` FROM scene_counterparts WHERE `+where+
		fmt.Sprintf(` ORDER BY id DESC OFFSET %d LIMIT %d`, (max(in.PageNo, 1)-1)*size, size), args...)
	if err != nil {
		return nil, err
	}
	if out.Items, err = pgx.CollectRows(rows, scanCounterpart); err != nil {
		return nil, err
	}
	// The list is seen by more eyes than a detail page: phones masked.
	for i := range out.Items {
		for j := range out.Items[i].Contacts {
			out.Items[i].Contacts[j].Phone = persons.MaskMobile(out.Items[i].Contacts[j].Phone)
		}
	}
	return out, nil
}

// CounterpartIDIn names a counterpart.
type CounterpartIDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

// counterpart reads a counterpart in the caller's scope.
func (s *Service) counterpart(ctx context.Context, id int64) (*Counterpart, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+counterpartCols+` FROM scene_counterparts WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	x, err := pgx.CollectExactlyOneRow(rows, scanCounterpart)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(x.PlatformID, "", "")) {
		return nil, fault.NotFoundf("scene counterpart %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	return &x, nil
}

func (s *Service) getCounterpartRoute(ctx context.Context, in *CounterpartIDIn) (*Counterpart, error) {
	return s.counterpart(ctx, in.ID)
}

// CounterpartIn is what may change of a counterpart.
type CounterpartIn struct {
	Address  string   `json:"address" validate:"max=200"`
	Contacts []Person `json:"contacts" validate:"required,min=1,max=10,dive"`
	AppIDs   []string `json:"appIds" validate:"max=100" doc:"the apps (cityCodeAppId) it decodes with"`
	OrgIDs   []string `json:"orgIds" validate:"max=1000" doc:"its accepting organizations (acceptOrgId)"`
}

func (in *CounterpartIn) check() error {
	var err error
	if in.AppIDs, err = cleanIDs("appIds", in.AppIDs); err != nil {
		return err
	}
	in.OrgIDs, err = cleanIDs("orgIds", in.OrgIDs)
	return err
}

// CounterpartCreateIn adds a counterpart.
type CounterpartCreateIn struct {
	Name       string `json:"name" validate:"required,max=100" doc:"单位名称"`
	CreditCode string `json:"creditCode" validate:"required" doc:"统一社会信用代码 (18 characters, GB 32100-2015)"`
	CounterpartIn
	PlatformID string `json:"platformId" validate:"max=32" doc:"default: the caller's platform"`
}

func (s *Service) createCounterpartRoute(ctx context.Context, in *CounterpartCreateIn) (*Counterpart, error) {
	p, err := ownPlatform(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	code := strings.ToUpper(strings.TrimSpace(in.CreditCode))
	if !persons.ValidSocialCreditCode(code) {
		return nil, fault.Invalidf("parameter %q: %q is not a valid unified social credit code (18 characters whose last is its check character)", "creditCode", in.CreditCode)
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	contacts, _ := json.Marshal(in.Contacts)
	now := s.cfg.Clock()
	var id int64
	err = s.cfg.Pool.QueryRow(ctx, `INSERT INTO scene_counterparts (platform_id, name, credit_code, address, contacts, app_ids, org_ids, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (credit_code) DO NOTHING RETURNING id`,
		p, strings.TrimSpace(in.Name), code, in.Address, contacts, in.AppIDs, in.OrgIDs, accountOf(ctx), now).Scan(&id)
	if store.NoRows(err) {
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "a counterpart with credit code %s already exists", code)
	}
	if err != nil {
		return nil, err
	}
	s.changed()
	return s.counterpart(ctx, id)
}

// CounterpartUpdateIn changes a counterpart. Its name and credit code are
// its identity and are not among the fields (sending them is refused).
type CounterpartUpdateIn struct {
	CounterpartIDIn
	CounterpartIn
}

func (s *Service) updateCounterpartRoute(ctx context.Context, in *CounterpartUpdateIn) (*Counterpart, error) {
	if _, err := s.counterpart(ctx, in.ID); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	contacts, _ := json.Marshal(in.Contacts)
	if _, err := s.cfg.Pool.Exec(ctx, `UPDATE scene_counterparts SET address = $2, contacts = $3, app_ids = $4, org_ids = $5, updated_at = $6 WHERE id = $1`,
		in.ID, in.Address, contacts, in.AppIDs, in.OrgIDs, s.cfg.Clock()); err != nil {
		return nil, err
	}
	s.changed()
	return s.counterpart(ctx, in.ID)
}

func (s *Service) setCounterpartEnabled(ctx context.Context, id int64, enabled bool) (*Counterpart, error) {
	if _, err := s.counterpart(ctx, id); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Pool.Exec(ctx, `UPDATE scene_counterparts SET enabled = $2, updated_at = $3 WHERE id = $1`, id, enabled, s.cfg.Clock()); err != nil {
		return nil, err
	}
	s.changed()
	return s.counterpart(ctx, id)
}

func (s *Service) disableCounterpartRoute(ctx context.Context, in *CounterpartIDIn) (*Counterpart, error) {
	return s.setCounterpartEnabled(ctx, in.ID, false)
}

func (s *Service) enableCounterpartRoute(ctx context.Context, in *CounterpartIDIn) (*Counterpart, error) {
	return s.setCounterpartEnabled(ctx, in.ID, true)
}
