package codeengine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/codekeys"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Registry answers the registered name of an enterprise by its unified
// social credit code (the market-regulation registry). found is false for
// an unknown code.
type Registry interface {
	RegisteredName(ctx context.Context, uscc string) (name string, found bool, err error)
}

// localRegistry is the default Registry: the enterprise_registry table,
// loaded by the console.
type localRegistry struct{ rules *Rules }

func (l localRegistry) RegisteredName(ctx context.Context, uscc string) (string, bool, error) {
	var name string
	err := l.rules.cfg.Pool.QueryRow(ctx, `SELECT name FROM enterprise_registry WHERE uscc = $1`, uscc).Scan(&name)
	if store.NoRows(err) {
		return "", false, nil
	}
	return name, err == nil, err
}

// Enterprises serves enterprise codes (一企一码): static codes (the URL
// of the enterprise, its token or unified number) and, under a dynamic
// rule, short-lived codes signed with the platform's key. It is safe for
// concurrent use.
type Enterprises struct {
	objects  *Objects
	registry Registry
	keys     *codekeys.Ring
}

// NewEnterprises returns the enterprise-code service; a nil registry uses
// the local table. keys signs and verifies the dynamic codes of
// enterprises under a dynamic rule; with nil keys those answer
// UnsupportedOperation and static codes work as ever.
func NewEnterprises(objects *Objects, registry Registry, keys *codekeys.Ring) *Enterprises {
	if registry == nil {
		registry = localRegistry{objects.rules}
	}
	return &Enterprises{objects: objects, registry: registry, keys: keys}
}

// Enterprise is an enterprise and its code.
type Enterprise struct {
	ID        string   `json:"enterpriseId"`
	USCC      string   `json:"uscc" doc:"统一社会信用代码"`
	Name      string   `json:"name"`
	URL       string   `json:"url" doc:"what the QR code holds: {publicBase}/e/{token}"`
	Number    int64    `json:"number" doc:"统一编号 with check digit"`
	Addresses []string `json:"addresses" doc:"every business address of the enterprise"`
	Status    string   `json:"status"`
	CodeDefID string   `json:"codeDefId"`
	Form      string   `json:"form" doc:"the rule's form: static (show the URL) or dynamic (show the short-lived code of POST .../dynamic)"`

	platformID string // the platform whose apps manage it
}

// ApplyIn applies for an enterprise code.
type ApplyIn struct {
	CodeDefID string `json:"codeDefId" validate:"required,max=32"`
	Name      string `json:"name" validate:"required,max=128" doc:"企业名称, as registered"`
	USCC      string `json:"uscc" validate:"required,len=18" doc:"统一社会信用代码"`
	Address   string `json:"address" validate:"max=256" doc:"a business address; applying again with another address adds it"`
}

