package codeengine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/qr"
	"github.com/opencitycode/citycode/host/internal/store"
)

// MaxBatch is the largest pre-issue batch.
const MaxBatch = 1_000_000

// Objects serves static object codes (一物一码): pre-issue, entry,
// activation, review, verification, look-ups, cancellation, exports. It is
// safe for concurrent use; Start runs its background sweep of reviews
// until Close.
type Objects struct {
	rules      *Rules
	events     *events.Writer
	publicBase string
	jobs       *qr.Jobs // batch image jobs (WithJobs); nil: pre-issue cannot submit one
	// scanned answers whether a scanned URL's domain is on the platform's
	// scan whitelist (WithScanWhitelist); nil: only the public base's.
	scanned func(ctx context.Context, platformID, url string) (bool, error)

	sweepMu sync.Mutex
	stop    context.CancelFunc // of the running sweep; nil when none
	done    chan struct{}
}

// NewObjects returns the object-code service; publicBase is the URL prefix
// phones open ({publicBase}/c/{token}).
func NewObjects(rules *Rules, ev *events.Writer, publicBase string, opts ...ObjectsOption) (*Objects, error) {
	if rules == nil || ev == nil {
		return nil, errors.New("codeengine: rules and events are required")
	}
	o := &Objects{rules: rules, events: ev, publicBase: strings.TrimRight(publicBase, "/")}
	for _, opt := range opts {
		opt(o)
	}
	return o, nil
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

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

var tokenEncoding = base32.NewEncoding(tokenAlphabet).WithPadding(base32.NoPadding)

// Batch is a pre-issued batch of empty codes.
type Batch struct {
	BatchID     string `json:"batchId"`
	Count       int    `json:"count"`
	FirstNumber int64  `json:"firstNumber" doc:"统一编号 of the first code"`
	LastNumber  int64  `json:"lastNumber"`
	JobID       string `json:"jobId,omitempty" doc:"the image job submitted with the batch when images were asked for: its progress at GET /openapi/v1/qr-jobs/{jobId}, its zip at GET /openapi/v1/qr-jobs/{jobId}/download"`
}

// PreIssue creates count empty codes of an object rule for the app: each an
// unguessable URL token and a unified number, committed together.
func (o *Objects) PreIssue(ctx context.Context, appID, platformID, codeDefID, typeID, region string, count int) (*Batch, error) {
	return o.preIssue(ctx, appID, platformID, &PreIssueIn{CodeDefID: codeDefID, TypeID: typeID, RegionCode: region, Count: count})
}

// preIssue is PreIssue that, when in.Images is set, also submits a batch
// image job of every code of the batch in the same transaction: the batch
// and its job commit together or not at all, and the job's style is
// checked before anything is created.
func (o *Objects) preIssue(ctx context.Context, appID, platformID string, in *PreIssueIn) (*Batch, error) {
	codeDefID, typeID, region, count := in.CodeDefID, in.TypeID, in.RegionCode, in.Count
	if count < 1 || count > MaxBatch {
		return nil, fault.Invalidf("count must be between 1 and %d", MaxBatch)
	}
	if err := storable("codeDefId", codeDefID, "typeId", typeID, "regionCode", region); err != nil {
		return nil, err
	}
	if err := o.checkImages(in.Images, count); err != nil {
		return nil, err
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
		var items []qr.Item
		if in.Images != nil {
			items = make([]qr.Item, 0, count)
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
				if items != nil {
					items = append(items, in.Images.item(seq*10+CheckDigit(seq), o.url(tok)))
				}
				return []any{tok, seq*10 + CheckDigit(seq), b.BatchID, platformID, codeDefID, typ, "empty", region, now}, nil
			}))
		if err != nil || items == nil {
			return err
		}
		b.JobID, err = o.jobs.SubmitTx(ctx, tx, qr.JobSpec{PlatformID: platformID, CreatedBy: "app:" + appID, Kind: "object",
			Style: in.Images.style(), Items: items})
		return err
	})
	if err != nil {
		return nil, err
	}
	if b.JobID != "" {
		o.jobs.Wake()
	}
	d := map[string]any{"batchId": b.BatchID, "count": count}
	if b.JobID != "" {
		d["jobId"] = b.JobID
	}
	detail, _ := json.Marshal(d)
	if err := o.events.Write(ctx, events.Event{At: now, Type: "generate", Result: "success", PlatformID: platformID, AppID: appID,
		RuleID: codeDefID, RuleVersion: r.Version, Kind: "object", RegionCode: region, Detail: detail}); err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the usage record could not be written; try again")
	}
	return b, nil
}

