package pluginhost

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// Binding is a landing binding: which plugin serves the codes it matches.
type Binding struct {
	ID         int64     `json:"id"`
	PlatformID string    `json:"platformId"`
	Scope      string    `json:"scope" doc:"code | owner_type | region_type | type | kind (most specific first)"`
	CodeToken  string    `json:"codeToken,omitempty"`
	OwnerUnit  string    `json:"ownerUnit,omitempty"`
	RegionCode string    `json:"regionCode,omitempty"`
	TypeID     string    `json:"typeId,omitempty"`
	CodeKind   string    `json:"codeKind,omitempty"`
	Plugin     string    `json:"plugin"`
	Title      string    `json:"title,omitempty"`
	State      string    `json:"state" doc:"draft → review → online ⇄ offline (草稿、审核中、已上线、已下线)"`
	CreatedBy  string    `json:"createdBy,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// BindingIn creates or edits a binding.
type BindingIn struct {
	PlatformID string `json:"platformId" validate:"max=32" doc:"default: your platform"`
	Scope      string `json:"scope" validate:"required,oneof=code owner_type region_type type kind"`
	CodeToken  string `json:"codeToken" validate:"max=64"`
	OwnerUnit  string `json:"ownerUnit" validate:"max=128"`
	RegionCode string `json:"regionCode" validate:"max=32"`
	TypeID     string `json:"typeId" validate:"max=32"`
	CodeKind   string `json:"codeKind" validate:"omitempty,oneof=object enterprise person"`
	Plugin     string `json:"plugin" validate:"required,max=40"`
	Title      string `json:"title" validate:"max=64"`
}

// check enforces that a binding names exactly the keys of its scope.
func (in *BindingIn) check() error {
	need := map[string][]string{
		"code": {"codeToken"}, "owner_type": {"ownerUnit", "typeId"}, "region_type": {"regionCode", "typeId"},
		"type": {"typeId"}, "kind": {"codeKind"},
	}[in.Scope]
	have := map[string]string{"codeToken": in.CodeToken, "ownerUnit": in.OwnerUnit, "regionCode": in.RegionCode,
		"typeId": in.TypeID, "codeKind": in.CodeKind}
	for _, k := range need {
		if have[k] == "" {
			return fault.Missing(k)
		}
		delete(have, k)
	}
	for k, v := range have {
		if v != "" {
			return fault.Invalidf("%s does not belong to a binding of scope %s", k, in.Scope)
		}
	}
	return nil
}

func (s *Service) checkServes(ctx context.Context, in *BindingIn) error {
	m := s.manifestOf(ctx, in.Plugin)
	if m == nil {
		return fault.Invalidf("plugin %s is not installed", in.Plugin)
	}
	if _, ok := m.Route(plugin.Landing, "GET", "/"); !ok {
		return fault.Invalidf("plugin %s has no landing page (a landing route GET /)", in.Plugin)
	}
	if in.CodeKind != "" && len(m.Serves.CodeKinds) > 0 {
		for _, k := range m.Serves.CodeKinds {
			if k == in.CodeKind {
				return nil
			}
		}
		return fault.Invalidf("plugin %s does not serve %s codes", in.Plugin, in.CodeKind)
	}
	return nil
}

// CreateBinding adds a binding in the draft state.
func (s *Service) CreateBinding(ctx context.Context, in *BindingIn, by string) (*Binding, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	if err := s.checkServes(ctx, in); err != nil {
		return nil, err
	}
	var id int64
	err := s.cfg.Pool.QueryRow(ctx, `INSERT INTO landing_bindings (platform_id, scope, code_token, owner_unit, region_code, type_id,
		code_kind, plugin, title, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
		in.PlatformID, in.Scope, in.CodeToken, in.OwnerUnit, in.RegionCode, in.TypeID, in.CodeKind, in.Plugin, in.Title, by, s.cfg.Clock()).Scan(&id)
	if err != nil {
		return nil, err
	}
	return s.Binding(ctx, id)
}

