package codeengine_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// headerApps authenticates app calls by the X-Test-App and X-Test-Platform
// headers: the request signature has its own tests.
type headerApps struct{}

func (headerApps) VerifyApp(_ context.Context, r httpapi.SignedRequest) (*httpapi.VerifiedApp, error) {
	app := r.Header.Get("X-Test-App")
	if app == "" {
		return nil, fault.E(fault.Unauthenticated, fault.CodeSignatureFailure, "unsigned")
	}
	return &httpapi.VerifiedApp{AppID: app, PlatformID: r.Header.Get("X-Test-Platform"), Body: r.Body}, nil
}

// objServer serves the object-code routes of e over HTTP.
type objServer struct {
	t   *testing.T
	e   *objEnv
	url string
}

type answer struct {
	status int
	ctype  string
	raw    []byte
	data   json.RawMessage
	code   string
	msg    string
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.data, v); err != nil {
		t.Fatalf("decode %s: %v", a.raw, err)
	}
}

func newObjServer(t *testing.T, e *objEnv, tokens tokens) *objServer {
	api, err := httpapi.New(httpapi.Config{Log: slog.New(slog.DiscardHandler), Console: tokens, Authz: e.eng, Apps: headerApps{}})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(e.obj.Routes()...)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &objServer{t: t, e: e, url: srv.URL}
}

// do calls path as a console token ("main", ...) or as an app ("app:<id>@<platform>").
func (s *objServer) do(who, method, path, body string) answer {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if app, ok := strings.CutPrefix(who, "app:"); ok {
		id, platform, _ := strings.Cut(app, "@")
		req.Header.Set("X-Test-App", id)
		req.Header.Set("X-Test-Platform", platform)
	} else {
		req.Header.Set("Authorization", "Bearer "+who)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), raw: raw}
	if strings.HasPrefix(a.ctype, "application/json") {
		var env envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			s.t.Fatalf("%s %s: not an envelope: %s", method, path, raw)
		}
		a.data = env.Response.Data
		if env.Response.Error != nil {
			a.code, a.msg = env.Response.Error.Code, env.Response.Error.Message
		}
	}
	return a
}

func (s *objServer) must(who, method, path, body string) answer {
	s.t.Helper()
	a := s.do(who, method, path, body)
	if a.status != 200 {
		s.t.Fatalf("%s %s: %d %s %s", method, path, a.status, a.code, a.msg)
	}
	return a
}

