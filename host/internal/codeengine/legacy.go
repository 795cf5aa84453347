package codeengine

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Codes of an earlier generation (一企一码兼容). Stickers printed before the
// platform carry content of their own — an old URL such as
// https://old.example.gov.cn/qr?id=123, or a bare string. An operator
// imports each with what it stands for: an existing object code, an
// enterprise, or a new object created from the import row. Scanning the
// old content then reaches the new landing page (Verify, and the redirect
// of LegacyRedirect), and the old codes are read-only: the object code
// one stands for is marked generation 'legacy' and refuses every edit,
// so what the old sticker promised stays true.

const (
	generationLegacy = "legacy"

	// MaxLegacyContent bounds an old code's content: what fits a QR code
	// a phone camera reads reliably, and the verify API's code parameter.
	MaxLegacyContent = 512
	// MaxLegacyImport bounds one import.
	MaxLegacyImport = 1000

	// legacyRuleID stands for the rule of objects created from an import
	// row: no rule of this platform issued them.
	legacyRuleID = "legacy"
)

// errLegacyReadOnly is the answer to every edit of a legacy code.
func errLegacyReadOnly(number int64) error {
	return fault.Conflictf(fault.CodeFailedOperation, "旧码不支持编辑: object code %d stands for a code of an earlier generation and is read-only", number)
}

// editable refuses the edit of a legacy object code.
func editable(c *ObjectCode) error {
	if c.Generation == generationLegacy {
		return errLegacyReadOnly(c.Number)
	}
	return nil
}

// refuseLegacyNumbers refuses relation changes of legacy object codes.
func refuseLegacyNumbers(ctx context.Context, tx pgx.Tx, numbers []int64) error {
	var n int64
	err := tx.QueryRow(ctx, `SELECT number FROM object_codes WHERE number = ANY($1) AND generation = 'legacy' LIMIT 1`, numbers).Scan(&n)
	if store.NoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("codeengine: legacy check: %w", err)
	}
	return errLegacyReadOnly(n)
}

// LegacyEnterprise is the enterprise an old code stands for.
type LegacyEnterprise struct {
	ID   string `json:"enterpriseId"`
	Name string `json:"name"`
	USCC string `json:"uscc" doc:"统一社会信用代码"`
}

// legacyTarget is what an old content stands for.
type legacyTarget struct {
	kind         string // object | enterprise
	objectToken  string
	enterpriseID string
	platformID   string
}

func (o *Objects) legacyTarget(ctx context.Context, q queryer, content string) (*legacyTarget, error) {
	if q == nil {
		q = o.rules.cfg.Pool
	}
	if content == "" || len(content) > 4*MaxLegacyContent {
		return nil, nil
	}
	t := &legacyTarget{}
	err := q.QueryRow(ctx, `SELECT target_kind, coalesce(object_token, ''), coalesce(enterprise_id, ''), platform_id
		FROM legacy_codes WHERE content = $1`, content).Scan(&t.kind, &t.objectToken, &t.enterpriseID, &t.platformID)
	if store.NoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: legacy code: %w", err)
	}
	return t, nil
}

// legacyObjectToken answers the token of the object code an old content
// stands for; "" when it stands for none.
func (o *Objects) legacyObjectToken(ctx context.Context, tx pgx.Tx, code string) (string, error) {
	var q queryer = o.rules.cfg.Pool
	if tx != nil {
		q = tx
	}
	t, err := o.legacyTarget(ctx, q, strings.TrimSpace(code))
	if err != nil || t == nil {
		return "", err
	}
	return t.objectToken, nil
}

// verifyLegacy is Verify of an old content: ok reports that code was one.
// Content the current generation reads (a URL of the public base, a
// token, a unified number) is never an old code's: import refuses it.
func (o *Objects) verifyLegacy(ctx context.Context, appID, code, orgID string) (*ObjectCode, bool, error) {
	code = strings.TrimSpace(code)
	if _, _, _, err := o.lookupKey(code); err == nil {
		return nil, false, nil
	}
	t, err := o.legacyTarget(ctx, nil, code)
	if err != nil || t == nil {
		return nil, false, err
	}
	if t.kind == "object" {
		// The token is the current generation's key: Verify does not come
		// back here, and answers the code with its legacy content.
		c, err := o.Verify(ctx, appID, "", t.objectToken, orgID)
		return c, true, err
	}
	c, err := o.verifyLegacyEnterprise(ctx, appID, t, orgID)
	return c, true, err
}

