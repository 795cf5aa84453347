package codeengine

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// MaxBatch is the largest pre-issue batch.
const MaxBatch = 1_000_000

// Objects serves static object codes (一物一码).
type Objects struct {
	rules      *Rules
	events     *events.Writer
	publicBase string
}

// NewObjects returns the object-code service; publicBase is the URL prefix
// phones open ({publicBase}/c/{token}).
func NewObjects(rules *Rules, ev *events.Writer, publicBase string) (*Objects, error) {
	if rules == nil || ev == nil {
		return nil, errors.New("codeengine: rules and events are required")
	}
	return &Objects{rules: rules, events: ev, publicBase: strings.TrimRight(publicBase, "/")}, nil
}

// CheckDigit is the Luhn check digit of an 8-digit sequence number; the
// unified number is the sequence followed by it, so a mistyped digit or two
// swapped neighbours read over the phone is caught.
func CheckDigit(seq int64) int64 {
	sum, double := int64(0), true
	for n := seq; n > 0; n /= 10 {
		d := n % 10
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}

// ValidNumber checks a unified number's check digit.
func ValidNumber(n int64) bool {
	return n >= 100000000 && n <= 999999999 && CheckDigit(n/10) == n%10
}

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Batch is a pre-issued batch of empty codes.
type Batch struct {
	BatchID     string `json:"batchId"`
	Count       int    `json:"count"`
	FirstNumber int64  `json:"firstNumber" doc:"统一编号 of the first code"`
	LastNumber  int64  `json:"lastNumber"`
}

// PreIssue creates count empty codes of an object rule for the app: each an
// unguessable URL token and a unified number, committed together.
func (o *Objects) PreIssue(ctx context.Context, appID, platformID, codeDefID, typeID, region string, count int) (*Batch, error) {
	if count < 1 || count > MaxBatch {
		return nil, fault.Invalidf("count must be between 1 and %d", MaxBatch)
	}
	r, err := o.rules.Resolve(ctx, appID, codeDefID)
	if err != nil {
		return nil, err
	}
	if r.Kind != "object" {
		return nil, fault.Invalidf("codeDefId %s is a %s code rule, not an object one", codeDefID, r.Family)
	}
	now := o.rules.cfg.Clock()
	b := &Batch{Count: count}
	tokens := make([]byte, 15*count)
	if _, err := rand.Read(tokens); err != nil {
		return nil, err
	}
	err = store.Tx(ctx, o.rules.cfg.Pool, func(tx pgx.Tx) error {
		if typeID != "" {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM object_types WHERE id = $1)`, typeID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return fault.Invalidf("object type %s does not exist", typeID)
			}
		}
		var first int64
		if err := tx.QueryRow(ctx, `UPDATE object_number_counter SET next = next + $1 RETURNING next - $1`, count).Scan(&first); err != nil {
			return err
		}
		if first+int64(count) > 99999999 {
			return fault.Conflictf(fault.CodeFailedOperation, "the unified number space is exhausted")
		}
		b.BatchID = "B" + strconv.FormatInt(first, 10)
		b.FirstNumber, b.LastNumber = first*10+CheckDigit(first), (first+int64(count)-1)*10+CheckDigit(first+int64(count)-1)
		var typ any
		if typeID != "" {
			typ = typeID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO object_batches (id, platform_id, app_id, rule_id, type_id, region_code, count, first_seq, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, b.BatchID, platformID, appID, codeDefID, typ, region, count, first, now); err != nil {
			return err
		}
		i := 0
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"object_codes"},
			[]string{"token", "number", "batch_id", "platform_id", "rule_id", "type_id", "status", "region_code", "created_at"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == count {
					return nil, nil
				}
				seq := first + int64(i)
				tok := tokenEncoding.EncodeToString(tokens[15*i : 15*i+15])
				i++
				return []any{tok, seq*10 + CheckDigit(seq), b.BatchID, platformID, codeDefID, typ, "empty", region, now}, nil
			}))
		return err
	})
	if err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(map[string]any{"batchId": b.BatchID, "count": count})
	if err := o.events.Write(ctx, events.Event{At: now, Type: "generate", Result: "success", PlatformID: platformID, AppID: appID,
		RuleID: codeDefID, RuleVersion: r.Version, Kind: "object", RegionCode: region, Detail: detail}); err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the usage record could not be written; try again")
	}
	return b, nil
}

// ObjectCode is one object code as its holder app sees it.
type ObjectCode struct {
	URL        string          `json:"url" doc:"what the QR code holds: {publicBase}/c/{token}"`
	Token      string          `json:"token"`
	Number     int64           `json:"number" doc:"统一编号: 9 digits, the last a check digit"`
	Status     string          `json:"status" doc:"empty | active | cancelled"`
	TypeID     string          `json:"typeId,omitempty"`
	TypeName   string          `json:"typeName,omitempty"`
	RegionCode string          `json:"regionCode,omitempty"`
	OwnerUnit  string          `json:"ownerUnit,omitempty"`
	Attributes json.RawMessage `json:"attributes,omitempty"`
	BatchID    string          `json:"batchId"`
	CodeDefID  string          `json:"codeDefId"`
}

func (o *Objects) url(token string) string { return o.publicBase + "/c/" + token }

// BatchCodes lists a batch's codes in number order (for printing).
func (o *Objects) BatchCodes(ctx context.Context, platformID, batchID string, offset, limit int) ([]ObjectCode, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	var owner string
	err := o.rules.cfg.Pool.QueryRow(ctx, `SELECT platform_id FROM object_batches WHERE id = $1`, batchID).Scan(&owner)
	if store.NoRows(err) || (err == nil && owner != platformID) {
		return nil, fault.NotFoundf("batch %s not found", batchID)
	}
	if err != nil {
		return nil, err
	}
	rows, err := o.rules.cfg.Pool.Query(ctx, `SELECT token, number, status, coalesce(type_id, ''), rule_id FROM object_codes
		WHERE batch_id = $1 ORDER BY number OFFSET $2 LIMIT $3`, batchID, offset, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ObjectCode
	for rows.Next() {
		c := ObjectCode{BatchID: batchID}
		if err := rows.Scan(&c.Token, &c.Number, &c.Status, &c.TypeID, &c.CodeDefID); err != nil {
			return nil, err
		}
		c.URL = o.url(c.Token)
		out = append(out, c)
	}
	return out, rows.Err()
}

// lookupKey turns what a scanner or a caller has — the URL, the token or
// the unified number — into a WHERE condition.
func (o *Objects) lookupKey(code string) (string, any, error) {
	code = strings.TrimSpace(code)
	if i := strings.LastIndex(code, "/c/"); i >= 0 {
		code = code[i+3:]
	}
	if n, err := strconv.ParseInt(code, 10, 64); err == nil {
		if !ValidNumber(n) {
			return "", nil, fault.Invalidf("%s is not a valid unified number (check digit)", code)
		}
		return "c.number = $1", n, nil
	}
	if len(code) != 24 {
		return "", nil, fault.E(fault.Invalid, fault.CodeCodeTampered, "not an object code of this platform")
	}
	return "c.token = $1", code, nil
}

func (o *Objects) load(ctx context.Context, q pgx.Tx, code string, lock bool) (*ObjectCode, string, error) {
	cond, arg, err := o.lookupKey(code)
	if err != nil {
		return nil, "", err
	}
	sql := `SELECT c.token, c.number, c.status, coalesce(c.type_id, ''), coalesce(t.name, ''), c.region_code, c.owner_unit,
		c.attributes, c.batch_id, c.rule_id, c.platform_id FROM object_codes c LEFT JOIN object_types t ON t.id = c.type_id WHERE ` + cond
	if lock {
		sql += " FOR UPDATE OF c"
	}
	var row pgx.Row
	if q != nil {
		row = q.QueryRow(ctx, sql, arg)
	} else {
		row = o.rules.cfg.Pool.QueryRow(ctx, sql, arg)
	}
	c := &ObjectCode{}
	var platform string
	err = row.Scan(&c.Token, &c.Number, &c.Status, &c.TypeID, &c.TypeName, &c.RegionCode, &c.OwnerUnit, &c.Attributes, &c.BatchID, &c.CodeDefID, &platform)
	if store.NoRows(err) {
		return nil, "", fault.NotFoundf("no object code %s", code)
	}
	if err != nil {
		return nil, "", err
	}
	c.URL = o.url(c.Token)
	return c, platform, nil
}

// ActivateIn fills an empty code with its object's attributes.
type ActivateIn struct {
	Attributes map[string]any `json:"attributes"`
	RegionCode string         `json:"regionCode" validate:"max=32"`
	OwnerUnit  string         `json:"ownerUnit" validate:"max=128" doc:"权属单位"`
	TypeID     string         `json:"typeId" validate:"max=32" doc:"object type, when the batch had none"`
}

// Activate turns an empty code of the app's platform into an active one,
// checking the object type's required attributes.
func (o *Objects) Activate(ctx context.Context, appID, platformID, code string, in *ActivateIn) (*ObjectCode, error) {
	var out *ObjectCode
	err := store.Tx(ctx, o.rules.cfg.Pool, func(tx pgx.Tx) error {
		c, owner, err := o.load(ctx, tx, code, true)
		if err != nil {
			return err
		}
		if owner != platformID {
			return fault.Deniedf("object code %d belongs to another platform", c.Number)
		}
		if c.Status != "empty" {
			return fault.Conflictf(fault.CodeFailedOperation, "object code %d is %s, not empty", c.Number, c.Status)
		}
		typeID := c.TypeID
		if typeID == "" {
			typeID = in.TypeID
		}
		if typeID == "" {
			return fault.Missing("typeId")
		}
		var required []Field
		var raw []byte
		err = tx.QueryRow(ctx, `SELECT required_fields FROM object_types WHERE id = $1`, typeID).Scan(&raw)
		if store.NoRows(err) {
			return fault.Invalidf("object type %s does not exist", typeID)
		}
		if err != nil {
			return err
		}
		_ = json.Unmarshal(raw, &required)
		check := Resolved{Collection: required}
		if err := check.CheckCollection(in.Attributes); err != nil {
			return err
		}
		attrs, _ := json.Marshal(in.Attributes)
		region := in.RegionCode
		if region == "" {
			region = c.RegionCode
		}
		_, err = tx.Exec(ctx, `UPDATE object_codes SET status = 'active', type_id = $2, attributes = $3, region_code = $4, owner_unit = $5,
			activated_at = $6, activated_by = $7 WHERE token = $1`, c.Token, typeID, attrs, region, in.OwnerUnit, o.rules.cfg.Clock(), "app:"+appID)
		if err != nil {
			return err
		}
		out, _, err = o.load(ctx, tx, c.Token, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, o.record(ctx, "activate", "success", appID, platformID, out, "")
}

// Verify answers what a scanned object code is. A cancelled code answers
// FailedOperation.CodeRevoked and an empty one FailedOperation.CodeNotActive.
func (o *Objects) Verify(ctx context.Context, appID, code, orgID string) (*ObjectCode, error) {
	c, platform, err := o.load(ctx, nil, code, false)
	if err != nil {
		return nil, err
	}
	switch c.Status {
	case "cancelled":
		o.record(ctx, "verify", "failure", appID, platform, c, orgID)
		return nil, fault.Conflictf(fault.CodeCodeRevoked, "object code %d was cancelled (注销)", c.Number)
	case "empty":
		o.record(ctx, "verify", "failure", appID, platform, c, orgID)
		return nil, fault.Conflictf(fault.CodeCodeNotActive, "object code %d is not activated yet", c.Number)
	}
	if err := o.record(ctx, "verify", "success", appID, platform, c, orgID); err != nil {
		return nil, err
	}
	return c, nil
}

// Cancel cancels (注销) an active or empty code of the app's platform.
func (o *Objects) Cancel(ctx context.Context, appID, platformID, code string) error {
	var c *ObjectCode
	err := store.Tx(ctx, o.rules.cfg.Pool, func(tx pgx.Tx) error {
		var owner string
		var err error
		c, owner, err = o.load(ctx, tx, code, true)
		if err != nil {
			return err
		}
		if owner != platformID {
			return fault.Deniedf("object code %d belongs to another platform", c.Number)
		}
		if c.Status == "cancelled" {
			return fault.Conflictf(fault.CodeFailedOperation, "object code %d is already cancelled", c.Number)
		}
		_, err = tx.Exec(ctx, `UPDATE object_codes SET status = 'cancelled', cancelled_at = $2 WHERE token = $1`, c.Token, o.rules.cfg.Clock())
		return err
	})
	if err != nil {
		return err
	}
	return o.record(ctx, "cancel", "success", appID, platformID, c, "")
}

func (o *Objects) record(ctx context.Context, typ, result, appID, platformID string, c *ObjectCode, orgID string) error {
	err := o.events.Write(ctx, events.Event{At: o.rules.cfg.Clock(), Type: events.Type(typ), Result: events.Result(result), PlatformID: platformID, AppID: appID,
		RuleID: c.CodeDefID, Kind: "object", SubjectID: "o" + strconv.FormatInt(c.Number, 10), CodeID: c.Token, OrgID: orgID, RegionCode: c.RegionCode})
	if err != nil {
		return fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the usage record could not be written; try again")
	}
	return nil
}

// TypeIn creates an object type.
type TypeIn struct {
	Name           string  `json:"name" validate:"required,max=64"`
	ParentID       string  `json:"parentId" validate:"max=32"`
	Management     string  `json:"management" validate:"omitempty,oneof=city local" doc:"city-wide (市级统管) or local (属地)"`
	RequiredFields []Field `json:"requiredFields" validate:"max=50,dive" doc:"attributes activation must fill"`
	AutoActivate   bool    `json:"autoActivate"`
}

// ObjectType is an object type.
type ObjectType struct {
	ID string `json:"id"`
	TypeIn
	CreatedAt time.Time `json:"createdAt"`
}

// CreateType creates an object type.
func (o *Objects) CreateType(ctx context.Context, in *TypeIn) (*ObjectType, error) {
	if in.Management == "" {
		in.Management = "local"
	}
	fields, _ := json.Marshal(orEmpty(in.RequiredFields))
	t := &ObjectType{TypeIn: *in, CreatedAt: o.rules.cfg.Clock()}
	var parent any
	if in.ParentID != "" {
		parent = in.ParentID
	}
	err := o.rules.cfg.Pool.QueryRow(ctx, `INSERT INTO object_types (id, name, parent_id, management, required_fields, auto_activate, created_at)
		VALUES ('T' || lpad(nextval('object_type_seq')::text, 4, '0'), $1, $2, $3, $4, $5, $6) RETURNING id`,
		in.Name, parent, in.Management, fields, in.AutoActivate, t.CreatedAt).Scan(&t.ID)
	if store.IsForeignKeyViolation(err) {
		return nil, fault.Invalidf("parent type %s does not exist", in.ParentID)
	}
	return t, err
}

func parseNumber(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
