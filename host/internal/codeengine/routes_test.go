package codeengine_test

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
// validation, the policy's main-only actions, scope and the envelope.
func TestHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.platform("徐汇", "310104")
	subApp := e.app(sub, "徐汇通")
	mainApp := e.app(tenancy.MainPlatformID, "随申办")
	api, err := httpapi.New(httpapi.Config{
		Log:     slog.New(slog.DiscardHandler),
		Console: tokens{"main": mainAdmin(), "sub": subAdmin(sub), "reader": staff(tenancy.MainPlatformID, "rule.read", "spec.read")},
		Authz:   e.eng,
	})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(e.rules.Routes()...)
	doc := api.OpenAPI()
	for _, p := range []string{"/console/specs/{specId}", "/console/rules/{ruleId}/versions/{version}/disable", "/console/rules/{ruleId}/pool", "/console/apps/{appId}/rules/{ruleId}"} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	call := func(t *testing.T, token, method, path, body string) (int, envelope) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var env envelope
		if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
			t.Fatalf("%s %s: undecodable answer: %v", method, path, err)
		}
		return res.StatusCode, env
	}

	rule := `{"name":"徐汇身份码","form":"dynamic","family":"identity","platformId":"` + sub + `",
		"function":{"validitySeconds":60,"offlineVerifiable":true},
		"collectionFields":[{"name":"location","label":"地点","required":true}],
		"qrStyle":{"caption":"{rule}","position":"top"}}`
	for _, tc := range []struct {
		name, token, method, path, body string
		status                          int
		code                            string
	}{
		{"create spec", "main", "POST", "/console/specs", `{"name":"通用规范","fields":[{"name":"certNo","length":18,"required":true}]}`, 200, ""},
		{"sub creates a spec", "sub", "POST", "/console/specs", `{"name":"x","fields":[{"name":"a","length":1}]}`, 403, fault.CodeUnauthorizedOperation},
		{"sub disables a spec", "sub", "POST", "/console/specs/S0001/disable", "", 403, fault.CodeUnauthorizedOperation},
		{"reader deletes a spec", "reader", "DELETE", "/console/specs/S0001", "", 403, fault.CodeUnauthorizedOperation},
		{"sub reads specs", "sub", "GET", "/console/specs?name=通用&pageNo=1&pageSize=10", "", 200, ""},
		{"spec without fields", "main", "POST", "/console/specs", `{"name":"x"}`, 400, fault.CodeMissingParameter},
		{"spec field of a bad type", "main", "POST", "/console/specs", `{"name":"x","fields":[{"name":"a","length":1,"type":"blob"}]}`, 400, fault.CodeInvalidParameter},
		{"spec field length as string", "main", "POST", "/console/specs", `{"name":"x","fields":[{"name":"a","length":"1"}]}`, 400, fault.CodeInvalidParameter},
		{"unknown field", "main", "POST", "/console/specs", `{"name":"x","fields":[{"name":"a","length":1}],"owner":"me"}`, 400, fault.CodeInvalidParameter},
		{"malformed json", "main", "POST", "/console/rules", `{"name":`, 400, fault.CodeInvalidParameter},
		{"rule without family", "main", "POST", "/console/rules", `{"name":"x","form":"dynamic","function":{"validitySeconds":60}}`, 400, fault.CodeMissingParameter},
		{"rule of a bad form", "main", "POST", "/console/rules", `{"name":"x","form":"flat","family":"identity"}`, 400, fault.CodeInvalidParameter},
		{"create rule", "main", "POST", "/console/rules", rule, 200, ""},
		{"sub creates a rule", "sub", "POST", "/console/rules", rule, 403, fault.CodeUnauthorizedOperation},
		{"sub publishes", "sub", "POST", "/console/rules/R0001/publish", "", 403, fault.CodeUnauthorizedOperation},
		{"sub pushes", "sub", "POST", "/console/rules/R0001/push", "", 403, fault.CodeUnauthorizedOperation},
		{"sub reads before the push", "sub", "GET", "/console/rules/R0001", "", 403, fault.CodeUnauthorizedOperation},
		{"push pending", "main", "POST", "/console/rules/R0001/push", "", 409, fault.CodeFailedOperation},
		{"publish", "main", "POST", "/console/rules/R0001/publish", "", 200, ""},
		{"bind before the push", "sub", "PUT", "/console/apps/" + subApp + "/rules", `{"ruleIds":["R0001"]}`, 409, fault.CodeFailedOperation},
		{"push", "main", "POST", "/console/rules/R0001/push", "", 200, ""},
		{"sub reads its pool", "sub", "GET", "/console/rules?status=published&enabled=true", "", 200, ""},
		{"sub reads the rule", "sub", "GET", "/console/rules/R0001", "", 200, ""},
		{"sub binds", "sub", "PUT", "/console/apps/" + subApp + "/rules", `{"ruleIds":["R0001"]}`, 200, ""},
		{"sub binds the main platform's app", "sub", "PUT", "/console/apps/" + mainApp + "/rules", `{"ruleIds":["R0001"]}`, 403, fault.CodeUnauthorizedOperation},
		{"bind nothing", "sub", "PUT", "/console/apps/" + subApp + "/rules", `{"ruleIds":[]}`, 400, fault.CodeInvalidParameter},
		{"bind without ids", "sub", "PUT", "/console/apps/" + subApp + "/rules", `{}`, 400, fault.CodeMissingParameter},
		{"bind an empty id", "sub", "PUT", "/console/apps/" + subApp + "/rules", `{"ruleIds":[""]}`, 400, fault.CodeMissingParameter},
		{"bound rules", "sub", "GET", "/console/apps/" + subApp + "/rules", "", 200, ""},
		{"delete while bound", "main", "DELETE", "/console/rules/R0001", "", 409, fault.CodeResourceInUse},
		{"remove while enabled", "main", "DELETE", "/console/rules/R0001/pool", "", 409, fault.CodeFailedOperation},
		{"new version", "main", "POST", "/console/rules/R0001/versions", `{"function":{"validitySeconds":120}}`, 200, ""},
		{"new version of a bad validity", "main", "POST", "/console/rules/R0001/versions", `{"function":{"validitySeconds":"long"}}`, 400, fault.CodeInvalidParameter},
		{"version not a number", "main", "GET", "/console/rules/R0001/versions/abc", "", 400, fault.CodeInvalidParameter},
		{"version out of range", "main", "POST", "/console/rules/R0001/versions/99999999999/disable", "", 400, fault.CodeInvalidParameter},
		{"version zero", "main", "GET", "/console/rules/R0001/versions/0", "", 400, fault.CodeInvalidParameter},
		{"unknown version", "main", "GET", "/console/rules/R0001/versions/7", "", 404, fault.CodeResourceNotFound},
		{"edit version", "main", "PUT", "/console/rules/R0001/versions/2", `{"function":{"validitySeconds":90}}`, 200, ""},
		{"disable version", "main", "POST", "/console/rules/R0001/versions/1/disable", "", 200, ""},
		{"sub disables a version", "sub", "POST", "/console/rules/R0001/versions/1/enable", "", 403, fault.CodeUnauthorizedOperation},
		{"versions", "sub", "GET", "/console/rules/R0001/versions", "", 200, ""},
		{"bad page size", "main", "GET", "/console/rules?pageSize=abc", "", 400, fault.CodeInvalidParameter},
		{"page size too large", "main", "GET", "/console/rules?pageSize=501", "", 400, fault.CodeInvalidParameter},
		{"bad time", "main", "GET", "/console/rules?createdFrom=yesterday", "", 400, fault.CodeInvalidParameter},
		{"bad status", "main", "GET", "/console/rules?status=gone", "", 400, fault.CodeInvalidParameter},
		{"bad enabled", "main", "GET", "/console/rules?enabled=maybe", "", 400, fault.CodeInvalidParameter},
		{"unknown rule", "main", "GET", "/console/rules/R9999", "", 404, fault.CodeResourceNotFound},
		{"unknown app", "main", "GET", "/console/apps/cc-none/rules", "", 404, fault.CodeResourceNotFound},
		{"edit base info", "main", "PUT", "/console/rules/R0001", `{"name":"徐汇身份码·二期","industryCode":"government","qrStyle":{"level":"Q"}}`, 200, ""},
		{"unbind", "sub", "DELETE", "/console/apps/" + subApp + "/rules/R0001", "", 200, ""},
		{"disable", "main", "POST", "/console/rules/R0001/disable", "", 200, ""},
		{"remove from the pool", "main", "DELETE", "/console/rules/R0001/pool", "", 200, ""},
		{"sub lists an empty pool", "sub", "GET", "/console/rules", "", 200, ""},
		{"delete", "main", "DELETE", "/console/rules/R0001", "", 200, ""},
		{"delete spec", "main", "DELETE", "/console/specs/S0001", "", 200, ""},
	} {
		status, env := call(t, tc.token, tc.method, tc.path, tc.body)
		got := ""
		if env.Response.Error != nil {
			got = env.Response.Error.Code
		}
		if status != tc.status || got != tc.code {
			t.Fatalf("%s: %d %s (%+v), want %d %s", tc.name, status, got, env.Response.Error, tc.status, tc.code)
		}
	}

	// The sub-platform's list after the removal is empty; the main
	// platform's list shows nothing of the deleted rule either.
	_, env := call(t, "sub", "GET", "/console/rules", "")
	if string(env.Response.Data) != `{"total":0,"items":[]}` {
		t.Fatalf("pool after the removal: %s", env.Response.Data)
	}

	// Whatever arrives, no route answers 500.
	junk := []string{"", `{`, `[]`, `null`, `{"name":1}`, `{"ruleIds":"R0001"}`, `{"function":{"validitySeconds":1e99}}`,
		`{"fields":[{"name":"` + strings.Repeat("x", 5000) + `"}]}`, `{"qrStyle":{"fontSize":-1}}`, `"text"`}
	ids := map[string]string{":specId": "S'; DROP TABLE code_specs; --", ":ruleId": "R%00", ":appId": subApp, ":version": "-1"}
	for _, r := range e.rules.Routes() {
		path := r.Path
		for k, v := range ids {
			path = strings.ReplaceAll(path, k, v)
		}
		for _, body := range junk {
			for _, token := range []string{"main", "sub"} {
				if status, env := call(t, token, r.Method, strings.ReplaceAll(path, "%00", "%2500")+"?pageSize=-5&createdFrom=x", body); status >= 500 {
					t.Errorf("%s %s %s as %s: %d %+v", r.Method, r.Path, body, token, status, env.Response.Error)
				}
			}
		}
	}
}
