package codeengine_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// The edits the server test does not reach — unbinding a relation, a
// plugin's attribute merge, an edit addressed by the old content — are
// refused for a legacy code too; a sub-platform cannot bind another
// platform's code; the redirect answers HEAD and never leaves the
// public base.
func TestLegacyReadOnly(t *testing.T) {
	e := newObjEnv(t)
	ctx := e.ctx(root())
	typ := e.typ(&codeengine.TypeIn{Name: "井盖", Management: "local"})
	cs := e.codes(typ.ID, "310104", 3)
	for _, c := range cs {
		must(e.obj.Activate(ctx, e.app, tenancy.MainPlatformID, c.Token, &codeengine.ActivateIn{Attributes: map[string]any{"no": c.Number}}))(t)
	}
	rel := codeengine.NewRelations(e.obj)
	if err := rel.Bind(ctx, e.app, tenancy.MainPlatformID, cs[0].Number, []int64{cs[1].Number, cs[2].Number}); err != nil {
		t.Fatal(err)
	}
	const content = "http://old.example.gov.cn/well?no=7"
	imported := must(e.obj.ImportLegacy(e.console(mainAdmin(), "objcode.import"), &codeengine.LegacyImportIn{Items: []codeengine.LegacyItem{
		{Content: " " + content + " ", Number: num(cs[1])},
	}}))(t)
	if len(imported.Items) != 1 || imported.Items[0].Content != content || imported.Items[0].LandingURL != "https://m.example.cn/c/"+cs[1].Token {
		t.Fatalf("imported: %+v", imported.Items)
	}

	refused := map[string]error{
		"unbind the legacy child":     second(rel.Unbind(ctx, e.app, tenancy.MainPlatformID, cs[1].Number, false)),
		"unbind the parent's subtree": second(rel.Unbind(ctx, e.app, tenancy.MainPlatformID, cs[0].Number, true)),
		"plugin merge":                second(e.obj.MergeAttributes(ctx, "probe", tenancy.MainPlatformID, cs[1].Token, json.RawMessage(`{"no":1}`))),
		"modify by old content":       second(e.obj.Modify(ctx, e.app, tenancy.MainPlatformID, content, &codeengine.ModifyIn{OwnerUnit: "x"})),
		"cancel by old content":       e.obj.Cancel(ctx, e.app, tenancy.MainPlatformID, content),
	}
	for name, err := range refused {
		if fault.KindOf(err) != fault.Conflict || fault.CodeOf(err) != fault.CodeFailedOperation {
			t.Errorf("%s: %v, want 409 FailedOperation", name, err)
		}
	}
	tree := must(rel.Tree(ctx, cs[0].Number))(t)
	if len(tree) != 3 {
		t.Fatalf("relations changed: %+v", tree)
	}
	// The unbind of the cascade was refused as a whole: the current child
	// keeps its parent too. A current code's relation still changes.
	if n := must(rel.Unbind(ctx, e.app, tenancy.MainPlatformID, cs[2].Number, false))(t); n != 1 {
		t.Fatalf("unbind of a current code: %d", n)
	}
	got := must(e.obj.ByNumber(ctx, tenancy.MainPlatformID, num(cs[1])))(t)
	if got.Generation != "legacy" || got.LegacyContent != content || got.Status != "active" {
		t.Fatalf("legacy code: %+v", got)
	}

	// A sub-platform cannot bind the main platform's code; an import
	// without rows is refused.
	_, err := e.obj.ImportLegacy(e.console(mainAdmin(), "objcode.import"), &codeengine.LegacyImportIn{})
	wantCode(t, err, fault.CodeInvalidParameter)
	_, err = e.obj.ImportLegacy(e.console(subAdmin(e.sub), "objcode.import"), &codeengine.LegacyImportIn{Items: []codeengine.LegacyItem{{Content: "X", Number: num(cs[0])}}})
	if fault.KindOf(err) != fault.NotFound {
		t.Fatalf("sub-platform binding the main platform's code: %v", err)
	}

	// The redirect: HEAD too, the stored landing URL only.
	h := e.obj.LegacyRedirect()
	for _, tc := range []struct {
		method, path string
		status       int
		location     string
	}{
		{"HEAD", "/legacy/old.example.gov.cn/well?no=7", http.StatusFound, "https://m.example.cn/c/" + cs[1].Token},
		{"GET", "/legacy/old.example.gov.cn/well?no=8", http.StatusNotFound, ""},
		{"GET", "/legacy/", http.StatusNotFound, ""},
		{"GET", "/legacy/m.example.cn/c/" + cs[0].Token, http.StatusNotFound, ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != tc.status || w.Header().Get("Location") != tc.location {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, w.Code, w.Header().Get("Location"))
		}
	}
}