// UpdateBinding edits a draft or offline binding.
func (s *Service) UpdateBinding(ctx context.Context, id int64, in *BindingIn) (*Binding, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	if err := s.checkServes(ctx, in); err != nil {
		return nil, err
	}
	tag, err := s.cfg.Pool.Exec(ctx, `UPDATE landing_bindings SET scope = $2, code_token = $3, owner_unit = $4, region_code = $5, type_id = $6,
		code_kind = $7, plugin = $8, title = $9, updated_at = $10 WHERE id = $1 AND platform_id = $11 AND state IN ('draft', 'offline')`,
		id, in.Scope, in.CodeToken, in.OwnerUnit, in.RegionCode, in.TypeID, in.CodeKind, in.Plugin, in.Title, s.cfg.Clock(), in.PlatformID)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		b, err := s.Binding(ctx, id)
		if err != nil || b.PlatformID != in.PlatformID {
			return nil, fault.NotFoundf("landing binding %d not found", id)
		}
		return nil, fault.Conflictf(fault.CodeFailedOperation, "landing binding %d is %s: take it offline before editing", id, b.State)
	}
	return s.Binding(ctx, id)
}

// transitions are the allowed state changes of a binding.
var transitions = map[string][]string{
	"draft":   {"review"},
	"review":  {"online", "draft"},
	"online":  {"offline"},
	"offline": {"online", "draft"},
}

// SetBindingState moves a binding through its states. Going online while
// another online binding has the same key is refused.
func (s *Service) SetBindingState(ctx context.Context, id int64, state string) (*Binding, error) {
	err := store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		var cur string
		err := tx.QueryRow(ctx, `SELECT state FROM landing_bindings WHERE id = $1 FOR UPDATE`, id).Scan(&cur)
		if store.NoRows(err) {
			return fault.NotFoundf("landing binding %d not found", id)
		}
		if err != nil {
			return err
		}
		ok := false
		for _, t := range transitions[cur] {
			ok = ok || t == state
		}
		if !ok {
			return fault.Conflictf(fault.CodeFailedOperation, "landing binding %d cannot go from %s to %s", id, cur, state)
		}
		_, err = tx.Exec(ctx, `UPDATE landing_bindings SET state = $2, updated_at = $3 WHERE id = $1`, id, state, s.cfg.Clock())
		if store.IsUniqueViolation(err, "landing_bindings_online") {
			return fault.Conflictf(fault.CodeResourceInUse, "another landing binding with the same scope and keys is online: take it offline first")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Binding(ctx, id)
}

// DeleteBinding removes a binding that is not online.
func (s *Service) DeleteBinding(ctx context.Context, id int64, platformID string) error {
	tag, err := s.cfg.Pool.Exec(ctx, `DELETE FROM landing_bindings WHERE id = $1 AND platform_id = $2 AND state <> 'online'`, id, platformID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		b, err := s.Binding(ctx, id)
		if err != nil || b.PlatformID != platformID {
			return fault.NotFoundf("landing binding %d not found", id)
		}
		return fault.Conflictf(fault.CodeFailedOperation, "landing binding %d is online: take it offline first", id)
	}
	return nil
}

const bindingCols = `id, platform_id, scope, code_token, owner_unit, region_code, type_id, code_kind, plugin, title, state, created_by, created_at, updated_at`

func scanBinding(r pgx.Row) (*Binding, error) {
	var b Binding
	err := r.Scan(&b.ID, &b.PlatformID, &b.Scope, &b.CodeToken, &b.OwnerUnit, &b.RegionCode, &b.TypeID, &b.CodeKind, &b.Plugin,
		&b.Title, &b.State, &b.CreatedBy, &b.CreatedAt, &b.UpdatedAt)
	return &b, err
}

// Binding reads one binding.
func (s *Service) Binding(ctx context.Context, id int64) (*Binding, error) {
	b, err := scanBinding(s.cfg.Pool.QueryRow(ctx, `SELECT `+bindingCols+` FROM landing_bindings WHERE id = $1`, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("landing binding %d not found", id)
	}
	return b, err
}

// Bindings lists a platform's bindings, optionally of one state or plugin.
func (s *Service) Bindings(ctx context.Context, platformID, state, pluginName string) ([]*Binding, error) {
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+bindingCols+` FROM landing_bindings
		WHERE platform_id = $1 AND ($2 = '' OR state = $2) AND ($3 = '' OR plugin = $3) ORDER BY id`, platformID, state, pluginName)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Binding{}
	for rows.Next() {
		b, err := scanBinding(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