func (s *objServer) want(who, method, path, body string, status int, code string) answer {
	s.t.Helper()
	a := s.do(who, method, path, body)
	if a.status != status || a.code != code {
		s.t.Fatalf("%s %s %s: %d %s (%s), want %d %s", who, method, path, a.status, a.code, a.msg, status, code)
	}
	return a
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The object-code routes over HTTP: entry, review, look-ups and the
// console's export and download records, with every client mistake a
// clear 4xx and nothing answering 500.
func TestObjectRoutes(t *testing.T) {
	t.Parallel()
	e := newObjEnv(t)
	reader := staff(tenancy.MainPlatformID, "objcode.read")
	typed := staff(tenancy.MainPlatformID, "objtype.read")
	typed.ObjectTypes = []string{"T0001"}
	s := newObjServer(t, e, tokens{"main": mainAdmin(), "sub": subAdmin(e.sub), "reader": reader, "typed": typed})
	mainApp := "app:" + e.app + "@" + tenancy.MainPlatformID
	subApp := "app:" + e.subApp + "@" + e.sub

	var typ codeengine.ObjectType
	s.want("main", "POST", "/console/object-types", `{"name":"公共厕所","requiredFields":[{"name":"address","required":true},{"name":"componentNo","label":"部件编号","required":true},{"name":"lat","type":"number"}],"industryCodeField":"componentNo","industryCodeUnique":true,"reviewRequired":true}`, 200, "").decode(t, &typ)
	s.want("main", "POST", "/console/object-types", `{"name":"x","industryCodeUnique":true}`, 400, fault.CodeInvalidParameter)
	s.want("main", "POST", "/console/object-types", `{"name":"x","reviewRequired":"yes"}`, 400, fault.CodeInvalidParameter)
	s.want("main", "GET", "/console/object-types/"+typ.ID, "", 200, "")
	s.want("main", "GET", "/console/object-types/T9999", "", 404, fault.CodeResourceNotFound)
	s.want("main", "GET", "/console/object-types?management=both", "", 400, fault.CodeInvalidParameter)
	var lamp codeengine.ObjectType
	s.must("main", "POST", "/console/object-types", `{"name":"路灯","parentId":"`+typ.ID+`"}`).decode(t, &lamp)
	var types codeengine.Page[codeengine.ObjectType]
	s.must("main", "GET", "/console/object-types?parentId="+typ.ID, "").decode(t, &types)
	if types.Total != 1 || types.Items[0].ID != lamp.ID {
		t.Fatalf("sub-types %+v", types)
	}
	s.must("typed", "GET", "/console/object-types", "").decode(t, &types)
	if types.Total != 1 || types.Items[0].ID != typ.ID {
		t.Fatalf("a staff member confined to %s lists %+v", typ.ID, types)
	}
	s.want("typed", "GET", "/console/object-types/"+lamp.ID, "", 403, fault.CodeUnauthorizedOperation)
	s.want("main", "PUT", "/console/object-types/"+lamp.ID, `{"name":"路灯","parentId":"`+lamp.ID+`"}`, 400, fault.CodeInvalidParameter)
	s.want("main", "PUT", "/console/object-types/"+typ.ID, `{"name":"公共厕所","parentId":"`+lamp.ID+`"}`, 400, fault.CodeInvalidParameter) // a cycle
	s.want("main", "PUT", "/console/object-types/"+lamp.ID, `{"name":"路灯","parentId":"T9999"}`, 400, fault.CodeInvalidParameter)
	s.want("main", "PUT", "/console/object-types/"+lamp.ID, `{"name":""}`, 400, fault.CodeMissingParameter)
	s.want("sub", "PUT", "/console/object-types/"+lamp.ID, `{"name":"路灯二"}`, 403, fault.CodeUnauthorizedOperation)
	s.want("main", "PUT", "/console/object-types/"+lamp.ID, `{"name":"路灯二","reviewRequired":true,"reviewAutoApprove":false}`, 200, "")

	item := func(no string, lat any) map[string]any {
		return map[string]any{"typeId": typ.ID, "regionCode": "310104", "ownerUnit": "徐汇区绿化市容局",
			"attributes": map[string]any{"address": "漕溪北路" + no + "号", "componentNo": no, "lat": lat}}
	}
	entry := func(no string, lat any) string {
		in := item(no, lat)
		in["codeDefId"] = e.rule
		return mustMarshal(in)
	}
	var code codeengine.ObjectCode
	s.must(mainApp, "POST", "/openapi/v1/object-codes", entry("A-1", 31.19)).decode(t, &code)
	if code.Status != "pending_review" || code.IndustryCode != "A-1" {
		t.Fatalf("entered %+v", code)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"same industry code", entry("A-1", 31.2), 409, fault.CodeFailedOperation},
		{"no type", `{"codeDefId":"` + e.rule + `","attributes":{}}`, 400, fault.CodeMissingParameter},
		{"no rule", `{"typeId":"` + typ.ID + `"}`, 400, fault.CodeMissingParameter},
		{"unknown type", `{"codeDefId":"` + e.rule + `","typeId":"T9999"}`, 400, fault.CodeInvalidParameter},
		{"a number as text", entry("A-2", "north"), 400, fault.CodeInvalidParameter},
		{"missing attribute", `{"codeDefId":"` + e.rule + `","typeId":"` + typ.ID + `","attributes":{"address":"x"}}`, 400, fault.CodeMissingParameter},
		{"attributes not an object", `{"codeDefId":"` + e.rule + `","typeId":"` + typ.ID + `","attributes":[1]}`, 400, fault.CodeInvalidParameter},
		{"NUL in an attribute", `{"codeDefId":"` + e.rule + `","typeId":"` + typ.ID + `","attributes":{"address":"a\u0000b","componentNo":"Z"}}`, 400, fault.CodeInvalidParameter},
		{"NUL in the owner unit", `{"codeDefId":"` + e.rule + `","typeId":"` + typ.ID + `","ownerUnit":"\u0000","attributes":{"address":"a","componentNo":"Z"}}`, 400, fault.CodeInvalidParameter},
		{"unknown field", `{"codeDefId":"` + e.rule + `","typeId":"` + typ.ID + `","colour":"red"}`, 400, fault.CodeInvalidParameter},
		{"another platform's rule", `{"codeDefId":"` + e.subRule + `","typeId":"` + typ.ID + `"}`, 403, fault.CodeUnauthorizedOperation},
	} {
		if a := s.do(mainApp, "POST", "/openapi/v1/object-codes", tc.body); a.status != tc.status || a.code != tc.code {
			t.Errorf("%s: %d %s %s, want %d %s", tc.name, a.status, a.code, a.msg, tc.status, tc.code)
		}
	}
	var batch codeengine.EntryResult
	s.must(mainApp, "POST", "/openapi/v1/object-codes/entries", mustMarshal(map[string]any{"codeDefId": e.rule, "items": []any{item("B-1", 1), item("A-1", 2)}})).decode(t, &batch)
	if batch.Created != 1 || batch.Failed != 1 || batch.Errors[0].Index != 1 || batch.Errors[0].Code != fault.CodeFailedOperation {
		t.Fatalf("batch entry %+v", batch)
	}
	s.want(mainApp, "POST", "/openapi/v1/object-codes/entries", `{"codeDefId":"`+e.rule+`","items":[]}`, 400, fault.CodeInvalidParameter)
	many := make([]string, codeengine.MaxEntries+1)
	for i := range many {
		many[i] = `{"typeId":"T1"}`
	}
	s.want(mainApp, "POST", "/openapi/v1/object-codes/entries", `{"codeDefId":"`+e.rule+`","items":[`+strings.Join(many, ",")+`]}`, 400, fault.CodeInvalidParameter)

	verify := `{"code":"` + code.URL + `"}`
	a := s.want(subApp, "POST", "/openapi/v1/object-codes/verify", verify, 409, fault.CodeCodeNotActive)
	if !strings.Contains(a.msg, "awaits review") {
		t.Fatalf("verify of a pending code: %s", a.msg)
	}

	// Review over the console.
	var queue codeengine.Page[codeengine.CodeReview]
	s.must("main", "GET", "/console/object-code-reviews?result=pending&typeId="+typ.ID, "").decode(t, &queue)
	if queue.Total != 2 {
		t.Fatalf("queue %+v", queue)
	}
	rid := strconv.FormatInt(queue.Items[0].ID, 10)
	s.want("main", "GET", "/console/object-code-reviews?result=maybe", "", 400, fault.CodeInvalidParameter)
	s.want("main", "GET", "/console/object-code-reviews?submittedFrom=2025-03-02&submittedTo=2025-03-01", "", 400, fault.CodeInvalidParameter)
	s.want("main", "POST", "/console/object-code-reviews/abc/approve", "", 400, fault.CodeInvalidParameter)
	s.want("main", "POST", "/console/object-code-reviews/"+rid+"/reject", `{}`, 400, fault.CodeMissingParameter)
	s.want("main", "POST", "/console/object-code-reviews/"+rid+"/reject", `{"reason":"`+strings.Repeat("长", 257)+`"}`, 400, fault.CodeInvalidParameter)
	s.want("reader", "POST", "/console/object-code-reviews/"+rid+"/approve", "", 403, fault.CodeUnauthorizedOperation)
	s.want("main", "POST", "/console/object-code-reviews/"+rid+"/approve", "", 200, "")
	s.want("main", "POST", "/console/object-code-reviews/"+rid+"/approve", "", 409, fault.CodeFailedOperation)
	s.must(subApp, "POST", "/openapi/v1/object-codes/verify", verify)

	// Look-ups by number and industry code.
	n := strconv.FormatInt(code.Number, 10)
	var byNumber codeengine.ObjectCode
	s.must(subApp, "GET", "/openapi/v1/object-codes/numbers/"+n, "").decode(t, &byNumber)
	if byNumber.Token != "" || byNumber.TypeName != "公共厕所" {
		t.Fatalf("another platform's code by number %+v", byNumber)
	}
	s.want(mainApp, "GET", "/openapi/v1/object-codes/numbers/"+n[:8]+string('0'+(n[8]-'0'+1)%10), "", 400, fault.CodeInvalidParameter)
	s.want(mainApp, "GET", "/openapi/v1/object-codes/numbers/12345", "", 400, fault.CodeInvalidParameter)
	s.want(mainApp, "GET", "/openapi/v1/object-codes/by-industry-code?industryCode=A-1", "", 200, "")
	s.want(mainApp, "GET", "/openapi/v1/object-codes/by-industry-code", "", 400, fault.CodeMissingParameter)
	s.want(mainApp, "GET", "/openapi/v1/object-codes/by-industry-code?industryCode=%00", "", 400, fault.CodeInvalidParameter)

	// Modification over the API.
	s.want(mainApp, "POST", "/openapi/v1/object-codes/"+code.Token+"/modify", `{"attributes":{"componentNo":"B-1"}}`, 409, fault.CodeFailedOperation)
	s.want(mainApp, "POST", "/openapi/v1/object-codes/"+code.Token+"/modify", `{"attributes":{"lat":"x"}}`, 400, fault.CodeInvalidParameter)
	s.want(mainApp, "POST", "/openapi/v1/object-codes/"+code.Token+"/modify", `{"ownerUnit":"徐汇区市容局"}`, 200, "")
	s.want(subApp, "POST", "/openapi/v1/object-codes/"+code.Token+"/modify", `{"ownerUnit":"x"}`, 403, fault.CodeUnauthorizedOperation)

	// Every client mistake is a 4xx; no route answers 500.
	junk := []string{"", `{`, `[]`, `null`, `{"attributes":{"a":1e999}}`, `{"items":"x"}`, `{"reason":1}`, `{"name":"\u0000"}`,
		`{"codeDefId":"` + e.rule + `","items":[{"typeId":"\u0000"}]}`, `{"codeDefId":"` + e.rule + `","typeId":"` + typ.ID + `","attributes":{"address":"\u0000","componentNo":"\u0000"}}`}
	ids := map[string]string{":code": "'%00", ":batchId": "B%00", ":number": "-1", ":typeId": "T'%00", ":reviewId": "99999999999999999999", ":downloadId": "-1"}
	for _, r := range e.obj.Routes() {
		path := r.Path
		for k, v := range ids {
			path = strings.ReplaceAll(path, k, v)
		}
		who := "main"
		if r.Auth == httpapi.App {
			who = mainApp
		}
		for _, body := range junk {
			q := "?pageSize=-5&createdFrom=x&status=%00&typeId=%00&industryCode=%00&regionCode=%00&account=%00"
			if a := s.do(who, r.Method, path+q, body); a.status >= 500 {
				t.Errorf("%s %s %s: %d %s %s", r.Method, r.Path, body, a.status, a.code, a.msg)
			}
			if a := s.do(who, r.Method, path+"?typeId=%00", body); a.status >= 500 {
				t.Errorf("%s %s %s (typeId NUL): %d %s %s", r.Method, r.Path, body, a.status, a.code, a.msg)
			}
		}
	}
}