// verifyLegacyEnterprise answers an old code standing for an enterprise in
// the object code's shape: the url and number are the enterprise code's.
func (o *Objects) verifyLegacyEnterprise(ctx context.Context, appID string, t *legacyTarget, orgID string) (*ObjectCode, error) {
	ent, err := NewEnterprises(o, nil, nil).load(ctx, nil, "id = $1", t.enterpriseID)
	if err != nil {
		return nil, err
	}
	c := &ObjectCode{URL: ent.URL, Number: ent.Number, Status: statusActive, CodeDefID: ent.CodeDefID, Generation: generationLegacy,
		Enterprise: &LegacyEnterprise{ID: ent.ID, Name: ent.Name, USCC: ent.USCC}}
	result, refusal := events.Result("success"), error(nil)
	if ent.Status != "enabled" {
		c.Status = ent.Status
		result, refusal = "failure", fault.Conflictf(fault.CodeCodeNotActive, "the enterprise code of %s is %s", ent.Name, ent.Status)
	}
	werr := o.events.Write(ctx, events.Event{At: o.rules.cfg.Clock(), Type: "verify", Result: result, PlatformID: ent.platformID, AppID: appID,
		RuleID: ent.CodeDefID, Kind: "enterprise", SubjectID: "e" + ent.ID, CodeID: ent.Token(), OrgID: orgID})
	if refusal != nil {
		return nil, refusal
	}
	if werr != nil {
		return nil, fault.Wrap(werr, fault.Unavailable, fault.CodeServiceUnavailable, "the usage record could not be written; try again")
	}
	return c, nil
}

// LegacyLanding answers the landing URL of the code an old content stands
// for: always the public base's own /c/{token} or /e/{token}, never
// anything taken from the request, so the redirect cannot be turned into
// an open one. NotFound when the content is no imported old code.
func (o *Objects) LegacyLanding(ctx context.Context, content string) (string, error) {
	t, err := o.legacyTarget(ctx, nil, content)
	if err != nil {
		return "", err
	}
	if t == nil {
		return "", fault.NotFoundf("no old code with this content")
	}
	if t.kind == "object" {
		return o.url(t.objectToken), nil
	}
	var token string
	if err := o.rules.cfg.Pool.QueryRow(ctx, `SELECT token FROM enterprises WHERE id = $1`, t.enterpriseID).Scan(&token); err != nil {
		return "", fmt.Errorf("codeengine: legacy enterprise: %w", err)
	}
	return o.publicBase + "/e/" + token, nil
}

// LegacyImportIn is one import of old codes: all rows or none.
type LegacyImportIn struct {
	Items []LegacyItem `json:"items" validate:"required" doc:"1 to 1000 old codes"`

	rows []int // the items' spreadsheet rows, for an xlsx import
}

// pos names item i in an error: its spreadsheet row, or its index.
func (in *LegacyImportIn) pos(i int) string {
	if i < len(in.rows) {
		return fmt.Sprintf("row %d", in.rows[i])
	}
	return fmt.Sprintf("items[%d]", i)
}

// LegacyItem is one old code and what it stands for: exactly one of
// number, uscc and object.
type LegacyItem struct {
	Content string        `json:"content" doc:"the old code's content exactly as printed (an old URL or a bare string), at most 512 characters"`
	Number  string        `json:"number" doc:"an existing active object code it stands for: its unified number (or token, or URL)"`
	USCC    string        `json:"uscc" doc:"the enterprise it stands for: its unified social credit code (统一社会信用代码)"`
	Object  *LegacyObject `json:"object" doc:"a new read-only object code created from the row"`
	Note    string        `json:"note" doc:"备注, at most 256 characters"`
}

// LegacyObject is the object of a new read-only code created from an
// import row, of the operator's platform.
type LegacyObject struct {
	TypeID     string         `json:"typeId"`
	RegionCode string         `json:"regionCode"`
	OwnerUnit  string         `json:"ownerUnit" doc:"权属单位"`
	Attributes map[string]any `json:"attributes" doc:"the type's required attributes must all be there"`
}

// LegacyCode is an imported old code.
type LegacyCode struct {
	ID           int64     `json:"id,string"`
	Content      string    `json:"content" doc:"as printed"`
	TargetKind   string    `json:"targetKind" doc:"object | enterprise"`
	Number       int64     `json:"number" doc:"统一编号 of the object or enterprise code it stands for"`
	LandingURL   string    `json:"landingUrl" doc:"where scanning it leads: the new code's landing page"`
	EnterpriseID string    `json:"enterpriseId,omitempty"`
	Name         string    `json:"name,omitempty" doc:"the enterprise's name, for an enterprise"`
	PlatformID   string    `json:"platformId"`
	RegionCode   string    `json:"regionCode,omitempty"`
	Note         string    `json:"note,omitempty"`
	ImportedBy   string    `json:"importedBy"`
	CreatedAt    time.Time `json:"createdAt"`
}