// Object code states. A code is pre-issued empty (or entered with its
// information); filling it makes it active, or pending_review when its type
// requires review; a reviewer approves it (active) or rejects it
// (rejected, its data kept for the submitter to correct); cancelled is
// final.
const (
	statusEmpty         = "empty"
	statusPendingReview = "pending_review"
	statusRejected      = "rejected"
	statusActive        = "active"
	statusCancelled     = "cancelled"
)

// liveStatuses hold their industry code (SQL list).
const liveStatuses = `('pending_review', 'active')`

// ObjectCode is one object code as its holder app sees it.
type ObjectCode struct {
	URL          string          `json:"url,omitempty" doc:"what the QR code holds: {publicBase}/c/{token}; only for the owning platform when looked up by number"`
	Token        string          `json:"token,omitempty"`
	Number       int64           `json:"number" doc:"统一编号: 9 digits, the last a check digit"`
	Status       string          `json:"status" doc:"empty | pending_review | rejected | active | cancelled"`
	TypeID       string          `json:"typeId,omitempty"`
	TypeName     string          `json:"typeName,omitempty"`
	RegionCode   string          `json:"regionCode,omitempty"`
	OwnerUnit    string          `json:"ownerUnit,omitempty"`
	Attributes   json.RawMessage `json:"attributes,omitempty"`
	IndustryCode string          `json:"industryCode,omitempty" doc:"行业管理编码: the attribute the object type names"`
	ReviewReason string          `json:"reviewReason,omitempty" doc:"why a rejected code was rejected"`
	BatchID      string          `json:"batchId,omitempty"`
	CodeDefID    string          `json:"codeDefId"`
	// Generation is "legacy" for a code an earlier generation's sticker
	// stands for (read-only, see legacy.go); empty for current codes.
	Generation    string            `json:"generation,omitempty" doc:"legacy: a code of an earlier generation (旧码), read-only; absent for current codes"`
	LegacyContent string            `json:"legacyContent,omitempty" doc:"the old code's content as printed, for a legacy code"`
	Enterprise    *LegacyEnterprise `json:"enterprise,omitempty" doc:"the enterprise an old code stands for, when it stands for one (its url is the enterprise code's)"`
}

func (o *Objects) url(token string) string { return o.publicBase + "/c/" + token }

