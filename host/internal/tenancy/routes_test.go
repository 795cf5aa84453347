package tenancy_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// tokens authenticates console sessions by a token naming the actor.
type tokens map[string]*actor.Actor

func (t tokens) Authenticate(_ context.Context, token string) (*actor.Actor, error) {
	if a, ok := t[token]; ok {
		c := *a
		return &c, nil
	}
	return nil, fault.E(fault.Unauthenticated, fault.CodeSessionExpired, "no such session")
}

type envelope struct {
	Response struct {
		Data  json.RawMessage
		Error *struct{ Code, Message string }
	}
}

// TestHTTP drives the declared routes through the HTTP layer: binding,
// validation, policy actions and the envelope.
func TestHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.platform("徐汇子平台", "310104")
	other := e.app(mainAdmin(), tenancy.MainPlatformID, "主平台应用", "")

	api, err := httpapi.New(httpapi.Config{
		Log:     slog.New(slog.DiscardHandler),
		Console: tokens{"main": mainAdmin(), "sub": subAdmin(p.ID), "reader": staff(p.ID, "", "app.read")},
		Authz:   e.eng,
	})
	ok(t, err)
	api.Mount(e.svc.Routes()...)
	if doc := api.OpenAPI(); doc.Paths.Find("/console/apps/{appId}") == nil {
		t.Fatal("OpenAPI lacks /console/apps/{appId}")
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)

	call := func(t *testing.T, token, method, path, body string) (int, envelope) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		ok(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		ok(t, err)
		defer res.Body.Close()
		var env envelope
		if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
			t.Fatalf("%s %s: undecodable answer: %v", method, path, err)
		}
		return res.StatusCode, env
	}

	const app = `{"name":"随申办","businessUnit":"市大数据中心","developer":{"name":"开发者","mobile":"13812345678"}}`
	var created struct {
		AppID, AppSecret, PlatformID string
		Developer                    struct{ Mobile string }
	}
	status, env := call(t, "sub", http.MethodPost, "/console/apps", app)
	if status != http.StatusOK || env.Response.Error != nil {
		t.Fatalf("create: %d %+v", status, env.Response.Error)
	}
	ok(t, json.Unmarshal(env.Response.Data, &created))
	if created.PlatformID != p.ID || len(created.AppSecret) != 64 || created.Developer.Mobile != "138****5678" {
		t.Fatalf("created %+v", created)
	}

	for _, tc := range []struct {
		name, token, method, path, body string
		status                          int
		code                            string
	}{
		{"list", "sub", http.MethodGet, "/console/apps?pageNo=1&pageSize=10&name=随申", "", 200, ""},
		{"detail", "sub", http.MethodGet, "/console/apps/" + created.AppID, "", 200, ""},
		{"missing name", "sub", http.MethodPost, "/console/apps", `{"businessUnit":"x","developer":{"name":"d"}}`, 400, fault.CodeMissingParameter},
		{"missing developer name", "sub", http.MethodPost, "/console/apps", `{"name":"n","businessUnit":"x","developer":{}}`, 400, fault.CodeMissingParameter},
		{"unknown field", "sub", http.MethodPost, "/console/apps", `{"name":"n","businessUnit":"x","secret":"mine"}`, 400, fault.CodeInvalidParameter},
		{"malformed json", "sub", http.MethodPost, "/console/apps", `{"name":`, 400, fault.CodeInvalidParameter},
		{"bad page size", "sub", http.MethodGet, "/console/apps?pageSize=abc", "", 400, fault.CodeInvalidParameter},
		{"page size too large", "sub", http.MethodGet, "/console/apps?pageSize=501", "", 400, fault.CodeInvalidParameter},
		{"bad time", "sub", http.MethodGet, "/console/apps?createdFrom=yesterday", "", 400, fault.CodeInvalidParameter},
		{"another platform's app", "sub", http.MethodGet, "/console/apps/" + other.AppID, "", 403, fault.CodeUnauthorizedOperation},
		{"disable another platform's app", "sub", http.MethodPost, "/console/apps/" + other.AppID + "/disable", "", 403, fault.CodeUnauthorizedOperation},
		{"unknown app", "sub", http.MethodGet, "/console/apps/cc0000000000000000", "", 404, fault.CodeResourceNotFound},
		{"delete enabled app", "sub", http.MethodDelete, "/console/apps/" + created.AppID, "", 409, fault.CodeFailedOperation},
		{"listing needs listed", "sub", http.MethodPut, "/console/apps/" + created.AppID + "/listing", `{}`, 400, fault.CodeMissingParameter},
		{"list it", "sub", http.MethodPut, "/console/apps/" + created.AppID + "/listing", `{"listed":true}`, 200, ""},
		{"disable listed", "sub", http.MethodPost, "/console/apps/" + created.AppID + "/disable", "", 409, fault.CodeFailedOperation},
		{"duplicate app", "sub", http.MethodPost, "/console/apps", app, 409, fault.CodeResourceAlreadyExists},
		{"reader cannot create", "reader", http.MethodPost, "/console/apps", app, 403, fault.CodeUnauthorizedOperation},
		{"reader cannot rotate", "reader", http.MethodPost, "/console/apps/" + created.AppID + "/secret", "", 403, fault.CodeUnauthorizedOperation},
		{"sub cannot create platforms", "sub", http.MethodPost, "/console/platforms", `{"name":"x","serviceUrl":"https://x.cn","regionCode":"310101","adminAccount":"xx_admin"}`, 403, fault.CodeUnauthorizedOperation},
		{"sub reads its platform", "sub", http.MethodGet, "/console/platforms/" + p.ID, "", 200, ""},
		{"sub cannot read the main platform", "sub", http.MethodGet, "/console/platforms/P0000", "", 403, fault.CodeUnauthorizedOperation},
		{"delete main platform", "main", http.MethodDelete, "/console/platforms/P0000", "", 409, fault.CodeFailedOperation},
		{"delete platform with apps", "main", http.MethodDelete, "/console/platforms/" + p.ID, "", 409, fault.CodeResourceInUse},
		{"unknown region", "main", http.MethodPost, "/console/platforms", `{"name":"x","serviceUrl":"https://x.cn","regionCode":"999999","adminAccount":"xx_admin"}`, 400, fault.CodeInvalidParameter},
		{"region tree", "sub", http.MethodGet, "/console/regions/tree?maxLevel=3", "", 200, ""},
		{"region detail", "sub", http.MethodGet, "/console/regions/310104", "", 200, ""},
		{"disable region", "main", http.MethodPost, "/console/regions/310151/disable", "", 200, ""},
		{"sub cannot disable regions", "sub", http.MethodPost, "/console/regions/310151/enable", "", 403, fault.CodeUnauthorizedOperation},
		{"industries", "sub", http.MethodGet, "/console/industries?keyword=医疗", "", 200, ""},
		{"create group", "main", http.MethodPost, "/console/dict/groups", `{"code":"gender","name":"性别"}`, 200, ""},
		{"create item", "main", http.MethodPost, "/console/dict/items", `{"groupCode":"gender","label":"男","value":"1"}`, 200, ""},
		{"batch delete groups", "main", http.MethodPost, "/console/dict/groups/batch-delete", `{"ids":[1,2]}`, 200, ""},
		{"batch delete without ids", "main", http.MethodPost, "/console/dict/items/batch-delete", `{}`, 400, fault.CodeMissingParameter},
		{"department", "sub", http.MethodPost, "/console/departments", `{"name":"办公室"}`, 200, ""},
		{"developers", "sub", http.MethodGet, "/console/developers?name=开发", "", 200, ""},
		{"no session", "nobody", http.MethodGet, "/console/apps", "", 401, fault.CodeSessionExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, env := call(t, tc.token, tc.method, tc.path, tc.body)
			code := ""
			if env.Response.Error != nil {
				code = env.Response.Error.Code
			}
			if status != tc.status || code != tc.code {
				t.Fatalf("%d %s (%+v), want %d %s", status, code, env.Response.Error, tc.status, tc.code)
			}
		})
	}
}