// LegacyImportOut answers an import.
type LegacyImportOut struct {
	Items []LegacyCode `json:"items"`
}

// operator answers the console operator calling.
func operator(ctx context.Context) (*actor.Actor, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindOperator && a.Kind != actor.KindSystem {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a console operator is required")
	}
	return a, nil
}

// check validates an item alone, before anything is read.
func (it *LegacyItem) check(pos string, o *Objects) error {
	it.Content = strings.TrimSpace(it.Content)
	it.Number, it.USCC, it.Note = strings.TrimSpace(it.Number), strings.TrimSpace(it.USCC), strings.TrimSpace(it.Note)
	at := func(format string, args ...any) error {
		return fault.Invalidf("%s: "+format, append([]any{pos}, args...)...)
	}
	switch {
	case it.Content == "":
		return at("content is required")
	case utf8.RuneCountInString(it.Content) > MaxLegacyContent:
		return at("content is longer than %d characters", MaxLegacyContent)
	case !utf8.ValidString(it.Content) || strings.ContainsAny(it.Content, "\x00\r\n"):
		return at("content must be one line of text")
	case utf8.RuneCountInString(it.Note) > 256:
		return at("note is longer than 256 characters")
	}
	if err := storable("content", it.Content, "number", it.Number, "uscc", it.USCC, "note", it.Note); err != nil {
		return at("%v", err)
	}
	if _, _, _, err := o.lookupKey(it.Content); err == nil {
		return at("content %q is a code of the current generation, not an old one", it.Content)
	}
	targets := 0
	for _, set := range []bool{it.Number != "", it.USCC != "", it.Object != nil} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		return at("give exactly one of number (an object code), uscc (an enterprise) and object (a new object)")
	}
	if it.Object != nil {
		ob := it.Object
		ob.TypeID, ob.RegionCode = strings.TrimSpace(ob.TypeID), strings.TrimSpace(ob.RegionCode)
		if ob.TypeID == "" {
			return at("object.typeId is required")
		}
		if len(ob.TypeID) > 32 || len(ob.RegionCode) > 32 || utf8.RuneCountInString(ob.OwnerUnit) > 128 {
			return at("object.typeId and object.regionCode take at most 32 characters, object.ownerUnit 128")
		}
		if err := storable("object.typeId", ob.TypeID, "object.regionCode", ob.RegionCode, "object.ownerUnit", ob.OwnerUnit); err != nil {
			return at("%v", err)
		}
	}
	return nil
}

