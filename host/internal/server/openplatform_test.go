package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/client"
)

// TestOpenPlatformDeveloperJourney: 开放平台 — a developer registers,
// submits an enterprise qualification, is approved, creates an app,
// applies for the decode capability with a quota, is approved, and decodes
// a code a city app shows: refused (UnauthorizedOperation) before the
// approval, LimitExceeded.Quota past the quota. A rejected qualification
// carries its reason to the developer's notifications. One developer never
// sees another's apps, qualifications or notifications; developer and
// console sessions do not open each other's routes; a sub-platform sees
// no developer of the main platform; a frozen developer cannot log in and
// its app's calls are refused.
func TestOpenPlatformDeveloperJourney(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostOpts{})
	admin := h.admin()
	ctx := context.Background()

	// A city app holding a published identity rule issues and shows a code.
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "身份码", "form": "dynamic", "family": "identity",
		"function": map[string]any{"validitySeconds": 300, "refreshSeconds": 60, "offlineVerifiable": true}}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	city := h.app(admin, map[string]any{"name": "随申办"})
	h.must(admin, "PUT", "/console/apps/"+city.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	cc := signedClient(t, h, city)
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := cc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": city.AppID, "codeDefId": rule.ID,
		"userExt": userExtOf("钱七", "11010519491231002X", "13800138000")}, &opened); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		CodeContent string `json:"codeContent"`
	}
	if err := cc.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": city.AppID, "codeDefId": rule.ID, "userId": opened.UserID}, &shown); err != nil {
		t.Fatal(err)
	}

	// Registration: bad input answers 400, a taken account 409.
	for name, body := range map[string]map[string]any{
		"weak password":  {"account": "acme", "password": "password"},
		"short account":  {"account": "ab", "password": "Secret2026"},
		"bad characters": {"account": "acme dev", "password": "Secret2026"},
		"bad mobile":     {"account": "acme", "password": "Secret2026", "mobile": "12345"},
		"bad email":      {"account": "acme", "password": "Secret2026", "email": "not-an-email"},
		"no password":    {"account": "acme"},
	} {
		if a := h.call("", "POST", "/open/v1/register", body); a.Status != 400 {
			t.Errorf("register with %s: %d %s", name, a.Status, a.Code)
		}
	}
	var dev struct {
		ID     string `json:"id"`
		Mobile string `json:"mobile"`
		Email  string `json:"email"`
	}
	h.must("", "POST", "/open/v1/register", map[string]any{"account": "Acme_Dev", "password": "Secret2026", "nickname": "阿克米",
		"mobile": "13912345678", "email": "dev@acme.example.cn"}).decode(t, &dev)
	if dev.Mobile != "139****5678" || dev.Email != "d***@acme.example.cn" {
		t.Fatalf("personal data not masked: %+v", dev)
	}
	if a := h.call("", "POST", "/open/v1/register", map[string]any{"account": "acme_dev", "password": "Secret2026"}); a.Status != 409 {
		t.Fatalf("a taken account: %d %s", a.Status, a.Code)
	}
	if a := h.call("", "POST", "/open/v1/login", map[string]any{"account": "acme_dev", "password": "Wrong2026"}); a.Status != 401 || a.Code != fault.CodeInvalidCredential {
		t.Fatalf("a wrong password: %d %s", a.Status, a.Code)
	}
	tok := h.devLogin("acme_dev", "Secret2026")
	h.must("", "POST", "/open/v1/register", map[string]any{"account": "rival", "password": "Rival2026"})
	rival := h.devLogin("rival", "Rival2026")

	// Sessions do not cross: a developer is no operator and vice versa.
	if a := h.call(tok, "GET", "/console/apps", nil); a.Status != 401 {
		t.Fatalf("a developer session on a console route: %d %s", a.Status, a.Code)
	}
	if a := h.call(admin, "GET", "/open/v1/me", nil); a.Status != 401 {
		t.Fatalf("a console session on a developer route: %d %s", a.Status, a.Code)
	}
	if a := h.call("", "GET", "/open/v1/me", nil); a.Status != 401 {
		t.Fatalf("no session: %d", a.Status)
	}

	// Not yet certified: no app.
	if a := h.call(tok, "POST", "/open/v1/apps", map[string]any{"name": "闸机", "type": "server"}); a.Status != 409 {
		t.Fatalf("an app before certification: %d %s", a.Status, a.Code)
	}

	// The business licence: the bytes decide what the file is.
	if a := h.call(tok, "POST", "/open/v1/files", map[string]any{"filename": "licence.png",
		"content": base64.StdEncoding.EncodeToString([]byte("just text, not an image"))}); a.Status != 400 {
		t.Fatalf("a text file as a licence: %d %s", a.Status, a.Code)
	}
	if a := h.call(tok, "POST", "/open/v1/files", map[string]any{"filename": "x.png", "content": "%%%"}); a.Status != 400 {
		t.Fatalf("content not base64: %d %s", a.Status, a.Code)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 200)...)
	var file struct {
		ID          int64  `json:"id"`
		ContentType string `json:"contentType"`
	}
	h.must(tok, "POST", "/open/v1/files", map[string]any{"filename": "营业执照.png", "content": base64.StdEncoding.EncodeToString(png)}).decode(t, &file)
	if file.ContentType != "image/png" {
		t.Fatalf("sniffed: %+v", file)
	}
	enterprise := map[string]any{"kind": "enterprise", "enterpriseName": "阿克米科技有限公司", "creditCode": "91310104MA1FR9XK8E",
		"licenceFileId": file.ID, "contact": "13912345678"}
	for name, change := range map[string]map[string]any{
		"bad check character": {"creditCode": "91310104MA1FR9XK8F"},
		"no licence":          {"licenceFileId": 0},
		"no such licence":     {"licenceFileId": file.ID + 1000},
		"bad contact":         {"contact": "call me"},
		"bad kind":            {"kind": "alien"},
	} {
		body := map[string]any{}
		for k, v := range enterprise {
			body[k] = v
		}
		for k, v := range change {
			body[k] = v
		}
		if a := h.call(tok, "POST", "/open/v1/qualifications", body); a.Status != 400 {
			t.Errorf("qualification with %s: %d %s", name, a.Status, a.Code)
		}
	}
	// Another developer cannot name this one's licence.
	rivalQual := map[string]any{"kind": "enterprise", "enterpriseName": "对手公司", "creditCode": "91310104MA1FR9XK8E",
		"licenceFileId": file.ID, "contact": "rival@example.cn"}
	if a := h.call(rival, "POST", "/open/v1/qualifications", rivalQual); a.Status != 400 {
		t.Fatalf("another developer's licence: %d %s", a.Status, a.Code)
	}
	var qual struct {
		ID       int64  `json:"id"`
		Status   string `json:"status"`
		Contact  string `json:"contact"`
		Progress []struct {
			Name string `json:"name"`
			Done bool   `json:"done"`
		} `json:"progress"`
	}
	h.must(tok, "POST", "/open/v1/qualifications", enterprise).decode(t, &qual)
	if qual.Status != "pending" || qual.Contact != "139****5678" || len(qual.Progress) != 2 || qual.Progress[1].Done {
		t.Fatalf("submitted: %+v", qual)
	}
	if a := h.call(tok, "POST", "/open/v1/qualifications", enterprise); a.Status != 409 {
		t.Fatalf("a second pending qualification: %d %s", a.Status, a.Code)
	}

	// The rival's personal qualification is rejected with a reason.
	var rq struct {
		ID     int64  `json:"id"`
		CertNo string `json:"certNo"`
		Name   string `json:"realName"`
	}
	if a := h.call(rival, "POST", "/open/v1/qualifications", map[string]any{"kind": "personal", "realName": "王五",
		"certNo": "110105194912310021", "contact": "rival@example.cn"}); a.Status != 400 {
		t.Fatalf("a bad resident ID: %d %s", a.Status, a.Code)
	}
	h.must(rival, "POST", "/open/v1/qualifications", map[string]any{"kind": "personal", "realName": "王五",
		"certNo": "11010519491231002X", "contact": "rival@example.cn"}).decode(t, &rq)
	if rq.CertNo != "110***********002X" || rq.Name != "王*" {
		t.Fatalf("personal data not masked: %+v", rq)
	}
	if a := h.call(admin, "POST", "/console/open/qualifications/"+itoa(rq.ID)+"/review", map[string]any{"approve": false}); a.Status != 400 {
		t.Fatalf("a rejection without reason: %d %s", a.Status, a.Code)
	}
	h.must(admin, "POST", "/console/open/qualifications/"+itoa(rq.ID)+"/review", map[string]any{"approve": false, "reason": "身份证件照片不清晰"})
	_, notes := h.list(rival, "/open/v1/notifications")
	if len(notes) != 2 || notes[0]["template"] != "qualification.rejected" || !strings.Contains(notes[0]["body"].(string), "身份证件照片不清晰") {
		t.Fatalf("the rival's notifications: %v", notes)
	}
	if a := h.call(admin, "POST", "/console/open/qualifications/"+itoa(rq.ID)+"/review", map[string]any{"approve": true}); a.Status != 409 {
		t.Fatalf("a second review: %d %s", a.Status, a.Code)
	}

	// Each developer sees only its own.
	_, mine := h.list(tok, "/open/v1/qualifications")
	if len(mine) != 1 || mine[0]["id"].(float64) != float64(qual.ID) {
		t.Fatalf("my qualifications: %v", mine)
	}
	_, notes = h.list(tok, "/open/v1/notifications")
	if len(notes) != 1 || notes[0]["template"] != "qualification.submitted" {
		t.Fatalf("my notifications: %v", notes)
	}
	if a := h.call(tok, "POST", "/open/v1/notifications/"+itoa(1_000_000)+"/read", nil); a.Status != 404 {
		t.Fatalf("reading a missing notification: %d", a.Status)
	}

	// A sub-platform sees no developer of the main platform.
	_, sub := h.subPlatform(admin, "静安区平台", "310106", "ja_admin")
	if p, _ := h.list(sub, "/console/open/qualifications"); p.Total != 0 {
		t.Fatalf("a sub-platform sees %d qualifications", p.Total)
	}
	if p, _ := h.list(sub, "/console/open/developers"); p.Total != 0 {
		t.Fatalf("a sub-platform sees %d developers", p.Total)
	}
	if a := h.call(sub, "POST", "/console/open/qualifications/"+itoa(qual.ID)+"/review", map[string]any{"approve": true}); a.Status != 404 {
		t.Fatalf("a sub-platform reviews: %d %s", a.Status, a.Code)
	}
	if a := h.call(sub, "GET", "/console/open/qualifications/"+itoa(qual.ID)+"/licence", nil); a.Status != 404 {
		t.Fatalf("a sub-platform downloads the licence: %d", a.Status)
	}

	// The administrator downloads the licence and approves.
	if a := h.call(tok, "GET", "/console/open/qualifications/"+itoa(qual.ID)+"/licence", nil); a.Status != 401 {
		t.Fatalf("a developer downloads through the console: %d", a.Status)
	}
	if got := h.download(admin, "/console/open/qualifications/"+itoa(qual.ID)+"/licence"); !bytes.Equal(got, png) {
		t.Fatalf("the licence downloaded is %d bytes", len(got))
	}
	p, pending := h.list(admin, "/console/open/qualifications?status=pending")
	if p.Total != 1 || pending[0]["creditCode"] != "91310104MA1FR9XK8E" {
		t.Fatalf("pending: %v", pending)
	}
	h.must(admin, "POST", "/console/open/qualifications/"+itoa(qual.ID)+"/review", map[string]any{"approve": true})
	var me struct {
		Certification string `json:"certification"`
		CertKind      string `json:"certKind"`
	}
	h.must(tok, "GET", "/open/v1/me", nil).decode(t, &me)
	if me.Certification != "approved" || me.CertKind != "enterprise" {
		t.Fatalf("after approval: %+v", me)
	}

	// The app, restricted from the start: the decode is refused.
	if a := h.call(tok, "POST", "/open/v1/apps", map[string]any{"name": "闸机", "type": "teleporter"}); a.Status != 400 {
		t.Fatalf("a bad app type: %d", a.Status)
	}
	var app struct {
		AppID     string `json:"appId"`
		AppSecret string `json:"appSecret"`
		Status    string `json:"status"`
	}
	h.must(tok, "POST", "/open/v1/apps", map[string]any{"name": "阿克米闸机", "type": "server", "iconUrl": "https://acme.example.cn/icon.png",
		"description": "地铁闸机验码"}).decode(t, &app)
	if app.AppSecret == "" || app.Status != "enabled" {
		t.Fatalf("created: %+v", app)
	}
	_, apps := h.list(tok, "/open/v1/apps")
	if len(apps) != 1 || apps[0]["appSecret"] != nil {
		t.Fatalf("my apps: %v", apps)
	}
	if _, theirs := h.list(rival, "/open/v1/apps"); len(theirs) != 0 {
		t.Fatalf("the rival sees %d apps", len(theirs))
	}
	if a := h.call(rival, "GET", "/open/v1/apps/"+app.AppID, nil); a.Status != 404 {
		t.Fatalf("the rival reads the app: %d", a.Status)
	}
	if a := h.call(rival, "POST", "/open/v1/apps/"+app.AppID+"/applications", map[string]any{"capability": "code-decode", "reason": "想要"}); a.Status != 404 {
		t.Fatalf("the rival applies for the app: %d", a.Status)
	}
	secret, _ := hex.DecodeString(app.AppSecret)
	dc := client.New(h.URL, app.AppID, secret)
	decode := func() error {
		return dc.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"cityCodeAppId": app.AppID, "codeContent": shown.CodeContent, "acceptOrgId": "地铁闸机"}, nil)
	}
	wantAPIError(t, decode(), 403, fault.CodeUnauthorizedOperation)

	// The application, approved: two decodes a day.
	for name, body := range map[string]map[string]any{
		"unknown capability": {"capability": "teleport", "reason": "需要"},
		"basic capability":   {"capability": "open-api", "reason": "需要"},
		"no reason":          {"capability": "code-decode"},
		"zero quota":         {"capability": "code-decode", "quota": 0, "reason": "需要"},
		"bad period":         {"capability": "code-decode", "period": "year", "reason": "需要"},
	} {
		if a := h.call(tok, "POST", "/open/v1/apps/"+app.AppID+"/applications", body); a.Status != 400 {
			t.Errorf("application with %s: %d %s", name, a.Status, a.Code)
		}
	}
	var appl struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	h.must(tok, "POST", "/open/v1/apps/"+app.AppID+"/applications", map[string]any{"capability": "code-decode", "quota": 2, "period": "day",
		"reason": "地铁闸机核验身份码"}).decode(t, &appl)
	if a := h.call(tok, "POST", "/open/v1/apps/"+app.AppID+"/applications", map[string]any{"capability": "code-decode", "reason": "再来"}); a.Status != 409 {
		t.Fatalf("a second pending application: %d %s", a.Status, a.Code)
	}
	h.must(tok, "GET", "/open/v1/apps/"+app.AppID, nil).decode(t, &app)
	if app.Status != "reviewing" {
		t.Fatalf("an app with a pending application: %+v", app)
	}
	wantAPIError(t, decode(), 403, fault.CodeUnauthorizedOperation)
	if p, _ := h.list(sub, "/console/open/applications"); p.Total != 0 {
		t.Fatalf("a sub-platform sees %d applications", p.Total)
	}
	if a := h.call(tok, "POST", "/console/open/applications/"+itoa(appl.ID)+"/review", map[string]any{"approve": true}); a.Status != 401 {
		t.Fatalf("a developer approves itself: %d", a.Status)
	}
	h.must(admin, "POST", "/console/open/applications/"+itoa(appl.ID)+"/review", map[string]any{"approve": true})
	for i := range 2 {
		if err := decode(); err != nil {
			t.Fatalf("decode %d within the quota: %v", i, err)
		}
	}
	wantAPIError(t, decode(), 429, fault.CodeQuota)
	_, notes = h.list(tok, "/open/v1/notifications")
	if len(notes) != 4 || notes[0]["template"] != "application.approved" || notes[1]["template"] != "application.submitted" ||
		notes[2]["template"] != "qualification.approved" {
		t.Fatalf("notifications: %v", notes)
	}
	_, appls := h.list(tok, "/open/v1/applications")
	if len(appls) != 1 || appls[0]["status"] != "approved" {
		t.Fatalf("my applications: %v", appls)
	}

	// Frozen: no login, no session, no calls. Restored: back to its quota.
	var devs []map[string]any
	_, devs = h.list(admin, "/console/open/developers?keyword=acme")
	if len(devs) != 1 || devs[0]["id"] != dev.ID || devs[0]["mobile"] != "139****5678" {
		t.Fatalf("developers: %v", devs)
	}
	if a := h.call(admin, "POST", "/console/open/developers/"+dev.ID+"/freeze", map[string]any{}); a.Status != 400 {
		t.Fatalf("a freeze without reason: %d", a.Status)
	}
	h.must(admin, "POST", "/console/open/developers/"+dev.ID+"/freeze", map[string]any{"reason": "违规调用"})
	if a := h.call(tok, "GET", "/open/v1/me", nil); a.Status != 401 {
		t.Fatalf("a frozen developer's session: %d %s", a.Status, a.Code)
	}
	if a := h.call("", "POST", "/open/v1/login", map[string]any{"account": "acme_dev", "password": "Secret2026"}); a.Status != 403 || a.Code != fault.CodeAccountDisabled {
		t.Fatalf("a frozen developer logs in: %d %s", a.Status, a.Code)
	}
	wantAPIError(t, decode(), 403, fault.CodeUnauthorizedOperation)
	wantAPIError(t, dc.Call(ctx, "/api/getAppInfo", map[string]any{}, nil), 403, fault.CodeUnauthorizedOperation)
	h.must(admin, "POST", "/console/open/developers/"+dev.ID+"/restore", nil)
	tok = h.devLogin("acme_dev", "Secret2026")
	wantAPIError(t, decode(), 429, fault.CodeQuota)
	_, notes = h.list(tok, "/open/v1/notifications?unread=true")
	if notes[0]["template"] != "developer.restored" {
		t.Fatalf("notifications after restore: %v", notes)
	}

	// The trail: the developer's changes and logins under its own name,
	// the licence download as a data-security event.
	_, ops := h.list(admin, "/console/audit/logs?type=operation&account=developer:acme_dev&pageSize=500")
	if !slices.Contains(ids(ops, "action"), "POST /open/v1/apps") {
		t.Fatalf("the developer's operations: %v", ids(ops, "action"))
	}
	_, logins := h.list(admin, "/console/audit/logs?type=login&account=developer:acme_dev&pageSize=500")
	if len(logins) < 3 {
		t.Fatalf("the developer's logins: %v", logins)
	}
	_, sec := h.list(admin, "/console/audit/logs?type=data_security&pageSize=500")
	if !slices.Contains(ids(sec, "action"), "openqual.export") {
		t.Fatalf("data-security entries: %v", ids(sec, "action"))
	}
}

// devLogin logs a developer in to the portal.
func (h *host) devLogin(account, password string) string {
	h.t.Helper()
	var s struct {
		Token string `json:"token"`
	}
	h.must("", "POST", "/open/v1/login", map[string]any{"account": account, "password": password}).decode(h.t, &s)
	return s.Token
}

// download GETs a file route and answers its bytes.
func (h *host) download(token, path string) []byte {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}
