package tenancy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// DictGroup is a dictionary group (字典分组): a named list of items that
// forms and plugins offer as choices. Its code is fixed at creation because
// programs refer to it.
type DictGroup struct {
	ID          int64     `json:"id"`
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// DictItem is one entry of a dictionary group (字典).
type DictItem struct {
	ID        int64     `json:"id"`
	GroupCode string    `json:"groupCode"`
	Label     string    `json:"label"`
	Value     string    `json:"value"`
	Sort      int       `json:"sort"`
	Status    string    `json:"status" doc:"enabled | disabled"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// ListDictGroupsIn filters the group list.
type ListDictGroupsIn struct {
	Keyword string `query:"keyword" doc:"part of the code or the name"`
	PageIn
}

// DictGroupFields are a group's editable fields.
type DictGroupFields struct {
	Name        string `json:"name" validate:"required,max=64"`
	Description string `json:"description,omitempty" validate:"max=500"`
}

// CreateDictGroupIn creates a group.
type CreateDictGroupIn struct {
	Code string `json:"code" validate:"required,max=64" doc:"a letter, then letters, digits, _ . -"`
	DictGroupFields
}

// UpdateDictGroupIn replaces a group's name and description.
type UpdateDictGroupIn struct {
	ID int64 `path:"groupId" json:"-"`
	DictGroupFields
}

// DictGroupIDIn names one group.
type DictGroupIDIn struct {
	ID int64 `path:"groupId" json:"-"`
}

// ListDictItemsIn filters the item list.
type ListDictItemsIn struct {
	GroupCode string `query:"groupCode"`
	Keyword   string `query:"keyword" doc:"part of the label or the value"`
	Status    string `query:"status" doc:"enabled | disabled"`
	PageIn
}

// DictItemFields are an item's editable fields; an update replaces them all.
type DictItemFields struct {
	Label  string `json:"label" validate:"required,max=64"`
	Value  string `json:"value" validate:"required,max=128" doc:"unique within the group"`
	Sort   int    `json:"sort,omitempty"`
	Status string `json:"status,omitempty" doc:"enabled (default) | disabled"`
}

// CreateDictItemIn adds an item to a group.
type CreateDictItemIn struct {
	GroupCode string `json:"groupCode" validate:"required"`
	DictItemFields
}

// UpdateDictItemIn replaces an item's fields; it stays in its group.
type UpdateDictItemIn struct {
	ID int64 `path:"itemId" json:"-"`
	DictItemFields
}

// DictItemIDIn names one item.
type DictItemIDIn struct {
	ID int64 `path:"itemId" json:"-"`
}

const (
	dictGroupCols = "id, code, name, description, created_at, updated_at"
	dictItemCols  = "id, group_code, label, value, sort, status, created_at, updated_at"
)

func scanDictGroup(row pgx.Row) (DictGroup, error) {
	var g DictGroup
	err := row.Scan(&g.ID, &g.Code, &g.Name, &g.Description, &g.CreatedAt, &g.UpdatedAt)
	return g, err
}

func scanDictItem(row pgx.Row) (DictItem, error) {
	var i DictItem
	err := row.Scan(&i.ID, &i.GroupCode, &i.Label, &i.Value, &i.Sort, &i.Status, &i.CreatedAt, &i.UpdatedAt)
	return i, err
}

func (f *DictGroupFields) check() error {
	f.Name, f.Description = strings.TrimSpace(f.Name), strings.TrimSpace(f.Description)
	var c check
	c.text("name", f.Name, true, 64)
	c.max("description", f.Description, 500)
	return c.err
}

func (f *DictItemFields) check() error {
	f.Label, f.Value = strings.TrimSpace(f.Label), strings.TrimSpace(f.Value)
	if f.Status == "" {
		f.Status = StatusEnabled
	}
	var c check
	c.text("label", f.Label, true, 64)
	c.text("value", f.Value, true, 128)
	c.status("status", f.Status)
	return c.err
}

// ListDictGroups answers dictionary groups ordered by code.
func (s *Service) ListDictGroups(ctx context.Context, in *ListDictGroupsIn) (*Page[DictGroup], error) {
	if _, err := s.authz.Require(ctx, "dict.read", nil); err != nil {
		return nil, err
	}
	var f filter
	f.contains(in.Keyword, "code", "name")
	return list(ctx, s.pool, "dict_groups", dictGroupCols, "code", &f, in.PageIn, scanDictGroup)
}

// GetDictGroup answers one group.
func (s *Service) GetDictGroup(ctx context.Context, in *DictGroupIDIn) (*DictGroup, error) {
	if _, err := s.authz.Require(ctx, "dict.read", nil); err != nil {
		return nil, err
	}
	g, err := scanDictGroup(s.pool.QueryRow(ctx, "SELECT "+dictGroupCols+" FROM dict_groups WHERE id = $1", in.ID))
	return one(g, err, "dictionary group", in.ID)
}

// CreateDictGroup adds a group (main platform only).
func (s *Service) CreateDictGroup(ctx context.Context, in *CreateDictGroupIn) (*DictGroup, error) {
	if _, err := s.authz.Require(ctx, "dict.create", nil); err != nil {
		return nil, err
	}
	in.Code = strings.TrimSpace(in.Code)
	var c check
	c.required("code", in.Code)
	c.match("code", in.Code, dictCodeRE, "a letter followed by at most 63 letters, digits, _ . or -")
	c.fail(in.DictGroupFields.check())
	if c.err != nil {
		return nil, c.err
	}
	now := s.now()
	g, err := scanDictGroup(s.pool.QueryRow(ctx, `
		INSERT INTO dict_groups (code, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		RETURNING `+dictGroupCols, in.Code, in.Name, in.Description, now))
	if store.IsUniqueViolation(err, "") {
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "dictionary group %s already exists", in.Code)
	}
	if err != nil {
		return nil, fmt.Errorf("tenancy: create dictionary group: %w", err)
	}
	return &g, nil
}

// UpdateDictGroup replaces a group's name and description (main platform
// only).
func (s *Service) UpdateDictGroup(ctx context.Context, in *UpdateDictGroupIn) (*DictGroup, error) {
	if _, err := s.authz.Require(ctx, "dict.update", nil); err != nil {
		return nil, err
	}
	if err := in.DictGroupFields.check(); err != nil {
		return nil, err
	}
	g, err := scanDictGroup(s.pool.QueryRow(ctx, `
		UPDATE dict_groups SET name = $2, description = $3, updated_at = $4 WHERE id = $1 RETURNING `+dictGroupCols,
		in.ID, in.Name, in.Description, s.now()))
	return one(g, err, "dictionary group", in.ID)
}

// DeleteDictGroup deletes a group and all its items (main platform only).
func (s *Service) DeleteDictGroup(ctx context.Context, in *DictGroupIDIn) error {
	n, err := s.deleteDict(ctx, "dict_groups", []int64{in.ID})
	if err == nil && n == 0 {
		return fault.NotFoundf("dictionary group %d not found", in.ID)
	}
	return err
}

// DeleteDictGroups deletes groups and all their items (main platform only);
// unknown ids are ignored.
func (s *Service) DeleteDictGroups(ctx context.Context, in *IDs) (*Deleted, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	n, err := s.deleteDict(ctx, "dict_groups", in.IDs)
	if err != nil {
		return nil, err
	}
	return &Deleted{Deleted: n}, nil
}

// ListDictItems answers items by group, keyword and status, ordered by group,
// sort and id.
func (s *Service) ListDictItems(ctx context.Context, in *ListDictItemsIn) (*Page[DictItem], error) {
	if _, err := s.authz.Require(ctx, "dict.read", nil); err != nil {
		return nil, err
	}
	var c check
	c.status("status", in.Status)
	if c.err != nil {
		return nil, c.err
	}
	var f filter
	f.eq("group_code", in.GroupCode)
	f.contains(in.Keyword, "label", "value")
	f.eq("status", in.Status)
	return list(ctx, s.pool, "dict_items", dictItemCols, "group_code, sort, id", &f, in.PageIn, scanDictItem)
}

// GetDictItem answers one item.
func (s *Service) GetDictItem(ctx context.Context, in *DictItemIDIn) (*DictItem, error) {
	if _, err := s.authz.Require(ctx, "dict.read", nil); err != nil {
		return nil, err
	}
	i, err := scanDictItem(s.pool.QueryRow(ctx, "SELECT "+dictItemCols+" FROM dict_items WHERE id = $1", in.ID))
	return one(i, err, "dictionary item", in.ID)
}

// CreateDictItem adds an item to a group (main platform only).
func (s *Service) CreateDictItem(ctx context.Context, in *CreateDictItemIn) (*DictItem, error) {
	if _, err := s.authz.Require(ctx, "dict.create", nil); err != nil {
		return nil, err
	}
	in.GroupCode = strings.TrimSpace(in.GroupCode)
	var c check
	c.required("groupCode", in.GroupCode)
	c.fail(in.DictItemFields.check())
	if c.err != nil {
		return nil, c.err
	}
	i, err := scanDictItem(s.pool.QueryRow(ctx, `
		INSERT INTO dict_items (group_code, label, value, sort, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING `+dictItemCols,
		in.GroupCode, in.Label, in.Value, in.Sort, in.Status, s.now()))
	return dictItemWrite(i, err, in.GroupCode, in.Value)
}

// UpdateDictItem replaces an item's fields (main platform only).
func (s *Service) UpdateDictItem(ctx context.Context, in *UpdateDictItemIn) (*DictItem, error) {
	if _, err := s.authz.Require(ctx, "dict.update", nil); err != nil {
		return nil, err
	}
	if err := in.DictItemFields.check(); err != nil {
		return nil, err
	}
	i, err := scanDictItem(s.pool.QueryRow(ctx, `
		UPDATE dict_items SET label = $2, value = $3, sort = $4, status = $5, updated_at = $6 WHERE id = $1
		RETURNING `+dictItemCols, in.ID, in.Label, in.Value, in.Sort, in.Status, s.now()))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("dictionary item %d not found", in.ID)
	}
	return dictItemWrite(i, err, "", in.Value)
}

// DeleteDictItem deletes an item (main platform only).
func (s *Service) DeleteDictItem(ctx context.Context, in *DictItemIDIn) error {
	n, err := s.deleteDict(ctx, "dict_items", []int64{in.ID})
	if err == nil && n == 0 {
		return fault.NotFoundf("dictionary item %d not found", in.ID)
	}
	return err
}

// DeleteDictItems deletes items (main platform only); unknown ids are
// ignored.
func (s *Service) DeleteDictItems(ctx context.Context, in *IDs) (*Deleted, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	n, err := s.deleteDict(ctx, "dict_items", in.IDs)
	if err != nil {
		return nil, err
	}
	return &Deleted{Deleted: n}, nil
}

// deleteDict deletes rows of table (a constant of this file) by id.
func (s *Service) deleteDict(ctx context.Context, table string, ids []int64) (int64, error) {
	if _, err := s.authz.Require(ctx, "dict.delete", nil); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM "+table+" WHERE id = ANY($1)", ids)
	if err != nil {
		return 0, fmt.Errorf("tenancy: delete from %s: %w", table, err)
	}
	return tag.RowsAffected(), nil
}

// one turns a single-row result into the answer of a get or update.
func one[T any](v T, err error, what string, id int64) (*T, error) {
	if store.NoRows(err) {
		return nil, fault.NotFoundf("%s %d not found", what, id)
	}
	if err != nil {
		return nil, fmt.Errorf("tenancy: %s: %w", what, err)
	}
	return &v, nil
}

func dictItemWrite(i DictItem, err error, group, value string) (*DictItem, error) {
	switch {
	case store.IsUniqueViolation(err, ""):
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "the group already has an item with value %q", value)
	case store.IsForeignKeyViolation(err):
		return nil, fault.Invalidf("parameter %q: dictionary group %s does not exist", "groupCode", group)
	case err != nil:
		return nil, fmt.Errorf("tenancy: write dictionary item: %w", err)
	}
	return &i, nil
}
