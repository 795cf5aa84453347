package codeengine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// ReviewWindow is how long a submission waits for its reviewer before the
// sweep approves it, when its object type allows auto-approval (72小时自动通过).
const ReviewWindow = 72 * time.Hour

// TypeIn creates or replaces an object type.
type TypeIn struct {
	Name           string  `json:"name" validate:"required,max=64"`
	ParentID       string  `json:"parentId" validate:"max=32"`
	Management     string  `json:"management" validate:"omitempty,oneof=city local" doc:"city-wide (市级统管: its codes are reviewed by the main platform) or local (属地, default: reviewed by the platform and region of each code)"`
	RequiredFields []Field `json:"requiredFields" validate:"max=50,dive" doc:"attributes activation must fill"`
	AutoActivate   bool    `json:"autoActivate"`
	// ReviewRequired is the review switch (需审核).
	ReviewRequired bool `json:"reviewRequired" doc:"需审核: activation and entry leave a code pending_review until the type's competent department approves it"`
	// ReviewAutoApprove is read when the sweep runs, so switching it
	// applies to submissions already waiting.
	ReviewAutoApprove *bool `json:"reviewAutoApprove" doc:"approve a submission nobody reviewed within 72 hours (default true)"`
	// IndustryCodeField names the attribute holding the industry code.
	IndustryCodeField  string `json:"industryCodeField" validate:"max=64" doc:"the attribute holding the object's industry code (行业管理编码); empty for none"`
	IndustryCodeUnique bool   `json:"industryCodeUnique" doc:"no two live (pending_review or active) codes of the type may share an industry code; industryCodeField must then be a required field"`
}

// ObjectType is an object type.
type ObjectType struct {
	ID string `json:"id"`
	TypeIn
	CreatedAt time.Time `json:"createdAt"`
}

// check validates and normalizes a type's settings. Uniqueness needs the
// industry code to be required: a type that lets codes go without one
// cannot say which codes clash (the requirement: a type that does not make
// the industry code required is not checked for uniqueness).
func (in *TypeIn) check() error {
	in.Name, in.ParentID = strings.TrimSpace(in.Name), strings.TrimSpace(in.ParentID)
	in.IndustryCodeField = strings.TrimSpace(in.IndustryCodeField)
	if err := checkText("name", in.Name, true, 64); err != nil {
		return err
	}
	if err := storable("name", in.Name, "parentId", in.ParentID); err != nil {
		return err
	}
	if in.Management == "" {
		in.Management = "local"
	}
	if in.Management != "city" && in.Management != "local" {
		return fault.Invalidf("parameter %q must be city or local", "management")
	}
	fs, err := checkFields("requiredFields", in.RequiredFields, false)
	if err != nil {
		return err
	}
	in.RequiredFields = fs
	b, _ := json.Marshal(fs)
	if err := storableJSON("requiredFields", b); err != nil {
		return err
	}
	if in.ReviewAutoApprove == nil {
		yes := true
		in.ReviewAutoApprove = &yes
	}
	if in.IndustryCodeField == "" {
		if in.IndustryCodeUnique {
			return fault.Invalidf("parameter %q: name the industry code's attribute (industryCodeField) to make it unique", "industryCodeUnique")
		}
		return nil
	}
	if !validName(in.IndustryCodeField) {
		return fault.Invalidf("parameter %q must be 1 to 64 letters, digits or _, starting with a letter", "industryCodeField")
	}
	i := slices.IndexFunc(fs, func(f Field) bool { return f.Name == in.IndustryCodeField })
	if in.IndustryCodeUnique && (i < 0 || !fs[i].Required) {
		return fault.Invalidf("parameter %q: the industry code %s must be a required field (requiredFields) to be unique", "industryCodeUnique", in.IndustryCodeField)
	}
	return nil
}

// objectType is what writing a code of the type needs to know.
type objectType struct {
	ID, Name, Management string
	Required             []Field
	Review               bool
	IndustryField        string
	IndustryUnique       bool
}

// check validates attributes against the type's required fields.
func (t *objectType) check(attrs map[string]any) error {
	r := Resolved{Collection: t.Required}
	return r.CheckCollection(attrs)
}

// industryCode is the industry code attrs hold, as the database trigger
// object_codes_industry derives it (btrim of the attribute's JSON text).
func (t *objectType) industryCode(attrs map[string]any) string {
	if t.IndustryField == "" {
		return ""
	}
	switch v := attrs[t.IndustryField].(type) {
	case nil:
		return ""
	case string:
		return strings.Trim(v, " ")
	default:
		b, _ := json.Marshal(v)
		return strings.Trim(string(b), " ")
	}
}

