package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// TestRoutes drives the console endpoints through the real HTTP layer and
// policy engine: captcha, login, the one-time password gate, password
// change, operator management, logout.
func TestRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.ClientInfo = httpapi.ClientInfo })
	pw, _, err := f.svc.Seed(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Log: slog.New(slog.DiscardHandler), Console: f.svc, Authz: f.authz})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(f.svc.Routes()...)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)

	type envelope struct {
		Response struct {
			Data  json.RawMessage
			Error *struct{ Code, Message string }
		}
	}
	call := func(method, path, token string, body any, out any) (int, string) {
		t.Helper()
		var rd bytes.Buffer
		if body != nil {
			json.NewEncoder(&rd).Encode(body)
		}
		req, _ := http.NewRequestWithContext(f.ctx, method, srv.URL+path, &rd)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "routes-test")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env envelope
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if env.Response.Error != nil {
			return resp.StatusCode, env.Response.Error.Code
		}
		if out != nil {
			if err := json.Unmarshal(env.Response.Data, out); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, ""
	}
	login := func(account, password string) (int, string, *LoginResult) {
		var c Captcha
		if st, code := call("GET", "/console/captcha", "", nil, &c); st != 200 {
			t.Fatalf("captcha: %d %s", st, code)
		}
		f.mu.Lock()
		answer := f.answer
		f.mu.Unlock()
		var res LoginResult
		st, code := call("POST", "/console/login", "", map[string]string{
			"account": account, "password": password, "captchaId": c.CaptchaID, "captchaCode": answer}, &res)
		return st, code, &res
	}

	st, code, res := login("admin", pw)
	if st != 200 || !res.MustChangePassword {
		t.Fatalf("login: %d %s %+v", st, code, res)
	}
	if ev := f.logins.last(); ev.UserAgent != "routes-test" || ev.IP == "" {
		t.Fatalf("client info not recorded: %+v", ev)
	}
	tok := res.Token

	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"no token", "GET", "/console/me", "", nil, 401, "AuthFailure.SessionExpired"},
		{"bad token", "GET", "/console/me", "x", nil, 401, "AuthFailure.SessionExpired"},
		{"pending password may see me", "GET", "/console/me", tok, nil, 200, ""},
		{"pending password blocks the rest", "GET", "/console/operators", tok, nil, 403, "AuthFailure.PasswordChangeRequired"},
		{"missing login field", "POST", "/console/login", "", map[string]string{"account": "admin"}, 400, "MissingParameter"},
		{"unknown login field", "POST", "/console/login", "", map[string]string{"account": "a", "password": "p", "captchaId": "c", "captchaCode": "1", "x": "y"}, 400, "InvalidParameter"},
		{"weak new password", "PUT", "/console/me/password", tok, map[string]string{"oldPassword": pw, "newPassword": "short"}, 400, "InvalidParameter"},
		{"change password", "PUT", "/console/me/password", tok, map[string]string{"oldPassword": pw, "newPassword": "Adm1nAdm1n"}, 200, ""},
		{"now the rest works", "GET", "/console/operators?pageSize=10", tok, nil, 200, ""},
		{"page size capped", "GET", "/console/operators?pageSize=501", tok, nil, 400, "InvalidParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, code := call(tc.method, tc.path, tc.token, tc.body, nil)
			if st != tc.status || code != tc.code {
				t.Fatalf("%s %s: %d %s, want %d %s", tc.method, tc.path, st, code, tc.status, tc.code)
			}
		})
	}

	var created NewOperator
	if st, code := call("POST", "/console/operators", tok, map[string]any{
		"account": "wang.wu", "name": "王五", "mobile": "13900001111", "type": "platform_admin", "platformId": "P0001"}, &created); st != 200 {
		t.Fatalf("create: %d %s", st, code)
	}
	if created.Password == "" || created.Operator.Mobile != "139****1111" {
		t.Fatalf("created: %+v", created)
	}
	var updated Operator
	if st, code := call("PUT", fmt.Sprintf("/console/operators/%d", created.Operator.ID), tok, map[string]any{
		"account": "wang.wu", "name": "王五五", "mobile": "139****1111", "regionCode": "310104"}, &updated); st != 200 {
		t.Fatalf("update: %d %s", st, code)
	}
	if updated.Name != "王五五" || updated.RegionCode != "310104" || updated.Mobile != "139****1111" || updated.Type != "platform_admin" {
		t.Fatalf("updated: %+v", updated)
	}
	var reset passwordOut
	if st, code := call("POST", fmt.Sprintf("/console/operators/%d/reset-password", created.Operator.ID), tok, nil, &reset); st != 200 || len(reset.Password) != 16 {
		t.Fatalf("reset: %d %s", st, code)
	}
	var page OperatorPage
	call("GET", "/console/operators?keyword=wang&pageNo=1", tok, nil, &page)
	if page.Total != 1 || page.Items[0].Account != "wang.wu" {
		t.Fatalf("list: %+v", page)
	}
	var mine menusOut
	if st, _ := call("GET", "/console/me/menus", tok, nil, &mine); st != 200 || len(mine.Items) != 14 {
		t.Fatalf("my menus: %d %d", st, len(mine.Items))
	}
	if st, code := call("POST", "/console/operators/batch-delete", tok, map[string]any{"ids": []int64{created.Operator.ID}}, nil); st != 200 {
		t.Fatalf("batch delete: %d %s", st, code)
	}
	if st, code := call("GET", fmt.Sprintf("/console/operators/%d", created.Operator.ID), tok, nil, nil); st != 404 || code != "ResourceNotFound" {
		t.Fatalf("deleted operator: %d %s", st, code)
	}
	if st, code := call("POST", "/console/logout", tok, nil, nil); st != 200 {
		t.Fatalf("logout: %d %s", st, code)
	}
	if st, code := call("GET", "/console/me", tok, nil, nil); st != 401 || code != "AuthFailure.SessionExpired" {
		t.Fatalf("after logout: %d %s", st, code)
	}
	if st, code, _ := login("admin", "wrong-passw0rd"); st != 401 || code != "AuthFailure.InvalidCredential" {
		t.Fatalf("wrong password: %d %s", st, code)
	}
}
