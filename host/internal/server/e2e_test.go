package server_test

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/client"
)

func apiErr(t *testing.T, err error) *client.APIError {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae
}

type appInfo struct {
	CityCodeAppID string `json:"cityCodeAppId"`
	PlatformID    string `json:"platformId"`
	ServerTime    int64  `json:"serverTime"`
}

// Journey 2's first step: an integrator's signed call works in every mode
// the architecture defines, and every way of getting it wrong has its own
// error code and status.
func TestSignedOpenAPI(t *testing.T) {
	h := newHost(t, hostOpts{redis: true})
	admin := h.admin()
	priv, pub, err := codec.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	app := h.app(admin, map[string]any{"name": "随申办", "sm2PublicKey": pub, "generateDataKey": true})
	secret, _ := hex.DecodeString(app.AppSecret)
	dataKey, _ := hex.DecodeString(app.DataKey)
	if len(secret) != 32 || len(dataKey) != 16 {
		t.Fatalf("secrets shown at creation: %d/%d bytes", len(secret), len(dataKey))
	}
	ctx := context.Background()

	modes := map[string][]client.Option{
		"HMAC-SM3":         nil,
		"SM2":              {client.WithSM2(priv)},
		"SM4-GCM":          {client.WithEncryption(dataKey)},
		"SM2 with SM4-GCM": {client.WithSM2(priv), client.WithEncryption(dataKey)},
	}
	for name, opts := range modes {
		t.Run(name, func(t *testing.T) {
			c := client.New(h.URL, app.AppID, secret, opts...)
			var out appInfo
			if err := c.Call(ctx, "/api/getAppInfo", map[string]string{"cityCodeAppId": app.AppID}, &out); err != nil {
				t.Fatal(err)
			}
			if out.CityCodeAppID != app.AppID || out.PlatformID != "P0000" {
				t.Fatalf("answer %+v", out)
			}
		})
	}

	call := func(c *client.Client) *client.APIError {
		t.Helper()
		return apiErr(t, c.Call(ctx, "/api/getAppInfo", map[string]string{}, nil))
	}
	wrongSecret := make([]byte, 32)
	copy(wrongSecret, secret)
	wrongSecret[0] ^= 1
	now := time.Now()
	otherPriv, _, _ := codec.GenerateSM2Key()
	cases := []struct {
		name   string
		c      *client.Client
		status int
		code   string
	}{
		{"wrong secret", client.New(h.URL, app.AppID, wrongSecret), 401, fault.CodeSignatureFailure},
		{"SM2 with another key", client.New(h.URL, app.AppID, secret, client.WithSM2(otherPriv)), 401, fault.CodeSignatureFailure},
		{"301 s behind", client.New(h.URL, app.AppID, secret, client.WithClock(func() time.Time { return now.Add(-301 * time.Second) })), 401, fault.CodeSignatureExpire},
		{"301 s ahead", client.New(h.URL, app.AppID, secret, client.WithClock(func() time.Time { return now.Add(301 * time.Second) })), 401, fault.CodeSignatureExpire},
		{"unknown app", client.New(h.URL, "cc0000000000000000", secret), 401, fault.CodeAppNotFound},
		{"wrong data key", client.New(h.URL, app.AppID, secret, client.WithEncryption(make([]byte, 16))), 400, fault.CodeDecryptFailure},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ae := call(c.c)
			if ae.HTTPStatus != c.status || ae.Code != c.code {
				t.Fatalf("got %d %s (%s), want %d %s", ae.HTTPStatus, ae.Code, ae.Message, c.status, c.code)
			}
		})
	}

	t.Run("reused nonce", func(t *testing.T) {
		n := "nonce-" + strings.Repeat("r", 20)
		c := client.New(h.URL, app.AppID, secret, client.WithNonce(func() string { return n }))
		if err := c.Call(ctx, "/api/getAppInfo", map[string]string{}, nil); err != nil {
			t.Fatal(err)
		}
		ae := call(c)
		if ae.HTTPStatus != 401 || ae.Code != fault.CodeNonceUsed {
			t.Fatalf("replay: %d %s", ae.HTTPStatus, ae.Code)
		}
		// The second node shares the database and Redis, not memory: the
		// nonce must still be refused there.
		h2 := newHost(t, hostOpts{dbURL: h.dbURL, redis: true, keyFile: h.keyFile})
		c2 := client.New(h2.URL, app.AppID, secret, client.WithNonce(func() string { return n }))
		ae = apiErr(t, c2.Call(ctx, "/api/getAppInfo", map[string]string{}, nil))
		if ae.HTTPStatus != 401 || ae.Code != fault.CodeNonceUsed {
			t.Fatalf("replay on a second node: %d %s", ae.HTTPStatus, ae.Code)
		}
		// A fresh nonce on the second node works: it really is serving.
		if err := client.New(h2.URL, app.AppID, secret).Call(ctx, "/api/getAppInfo", map[string]string{}, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("disabled app", func(t *testing.T) {
		h.must(admin, "POST", "/console/apps/"+app.AppID+"/disable", nil)
		ae := call(client.New(h.URL, app.AppID, secret))
		if ae.HTTPStatus != 403 || ae.Code != fault.CodeAppDisabled {
			t.Fatalf("disabled app: %d %s", ae.HTTPStatus, ae.Code)
		}
		h.must(admin, "POST", "/console/apps/"+app.AppID+"/enable", nil)
		if err := client.New(h.URL, app.AppID, secret).Call(ctx, "/api/getAppInfo", map[string]string{}, nil); err != nil {
			t.Fatalf("re-enabled app refused: %v", err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		c := client.New(h.URL, app.AppID, secret)
		for name, body := range map[string]string{
			"malformed JSON": `{"cityCodeAppId": `,
			"wrong type":     `{"cityCodeAppId": 12}`,
			"too large":      `{"x":"` + strings.Repeat("a", 1<<20) + `"}`,
		} {
			resp, raw, err := c.Do(ctx, http.MethodPost, "/api/getAppInfo", "", []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 || !strings.Contains(string(raw), fault.CodeInvalidParameter) {
				t.Errorf("%s: %d %s", name, resp.StatusCode, raw)
			}
		}
	})
}

// Journey 1, step 2-3, seen by an attacker: a district's administrator and
// a region account never see or change what is not theirs, and a sub-account
// never gets more than its parent.
func TestDataScope(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	xh, xhAdmin := h.subPlatform(admin, "徐汇区子平台", "310104", "xuhui_admin")
	ja, jaAdmin := h.subPlatform(admin, "静安区子平台", "310106", "jingan_admin")
	xhApp := h.app(xhAdmin, map[string]any{"name": "徐汇医院通"})
	h.app(xhAdmin, map[string]any{"name": "徐汇文旅"})
	jaApp := h.app(jaAdmin, map[string]any{"name": "静安养老"})
	mainApp := h.app(admin, map[string]any{"name": "随申办"})

	t.Run("sub-platform admin sees only its platform", func(t *testing.T) {
		p, items := h.list(xhAdmin, "/console/apps?pageSize=100")
		got := ids(items, "appId")
		if p.Total != 2 || len(got) != 2 || slices.Contains(got, jaApp.AppID) || slices.Contains(got, mainApp.AppID) {
			t.Fatalf("xuhui admin lists %v (total %d)", got, p.Total)
		}
		// Paging must count in the database, not filter afterwards.
		p1, items1 := h.list(xhAdmin, "/console/apps?pageSize=1&pageNo=2")
		if p1.Total != 2 || len(items1) != 1 {
			t.Fatalf("page 2 of 1: total %d, %d items", p1.Total, len(items1))
		}
		p, items = h.list(xhAdmin, "/console/platforms")
		if p.Total != 1 || ids(items, "id")[0] != xh {
			t.Fatalf("xuhui admin lists platforms %v", ids(items, "id"))
		}
		p, items = h.list(xhAdmin, "/console/operators?pageSize=100")
		for _, it := range items {
			if it["platformId"] != xh {
				t.Fatalf("xuhui admin lists operator %v of %v", it["account"], it["platformId"])
			}
		}
		if p.Total != int64(len(items)) || p.Total == 0 {
			t.Fatalf("operator total %d vs %d items", p.Total, len(items))
		}
	})

	t.Run("other platform's resources are 403", func(t *testing.T) {
		var jaOps struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
		}
		h.must(jaAdmin, "GET", "/console/operators", nil).decode(t, &jaOps)
		jaOp := jaOps.Items[0].ID
		appBody := map[string]any{"name": "hijacked", "businessUnit": "x"}
		platformBody := map[string]any{"name": "hijacked", "regionCode": "310104", "serviceUrl": "https://x.cn"}
		opBody := map[string]any{"name": "hijacked"}
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/console/apps/" + jaApp.AppID, nil},
			{"PUT", "/console/apps/" + jaApp.AppID, appBody},
			{"POST", "/console/apps/" + jaApp.AppID + "/disable", nil},
			{"DELETE", "/console/apps/" + jaApp.AppID, nil},
			{"POST", "/console/apps/" + jaApp.AppID + "/secret", nil},
			{"GET", "/console/platforms/" + ja, nil},
			{"PUT", "/console/platforms/" + ja, platformBody},
			{"GET", "/console/operators/" + itoa(jaOp), nil},
			{"PUT", "/console/operators/" + itoa(jaOp), opBody},
			{"POST", "/console/operators/" + itoa(jaOp) + "/reset-password", nil},
			{"POST", "/console/operators/" + itoa(jaOp) + "/disable", nil},
		} {
			a := h.call(xhAdmin, r.method, r.path, r.body)
			if a.Status != http.StatusForbidden || a.Code != fault.CodeUnauthorizedOperation {
				t.Errorf("%s %s by xuhui admin: %d %s %s", r.method, r.path, a.Status, a.Code, a.Msg)
			}
		}
		// Creating in another platform is refused too.
		a := h.call(xhAdmin, "POST", "/console/apps", map[string]any{"platformId": ja, "name": "x", "businessUnit": "x", "developer": map[string]string{"name": "x"}})
		if a.Status != http.StatusForbidden {
			t.Errorf("create app in another platform: %d %s", a.Status, a.Code)
		}
		// Nothing was changed by the attempts.
		var app struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		}
		h.must(jaAdmin, "GET", "/console/apps/"+jaApp.AppID, nil).decode(t, &app)
		if app.Name != "静安养老" || app.Status != "enabled" {
			t.Fatalf("jing'an app changed: %+v", app)
		}
	})

	t.Run("region account sees only its region", func(t *testing.T) {
		menus := permissionMenus(t, h, admin)
		var role struct {
			ID int64 `json:"id"`
		}
		h.must(admin, "POST", "/console/roles", map[string]any{
			"code": "app_viewer", "name": "应用查看", "menuIds": []int64{menus["app.read"]},
		}).decode(t, &role)
		var op struct {
			Password string `json:"password"`
		}
		h.must(admin, "POST", "/console/operators", map[string]any{
			"account": "xh_region", "name": "徐汇区域账号", "regionCode": "310104", "roleIds": []int64{role.ID},
		}).decode(t, &op)
		region := h.firstLogin("xh_region", op.Password)
		p, items := h.list(region, "/console/apps?pageSize=100")
		for _, it := range items {
			if !strings.HasPrefix(it["regionCode"].(string), "310104") {
				t.Fatalf("region account sees app in region %v", it["regionCode"])
			}
		}
		if p.Total != 2 {
			t.Fatalf("region account sees %d apps, want Xuhui's 2", p.Total)
		}
		if a := h.call(region, "GET", "/console/apps/"+jaApp.AppID, nil); a.Status != 403 {
			t.Fatalf("region account reads a Jing'an app: %d", a.Status)
		}
		if a := h.call(region, "GET", "/console/apps/"+xhApp.AppID, nil); a.Status != 200 {
			t.Fatalf("region account cannot read its region's app: %d %s", a.Status, a.Msg)
		}
		if a := h.call(region, "POST", "/console/apps/"+xhApp.AppID+"/disable", nil); a.Status != 403 {
			t.Fatalf("region account without app.disable disabled an app: %d", a.Status)
		}
	})

	t.Run("sub-account cannot exceed its parent", func(t *testing.T) {
		menus := permissionMenus(t, h, xhAdmin)
		role := func(code string, perms ...string) int64 {
			var ids []int64
			for _, p := range perms {
				ids = append(ids, menus[p])
			}
			var r struct {
				ID int64 `json:"id"`
			}
			h.must(xhAdmin, "POST", "/console/roles", map[string]any{"code": code, "name": code, "menuIds": ids}).decode(t, &r)
			return r.ID
		}
		manager := role("op_manager", "operator.read", "operator.create", "app.read")
		deleter := role("app_deleter", "app.read", "app.delete")
		var op struct {
			Password string `json:"password"`
		}
		h.must(xhAdmin, "POST", "/console/operators", map[string]any{
			"account": "xh_manager", "name": "徐汇管理员", "regionCode": "310104", "roleIds": []int64{manager},
		}).decode(t, &op)
		mgr := h.firstLogin("xh_manager", op.Password)
		for name, body := range map[string]map[string]any{
			"more permissions": {"account": "xh_sub1", "name": "子账号", "regionCode": "310104", "roleIds": []int64{deleter}},
			"wider region":     {"account": "xh_sub2", "name": "子账号", "regionCode": "3101", "roleIds": []int64{manager}},
			"other region":     {"account": "xh_sub3", "name": "子账号", "regionCode": "310106", "roleIds": []int64{manager}},
		} {
			a := h.call(mgr, "POST", "/console/operators", body)
			if a.Status != http.StatusForbidden || a.Code != fault.CodeUnauthorizedOperation {
				t.Errorf("%s: %d %s %s", name, a.Status, a.Code, a.Msg)
			}
		}
		// Within its own grants it may create a sub-account.
		h.must(mgr, "POST", "/console/operators", map[string]any{"account": "xh_sub4", "name": "子账号", "regionCode": "310104", "roleIds": []int64{manager}})
	})
}

// permissionMenus maps permission codes to the ids of the menus carrying them.
func permissionMenus(t *testing.T, h *host, token string) map[string]int64 {
	t.Helper()
	type menu struct {
		ID         int64   `json:"id"`
		Permission string  `json:"permission"`
		Children   []*menu `json:"children"`
	}
	var tree struct {
		Items []*menu `json:"items"`
	}
	h.must(token, "GET", "/console/menus/tree", nil).decode(t, &tree)
	out := map[string]int64{}
	var walk func([]*menu)
	walk = func(ms []*menu) {
		for _, m := range ms {
			if m.Permission != "" {
				out[m.Permission] = m.ID
			}
			walk(m.Children)
		}
	}
	walk(tree.Items)
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Every console action can be granted: it has a menu or button carrying its
// permission code, or no staff role could ever be given it.
func TestEveryConsoleActionHasAMenu(t *testing.T) {
	h := newHost(t, hostOpts{})
	menus := permissionMenus(t, h, h.admin())
	for _, r := range h.srv.API().Routes() {
		if r.Action != "" {
			if _, ok := menus[r.Action]; !ok {
				t.Errorf("%s %s: action %s has no menu permission", r.Method, r.Path, r.Action)
			}
		}
	}
}