// lockType loads a type FOR SHARE. Every write of a code's attributes takes
// its type first and the code second, the order UpdateType takes them in,
// so a change of the industry settings and an activation never deadlock.
func lockType(ctx context.Context, tx pgx.Tx, id string) (*objectType, error) {
	t := &objectType{ID: id}
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT name, management, required_fields, review_required, industry_code_field, industry_code_unique
		FROM object_types WHERE id = $1 FOR SHARE`, id).Scan(&t.Name, &t.Management, &raw, &t.Review, &t.IndustryField, &t.IndustryUnique)
	if store.NoRows(err) {
		return nil, fault.Invalidf("object type %s does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: object type: %w", err)
	}
	if err := json.Unmarshal(raw, &t.Required); err != nil {
		return nil, fmt.Errorf("codeengine: object type %s fields: %w", id, err)
	}
	return t, nil
}

// CreateType creates an object type.
func (o *Objects) CreateType(ctx context.Context, in *TypeIn) (*ObjectType, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	fields, _ := json.Marshal(orEmpty(in.RequiredFields))
	t := &ObjectType{TypeIn: *in, CreatedAt: o.rules.now()}
	var parent any
	if in.ParentID != "" {
		parent = in.ParentID
	}
	err := o.rules.cfg.Pool.QueryRow(ctx, `INSERT INTO object_types (id, name, parent_id, management, required_fields, auto_activate,
		review_required, review_auto_approve, industry_code_field, industry_code_unique, created_at)
		VALUES (`+nextID("T", "object_type_seq")+`, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		in.Name, parent, in.Management, fields, in.AutoActivate, in.ReviewRequired, *in.ReviewAutoApprove,
		in.IndustryCodeField, in.IndustryCodeUnique, t.CreatedAt).Scan(&t.ID)
	if store.IsForeignKeyViolation(err) {
		return nil, fault.Invalidf("parent type %s does not exist", in.ParentID)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: create object type: %w", err)
	}
	return t, nil
}

const typeCols = `id, name, coalesce(parent_id, ''), management, required_fields, auto_activate, review_required, review_auto_approve,
	industry_code_field, industry_code_unique, created_at`

func scanType(row pgx.Row) (ObjectType, error) {
	var t ObjectType
	var raw []byte
	var auto bool
	err := row.Scan(&t.ID, &t.Name, &t.ParentID, &t.Management, &raw, &t.AutoActivate, &t.ReviewRequired, &auto,
		&t.IndustryCodeField, &t.IndustryCodeUnique, &t.CreatedAt)
	if err != nil {
		return t, err
	}
	t.ReviewAutoApprove = &auto
	return t, json.Unmarshal(raw, &t.RequiredFields)
}

// TypeIDIn names an object type.
type TypeIDIn struct {
	TypeID string `path:"typeId" json:"-"`
}

// ListTypesIn filters object types.
type ListTypesIn struct {
	Name       string `query:"name" doc:"part of the name"`
	ParentID   string `query:"parentId" doc:"the sub-types (小类) of this type"`
	Management string `query:"management" validate:"omitempty,oneof=city local"`
	PageIn
}

// typeScope restricts a list of types to the object types the caller is
// confined to. Types are shared by every platform, so the platform and
// region of the caller's scope do not apply to them.
func typeScope(ctx context.Context, f *filter, col string) {
	if ts := policy.ScopeFrom(ctx).ObjectTypes; len(ts) > 0 {
		f.add(col + " = ANY(" + f.arg(ts) + ")")
	}
}

// ListTypes answers the object types the caller may see, by name, parent
// and management, in id order.
func (o *Objects) ListTypes(ctx context.Context, in *ListTypesIn) (*Page[ObjectType], error) {
	if err := storable("name", in.Name, "parentId", in.ParentID); err != nil {
		return nil, err
	}
	var f filter
	typeScope(ctx, &f, "id")
	f.contains("name", in.Name)
	f.eq("parent_id", strings.TrimSpace(in.ParentID))
	f.eq("management", in.Management)
	return list(ctx, o.rules.cfg.Pool, "object_types", typeCols, "length(id), id", &f, in.PageIn, scanType)
}

// GetType answers one object type.
func (o *Objects) GetType(ctx context.Context, in *TypeIDIn) (*ObjectType, error) {
	if err := storable("typeId", in.TypeID); err != nil {
		return nil, err
	}
	if ts := policy.ScopeFrom(ctx).ObjectTypes; len(ts) > 0 && !slices.Contains(ts, in.TypeID) {
		return nil, fault.Deniedf("object type %s is outside your object types", in.TypeID)
	}
	t, err := scanType(o.rules.cfg.Pool.QueryRow(ctx, "SELECT "+typeCols+" FROM object_types WHERE id = $1", in.TypeID))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("object type %s does not exist", in.TypeID)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: object type: %w", err)
	}
	return &t, nil
}

// UpdateTypeIn replaces an object type's settings.
type UpdateTypeIn struct {
	TypeID string `path:"typeId" json:"-"`
	TypeIn
}