// 码信息导出 and 下载管理: an xlsx of the codes matching type, batch,
// status, region and time, within the caller's scope, with the attributes
// as stored; every export and image download recorded and takeable again.
func TestObjectExport(t *testing.T) {
	t.Parallel()
	e := newObjEnv(t)
	reader := staff(tenancy.MainPlatformID, "objcode.read")
	s := newObjServer(t, e, tokens{"main": mainAdmin(), "sub": subAdmin(e.sub), "reader": reader})
	ctx := e.ctx(root())
	typ := e.typ(&codeengine.TypeIn{Name: "井盖", RequiredFields: []codeengine.Field{{Name: "address", Label: "地址", Required: true},
		{Name: "depth", Label: "深度", Type: "number"}}})
	other := e.typ(&codeengine.TypeIn{Name: "路灯"})
	cs := e.codes(typ.ID, "310104", 5)
	for i, c := range cs[:3] {
		must(e.obj.Activate(ctx, e.app, tenancy.MainPlatformID, c.Token, &codeengine.ActivateIn{
			Attributes: map[string]any{"address": fmt.Sprintf("漕溪北路%d号", i), "depth": 1.5, "note": "=HYPERLINK(\"x\")"}}))(t)
	}
	must(0, e.obj.Cancel(ctx, e.app, tenancy.MainPlatformID, cs[2].Token))(t)
	e.clock.Advance(24 * time.Hour)
	e.codes(other.ID, "310106", 2)
	subBatch := must(e.obj.PreIssue(ctx, e.subApp, e.sub, e.subRule, typ.ID, "310104", 3))(t)

	sheet := func(a answer) [][]string {
		t.Helper()
		if a.status != 200 || a.ctype != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("export: %d %s %s", a.status, a.ctype, a.raw)
		}
		f, err := excelize.OpenReader(bytes.NewReader(a.raw))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetName(0))
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	export := func(who, query string) [][]string {
		t.Helper()
		return sheet(s.do(who, "GET", "/console/object-codes/export?"+query, ""))
	}

	rows := export("main", "typeId="+typ.ID+"&status=active")
	if len(rows) != 3 || rows[0][0] != "统一编号" || !strings.Contains(strings.Join(rows[0], ","), "地址,深度,全部属性(JSON)") {
		t.Fatalf("export of active manholes: %q", rows)
	}
	head := rows[0]
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s in %q", name, head)
		return -1
	}
	r1 := rows[1]
	if r1[col("统一编号")] != num(cs[0]) || r1[col("码值(URL)")] != cs[0].URL || r1[col("地址")] != "漕溪北路0号" || r1[col("深度")] != "1.5" ||
		r1[col("状态")] != "active" || r1[col("物品类型")] != "井盖" || r1[col("区划")] != "310104" || !strings.Contains(r1[col("全部属性(JSON)")], `"note"`) {
		t.Fatalf("first row %q", r1)
	}
	// Formulas arrive as text, not as formulas.
	if !strings.Contains(r1[len(r1)-1], "=HYPERLINK") {
		t.Fatalf("attributes column %q", r1[len(r1)-1])
	}
	for _, tc := range []struct {
		who, query string
		rows       int
	}{
		{"main", "", 10},
		{"main", "status=cancelled", 1},
		{"main", "batchId=" + cs[0].BatchID, 5},
		{"main", "regionCode=310100", 10},
		{"main", "regionCode=310104", 8},
		{"main", "regionCode=310106", 2},
		{"main", "regionCode=310000&typeId=" + other.ID, 2},
		{"main", "createdFrom=" + e.clock.Now().Add(-time.Hour).Format(time.RFC3339), 5},
		{"main", "createdTo=" + e.clock.Now().Add(-time.Hour).Format(time.RFC3339), 5},
		{"main", "platformId=" + e.sub, 3},
		{"sub", "", 3}, // the sub-platform sees its own codes only
		{"sub", "batchId=" + cs[0].BatchID, 0},
	} {
		if got := len(export(tc.who, tc.query)) - 1; got != tc.rows {
			t.Errorf("export %s as %s: %d rows, want %d", tc.query, tc.who, got, tc.rows)
		}
	}
	_ = subBatch
	s.want("main", "GET", "/console/object-codes/export?status=lost", "", 400, fault.CodeInvalidParameter)
	s.want("main", "GET", "/console/object-codes/export?createdFrom=2025-03-02&createdTo=2025-03-01", "", 400, fault.CodeInvalidParameter)
	s.want("main", "GET", "/console/object-codes/export?createdFrom=soon", "", 400, fault.CodeInvalidParameter)
	s.want("reader", "GET", "/console/object-codes/export", "", 403, fault.CodeUnauthorizedOperation)

	// The list answers the same filters, paged.
	var page codeengine.Page[codeengine.CodeRow]
	s.must("main", "GET", "/console/object-codes?typeId="+typ.ID+"&pageSize=2", "").decode(t, &page)
	if page.Total != 8 || len(page.Items) != 2 {
		t.Fatalf("list %+v", page)
	}

	// Images from the console, in scope only.
	a := s.do("main", "GET", "/console/object-codes/batches/"+cs[0].BatchID+"/images?limit=2&moduleSize=2", "")
	if a.status != 200 || a.ctype != "application/zip" {
		t.Fatalf("console images: %d %s", a.status, a.raw)
	}
	if zr, err := zip.NewReader(bytes.NewReader(a.raw), int64(len(a.raw))); err != nil || len(zr.File) != 2 {
		t.Fatalf("zip: %v", err)
	}
	s.want("sub", "GET", "/console/object-codes/batches/"+cs[0].BatchID+"/images", "", 403, fault.CodeUnauthorizedOperation)
	s.want("main", "GET", "/console/object-codes/batches/B0/images", "", 404, fault.CodeResourceNotFound)
	// An app's image download is recorded too.
	if a := s.do("app:"+e.app+"@"+tenancy.MainPlatformID, "GET", "/openapi/v1/object-codes/batches/"+cs[0].BatchID+"/images?limit=3&moduleSize=2", ""); a.status != 200 {
		t.Fatalf("app images: %d %s", a.status, a.raw)
	}

	var downloads codeengine.Page[codeengine.DownloadRecord]
	s.must("main", "GET", "/console/object-code-downloads?pageSize=100", "").decode(t, &downloads)
	// The main platform sees every record: its 11 exports, the
	// sub-platform's 2, and the two image downloads.
	var exports, images int
	for _, d := range downloads.Items {
		switch d.Kind {
		case "export":
			exports++
		case "images":
			images++
		}
	}
	if exports != 13 || images != 2 {
		t.Fatalf("main sees %d exports and %d image downloads: %+v", exports, images, downloads.Items)
	}
	last := downloads.Items[len(downloads.Items)-1] // the first export
	if last.Kind != "export" || last.Rows != 2 || last.Account != "main" || last.Actor != "operator:1" || last.TypeID != typ.ID ||
		!strings.Contains(string(last.Filters), `"status":"active"`) {
		t.Fatalf("first export record %+v", last)
	}
	appImages := downloads.Items[0]
	if appImages.Kind != "images" || appImages.Actor != "app:"+e.app || appImages.Rows != 3 {
		t.Fatalf("app image record %+v", appImages)
	}
	var subDownloads codeengine.Page[codeengine.DownloadRecord]
	s.must("sub", "GET", "/console/object-code-downloads", "").decode(t, &subDownloads)
	if subDownloads.Total != 2 {
		t.Fatalf("the sub-platform sees %d download records", subDownloads.Total)
	}
	s.want("main", "GET", "/console/object-code-downloads?kind=pdf", "", 400, fault.CodeInvalidParameter)

	// 再次下载: the same filter again, recorded again.
	again := sheet(s.do("main", "GET", "/console/object-code-downloads/"+strconv.FormatInt(last.ID, 10)+"/file", ""))
	if len(again) != 3 {
		t.Fatalf("download again: %d rows", len(again))
	}
	a = s.do("main", "GET", "/console/object-code-downloads/"+strconv.FormatInt(appImages.ID, 10)+"/file", "")
	if a.status != 200 || a.ctype != "application/zip" {
		t.Fatalf("images again: %d", a.status)
	}
	s.want("sub", "GET", "/console/object-code-downloads/"+strconv.FormatInt(last.ID, 10)+"/file", "", 403, fault.CodeUnauthorizedOperation)
	s.want("main", "GET", "/console/object-code-downloads/999999/file", "", 404, fault.CodeResourceNotFound)
	var after codeengine.Page[codeengine.DownloadRecord]
	s.must("main", "GET", "/console/object-code-downloads?kind=export&pageSize=1", "").decode(t, &after)
	if after.Items[0].Rows != 2 || !strings.Contains(string(after.Items[0].Filters), fmt.Sprintf(`"again":%d`, last.ID)) {
		t.Fatalf("the second download's record %+v", after.Items[0])
	}
}

