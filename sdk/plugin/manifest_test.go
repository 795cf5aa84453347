package plugin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
)

const good = `{"name":"checkin","version":"1.2.0","sdkVersion":"1.0","title":"签到","runtime":"wasm","entry":"checkin.wasm",
"serves":{"codeKinds":["object"]},"routes":[{"name":"home","kind":"landing","path":"/","tourist":true},
{"name":"submit","kind":"action","method":"POST","path":"/submit"}],"capabilities":["records.write"],
"config":{"type":"object"},"collections":[{"name":"checkins","fields":[{"name":"at","type":"time"}]}]}`

func TestParseManifest(t *testing.T) {
	m, err := plugin.ParseManifest([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Declares(plugin.RecordsWrite) || m.Declares(plugin.FilesWrite) {
		t.Fatal("Declares")
	}
	if r, ok := m.Route(plugin.Action, "POST", "/submit"); !ok || r.Name != "submit" {
		t.Fatal("Route")
	}
	if _, ok := m.Route(plugin.Landing, "POST", "/"); ok {
		t.Fatal("a GET route must not answer POST")
	}
}

func TestParseManifestRefuses(t *testing.T) {
	for want, edit := range map[string]func(string) string{
		"name":                  func(s string) string { return strings.Replace(s, `"checkin"`, `"Check In"`, 1) },
		"version":               func(s string) string { return strings.Replace(s, `"1.2.0"`, `"1.2"`, 1) },
		"sdkVersion":            func(s string) string { return strings.Replace(s, `"1.0"`, `"2.0"`, 1) },
		"runtime":               func(s string) string { return strings.Replace(s, `"wasm"`, `"jvm"`, 1) },
		"entry":                 func(s string) string { return strings.Replace(s, `"checkin.wasm"`, `"../etc/passwd"`, 1) },
		"serves.codeKinds":      func(s string) string { return strings.Replace(s, `["object"]`, `["car"]`, 1) },
		"routes[1].method":      func(s string) string { return strings.Replace(s, `"POST"`, `"PATCH"`, 1) },
		"routes[0].path":        func(s string) string { return strings.Replace(s, `"path":"/"`, `"path":"x"`, 1) },
		"routes[1].name":        func(s string) string { return strings.Replace(s, `"submit"`, `"home"`, 1) },
		"capabilities[0]":       func(s string) string { return strings.Replace(s, `"records.write"`, `"sql.exec"`, 1) },
		"unknown field":         func(s string) string { return strings.Replace(s, `"title"`, `"titel"`, 1) },
		"collections[0].fields": func(s string) string { return strings.Replace(s, `"time"`, `"blob"`, 1) },
		"title":                 func(s string) string { return strings.Replace(s, `"签到"`, `" "`, 1) },
		"config":                func(s string) string { return strings.Replace(s, `{"type":"object"}`, `[1]`, 1) },
	} {
		_, err := plugin.ParseManifest([]byte(edit(good)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

// recorder answers capability calls like a host would.
type recorder struct {
	calls  []string
	answer string
}

func (r *recorder) Call(_ context.Context, b []byte) ([]byte, error) {
	r.calls = append(r.calls, string(b))
	return []byte(r.answer), nil
}

func TestHostInvoke(t *testing.T) {
	rec := &recorder{answer: `{"error":{"code":"UnauthorizedOperation.Capability","message":"no"}}`}
	h := plugin.NewHost(rec, "req-1")
	_, err := h.PutFile(context.Background(), "a.png", "image/png", []byte{1})
	if !plugin.IsCode(err, "UnauthorizedOperation") || plugin.IsCode(err, "Unauthorized") {
		t.Fatalf("error: %v", err)
	}
	if !strings.Contains(rec.calls[0], `"requestId":"req-1"`) || !strings.Contains(rec.calls[0], `"capability":"files.write"`) {
		t.Fatalf("call: %s", rec.calls[0])
	}
	rec.answer = `{"result":{"token":"t1","kind":"object","number":100000009}}`
	c, err := h.ResolveCode(context.Background(), "t1")
	if err != nil || c.Number != 100000009 {
		t.Fatalf("resolve: %+v %v", c, err)
	}
}

// TestManifestKeysAsDeclared: a key spelled in another case, or given
// twice, is refused — the reviewed JSON reads as the host reads it — while
// the configuration schema keeps any keys it likes.
func TestManifestKeysAsDeclared(t *testing.T) {
	for name, doc := range map[string]string{
		"case variant":        strings.Replace(good, `"entry"`, `"entrY"`, 1),
		"nested case variant": strings.Replace(good, `"tourist"`, `"Tourist"`, 1),
		"twice":               strings.Replace(good, `"name":"checkin"`, `"name":"checkin","name":"evil"`, 1),
		"nested twice":        strings.Replace(good, `"kind":"landing"`, `"kind":"landing","kind":"admin"`, 1),
	} {
		if _, err := plugin.ParseManifest([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	free := strings.Replace(good, `"config":{"type":"object"}`, `"config":{"type":"object","properties":{"Name":{"type":"string"},"NAME":{"type":"string"}}}`, 1)
	if _, err := plugin.ParseManifest([]byte(free)); err != nil {
		t.Fatalf("a config schema with its own keys: %v", err)
	}
}
