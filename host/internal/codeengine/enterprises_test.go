package codeengine_test

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/codekeys"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/tenancy"
	"github.com/opencitycode/citycode/sdk/codeformat"
)

// Unified social credit codes with valid check characters.
const (
	usccA = "91350100M000100Y43"
	usccB = "91310000MA1FL8L971"
)

// entEnv is one test's enterprise-code service over HTTP: a static and a
// dynamic enterprise rule of the main platform bound to mainApp, and a
// sub-platform whose app owns nothing of them.
type entEnv struct {
	*env
	ent       *codeengine.Enterprises
	keys      *codekeys.Ring
	srv       *objServer
	static    string // rule ids
	dynamic   string
	mainApp   string // "app:<id>@<platform>", as objServer.do takes it
	mainAppID string
	subApp    string
	sub       string
}

func newEntEnv(t *testing.T) *entEnv {
	t.Helper()
	e := &entEnv{env: newEnv(t)}
	sealer, err := codec.NewSealer([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e.keys, err = codekeys.New(codekeys.Config{Pool: e.pool, Sealer: sealer, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.ent = codeengine.NewEnterprises(e.objects(e.rules), nil, e.keys)

	main := e.ctx(mainAdmin())
	st := e.rule(&codeengine.RuleIn{Name: "一企一码", Form: "static", Family: "enterprise"})
	dy := e.rule(&codeengine.RuleIn{Name: "企业动态码", Form: "dynamic", Family: "enterprise",
		Function: codeengine.Function{ValiditySeconds: 60, RefreshSeconds: 20}})
	for _, r := range []string{st.ID, dy.ID} {
		must(e.rules.Publish(main, &codeengine.RuleIDIn{RuleID: r}))(t)
	}
	e.static, e.dynamic = st.ID, dy.ID
	e.mainAppID = e.app(tenancy.MainPlatformID, "市场监管")
	must(e.rules.Bind(main, &codeengine.BindIn{AppID: e.mainAppID, RuleIDs: []string{st.ID, dy.ID}}))(t)
	e.mainApp = "app:" + e.mainAppID + "@" + tenancy.MainPlatformID
	e.sub = e.platform("徐汇", "310104")
	e.subApp = "app:" + e.app(e.sub, "徐汇市场监管") + "@" + e.sub

	api, err := httpapi.New(httpapi.Config{Log: slog.New(slog.DiscardHandler), Console: tokens{"main": mainAdmin()}, Authz: e.eng, Apps: headerApps{}})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(e.ent.Routes()...)
	hs := httptest.NewServer(api.Handler())
	t.Cleanup(hs.Close)
	e.srv = &objServer{t: t, url: hs.URL}
	e.srv.must("main", "POST", "/console/enterprise-registry", `{"uscc":"`+usccA+`","name":"某某餐饮有限公司"}`)
	e.srv.must("main", "POST", "/console/enterprise-registry", `{"uscc":"`+usccB+`","name":"上海某科技有限公司"}`)
	return e
}

// apply applies for an enterprise code over HTTP as the main app.
func (e *entEnv) apply(t *testing.T, rule, name, uscc, address string) codeengine.Enterprise {
	t.Helper()
	var ent codeengine.Enterprise
	e.srv.must(e.mainApp, "POST", "/openapi/v1/enterprise-codes",
		mustMarshal(map[string]string{"codeDefId": rule, "name": name, "uscc": uscc, "address": address})).decode(t, &ent)
	return ent
}

// decodeQR reads a PNG QR image back, as a phone camera would.
func decodeQR(t *testing.T, data []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrreader.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("QR image does not decode: %v", err)
	}
	return res.GetText()
}

// View, edit and image of an enterprise code: the app's platform only
// (another platform's enterprise is not found, and stays unchanged), the
// address list validated and de-duplicated, a new name only as the
// registry holds it, and the image reads back to the enterprise's URL.
func TestEnterpriseManage(t *testing.T) {
	t.Parallel()
	e := newEntEnv(t)
	s := e.srv
	ent := e.apply(t, e.static, "某某餐饮有限公司", usccA, "徐汇区漕溪北路1号")
	base := "/openapi/v1/enterprise-codes/" + ent.ID
	view := func() codeengine.Enterprise {
		t.Helper()
		var got codeengine.Enterprise
		s.must(e.mainApp, "GET", base, "").decode(t, &got)
		return got
	}

	got := view()
	if got.ID != ent.ID || got.URL != ent.URL || got.USCC != usccA || got.Name != "某某餐饮有限公司" || got.Form != "static" ||
		got.Status != "enabled" || got.CodeDefID != e.static || strings.Join(got.Addresses, "|") != "徐汇区漕溪北路1号" {
		t.Fatalf("view %+v", got)
	}

	// Another platform's app learns nothing and changes nothing.
	for _, c := range []struct{ method, path, body string }{
		{"GET", base, ""},
		{"POST", base + "/modify", `{"addresses":["静安区"]}`},
		{"GET", base + "/image", ""},
		{"POST", base + "/dynamic", ""},
		{"POST", base + "/status", `{"enabled":false}`},
	} {
		a := s.want(e.subApp, c.method, c.path, c.body, 404, fault.CodeResourceNotFound)
		if strings.Contains(string(a.raw), usccA) || strings.Contains(string(a.raw), "某某") {
			t.Errorf("%s %s leaks the enterprise: %s", c.method, c.path, a.raw)
		}
	}
	for _, id := range []string{"E999999", "X1", "E", "E1'%00", "E%FF"} {
		s.want(e.mainApp, "GET", "/openapi/v1/enterprise-codes/"+id, "", 404, fault.CodeResourceNotFound)
	}

	// Addresses: replaced, trimmed, de-duplicated in order.
	var mod codeengine.Enterprise
	s.must(e.mainApp, "POST", base+"/modify", `{"addresses":[" 静安区南京西路2号 ","徐汇区漕溪北路1号","静安区南京西路2号"]}`).decode(t, &mod)
	if strings.Join(mod.Addresses, "|") != "静安区南京西路2号|徐汇区漕溪北路1号" || mod.Name != "某某餐饮有限公司" {
		t.Fatalf("modified %+v", mod)
	}
	fifty := make([]string, codeengine.MaxAddresses+1)
	for i := range fifty {
		fifty[i] = "地址" + string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	for _, tc := range []struct {
		name, body string
		code       string
	}{
		{"nothing", `{}`, fault.CodeInvalidParameter},
		{"an empty address", `{"addresses":["a",""]}`, fault.CodeInvalidParameter},
		{"a blank address", `{"addresses":["  "]}`, fault.CodeInvalidParameter},
		{"a long address", `{"addresses":["` + strings.Repeat("长", codeengine.MaxAddressLength+1) + `"]}`, fault.CodeInvalidParameter},
		{"too many addresses", mustMarshal(map[string]any{"addresses": fifty}), fault.CodeInvalidParameter},
		{"NUL", `{"addresses":["a\u0000b"]}`, fault.CodeInvalidParameter},
		{"addresses not a list", `{"addresses":"a"}`, fault.CodeInvalidParameter},
		{"a name too long", `{"name":"` + strings.Repeat("名", 129) + `"}`, fault.CodeInvalidParameter},
		{"unknown field", `{"address":"a"}`, fault.CodeInvalidParameter},
		// The registry does not hold this name for the credit code; the
		// addresses of the same request are not applied either.
		{"unconfirmed name", `{"name":"某某餐饮管理有限公司","addresses":["别处"]}`, fault.CodeInvalidParameter},
		{"another enterprise's name", `{"name":"上海某科技有限公司"}`, fault.CodeInvalidParameter},
	} {
		if a := s.do(e.mainApp, "POST", base+"/modify", tc.body); a.status != 400 || a.code != tc.code {
			t.Errorf("%s: %d %s %s, want 400 %s", tc.name, a.status, a.code, a.msg, tc.code)
		}
	}
	if v := view(); v.Name != "某某餐饮有限公司" || strings.Join(v.Addresses, "|") != "静安区南京西路2号|徐汇区漕溪北路1号" {
		t.Fatalf("refused edits changed %+v", v)
	}
	// A long address at the limit is fine; 50 addresses too.
	s.must(e.mainApp, "POST", base+"/modify", mustMarshal(map[string]any{"addresses": fifty[:codeengine.MaxAddresses]}))
	s.must(e.mainApp, "POST", base+"/modify", `{"addresses":["`+strings.Repeat("长", codeengine.MaxAddressLength)+`"]}`)

	// Once the registry holds the new name, the rename goes through.
	s.must("main", "POST", "/console/enterprise-registry", `{"uscc":"`+usccA+`","name":"某某餐饮管理有限公司"}`)
	s.must(e.mainApp, "POST", base+"/modify", `{"name":" 某某餐饮管理有限公司 ","addresses":[]}`).decode(t, &mod)
	if mod.Name != "某某餐饮管理有限公司" || len(mod.Addresses) != 0 || mod.URL != ent.URL || mod.Number != ent.Number {
		t.Fatalf("renamed %+v", mod)
	}
	if v := view(); v.Name != "某某餐饮管理有限公司" || len(v.Addresses) != 0 {
		t.Fatalf("after the rename %+v", v)
	}
	// Verification answers the new name.
	var ver codeengine.Enterprise
	s.must(e.subApp, "POST", "/openapi/v1/enterprise-codes/verify", `{"code":"`+ent.URL+`"}`).decode(t, &ver)
	if ver.Name != "某某餐饮管理有限公司" {
		t.Fatalf("verified %+v", ver)
	}

	// The image holds the enterprise's URL.
	a := s.must(e.mainApp, "GET", base+"/image?moduleSize=4&level=Q", "")
	if a.ctype != "image/png" {
		t.Fatalf("image content type %s", a.ctype)
	}
	if text := decodeQR(t, a.raw); text != ent.URL {
		t.Fatalf("image holds %q, want %q", text, ent.URL)
	}
	if a := s.must(e.mainApp, "GET", base+"/image?format=svg", ""); a.ctype != "image/svg+xml" || !bytes.Contains(a.raw, []byte("<svg")) {
		t.Fatalf("svg image: %s %.100s", a.ctype, a.raw)
	}
	for _, q := range []string{"format=gif", "level=X", "moduleSize=41", "moduleSize=-1", "moduleSize=big"} {
		s.want(e.mainApp, "GET", base+"/image?"+q, "", 400, fault.CodeInvalidParameter)
	}

	// Whatever arrives, no route answers 500.
	junk := []string{"", `{`, `[]`, `null`, `{"addresses":[1]}`, `{"name":"\u0000"}`, `{"enabled":"x"}`, `{"code":"\u0000"}`,
		`{"code":"` + strings.Repeat("Z", 300) + `"}`, `{"code":"CC:` + strings.Repeat("A", 200) + `"}`, `{"file":"%%%"}`}
	for _, r := range e.ent.Routes() {
		who := e.mainApp
		if r.Auth != httpapi.App {
			who = "main"
		}
		for _, id := range []string{"'%00", "E%FF", "E99999999999999999999999999"} {
			path := strings.ReplaceAll(r.Path, ":enterpriseId", id)
			for _, body := range junk {
				if a := s.do(who, r.Method, path+"?format=%00&moduleSize=x", body); a.status >= 500 {
					t.Errorf("%s %s %s: %d %s %s", r.Method, r.Path, body, a.status, a.code, a.msg)
				}
			}
		}
	}
}

// flip answers text with one bit of its payload (signature included)
// inverted, the guide kept.
func flip(t *testing.T, text string, bit int) string {
	t.Helper()
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	i := strings.LastIndexAny(text, ":/")
	raw, err := enc.DecodeString(text[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	raw[bit/8%len(raw)] ^= 1 << (bit % 8)
	return text[:i+1] + enc.EncodeToString(raw)
}

// Dynamic enterprise codes: issued signed under a dynamic rule, verified
// by the same verification route as static codes; a flipped bit anywhere
// is tampered, a code past its validity expired, a disabled enterprise's
// code not active — each its own answer; a static rule's enterprise has
// no dynamic code.
func TestEnterpriseDynamic(t *testing.T) {
	t.Parallel()
	e := newEntEnv(t)
	s := e.srv
	ctx := e.ctx(root())
	dyn := e.apply(t, e.dynamic, "某某餐饮有限公司", usccA, "徐汇区漕溪北路1号")
	stat := e.apply(t, e.static, "上海某科技有限公司", usccB, "")
	if dyn.Form != "dynamic" || stat.Form != "static" {
		t.Fatalf("forms %s %s", dyn.Form, stat.Form)
	}
	show := func() codeengine.DynamicCode {
		t.Helper()
		var c codeengine.DynamicCode
		s.must(e.mainApp, "POST", "/openapi/v1/enterprise-codes/"+dyn.ID+"/dynamic", "").decode(t, &c)
		return c
	}
	verify := func(code string) answer {
		t.Helper()
		return s.do(e.mainApp, "POST", "/openapi/v1/enterprise-codes/verify", mustMarshal(map[string]string{"code": code}))
	}

	c := show()
	if !strings.HasPrefix(c.Code, codeformat.DefaultGuide) || c.RefreshSeconds != 20 || !c.ExpiresAt.Equal(e.clock.Now().Add(60*time.Second)) {
		t.Fatalf("dynamic code %+v", c)
	}
	p, err := codeformat.Parse(c.Code)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != codeformat.KindEnterprise || p.Family != codeformat.FamilyEnterprise || p.PlatformID != tenancy.MainPlatformID ||
		p.RuleID != e.dynamic || p.Validity != 60*time.Second || string(bytes.TrimRight(p.Subject[:], "\x00")) != dyn.ID {
		t.Fatalf("code content %+v", p.Code)
	}
	var got codeengine.Enterprise
	if a := verify(c.Code); a.status != 200 {
		t.Fatalf("verify a fresh code: %d %s %s", a.status, a.code, a.msg)
	} else if a.decode(t, &got); got.ID != dyn.ID || got.Name != "某某餐饮有限公司" {
		t.Fatalf("verified %+v", got)
	}
	// Another platform's app verifies it too, as it verifies a static code.
	s.want(e.subApp, "POST", "/openapi/v1/enterprise-codes/verify", mustMarshal(map[string]string{"code": c.Code}), 200, "")
	// The static code of a dynamic enterprise still verifies.
	s.want(e.mainApp, "POST", "/openapi/v1/enterprise-codes/verify", `{"code":"`+dyn.URL+`"}`, 200, "")

	// One bit flipped anywhere — subject, times, key id, signature — is
	// tampered, never an enterprise.
	n := len(c.Code) * 5 // bits of the base32 payload, at least
	for bit := 0; bit < n; bit += 13 {
		text := flip(t, c.Code, bit)
		if text == c.Code {
			continue
		}
		_, err := e.ent.Verify(ctx, e.mainAppID, text)
		wantCode(t, err, fault.CodeCodeTampered)
	}
	if a := verify(flip(t, c.Code, 8*40+3)); a.status != 400 || a.code != fault.CodeCodeTampered {
		t.Fatalf("a flipped bit over HTTP: %d %s %s", a.status, a.code, a.msg)
	}
	// A character changed in the text is tampered too.
	b := []byte(c.Code)
	b[len(b)/2] = map[bool]byte{true: 'B', false: 'A'}[b[len(b)/2] == 'A']
	if a := verify(string(b)); a.status != 400 || a.code != fault.CodeCodeTampered {
		t.Fatalf("a changed character: %d %s %s", a.status, a.code, a.msg)
	}

	// Genuinely signed yet wrong: another kind, no such enterprise, or an
	// enterprise of another platform.
	sign := func(platform string, kind codeformat.Kind, id string) string {
		t.Helper()
		kid, signer, err := e.keys.Signer(ctx, platform)
		if err != nil {
			t.Fatal(err)
		}
		var sub [codeformat.SubjectSize]byte
		copy(sub[:], id)
		text, err := codeformat.Encode(codeformat.Code{PlatformID: platform, RuleID: e.dynamic, RuleVersion: 1, Kind: kind,
			Family: codeformat.FamilyEnterprise, Subject: sub, IssuedAt: e.clock.Now(), Validity: time.Minute, KeyID: kid}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	_, err = e.ent.Verify(ctx, e.mainAppID, sign(tenancy.MainPlatformID, codeformat.KindPerson, dyn.ID))
	wantCode(t, err, fault.CodeInvalidParameter)
	_, err = e.ent.Verify(ctx, e.mainAppID, sign(tenancy.MainPlatformID, codeformat.KindEnterprise, "E999999"))
	wantCode(t, err, fault.CodeCodeTampered)
	_, err = e.ent.Verify(ctx, e.mainAppID, sign(tenancy.MainPlatformID, codeformat.KindEnterprise, "\x01"))
	wantCode(t, err, fault.CodeCodeTampered)
	_, err = e.ent.Verify(ctx, e.mainAppID, sign(e.sub, codeformat.KindEnterprise, dyn.ID))
	wantCode(t, err, fault.CodeCodeTampered)

	// Valid until the last second of its validity, expired from then on.
	e.clock.Advance(59 * time.Second)
	if a := verify(c.Code); a.status != 200 {
		t.Fatalf("verify at 59 s: %d %s %s", a.status, a.code, a.msg)
	}
	e.clock.Advance(time.Second)
	if a := verify(c.Code); a.status != 409 || a.code != fault.CodeCodeExpired || !strings.Contains(a.msg, "expired") {
		t.Fatalf("verify at 60 s: %d %s %s", a.status, a.code, a.msg)
	}
	_, err = e.ent.Verify(ctx, e.mainAppID, c.Code)
	wantCause(t, err, fault.CodeCodeExpired, codeengine.ErrExpired)
	// A tampered expired code is tampered.
	_, err = e.ent.Verify(ctx, e.mainAppID, flip(t, c.Code, 8*30))
	wantCode(t, err, fault.CodeCodeTampered)

	// A disabled enterprise: its fresh code and its static one are not
	// active, and it gets no new code.
	fresh := show()
	s.must(e.mainApp, "POST", "/openapi/v1/enterprise-codes/"+dyn.ID+"/status", `{"enabled":false}`)
	if a := verify(fresh.Code); a.status != 409 || a.code != fault.CodeCodeNotActive || !strings.Contains(a.msg, "disabled") {
		t.Fatalf("verify a disabled enterprise's code: %d %s %s", a.status, a.code, a.msg)
	}
	_, err = e.ent.Verify(ctx, e.mainAppID, fresh.Code)
	wantCause(t, err, fault.CodeCodeNotActive, codeengine.ErrEnterpriseDisabled)
	_, err = e.ent.Verify(ctx, e.mainAppID, dyn.URL)
	wantCause(t, err, fault.CodeCodeNotActive, codeengine.ErrEnterpriseDisabled)
	s.want(e.mainApp, "POST", "/openapi/v1/enterprise-codes/"+dyn.ID+"/dynamic", "", 409, fault.CodeCodeNotActive)
	s.must(e.mainApp, "POST", "/openapi/v1/enterprise-codes/"+dyn.ID+"/status", `{"enabled":true}`)
	if a := verify(fresh.Code); a.status != 200 {
		t.Fatalf("verify after enabling again: %d %s %s", a.status, a.code, a.msg)
	}

	// A disabled rule: its codes are not active.
	must(e.rules.DisableRule(e.ctx(mainAdmin()), &codeengine.RuleIDIn{RuleID: e.dynamic}))(t)
	_, err = e.ent.Verify(ctx, e.mainAppID, fresh.Code)
	wantCause(t, err, fault.CodeCodeNotActive, codeengine.ErrRuleDisabled)
	must(e.rules.EnableRule(e.ctx(mainAdmin()), &codeengine.RuleIDIn{RuleID: e.dynamic}))(t)

	// A static rule's enterprise has no dynamic code; an app not bound to
	// the rule gets none either.
	a := s.want(e.mainApp, "POST", "/openapi/v1/enterprise-codes/"+stat.ID+"/dynamic", "", 409, fault.CodeFailedOperation)
	if !strings.Contains(a.msg, "static") {
		t.Fatalf("static rule's refusal: %s", a.msg)
	}
	other := "app:" + e.app(tenancy.MainPlatformID, "另一个应用") + "@" + tenancy.MainPlatformID
	s.want(other, "POST", "/openapi/v1/enterprise-codes/"+dyn.ID+"/dynamic", "", 403, fault.CodeUnauthorizedOperation)

	// Every code shown is a usage event.
	var shows int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM usage_events WHERE type = 'show' AND kind = 'enterprise' AND subject_id = $1`, dyn.ID).Scan(&shows); err != nil {
		t.Fatal(err)
	}
	if shows != 2 {
		t.Fatalf("%d show events, want 2", shows)
	}
}