// An xlsx import reads the same rows: all or none, errors naming the
// spreadsheet row; a good sheet creates the new objects read-only.
func TestLegacyImportFile(t *testing.T) {
	e := newObjEnv(t)
	typ := e.typ(&codeengine.TypeIn{Name: "路灯", Management: "local", RequiredFields: []codeengine.Field{{Name: "address", Required: true}}})
	ctx := e.console(mainAdmin(), "objcode.import")
	file := func(rows ...[]any) *codeengine.LegacyFileIn {
		head := []any{"旧码内容*", "统一编号", "统一社会信用代码", "物品类型", "区划", "权属单位", "属性", "备注"}
		return &codeengine.LegacyFileIn{File: base64.StdEncoding.EncodeToString(workbook(t, append([][]any{head}, rows...)))}
	}
	_, err := e.obj.ImportLegacyFile(ctx, file(
		[]any{"LAMP-1", "", "", typ.ID, "310104", "路灯所", `{"address":"中山路"}`, ""},
		[]any{"LAMP-2", "", "", typ.ID, "310104", "路灯所", `{"height":5}`, ""},
	))
	if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), "row 3") {
		t.Fatalf("missing attribute in row 3: %v", err)
	}
	if _, err := e.obj.ImportLegacyFile(ctx, file([]any{"LAMP-3", "", "", typ.ID, "", "", "not json", ""})); !strings.Contains(fmt.Sprint(err), "row 2") {
		t.Fatalf("bad attributes: %v", err)
	}
	if _, err := e.obj.ImportLegacyFile(ctx, &codeengine.LegacyFileIn{File: base64.StdEncoding.EncodeToString([]byte("no xlsx"))}); fault.CodeOf(err) != fault.CodeInvalidParameter {
		t.Fatalf("not a workbook: %v", err)
	}
	if p := must(e.obj.ListLegacy(ctx, &codeengine.ListLegacyIn{}))(t); p.Total != 0 {
		t.Fatalf("a refused sheet stored %d old codes", p.Total)
	}
	out := must(e.obj.ImportLegacyFile(ctx, file(
		[]any{"LAMP-1", "", "", typ.ID, "310104", "路灯所", `{"address":"中山路"}`, "2018 年版"},
		[]any{"LAMP-2", "", "", typ.ID, "310104", "路灯所", `{"address":"淮海路"}`, ""},
	)))(t)
	if len(out.Items) != 2 || out.Items[0].Note != "2018 年版" || out.Items[1].Content != "LAMP-2" {
		t.Fatalf("imported: %+v", out.Items)
	}
	got := must(e.obj.ByNumber(e.ctx(root()), tenancy.MainPlatformID, strconv.FormatInt(out.Items[1].Number, 10)))(t)
	if got.Generation != "legacy" || got.OwnerUnit != "路灯所" || got.Status != "active" || !strings.Contains(string(got.Attributes), "淮海路") {
		t.Fatalf("new legacy object: %+v", got)
	}
	_, err = e.obj.Modify(e.ctx(root()), e.app, tenancy.MainPlatformID, got.Token, &codeengine.ModifyIn{OwnerUnit: "x"})
	wantCode(t, err, fault.CodeFailedOperation)
}