// BatchCodes lists a batch's codes in number order (for printing).
func (o *Objects) BatchCodes(ctx context.Context, platformID, batchID string, offset, limit int) ([]ObjectCode, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	if err := storable("batchId", batchID); err != nil {
		return nil, err
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
// the unified number — into a WHERE condition; byNumber tells which.
func (o *Objects) lookupKey(code string) (cond string, arg any, byNumber bool, err error) {
	code = strings.TrimSpace(code)
	if i := strings.LastIndex(code, "/c/"); i >= 0 {
		code = code[i+3:]
	}
	if n, err := strconv.ParseInt(code, 10, 64); err == nil {
		if !ValidNumber(n) {
			return "", nil, false, fault.Invalidf("%s is not a valid unified number (9 digits, the last a check digit)", code)
		}
		return "c.number = $1", n, true, nil
	}
	if len(code) != 24 || strings.Trim(code, tokenAlphabet) != "" {
		return "", nil, false, fault.E(fault.Invalid, fault.CodeCodeTampered, "not an object code of this platform")
	}
	return "c.token = $1", code, false, nil
}

// codeCols are an ObjectCode's columns (plus its platform) over
// object_codes c LEFT JOIN object_types t. A rejected code carries the
// reason of its last rejection.
const codeCols = `c.token, c.number, c.status, coalesce(c.type_id, ''), coalesce(t.name, ''), c.region_code, c.owner_unit,
	c.attributes, coalesce(c.industry_code, ''),
	CASE WHEN c.status = 'rejected' THEN coalesce((SELECT r.reason FROM object_code_reviews r
		WHERE r.token = c.token AND r.result = 'rejected' ORDER BY r.id DESC LIMIT 1), '') ELSE '' END,
	c.batch_id, c.rule_id, CASE WHEN c.generation = 'legacy' THEN 'legacy' ELSE '' END,
	coalesce((SELECT l.content FROM legacy_codes l WHERE l.object_token = c.token ORDER BY l.id LIMIT 1), ''), c.platform_id`

func (o *Objects) scanCode(row pgx.Row, c *ObjectCode, platform *string, more ...any) error {
	dest := append([]any{&c.Token, &c.Number, &c.Status, &c.TypeID, &c.TypeName, &c.RegionCode, &c.OwnerUnit, &c.Attributes,
		&c.IndustryCode, &c.ReviewReason, &c.BatchID, &c.CodeDefID, &c.Generation, &c.LegacyContent, platform}, more...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	c.URL = o.url(c.Token)
	return nil
}

func (o *Objects) load(ctx context.Context, q pgx.Tx, code string, lock bool) (*ObjectCode, string, error) {
	c, platform, _, err := o.find(ctx, q, code, lock)
	return c, platform, err
}

// find loads a code by URL, token or unified number, answering also
// whether it was named by number.
func (o *Objects) find(ctx context.Context, q pgx.Tx, code string, lock bool) (*ObjectCode, string, bool, error) {
	cond, arg, byNumber, err := o.lookupKey(code)
	if err != nil {
		// An old sticker's content names the object code it stands for,
		// so edits addressed by it reach the code and are refused there.
		tok, lerr := o.legacyObjectToken(ctx, q, code)
		if lerr != nil || tok == "" {
			return nil, "", false, cmp.Or(lerr, err)
		}
		cond, arg = "c.token = $1", tok
	}
	sql := `SELECT ` + codeCols + ` FROM object_codes c LEFT JOIN object_types t ON t.id = c.type_id WHERE ` + cond
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
	err = o.scanCode(row, c, &platform)
	if store.NoRows(err) {
		return nil, "", false, fault.NotFoundf("no object code %s", code)
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("codeengine: object code: %w", err)
	}
	return c, platform, byNumber, nil
}

// forCaller hides what lets a caller print a copy of another platform's
// code — its URL token and batch — when the caller named it by number:
// numbers are sequential, and answering their tokens to anyone would make
// the unguessable URLs enumerable. Whoever scanned the code has the URL
// already.
func forCaller(c *ObjectCode, owner, callerPlatform string, byNumber bool) *ObjectCode {
	if byNumber && owner != callerPlatform {
		c.URL, c.Token, c.BatchID = "", "", ""
	}
	return c
}

// ActivateIn fills an empty code with its object's attributes.
type ActivateIn struct {
	Attributes map[string]any `json:"attributes"`
	RegionCode string         `json:"regionCode" validate:"max=32"`
	OwnerUnit  string         `json:"ownerUnit" validate:"max=128" doc:"权属单位"`
	TypeID     string         `json:"typeId" validate:"max=32" doc:"object type, when the batch had none; must match the batch's when it had one"`
}

// maxAttributeBytes bounds an object's attributes as stored.
const maxAttributeBytes = 32 << 10

func marshalAttributes(attrs map[string]any) ([]byte, error) {
	if attrs == nil {
		attrs = map[string]any{}
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return nil, fault.Invalidf("parameter %q must be a JSON object", "attributes")
	}
	if len(b) > maxAttributeBytes {
		return nil, fault.Invalidf("parameter %q exceeds %d bytes", "attributes", maxAttributeBytes)
	}
	return b, storableJSON("attributes", b)
}

// Activate turns an empty (or rejected) code of the app's platform into an
// active one — or a pending_review one when its object type requires
// review — checking the type's required attributes and, when the type
// requires it, that no other live code of the type has the same industry
// code.
func (o *Objects) Activate(ctx context.Context, appID, platformID, code string, in *ActivateIn) (*ObjectCode, error) {
	if err := storable("typeId", in.TypeID, "regionCode", in.RegionCode, "ownerUnit", in.OwnerUnit); err != nil {
		return nil, err
	}
	var out *ObjectCode
	err := store.Tx(ctx, o.rules.cfg.Pool, func(tx pgx.Tx) error {
		// The type is locked before the code (see lockType), so the code is
		// read once unlocked to learn its type.
		c, owner, err := o.load(ctx, tx, code, false)
		if err != nil {
			return err
		}
		if owner != platformID {
			return fault.Deniedf("object code %d belongs to another platform", c.Number)
		}
		if err := editable(c); err != nil {
			return err
		}
		typeID := c.TypeID
		switch {
		case typeID == "" && in.TypeID == "":
			return fault.Missing("typeId")
		case typeID == "":
			typeID = in.TypeID
		case in.TypeID != "" && in.TypeID != typeID:
			return fault.Invalidf("parameter %q: object code %d is of type %s, not %s", "typeId", c.Number, typeID, in.TypeID)
		}
		typ, err := lockType(ctx, tx, typeID)
		if err != nil {
			return err
		}
		if c, _, err = o.load(ctx, tx, c.Token, true); err != nil {
			return err
		}
		if err := editable(c); err != nil { // marked legacy meanwhile
			return err
		}
		if c.Status != statusEmpty && c.Status != statusRejected {
			return fault.Conflictf(fault.CodeFailedOperation, "object code %d is %s, not empty", c.Number, c.Status)
		}
		if c.TypeID != "" && c.TypeID != typeID {
			return fault.Conflictf(fault.CodeFailedOperation, "object code %d was given type %s meanwhile", c.Number, c.TypeID)
		}
		if err := typ.check(in.Attributes); err != nil {
			return err
		}
		attrs, err := marshalAttributes(in.Attributes)
		if err != nil {
			return err
		}
		region := in.RegionCode
		if region == "" {
			region = c.RegionCode
		}
		status := statusActive
		if typ.Review {
			status = statusPendingReview
		}
		now := o.rules.now()
		err = o.writeAttributes(ctx, tx, typ, c.Token, in.Attributes, `UPDATE object_codes SET status = $2, type_id = $3, attributes = $4,
			region_code = $5, owner_unit = $6, activated_at = $7, activated_by = $8 WHERE token = $1`,
			c.Token, status, typeID, attrs, region, in.OwnerUnit, now, "app:"+appID)
		if err != nil {
			return err
		}
		if typ.Review {
			if err := o.submit(ctx, tx, submission{token: c.Token, number: c.Number, platformID: owner, typeID: typeID, region: region,
				action: "activate", attrs: attrs, ownerUnit: in.OwnerUnit, by: "app:" + appID, at: now}); err != nil {
				return err
			}
		}
		out, _, err = o.load(ctx, tx, c.Token, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, o.record(ctx, "activate", "success", appID, platformID, out, "")
}

// writeAttributes runs an UPDATE writing a code's attributes in a
// savepoint: when the industry-code index refuses it, the transaction
// stays usable to name the code that holds the industry code.
func (o *Objects) writeAttributes(ctx context.Context, tx pgx.Tx, typ *objectType, token string, attrs map[string]any, sql string, args ...any) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := sp.Exec(ctx, sql, args...); err != nil {
		_ = sp.Rollback(ctx)
		if store.IsUniqueViolation(err, industryIndex) {
			return industryClash(ctx, tx, typ, typ.industryCode(attrs), token)
		}
		return err
	}
	return sp.Commit(ctx)
}

// industryClash answers the FailedOperation of a second live code with an
// industry code, naming the code that holds it.
func industryClash(ctx context.Context, q queryer, typ *objectType, code, token string) error {
	var holder int64
	err := q.QueryRow(ctx, `SELECT number FROM object_codes WHERE type_id = $1 AND industry_code = $2 AND industry_unique
		AND status IN `+liveStatuses+` AND token <> $3 LIMIT 1`, typ.ID, code, token).Scan(&holder)
	if err != nil && !store.NoRows(err) {
		return fmt.Errorf("codeengine: industry code holder: %w", err)
	}
	if holder == 0 {
		return fault.Conflictf(fault.CodeFailedOperation, "industry code %q (%s) is already used by another live object code of type %s", code, typ.IndustryField, typ.ID)
	}
	return fault.Conflictf(fault.CodeFailedOperation, "industry code %q (%s) is already used by object code %d of type %s", code, typ.IndustryField, holder, typ.ID)
}

// Verify answers what a scanned object code is. A cancelled code answers
// FailedOperation.CodeRevoked; an empty, pending-review or rejected one
// FailedOperation.CodeNotActive, saying which.
func (o *Objects) Verify(ctx context.Context, appID, callerPlatform, code, orgID string) (*ObjectCode, error) {
	if err := storable("acceptOrgId", orgID); err != nil {
		return nil, err
	}
	// An old sticker's content is matched exactly before the domain check:
	// its host is the earlier generation's, never on the scan whitelist.
	if c, ok, err := o.verifyLegacy(ctx, appID, code, orgID); ok || err != nil {
		return c, err
	}
	if err := o.recognized(ctx, callerPlatform, code); err != nil {
		return nil, err
	}
	c, platform, byNumber, err := o.find(ctx, nil, code, false)
	if err != nil {
		return nil, err
	}
	var refusal error
	switch c.Status {
	case statusCancelled:
		refusal = fault.Conflictf(fault.CodeCodeRevoked, "object code %d was cancelled (注销)", c.Number)
	case statusEmpty:
		refusal = fault.Conflictf(fault.CodeCodeNotActive, "object code %d is not activated yet", c.Number)
	case statusPendingReview:
		refusal = fault.Conflictf(fault.CodeCodeNotActive, "object code %d awaits review by the competent department of its object type (待审核) and is not active yet", c.Number)
	case statusRejected:
		refusal = fault.Conflictf(fault.CodeCodeNotActive, "object code %d was rejected in review (%s) and is not active", c.Number, c.ReviewReason)
	}
	if refusal != nil {
		o.record(ctx, "verify", "failure", appID, platform, c, orgID)
		return nil, refusal
	}
	if err := o.record(ctx, "verify", "success", appID, platform, c, orgID); err != nil {
		return nil, err
	}
	return forCaller(c, platform, callerPlatform, byNumber), nil
}

// Cancel cancels (注销) a code of the app's platform that is not cancelled
// yet. A submission waiting for review is withdrawn; the code's industry
// code is free again.
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
		if err := editable(c); err != nil {
			return err
		}
		if c.Status == statusCancelled {
			return fault.Conflictf(fault.CodeFailedOperation, "object code %d is already cancelled", c.Number)
		}
		now := o.rules.now()
		if _, err := tx.Exec(ctx, `UPDATE object_codes SET status = 'cancelled', cancelled_at = $2 WHERE token = $1`, c.Token, now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE object_code_reviews SET result = 'withdrawn', reviewer = 'system', reviewed_at = $2,
			reason = 'the code was cancelled' WHERE token = $1 AND result = 'pending'`, c.Token, now)
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

func parseNumber(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// storable refuses text PostgreSQL cannot store — the NUL character — in
// name/value pairs, naming the parameter: such input is the client's
// mistake, not a database failure.
func storable(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.IndexByte(pairs[i+1], 0) >= 0 {
			return fault.Invalidf("parameter %q must not contain NUL characters", pairs[i])
		}
	}
	return nil
}

// storableJSON is storable for a JSON document (jsonb refuses \u0000).
func storableJSON(param string, doc []byte) error {
	if bytes.Contains(doc, []byte(`\u0000`)) {
		return fault.Invalidf("parameter %q must not contain NUL characters", param)
	}
	return nil
}
