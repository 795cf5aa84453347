package codeengine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Statuses of specs and the enabled state of rules as the console names it.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// SpecIn is a spec's editable content; an update replaces it all.
type SpecIn struct {
	Name        string  `json:"name" validate:"required,max=64"`
	Description string  `json:"description" validate:"max=500"`
	Fields      []Field `json:"fields" validate:"required,min=1,max=100,dive" doc:"the field layout, in order; each field states its length"`
}

// UpdateSpecIn replaces a spec's content.
type UpdateSpecIn struct {
	SpecID string `path:"specId" json:"-"`
	SpecIn
}

// SpecIDIn names a spec.
type SpecIDIn struct {
	SpecID string `path:"specId" json:"-"`
}

// Spec is a code spec (码规范): the field layout rules take their spec fields
// from.
type Spec struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Fields      []Field   `json:"fields"`
	Status      string    `json:"status" doc:"enabled | disabled: a disabled spec cannot be chosen for new rules"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// ListSpecsIn filters the spec list.
type ListSpecsIn struct {
	Name   string `query:"name" doc:"part of the name"`
	Status string `query:"status" validate:"omitempty,oneof=enabled disabled"`
	TimeRange
	PageIn
}

const specCols = "id, name, description, fields, status, created_at, updated_at"

func scanSpec(row pgx.Row) (Spec, error) {
	var sp Spec
	var fields []byte
	if err := row.Scan(&sp.ID, &sp.Name, &sp.Description, &fields, &sp.Status, &sp.CreatedAt, &sp.UpdatedAt); err != nil {
		return sp, err
	}
	return sp, unmarshalAll(fields, &sp.Fields)
}

func (in *SpecIn) check() ([]byte, error) {
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	if err := checkText("name", in.Name, true, 64); err != nil {
		return nil, err
	}
	if err := checkText("description", in.Description, false, 500); err != nil {
		return nil, err
	}
	if len(in.Fields) == 0 {
		return nil, fault.Missing("fields")
	}
	fs, err := checkFields("fields", in.Fields, true)
	if err != nil {
		return nil, err
	}
	in.Fields = fs
	return json.Marshal(fs)
}

// ListSpecs answers specs by fuzzy name, status and creation time, newest
// first. Every operator with spec.read sees every spec: specs are the
// city's common standard.
func (s *Rules) ListSpecs(ctx context.Context, in *ListSpecsIn) (*Page[Spec], error) {
	if _, err := s.cfg.Authz.Require(ctx, "spec.read", nil); err != nil {
		return nil, err
	}
	var f filter
	f.contains("name", in.Name)
	f.eq("status", in.Status)
	if err := f.timeRange("created_at", in.TimeRange); err != nil {
		return nil, err
	}
	return list(ctx, s.cfg.Pool, "code_specs", specCols, "created_at DESC, id DESC", &f, in.PageIn, scanSpec)
}

// GetSpec answers one spec.
func (s *Rules) GetSpec(ctx context.Context, in *SpecIDIn) (*Spec, error) {
	if _, err := s.cfg.Authz.Require(ctx, "spec.read", nil); err != nil {
		return nil, err
	}
	return s.spec(ctx, s.cfg.Pool, in.SpecID)
}

func (s *Rules) spec(ctx context.Context, q queryer, id string) (*Spec, error) {
	sp, err := scanSpec(q.QueryRow(ctx, "SELECT "+specCols+" FROM code_specs WHERE id = $1", id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("code spec %s does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: spec: %w", err)
	}
	return &sp, nil
}

// CreateSpec creates an enabled spec (main platform only).
func (s *Rules) CreateSpec(ctx context.Context, in *SpecIn) (*Spec, error) {
	if _, err := s.cfg.Authz.Require(ctx, "spec.create", nil); err != nil {
		return nil, err
	}
	fields, err := in.check()
	if err != nil {
		return nil, err
	}
	var sp *Spec
	err = s.change(ctx, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, `INSERT INTO code_specs (id, name, description, fields, status, created_at, updated_at)
			VALUES (`+nextID("S", "code_spec_seq")+`, $1, $2, $3, 'enabled', $4, $4) RETURNING id`,
			in.Name, in.Description, fields, s.now()).Scan(&id); err != nil {
			return fmt.Errorf("codeengine: create spec: %w", err)
		}
		sp, err = s.spec(ctx, tx, id)
		return err
	})
	return sp, err
}

// checkText checks a trimmed text parameter.
func checkText(param, v string, required bool, max int) error {
	if required && v == "" {
		return fault.Missing(param)
	}
	if utf8.RuneCountInString(v) > max {
		return fault.Invalidf("parameter %q must be at most %d characters", param, max)
	}
	return nil
}

// nextID is the SQL of the next readable id of a sequence: prefix and at
// least four digits (S0001, R0001, ... R10000).
func nextID(prefix, seq string) string {
	return fmt.Sprintf("(SELECT '%s' || lpad(n::text, greatest(4, length(n::text)), '0') FROM nextval('%s') AS n)", prefix, seq)
}

// UpdateSpec replaces a spec's name, description and fields (main platform
// only). Rules keep the fields they took when created.
func (s *Rules) UpdateSpec(ctx context.Context, in *UpdateSpecIn) (*Spec, error) {
	if _, err := s.cfg.Authz.Require(ctx, "spec.update", nil); err != nil {
		return nil, err
	}
	fields, err := in.check()
	if err != nil {
		return nil, err
	}
	return s.updateSpec(ctx, in.SpecID, "name = $2, description = $3, fields = $4", in.Name, in.Description, fields)
}

// EnableSpec enables a spec (main platform only).
func (s *Rules) EnableSpec(ctx context.Context, in *SpecIDIn) (*Spec, error) {
	if _, err := s.cfg.Authz.Require(ctx, "spec.update", nil); err != nil {
		return nil, err
	}
	return s.updateSpec(ctx, in.SpecID, "status = $2", StatusEnabled)
}

// DisableSpec disables a spec: it can no longer be chosen for new rules;
// rules that use it are unaffected (main platform only).
func (s *Rules) DisableSpec(ctx context.Context, in *SpecIDIn) (*Spec, error) {
	if _, err := s.cfg.Authz.Require(ctx, "spec.update", nil); err != nil {
		return nil, err
	}
	return s.updateSpec(ctx, in.SpecID, "status = $2", StatusDisabled)
}

// updateSpec sets columns (set uses $2...) of spec id and answers it.
func (s *Rules) updateSpec(ctx context.Context, id, set string, args ...any) (*Spec, error) {
	var sp *Spec
	err := s.change(ctx, func(tx pgx.Tx) error {
		args = append([]any{id}, args...)
		args = append(args, s.now())
		tag, err := tx.Exec(ctx, fmt.Sprintf("UPDATE code_specs SET %s, updated_at = $%d WHERE id = $1", set, len(args)), args...)
		if err != nil {
			return fmt.Errorf("codeengine: update spec: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fault.NotFoundf("code spec %s does not exist", id)
		}
		sp, err = s.spec(ctx, tx, id)
		return err
	})
	return sp, err
}

// DeleteSpec deletes a spec (main platform only). Rules that use it keep
// the fields they took and the spec's name.
func (s *Rules) DeleteSpec(ctx context.Context, in *SpecIDIn) (*httpapi.Empty, error) {
	if _, err := s.cfg.Authz.Require(ctx, "spec.delete", nil); err != nil {
		return nil, err
	}
	err := s.change(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM code_specs WHERE id = $1`, in.SpecID)
		if err != nil {
			return fmt.Errorf("codeengine: delete spec: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fault.NotFoundf("code spec %s does not exist", in.SpecID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, nil
}