// UpdateType replaces a type's settings. Types are shared by the whole
// city, so only operators of the main platform whose object types include
// it may change them. Turning the review switch on or off applies to the
// next submissions; submissions already waiting keep waiting. Changing the
// industry code's attribute or its uniqueness re-derives the industry code
// of every code of the type; requiring uniqueness while two live codes
// share one is refused naming them, and changes nothing.
func (o *Objects) UpdateType(ctx context.Context, in *UpdateTypeIn) (*ObjectType, error) {
	if err := storable("typeId", in.TypeID); err != nil {
		return nil, err
	}
	if _, err := o.rules.cfg.Authz.Require(ctx, "objtype.update",
		&policy.Resource{PlatformID: o.rules.cfg.MainPlatformID, ObjectType: in.TypeID}); err != nil {
		return nil, err
	}
	if err := in.TypeIn.check(); err != nil {
		return nil, err
	}
	if in.ParentID == in.TypeID {
		return nil, fault.Invalidf("parameter %q: a type cannot be its own parent", "parentId")
	}
	var out ObjectType
	err := store.Tx(ctx, o.rules.cfg.Pool, func(tx pgx.Tx) error {
		var field string
		var unique bool
		err := tx.QueryRow(ctx, `SELECT industry_code_field, industry_code_unique FROM object_types WHERE id = $1 FOR UPDATE`, in.TypeID).Scan(&field, &unique)
		if store.NoRows(err) {
			return fault.NotFoundf("object type %s does not exist", in.TypeID)
		}
		if err != nil {
			return err
		}
		var parent any
		if in.ParentID != "" {
			parent = in.ParentID
			var cycle bool
			if err := tx.QueryRow(ctx, `WITH RECURSIVE up(id) AS (SELECT $1::text UNION SELECT t.parent_id FROM object_types t JOIN up ON t.id = up.id WHERE t.parent_id IS NOT NULL)
				SELECT EXISTS (SELECT 1 FROM up WHERE id = $2)`, in.ParentID, in.TypeID).Scan(&cycle); err != nil {
				return err
			}
			if cycle {
				return fault.Invalidf("parameter %q: type %s is below %s; the types would make a cycle", "parentId", in.ParentID, in.TypeID)
			}
		}
		reindex := field != in.IndustryCodeField || unique != in.IndustryCodeUnique
		if reindex && in.IndustryCodeUnique {
			var code string
			var a, b int64
			err := tx.QueryRow(ctx, `SELECT k, min(number), max(number) FROM (SELECT nullif(btrim(attributes ->> $2), '') AS k, number
				FROM object_codes WHERE type_id = $1 AND status IN ('pending_review', 'active')) c
				WHERE k IS NOT NULL GROUP BY k HAVING count(*) > 1 ORDER BY k LIMIT 1`, in.TypeID, in.IndustryCodeField).Scan(&code, &a, &b)
			if err == nil {
				return fault.Conflictf(fault.CodeFailedOperation, "object codes %d and %d of type %s share the industry code %q: make the industry codes unique (or cancel one) before requiring uniqueness", a, b, in.TypeID, code)
			}
			if !store.NoRows(err) {
				return err
			}
		}
		fields, _ := json.Marshal(orEmpty(in.RequiredFields))
		_, err = tx.Exec(ctx, `UPDATE object_types SET name = $2, parent_id = $3, management = $4, required_fields = $5, auto_activate = $6,
			review_required = $7, review_auto_approve = $8, industry_code_field = $9, industry_code_unique = $10 WHERE id = $1`,
			in.TypeID, in.Name, parent, in.Management, fields, in.AutoActivate, in.ReviewRequired, *in.ReviewAutoApprove,
			in.IndustryCodeField, in.IndustryCodeUnique)
		if store.IsForeignKeyViolation(err) {
			return fault.Invalidf("parent type %s does not exist", in.ParentID)
		}
		if err != nil {
			return err
		}
		if reindex {
			// Naming type_id fires the trigger that derives the industry
			// code with the new settings.
			if _, err := tx.Exec(ctx, `UPDATE object_codes SET type_id = type_id WHERE type_id = $1 AND (attributes IS NOT NULL OR industry_code IS NOT NULL)`, in.TypeID); err != nil {
				if store.IsUniqueViolation(err, industryIndex) {
					return fault.Conflictf(fault.CodeFailedOperation, "live codes of type %s share an industry code; make them unique before requiring uniqueness", in.TypeID)
				}
				return err
			}
		}
		out, err = scanType(tx.QueryRow(ctx, "SELECT "+typeCols+" FROM object_types WHERE id = $1", in.TypeID))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// industryIndex is the partial unique index that keeps industry codes
// unique among a type's live codes.
const industryIndex = "object_codes_industry_unique"