// A large export streams: 100,000 codes come back whole.
func TestObjectExportLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 codes")
	}
	t.Parallel()
	e := newObjEnv(t)
	typ := e.typ(&codeengine.TypeIn{Name: "井盖"})
	b := must(e.obj.PreIssue(e.ctx(root()), e.app, tenancy.MainPlatformID, e.rule, typ.ID, "310104", 100_000))(t)
	ctx := e.console(mainAdmin(), "objcode.export")
	start := time.Now()
	x := must(e.obj.Export(ctx, &codeengine.CodeFilter{BatchID: b.BatchID}))(t)
	var buf bytes.Buffer
	if err := x.WriteTo(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("100,000 codes: %s, %d bytes", time.Since(start), buf.Len())
	// Counting the sheet's rows in its XML is faster than opening the
	// workbook.
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rows, last := 0, []byte(nil)
	for _, f := range zr.File {
		if f.Name != "xl/worksheets/sheet1.xml" {
			continue
		}
		rc, _ := f.Open()
		xml, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		rows = bytes.Count(xml, []byte("<row "))
		last = xml[bytes.LastIndex(xml, []byte("<row ")):]
	}
	if rows != 100_001 || !bytes.Contains(last, []byte(strconv.FormatInt(b.LastNumber, 10))) {
		t.Fatalf("%d rows, the last %.200s", rows, last)
	}
}
