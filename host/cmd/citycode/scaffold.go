package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

const ourModule = "github.com/opencitycode/citycode"

var scaffoldName = regexp.MustCompile(`^[a-z][a-z0-9-]{1,39}$`)

// scaffold writes a new plugin: plugin.json, main.go, handler.go and a
// test that passes at once. Outside this repository it also writes a
// go.mod requiring the sdk (replaced by --sdk PATH, a checkout of it).
func scaffold(name string, flags map[string]string, stdout io.Writer) error {
	if !scaffoldName.MatchString(name) {
		return fmt.Errorf("plugin name %q must be 2–40 lower-case letters, digits or '-'", name)
	}
	runtime := cmp(flags["runtime"], "wasm")
	if runtime != "wasm" && runtime != "native" {
		return fmt.Errorf("--runtime must be wasm or native")
	}
	dir := cmp(flags["dir"], name)
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entry := name
	if runtime == "wasm" {
		entry = name + ".wasm"
	}
	data := map[string]string{"Name": name, "Runtime": runtime, "Entry": entry, "Pkg": strings.ReplaceAll(name, "-", "")}
	files := map[string]string{"plugin.json": scaffoldManifest, "main.go": scaffoldMain, "handler.go": scaffoldHandler,
		"handler_test.go": scaffoldTest, "landing_test.go": scaffoldLandingTest, ".gitignore": "/" + entry + "\n"}
	inModule, err := insideModule(dir)
	if err != nil {
		return err
	}
	if !inModule {
		sdk := flags["sdk"]
		if sdk == "" {
			sdk = os.Getenv("CITYCODE_SDK")
		}
		if sdk == "" {
			return errors.New("outside the citycode repository: pass --sdk PATH (a checkout of " + ourModule + ") or set CITYCODE_SDK")
		}
		abs, err := filepath.Abs(sdk)
		if err != nil {
			return err
		}
		data["SDK"] = abs
		files["go.mod"] = scaffoldGoMod
	}
	for fname, text := range files {
		var b bytes.Buffer
		if err := template.Must(template.New(fname).Parse(text)).Execute(&b, data); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, fname), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if !inModule {
		// Complete go.sum from the sdk's requirements.
		if err := goTool(dir, nil, stdout, "mod", "tidy"); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "created %s (%s plugin); next: citycode plugin test %s && citycode plugin install %s\n", dir, runtime, dir, dir)
	return nil
}

// insideModule reports whether dir lies inside this repository's module.
func insideModule(dir string) (bool, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	for d := abs; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			return bytes.Contains(b, []byte("module "+ourModule+"\n")), nil
		}
		if filepath.Dir(d) == d {
			return false, nil
		}
	}
}

const scaffoldGoMod = `module example.com/{{.Name}}

go 1.25

require ` + ourModule + ` v0.0.0

replace ` + ourModule + ` => {{.SDK}}
`

const scaffoldManifest = `{
  "name": "{{.Name}}",
  "version": "0.1.0",
  "sdkVersion": "1.0",
  "title": "{{.Name}}",
  "runtime": "{{.Runtime}}",
  "entry": "{{.Entry}}",
  "serves": {"codeKinds": ["object"]},
  "routes": [
    {"name": "home", "kind": "landing", "path": "/", "tourist": true, "title": "首页"}
  ],
  "capabilities": ["events.write"]
}
`

const scaffoldMain = `// Command {{.Name}} is a city code plugin. The same source builds as a
// WASM guest or as a native plugin: plugin.json's runtime decides.
package main

import "` + ourModule + `/sdk/serve"

func init() { serve.Register(handler{}) }

func main() { serve.Main() }
`

const scaffoldHandler = `package main

import (
	"context"
	"html/template"

	"` + ourModule + `/sdk/plugin"
)

type handler struct{}

var home = template.Must(template.New("home").Parse(` + "`" + `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{{"{{"}}.Title{{"}}"}}</title></head>
<body><h1>{{"{{"}}.Title{{"}}"}}</h1><p>{{"{{"}}.Code.TypeName{{"}}"}} {{"{{"}}.Code.Number{{"}}"}}</p></body></html>` + "`" + `))

// Handle serves the plugin's routes.
func (handler) Handle(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	switch req.Route {
	case "home":
		if err := host.Event(ctx, "home.viewed", nil); err != nil {
			return nil, err
		}
		return plugin.RenderHTML(200, home, map[string]any{"Title": "{{.Name}}", "Code": req.Code})
	}
	return plugin.HTML(404, "not found"), nil
}
`

const scaffoldTest = `package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"` + ourModule + `/sdk/plugin"
)

// recorder stands in for the host in unit tests: it answers every
// capability call with success and remembers them.
type recorder struct{ calls []plugin.Call }

func (r *recorder) Call(_ context.Context, b []byte) ([]byte, error) {
	var c plugin.Call
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	r.calls = append(r.calls, c)
	return []byte(` + "`{}`" + `), nil
}

func TestHome(t *testing.T) {
	rec := &recorder{}
	req := &plugin.Request{ID: "r1", Route: "home", Kind: plugin.Landing, Method: "GET", Path: "/",
		Code: &plugin.Code{Token: "t", Kind: "object", TypeName: "公厕", Number: 100000001}}
	resp, err := handler{}.Handle(context.Background(), plugin.NewHost(rec, req.ID), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || !strings.Contains(string(resp.Body), "公厕") {
		t.Fatalf("home answered %d %q", resp.Status, resp.Body)
	}
	if len(rec.calls) != 1 || rec.calls[0].Capability != plugin.EventsWrite {
		t.Fatalf("capability calls %+v, want one events.write", rec.calls)
	}
}
`

const scaffoldLandingTest = `package main

import (
	"strings"
	"testing"

	"` + ourModule + `/sdk/plugintest"
)

// TestLandingInTheHost runs the plugin in its real runtime inside a real
// host on a throwaway database (skipped without DATABASE_URL).
func TestLandingInTheHost(t *testing.T) {
	h := plugintest.Start(t, plugintest.Options{})
	status, page := h.Get(t, h.Code(0), "/")
	if status != 200 || !strings.Contains(page, "<h1>{{.Name}}</h1>") {
		t.Fatalf("landing page: %d %s", status, page)
	}
}
`