// Apply checks name and credit code against the registry (two-factor) and
// answers the enterprise's code: a new one, or the existing one with the
// address added — one enterprise, one code, its addresses grouped.
func (e *Enterprises) Apply(ctx context.Context, appID, platformID string, in *ApplyIn) (*Enterprise, error) {
	uscc := strings.ToUpper(strings.TrimSpace(in.USCC))
	if !persons.ValidSocialCreditCode(uscc) {
		return nil, fault.Invalidf("uscc is not a valid unified social credit code (check character)")
	}
	r, err := e.objects.rules.Resolve(ctx, appID, in.CodeDefID)
	if err != nil {
		return nil, err
	}
	if r.Kind != "enterprise" {
		return nil, fault.Invalidf("codeDefId %s is not an enterprise code rule", in.CodeDefID)
	}
	registered, found, err := e.registry.RegisteredName(ctx, uscc)
	if err != nil {
		return nil, err
	}
	if !found || registered != strings.TrimSpace(in.Name) {
		return nil, fault.Invalidf("the name and the unified social credit code do not match the enterprise registry")
	}
	pool, now := e.objects.rules.cfg.Pool, e.objects.rules.cfg.Clock()
	var out *Enterprise
	created := false
	err = store.Tx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, uscc); err != nil {
			return err
		}
		ent, err := e.load(ctx, tx, "uscc = $1", uscc)
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
		if ent == nil {
			var seq int64
			if err := tx.QueryRow(ctx, `UPDATE object_number_counter SET next = next + 1 RETURNING next - 1`).Scan(&seq); err != nil {
				return err
			}
			tok := make([]byte, 15)
			if _, err := rand.Read(tok); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO enterprises (id, uscc, name, platform_id, app_id, rule_id, token, number, created_at, updated_at)
				VALUES ('E' || lpad(nextval('enterprise_seq')::text, 6, '0'), $1, $2, $3, $4, $5, $6, $7, $8, $8)`,
				uscc, registered, platformID, appID, in.CodeDefID, tokenEncoding.EncodeToString(tok), seq*10+CheckDigit(seq), now); err != nil {
				return err
			}
			created = true
			if ent, err = e.load(ctx, tx, "uscc = $1", uscc); err != nil {
				return err
			}
		}
		if a := strings.TrimSpace(in.Address); a != "" && !slices.Contains(ent.Addresses, a) {
			ent.Addresses = append(ent.Addresses, a)
			addrs, _ := json.Marshal(ent.Addresses)
			if _, err := tx.Exec(ctx, `UPDATE enterprises SET addresses = $2, updated_at = $3 WHERE id = $1`, ent.ID, addrs, now); err != nil {
				return err
			}
		}
		out = ent
		return nil
	})
	if err != nil {
		return nil, err
	}
	if created {
		if err := e.objects.events.Write(ctx, events.Event{At: now, Type: "generate", Result: "success", PlatformID: platformID,
			AppID: appID, RuleID: in.CodeDefID, Kind: "enterprise", SubjectID: out.ID, CodeID: out.URL}); err != nil {
			return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the usage record could not be written; try again")
		}
	}
	return out, nil
}

// load reads the enterprise cond (a WHERE clause over enterprises, args
// its parameters) selects, in q when not nil.
func (e *Enterprises) load(ctx context.Context, q pgx.Tx, cond string, args ...any) (*Enterprise, error) {
	ent := &Enterprise{}
	var token string
	var addrs []byte
	sql := `SELECT id, uscc, name, token, number, addresses, status, rule_id, platform_id,
		coalesce((SELECT form FROM code_rules WHERE code_rules.id = enterprises.rule_id), '')
		FROM enterprises WHERE ` + cond
	var row pgx.Row
	if q != nil {
		row = q.QueryRow(ctx, sql, args...)
	} else {
		row = e.objects.rules.cfg.Pool.QueryRow(ctx, sql, args...)
	}
	err := row.Scan(&ent.ID, &ent.USCC, &ent.Name, &token, &ent.Number, &addrs, &ent.Status, &ent.CodeDefID, &ent.platformID, &ent.Form)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("no such enterprise code")
	}
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal(addrs, &ent.Addresses)
	ent.URL = e.objects.publicBase + "/e/" + token
	return ent, nil
}

// Verify answers the enterprise a scanned code belongs to: its URL, token
// or unified number, or a dynamic code (see VerifyDynamic). A disabled one
// answers FailedOperation.CodeNotActive wrapping ErrEnterpriseDisabled.
func (e *Enterprises) Verify(ctx context.Context, appID, code string) (*Enterprise, error) {
	code = strings.TrimSpace(code)
	if isDynamic(code) {
		return e.VerifyDynamic(ctx, code)
	}
	if i := strings.LastIndex(code, "/e/"); i >= 0 {
		code = code[i+3:]
	}
	cond, arg := "token = $1", any(code)
	if n, err := parseNumber(code); err == nil {
		if !ValidNumber(n) {
			return nil, fault.Invalidf("%s is not a valid unified number (check digit)", code)
		}
		cond, arg = "number = $1", n
	} else if err := storable("code", code); err != nil {
		return nil, err
	}
	ent, err := e.load(ctx, nil, cond, arg)
	if err != nil {
		return nil, err
	}
	if ent.Status != "enabled" {
		return nil, disabled(ent)
	}
	return ent, nil
}

// disabled is the error of verifying a disabled enterprise's code.
func disabled(ent *Enterprise) error {
	return fault.Wrap(ErrEnterpriseDisabled, fault.Conflict, fault.CodeCodeNotActive, "the enterprise code of "+ent.Name+" is disabled")
}

// Routes declares the enterprise-code API and the console's registry.
func (e *Enterprises) Routes() []*httpapi.Route {
	const get, post = http.MethodGet, http.MethodPost
	return []*httpapi.Route{
		httpapi.Handle(post, "/openapi/v1/enterprise-codes", func(ctx context.Context, in *ApplyIn) (*Enterprise, error) {
			a, err := app(ctx)
			if err != nil {
				return nil, err
			}
			return e.Apply(ctx, a.AppID, a.PlatformID, in)
		}).Doc("一企一码申领", "Checks the enterprise name and unified social credit code against the registry (two-factor) and answers the enterprise's code; applying again with another address adds the address to the same enterprise.").
			Tag("enterprise-code").App(),
		httpapi.Handle(post, "/openapi/v1/enterprise-codes/verify", func(ctx context.Context, in *VerifyIn) (*Enterprise, error) {
			a, err := app(ctx)
			if err != nil {
				return nil, err
			}
			return e.Verify(ctx, a.AppID, in.Code)
		}).Doc("一企一码验码", "The enterprise a scanned code belongs to: its URL, token or unified number, or the dynamic code of an enterprise under a dynamic rule (the signed text POST .../dynamic answers). A disabled enterprise, a disabled rule version, or an expired dynamic code answer FailedOperation.CodeNotActive, the message saying which; an altered or forged dynamic code FailedOperation.CodeTampered.").
			Tag("enterprise-code").App().Reads().Errors(fault.CodeCodeNotActive, fault.CodeCodeExpired, fault.CodeCodeTampered),
		httpapi.Handle(post, "/openapi/v1/enterprise-codes/import", e.importRoute).
			Doc("一企一码批量导入", "Applies for the codes of every row of an xlsx sheet (企业名称, 统一社会信用代码, 地址; header first). Good rows are applied; each failed row is reported with its row number, error code and message.").
			Tag("enterprise-code").App(),
		httpapi.Handle(post, "/openapi/v1/enterprise-codes/:enterpriseId/status", e.statusRoute).
			Doc("启用/停用企业码", "A disabled enterprise code answers FailedOperation.CodeNotActive when verified.").
			Tag("enterprise-code").App(),
		httpapi.Handle(get, "/openapi/v1/enterprise-codes/:enterpriseId", e.viewRoute).
			Doc("一企一码详情", "An enterprise code of the app's platform: name, unified social credit code, URL, unified number, addresses, status and the rule's form. Another platform's enterprise answers ResourceNotFound.").
			Tag("enterprise-code").App().Reads().Errors(fault.CodeResourceNotFound),
		httpapi.Handle(post, "/openapi/v1/enterprise-codes/:enterpriseId/modify", e.modifyRoute).
			Doc("修改企业码信息", "Replaces the enterprise's addresses (at most 50, each 1-256 characters, duplicates dropped) and/or changes its name — only to the name the enterprise registry holds for its unified social credit code (two-factor); a name the registry does not confirm is refused and nothing changes.").
			Tag("enterprise-code").App().Errors(fault.CodeResourceNotFound),
		httpapi.Handle(get, "/openapi/v1/enterprise-codes/:enterpriseId/image", e.imageRoute).
			Doc("下载企业码图", "The enterprise code's QR image (PNG or SVG) holding its URL.").
			Tag("enterprise-code").App().Reads().Errors(fault.CodeResourceNotFound),
		httpapi.Handle(post, "/openapi/v1/enterprise-codes/:enterpriseId/dynamic", e.dynamicRoute).
			Doc("企业动态码亮码", "Issues a short-lived code of an enterprise under a dynamic rule, signed with the platform's key (verifiable offline with /api/keys when the rule says so): show code as a QR code until expiresAt, and ask again after refreshSeconds. An enterprise under a static rule answers FailedOperation (its code is the URL); a disabled one FailedOperation.CodeNotActive.").
			Tag("enterprise-code").App().Reads().Errors(fault.CodeFailedOperation, fault.CodeCodeNotActive, fault.CodeUnauthorizedOperation, fault.CodeResourceNotFound),
		httpapi.Handle(post, "/console/enterprise-registry", e.registerRoute).
			Doc("企业登记信息", "Loads an enterprise into the local registry the two-factor check uses (where no registry service is connected).").
			Tag("enterprise-code").Console("enterprise.update"),
	}
}

// RegistryIn is one registry entry.
type RegistryIn struct {
	USCC string `json:"uscc" validate:"required,len=18"`
	Name string `json:"name" validate:"required,max=128"`
}

func (e *Enterprises) registerRoute(ctx context.Context, in *RegistryIn) (*httpapi.Empty, error) {
	uscc := strings.ToUpper(in.USCC)
	if !persons.ValidSocialCreditCode(uscc) {
		return nil, fault.Invalidf("uscc is not a valid unified social credit code (check character)")
	}
	_, err := e.objects.rules.cfg.Pool.Exec(ctx, `INSERT INTO enterprise_registry (uscc, name, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (uscc) DO UPDATE SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at`, uscc, in.Name, e.objects.rules.cfg.Clock())
	return &httpapi.Empty{}, err
}

// MaxImportRows bounds one xlsx import.
const MaxImportRows = 5000

// RowError is why one row of an import failed.
type RowError struct {
	Row     int    `json:"row" doc:"spreadsheet row number (the header is row 1)"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ImportResult is what an import did.
type ImportResult struct {
	Imported int        `json:"imported"`
	Failed   int        `json:"failed"`
	Errors   []RowError `json:"errors"`
}

// Import applies for the enterprise codes of every row of an xlsx sheet
// (columns: 企业名称, 统一社会信用代码, 地址; first row the header). Each row
// stands alone: the good ones are applied, the others reported by row.
func (e *Enterprises) Import(ctx context.Context, appID, platformID, codeDefID string, xlsx []byte) (*ImportResult, error) {
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		return nil, fault.Invalidf("file is not an xlsx workbook")
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fault.Invalidf("the workbook has no sheet")
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		return nil, fault.Invalidf("the first sheet cannot be read")
	}
	if len(rows)-1 > MaxImportRows {
		return nil, fault.Invalidf("at most %d rows per import", MaxImportRows)
	}
	res := &ImportResult{Errors: []RowError{}}
	for i, row := range rows {
		if i == 0 {
			continue // header
		}
		cell := func(j int) string {
			if j < len(row) {
				return strings.TrimSpace(row[j])
			}
			return ""
		}
		if cell(0) == "" && cell(1) == "" && cell(2) == "" {
			continue
		}
		in := &ApplyIn{CodeDefID: codeDefID, Name: cell(0), USCC: cell(1), Address: cell(2)}
		if _, err := e.Apply(ctx, appID, platformID, in); err != nil {
			fe, ok := fault.As(err)
			if !ok || fe.Kind == fault.Internal || fe.Kind == fault.Unavailable {
				return nil, err
			}
			res.Failed++
			res.Errors = append(res.Errors, RowError{Row: i + 1, Code: fe.Code, Message: fe.Message})
			continue
		}
		res.Imported++
	}
	return res, nil
}

// ImportIn is an xlsx import.
type ImportIn struct {
	CodeDefID string `json:"codeDefId" validate:"required,max=32"`
	File      string `json:"file" validate:"required" doc:"base64 of the .xlsx workbook"`
}

func (e *Enterprises) importRoute(ctx context.Context, in *ImportIn) (*ImportResult, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(in.File)
	if err != nil {
		return nil, fault.Invalidf("parameter %q must be base64", "file")
	}
	return e.Import(ctx, a.AppID, a.PlatformID, in.CodeDefID, data)
}

// EntStatusIn enables or disables an enterprise code.
type EntStatusIn struct {
	ID      string `path:"enterpriseId" json:"-"`
	Enabled *bool  `json:"enabled" validate:"required"`
}

func (e *Enterprises) statusRoute(ctx context.Context, in *EntStatusIn) (*httpapi.Empty, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	if err := enterpriseID(in.ID); err != nil {
		return nil, err
	}
	status := "disabled"
	if *in.Enabled {
		status = "enabled"
	}
	tag, err := e.objects.rules.cfg.Pool.Exec(ctx, `UPDATE enterprises SET status = $3, updated_at = $4 WHERE id = $1 AND platform_id = $2`,
		in.ID, a.PlatformID, status, e.objects.rules.cfg.Clock())
	if err == nil && tag.RowsAffected() == 0 {
		err = fault.NotFoundf("no enterprise code %s on this platform", in.ID)
	}
	return &httpapi.Empty{}, err
}