// ImportLegacy imports old codes, all or none: each row's content must be
// new (unique), its target exist, be active and lie in the operator's data
// scope. An object code a row binds is marked legacy (read-only); a row
// with an object creates an active, legacy object code of the operator's
// platform in one batch.
func (o *Objects) ImportLegacy(ctx context.Context, in *LegacyImportIn) (*LegacyImportOut, error) {
	a, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	if len(in.Items) == 0 || len(in.Items) > MaxLegacyImport {
		return nil, fault.Invalidf("items must hold 1 to %d old codes", MaxLegacyImport)
	}
	seen := map[string]int{}
	newObjects := 0
	for i := range in.Items {
		it := &in.Items[i]
		if err := it.check(in.pos(i), o); err != nil {
			return nil, err
		}
		if j, dup := seen[it.Content]; dup {
			return nil, fault.Invalidf("%s: content %q is also %s", in.pos(i), it.Content, in.pos(j))
		}
		seen[it.Content] = i
		if it.Object != nil {
			newObjects++
		}
	}
	scope := policy.ScopeFrom(ctx)
	by := "operator:" + strconv.FormatInt(a.OperatorID, 10)
	now := o.rules.now()
	var ids []int64
	err = store.Tx(ctx, o.rules.cfg.Pool, func(tx pgx.Tx) error {
		var batch string
		var next int64
		if newObjects > 0 {
			if batch, next, err = o.legacyBatch(ctx, tx, a.PlatformID, newObjects, now); err != nil {
				return err
			}
		}
		for i := range in.Items {
			it := &in.Items[i]
			row := legacyRow{content: it.Content, note: it.Note}
			switch {
			case it.Number != "":
				err = o.bindLegacyObject(ctx, tx, scope, in.pos(i), it.Number, &row)
			case it.USCC != "":
				err = bindLegacyEnterprise(ctx, tx, scope, in.pos(i), it.USCC, &row)
			default:
				err = o.createLegacyObject(ctx, tx, scope, a.PlatformID, batch, next, in.pos(i), it.Object, now, &row)
				next++
			}
			if err != nil {
				return err
			}
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO legacy_codes (content, platform_id, region_code, target_kind, object_token, enterprise_id, note, imported_by, created_at)
				VALUES ($1, $2, $3, $4, nullif($5, ''), nullif($6, ''), $7, $8, $9) ON CONFLICT (content) DO NOTHING RETURNING id`,
				row.content, row.platformID, row.region, row.kind, row.objectToken, row.enterpriseID, row.note, by, now).Scan(&id)
			if store.NoRows(err) {
				return fault.Conflictf(fault.CodeFailedOperation, "%s: content %q was imported already", in.pos(i), it.Content)
			}
			if err != nil {
				return fmt.Errorf("codeengine: import legacy code: %w", err)
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := o.rules.cfg.Pool.Query(ctx, `SELECT `+legacyCols+` FROM `+legacyFrom+` WHERE l.id = ANY($1) ORDER BY l.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("codeengine: imported legacy codes: %w", err)
	}
	defer rows.Close()
	out := &LegacyImportOut{Items: make([]LegacyCode, 0, len(ids))}
	for rows.Next() {
		l, err := o.scanLegacy(rows)
		if err != nil {
			return nil, fmt.Errorf("codeengine: imported legacy codes: %w", err)
		}
		out.Items = append(out.Items, l)
	}
	return out, rows.Err()
}

// atItem names the import row in a client error; internal errors pass
// unchanged (their text is never shown).
func atItem(pos string, err error) error {
	if fe, ok := fault.As(err); ok && fe.Kind != fault.Internal {
		return fault.E(fe.Kind, fe.Code, "%s: %s", pos, fe.Message)
	}
	return err
}

// legacyRow is a legacy_codes row being imported.
type legacyRow struct {
	content, note                   string
	kind, objectToken, enterpriseID string
	platformID, region              string
}

// bindLegacyObject points a row at an existing active object code in the
// operator's scope and marks the code legacy.
func (o *Objects) bindLegacyObject(ctx context.Context, tx pgx.Tx, scope policy.Scope, pos string, number string, row *legacyRow) error {
	c, platform, err := o.load(ctx, tx, number, true)
	if err != nil {
		return atItem(pos, err)
	}
	// Another platform's code is answered as unknown: a sub-platform learns
	// nothing of codes outside its scope.
	if !scope.Contains(platform, c.RegionCode, c.TypeID) {
		return fault.NotFoundf("%s: no object code %s in your data scope", pos, number)
	}
	if c.Status != statusActive {
		return fault.Conflictf(fault.CodeFailedOperation, "%s: object code %d is %s, not active: an old code must lead to a live landing page", pos, c.Number, c.Status)
	}
	if _, err := tx.Exec(ctx, `UPDATE object_codes SET generation = 'legacy' WHERE token = $1`, c.Token); err != nil {
		return fmt.Errorf("codeengine: mark legacy: %w", err)
	}
	row.kind, row.objectToken, row.platformID, row.region = "object", c.Token, platform, c.RegionCode
	return nil
}

// bindLegacyEnterprise points a row at an enabled enterprise in the
// operator's scope.
func bindLegacyEnterprise(ctx context.Context, tx pgx.Tx, scope policy.Scope, pos string, uscc string, row *legacyRow) error {
	var id, platform, status string
	err := tx.QueryRow(ctx, `SELECT id, platform_id, status FROM enterprises WHERE uscc = $1`, strings.ToUpper(uscc)).Scan(&id, &platform, &status)
	if store.NoRows(err) || err == nil && !scope.Contains(platform, "", "") {
		return fault.NotFoundf("%s: no enterprise code with unified social credit code %s in your data scope", pos, uscc)
	}
	if err != nil {
		return fmt.Errorf("codeengine: legacy enterprise: %w", err)
	}
	if status != "enabled" {
		return fault.Conflictf(fault.CodeFailedOperation, "%s: the enterprise code of %s is %s", pos, uscc, status)
	}
	row.kind, row.enterpriseID, row.platformID = "enterprise", id, platform
	return nil
}

// legacyBatch allocates the unified numbers of n new legacy objects in one
// batch of the platform, as a pre-issue does.
func (o *Objects) legacyBatch(ctx context.Context, tx pgx.Tx, platformID string, n int, now time.Time) (string, int64, error) {
	var first int64
	if err := tx.QueryRow(ctx, `UPDATE object_number_counter SET next = next + $1 RETURNING next - $1`, n).Scan(&first); err != nil {
		return "", 0, err
	}
	if first+int64(n) > 99999999 {
		return "", 0, fault.Conflictf(fault.CodeFailedOperation, "the unified number space is exhausted")
	}
	batch := "L" + strconv.FormatInt(first, 10)
	_, err := tx.Exec(ctx, `INSERT INTO object_batches (id, platform_id, app_id, rule_id, count, first_seq, created_at)
		VALUES ($1, $2, '', $3, $4, $5, $6)`, batch, platformID, legacyRuleID, n, first, now)
	return batch, first, err
}

// createLegacyObject creates the active legacy object code of a row.
func (o *Objects) createLegacyObject(ctx context.Context, tx pgx.Tx, scope policy.Scope, platformID, batch string, seq int64, pos string,
	ob *LegacyObject, now time.Time, row *legacyRow) error {
	if !scope.Contains(platformID, ob.RegionCode, ob.TypeID) {
		return fault.Deniedf("%s: object type %s in region %q is outside your data scope", pos, ob.TypeID, ob.RegionCode)
	}
	typ, err := lockType(ctx, tx, ob.TypeID)
	if err != nil {
		return atItem(pos, err)
	}
	if err := typ.check(ob.Attributes); err != nil {
		return atItem(pos, err)
	}
	attrs, err := marshalAttributes(ob.Attributes)
	if err != nil {
		return atItem(pos, err)
	}
	raw := make([]byte, 15)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := tokenEncoding.EncodeToString(raw)
	err = o.writeAttributes(ctx, tx, typ, token, ob.Attributes, `INSERT INTO object_codes (token, number, batch_id, platform_id, rule_id, type_id, status,
		region_code, owner_unit, attributes, activated_at, activated_by, created_at, generation)
		VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $10, 'legacy-import', $10, 'legacy')`,
		token, seq*10+CheckDigit(seq), batch, platformID, legacyRuleID, ob.TypeID, ob.RegionCode, ob.OwnerUnit, attrs, now)
	if err != nil {
		return atItem(pos, err)
	}
	row.kind, row.objectToken, row.platformID, row.region = "object", token, platformID, ob.RegionCode
	return nil
}

// ListLegacyIn filters the console's old codes.
type ListLegacyIn struct {
	Content    string `query:"content" doc:"part of the old content"`
	TargetKind string `query:"targetKind" validate:"omitempty,oneof=object enterprise"`
	PlatformID string `query:"platformId"`
	TimeRange
	PageIn
}

const legacyFrom = `legacy_codes l LEFT JOIN object_codes c ON c.token = l.object_token LEFT JOIN enterprises e ON e.id = l.enterprise_id`

const legacyCols = `l.id, l.content, l.target_kind, coalesce(c.number, e.number), coalesce(c.token, e.token), coalesce(l.enterprise_id, ''),
	coalesce(e.name, ''), l.platform_id, l.region_code, l.note, l.imported_by, l.created_at`

func (o *Objects) scanLegacy(row pgx.Row) (LegacyCode, error) {
	var l LegacyCode
	var token string
	err := row.Scan(&l.ID, &l.Content, &l.TargetKind, &l.Number, &token, &l.EnterpriseID, &l.Name, &l.PlatformID, &l.RegionCode,
		&l.Note, &l.ImportedBy, &l.CreatedAt)
	l.LandingURL = o.url(token)
	if l.TargetKind == "enterprise" {
		l.LandingURL = o.publicBase + "/e/" + token
	}
	return l, err
}

// ListLegacy answers the old codes in the caller's data scope, newest
// first.
func (o *Objects) ListLegacy(ctx context.Context, in *ListLegacyIn) (*Page[LegacyCode], error) {
	if err := storable("content", in.Content, "platformId", in.PlatformID); err != nil {
		return nil, err
	}
	var f filter
	withScope(ctx, &f, policy.ScopeColumns{Platform: "l.platform_id", Region: "l.region_code"})
	f.contains("l.content", in.Content)
	f.eq("l.target_kind", in.TargetKind)
	f.eq("l.platform_id", strings.TrimSpace(in.PlatformID))
	if err := f.timeRange("l.created_at", in.TimeRange); err != nil {
		return nil, err
	}
	return list(ctx, o.rules.cfg.Pool, legacyFrom, legacyCols, "l.created_at DESC, l.id DESC", &f, in.PageIn, o.scanLegacy)
}
