package codeengine_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/draw"
	"image/png"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/qr"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// toiletType is an object type with every kind of attribute, a unique
// industry code and review.
func toiletType(e *objEnv) *codeengine.ObjectType {
	return e.typ(&codeengine.TypeIn{Name: "公共厕所", ReviewRequired: true, IndustryCodeField: "componentNo", IndustryCodeUnique: true,
		RequiredFields: []codeengine.Field{
			{Name: "address", Label: "地址", Required: true},
			{Name: "componentNo", Label: "部件编号", Required: true},
			{Name: "depth", Label: "深度", Type: "number"},
			{Name: "open", Label: "开放", Type: "boolean"},
			{Name: "grade", Label: "等级", Type: "enum", Options: []string{"一类", "二类"}},
			{Name: "built", Label: "建成日期", Type: "date"},
		}})
}

// workbook is an xlsx of rows (the first the header).
func workbook(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func importBody(rule string, xlsx []byte) string {
	return mustMarshal(map[string]any{"codeDefId": rule, "file": base64.StdEncoding.EncodeToString(xlsx)})
}

func countRows(t *testing.T, e *objEnv, table string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// 信息录入 by xlsx: the template's header is the type's fields; a filled
// template enters its good rows as the JSON batch entry does (one batch,
// review, industry-code uniqueness) and reports each refused cell by row
// and column; a fully refused file stores nothing; a body that is no
// workbook is a clear 400.
func TestObjectEntryImport(t *testing.T) {
	t.Parallel()
	e := newObjEnv(t)
	s := newObjServer(t, e, tokens{"main": mainAdmin()})
	mainApp := "app:" + e.app + "@" + tenancy.MainPlatformID
	typ := toiletType(e)
	other := e.typ(&codeengine.TypeIn{Name: "路灯"})

	// The template: the type's columns, required ones marked, an example.
	a := s.must(mainApp, "GET", "/openapi/v1/object-codes/entries/template?typeId="+typ.ID, "")
	if a.ctype != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("template: %s", a.ctype)
	}
	tpl, err := excelize.OpenReader(bytes.NewReader(a.raw))
	if err != nil {
		t.Fatal(err)
	}
	defer tpl.Close()
	sheet := tpl.GetSheetName(0)
	rows, err := tpl.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	wantHead := []string{"物品类型*", "名称", "部件编号*", "区划", "权属单位", "经纬度", "地址*", "深度", "开放", "等级", "建成日期"}
	if len(rows) != 2 || strings.Join(rows[0], "|") != strings.Join(wantHead, "|") {
		t.Fatalf("template rows %q, want the header %q and an example", rows, wantHead)
	}
	if rows[1][0] != typ.ID || rows[1][9] != "一类" {
		t.Fatalf("example row %q", rows[1])
	}
	if names := tpl.GetSheetList(); len(names) != 2 {
		t.Fatalf("sheets %q", names)
	}
	s.want(mainApp, "GET", "/openapi/v1/object-codes/entries/template?typeId=T9999", "", 404, fault.CodeResourceNotFound)
	s.want(mainApp, "GET", "/openapi/v1/object-codes/entries/template", "", 400, fault.CodeMissingParameter)
	s.want("main", "GET", "/openapi/v1/object-codes/entries/template?typeId="+typ.ID, "", 401, fault.CodeSignatureFailure)

	// The template as downloaded: its example row is skipped.
	var res codeengine.EntryImportResult
	s.must(mainApp, "POST", "/openapi/v1/object-codes/entries/import", importBody(e.rule, a.raw)).decode(t, &res)
	if res.Imported != 0 || res.Failed != 0 || len(res.Errors) != 0 || res.BatchID != "" {
		t.Fatalf("the bare template imported %+v", res)
	}

	// A live code holds industry code A-1 already.
	s.must(mainApp, "POST", "/openapi/v1/object-codes", mustMarshal(map[string]any{"codeDefId": e.rule, "typeId": typ.ID,
		"attributes": map[string]any{"address": "漕溪北路0号", "componentNo": "A-1"}}))

	// The template filled in below its example row.
	fill := [][]any{
		// row 3: good
		{typ.ID, "公厕一", "B-1", "310104", "徐汇区绿化市容局", "121.43,31.19", "漕溪北路1号", 1.5, "是", "一类", "2024-05-01"},
		// row 4: good, type by name, date serial
		{"公共厕所", "公厕二", "B-2", "310104", "", "121.44，31.2", "漕溪北路2号", "", "否", "", 45413.0},
		// row 5: 地址 missing
		{typ.ID, "公厕三", "B-3", "310104", "", "", "", "", "", "", ""},
		// row 6: unknown type
		{"T9999", "x", "B-4", "", "", "", "漕溪北路4号"},
		// row 7: two bad cells
		{typ.ID, "公厕五", "B-5", "", "", "", "漕溪北路5号", "deep", "也许"},
		// row 8: industry code held
		{typ.ID, "公厕六", "A-1", "", "", "", "漕溪北路6号"},
		// row 9: bad coordinates
		{typ.ID, "公厕七", "B-7", "", "", "east", "漕溪北路7号"},
		// row 10: blank, skipped
		{},
		// row 11: B-1 taken by row 3
		{typ.ID, "公厕十一", "B-1", "", "", "", "漕溪北路11号"},
		// row 12: 地址 is no column of 路灯
		{other.ID, "路灯一", "", "", "", "", "漕溪北路12号"},
	}
	for i, r := range fill {
		cell, _ := excelize.CoordinatesToCellName(1, i+3)
		if err := tpl.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := tpl.Write(&buf); err != nil {
		t.Fatal(err)
	}
	s.must(mainApp, "POST", "/openapi/v1/object-codes/entries/import", importBody(e.rule, buf.Bytes())).decode(t, &res)
	type cellErr struct {
		row       int
		col, code string
	}
	var got []cellErr
	for _, ce := range res.Errors {
		got = append(got, cellErr{ce.Row, ce.Column, ce.Code})
		if ce.Message == "" {
			t.Errorf("row %d has no message", ce.Row)
		}
	}
	want := []cellErr{
		{5, "地址", fault.CodeMissingParameter},
		{6, "物品类型", fault.CodeInvalidParameter},
		{7, "深度", fault.CodeInvalidParameter},
		{7, "开放", fault.CodeInvalidParameter},
		{8, "部件编号", fault.CodeFailedOperation},
		{9, "经纬度", fault.CodeInvalidParameter},
		{11, "部件编号", fault.CodeFailedOperation},
		{12, "地址", fault.CodeInvalidParameter},
	}
	if res.Imported != 2 || res.Failed != 7 || len(res.Items) != 2 || mustMarshal(got) != mustMarshal(want) {
		t.Fatalf("imported %d, failed %d, errors %+v, want %+v", res.Imported, res.Failed, got, want)
	}
	first, second := res.Items[0], res.Items[1]
	if first.Row != 3 || second.Row != 4 || first.BatchID != res.BatchID || second.Number/10 != first.Number/10+1 {
		t.Fatalf("items %+v", res.Items)
	}
	// Entered as the batch entry enters: held for review, with typed
	// attributes.
	if first.Status != "pending_review" || first.IndustryCode != "B-1" || first.RegionCode != "310104" || first.OwnerUnit != "徐汇区绿化市容局" {
		t.Fatalf("first code %+v", first.ObjectCode)
	}
	var attrs map[string]any
	if err := json.Unmarshal(first.Attributes, &attrs); err != nil {
		t.Fatal(err)
	}
	if attrs["name"] != "公厕一" || attrs["lng"] != 121.43 || attrs["lat"] != 31.19 || attrs["depth"] != 1.5 || attrs["open"] != true ||
		attrs["grade"] != "一类" || attrs["built"] != "2024-05-01" || attrs["address"] != "漕溪北路1号" {
		t.Fatalf("attributes %v", attrs)
	}
	// The good rows are there for the look-ups.
	var byNumber codeengine.ObjectCode
	s.must(mainApp, "GET", "/openapi/v1/object-codes/numbers/"+strconv.FormatInt(second.Number, 10), "").decode(t, &byNumber)
	if byNumber.Token != second.Token || byNumber.IndustryCode != "B-2" || !strings.Contains(string(byNumber.Attributes), `"built":"2024-05-01"`) ||
		!strings.Contains(string(byNumber.Attributes), `"open":false`) {
		t.Fatalf("by number %+v %s", byNumber, byNumber.Attributes)
	}
	var byIndustry codeengine.CodeList
	s.must(mainApp, "GET", "/openapi/v1/object-codes/by-industry-code?industryCode=B-1&typeId="+typ.ID, "").decode(t, &byIndustry)
	if len(byIndustry.Items) != 1 || byIndustry.Items[0].Token != first.Token {
		t.Fatalf("by industry code %+v", byIndustry.Items)
	}
	var batch codeengine.CodeList
	s.must(mainApp, "GET", "/openapi/v1/object-codes/batches/"+res.BatchID+"/codes", "").decode(t, &batch)
	if len(batch.Items) != 2 {
		t.Fatalf("batch %s holds %d codes", res.BatchID, len(batch.Items))
	}
	var queue codeengine.Page[codeengine.CodeReview]
	s.must("main", "GET", "/console/object-code-reviews?result=pending&typeId="+typ.ID, "").decode(t, &queue)
	if queue.Total != 3 {
		t.Fatalf("%d submissions wait for review, want 3", queue.Total)
	}

	// A fully refused file enters nothing.
	codes, batches := countRows(t, e, "object_codes"), countRows(t, e, "object_batches")
	bad := workbook(t, [][]any{
		{"物品类型", "部件编号", "地址"},
		{typ.ID, "C-1", ""},
		{"T9999", "C-2", "x"},
		{typ.ID, "A-1", "x"},
	})
	res = codeengine.EntryImportResult{}
	s.must(mainApp, "POST", "/openapi/v1/object-codes/entries/import", importBody(e.rule, bad)).decode(t, &res)
	if res.Imported != 0 || res.Failed != 3 || res.BatchID != "" || len(res.Items) != 0 {
		t.Fatalf("refused file %+v", res)
	}
	if c, b := countRows(t, e, "object_codes"), countRows(t, e, "object_batches"); c != codes || b != batches {
		t.Fatalf("a refused file stored %d codes and %d batches", c-codes, b-batches)
	}

	// Mistakes of the whole file: a clear 4xx, nothing stored.
	many := [][]any{{"物品类型", "地址"}}
	for range codeengine.MaxEntries + 1 {
		many = append(many, []any{other.ID, "x"})
	}
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"not a workbook", importBody(e.rule, []byte("id,name\n1,x\n")), 400, fault.CodeInvalidParameter},
		{"a zip that is no workbook", importBody(e.rule, zipOf(t, "a.txt", "x")), 400, fault.CodeInvalidParameter},
		{"not base64", `{"codeDefId":"` + e.rule + `","file":"not base64!"}`, 400, fault.CodeInvalidParameter},
		{"the workbook as the body", string(bad), 400, fault.CodeInvalidParameter},
		{"no file", `{"codeDefId":"` + e.rule + `"}`, 400, fault.CodeMissingParameter},
		{"no type column", importBody(e.rule, workbook(t, [][]any{{"名称"}, {"x"}})), 400, fault.CodeInvalidParameter},
		{"a column twice", importBody(e.rule, workbook(t, [][]any{{"物品类型", "区划", "区划代码"}, {other.ID, "1", "2"}})), 400, fault.CodeInvalidParameter},
		{"too many rows", importBody(e.rule, workbook(t, many)), 400, fault.CodeInvalidParameter},
		{"another platform's rule", importBody(e.subRule, bad), 403, fault.CodeUnauthorizedOperation},
		{"unknown rule", importBody("R9999", bad), 404, fault.CodeResourceNotFound},
	} {
		if a := s.do(mainApp, "POST", "/openapi/v1/object-codes/entries/import", tc.body); a.status != tc.status || a.code != tc.code {
			t.Errorf("%s: %d %s %s, want %d %s", tc.name, a.status, a.code, a.msg, tc.status, tc.code)
		}
	}
	if c := countRows(t, e, "object_codes"); c != codes {
		t.Fatalf("refused files stored %d codes", c-codes)
	}
}

func zipOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jobsServer serves the object-code routes of an Objects that submits
// image jobs, and the image jobs' routes, as the host mounts them.
func jobsServer(t *testing.T, e *objEnv, tk tokens) (*objServer, *qr.Jobs) {
	t.Helper()
	jobs, err := qr.NewJobs(qr.Config{Pool: e.pool, Authz: e.eng, Log: slog.New(slog.DiscardHandler), Clock: e.clock.Now,
		Poll: 20 * time.Millisecond, SweepEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := jobs.Close(ctx); err != nil {
			t.Errorf("close jobs: %v", err)
		}
	})
	ev, err := events.New(context.Background(), events.Config{Pool: e.pool, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close(context.Background()) })
	obj, err := codeengine.NewObjects(e.rules, ev, "https://m.example.cn", codeengine.WithJobs(jobs))
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Log: slog.New(slog.DiscardHandler), Console: tk, Authz: e.eng, Apps: headerApps{}})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(obj.Routes()...)
	api.Mount(jobs.Routes()...)
	api.Mount(jobs.AppRoutes()...)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &objServer{t: t, e: e, url: srv.URL}, jobs
}

// decodeImage reads a QR image back as a phone would; an image taller
// than wide has a caption below the square code.
func decodeImage(t *testing.T, data []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	b := img.Bounds()
	sq := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dx()))
	draw.Draw(sq, sq.Rect, img, b.Min, draw.Src)
	bmp, err := gozxing.NewBinaryBitmapFromImage(sq)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrreader.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("QR image does not decode: %v", err)
	}
	return res.GetText()
}

// 批量预生成 with images: the batch and a background image job commit
// together; the app follows the job and downloads its zip — one image per
// code, named by number, holding the code's URL — while another
// platform's app cannot see it.
func TestObjectPreIssueImages(t *testing.T) {
	t.Parallel()
	e := newObjEnv(t)
	s, _ := jobsServer(t, e, tokens{"main": mainAdmin(), "sub": subAdmin(e.sub)})
	mainApp := "app:" + e.app + "@" + tenancy.MainPlatformID
	subApp := "app:" + e.subApp + "@" + e.sub
	typ := e.typ(&codeengine.TypeIn{Name: "井盖"})

	var b codeengine.Batch
	s.must(mainApp, "POST", "/openapi/v1/object-codes/batches", mustMarshal(map[string]any{"codeDefId": e.rule, "typeId": typ.ID, "count": 20,
		"images": map[string]any{"format": "png", "moduleSize": 4, "level": "Q", "caption": "No.{number}"}})).decode(t, &b)
	if b.JobID == "" || b.Count != 20 {
		t.Fatalf("batch %+v", b)
	}
	var job qr.Job
	deadline := time.Now().Add(time.Minute)
	for {
		s.must(mainApp, "GET", "/openapi/v1/qr-jobs/"+b.JobID, "").decode(t, &job)
		if job.Status == qr.StatusDone || job.Status == qr.StatusFailed || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if job.Status != qr.StatusDone || job.Total != 20 || job.Done != 20 || job.Percent != 100 || job.Kind != "object" ||
		job.PlatformID != tenancy.MainPlatformID || job.CreatedBy != "app:"+e.app || job.Format != "png" {
		t.Fatalf("job %+v", job)
	}
	a := s.must(mainApp, "GET", "/openapi/v1/qr-jobs/"+b.JobID+"/download", "")
	if a.ctype != "application/zip" {
		t.Fatalf("download: %s", a.ctype)
	}
	var codes codeengine.CodeList
	s.must(mainApp, "GET", "/openapi/v1/object-codes/batches/"+b.BatchID+"/codes", "").decode(t, &codes)
	urls := map[string]string{}
	for _, c := range codes.Items {
		urls[strconv.FormatInt(c.Number, 10)+".png"] = c.URL
	}
	zr, err := zip.NewReader(bytes.NewReader(a.raw), int64(len(a.raw)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 20 || len(urls) != 20 {
		t.Fatalf("%d images for %d codes", len(zr.File), len(urls))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		want, ok := urls[f.Name]
		if !ok {
			t.Fatalf("image %s is no code of the batch", f.Name)
		}
		if got := decodeImage(t, data); got != want {
			t.Fatalf("%s holds %s, want %s", f.Name, got, want)
		}
		delete(urls, f.Name)
	}
	// The console's image jobs show it to the platform's operators.
	s.want("main", "GET", "/console/qr/jobs/"+b.JobID, "", 200, "")
	// Another platform's app cannot read the job, or learn it exists.
	s.want(subApp, "GET", "/openapi/v1/qr-jobs/"+b.JobID, "", 404, fault.CodeResourceNotFound)
	s.want(subApp, "GET", "/openapi/v1/qr-jobs/"+b.JobID+"/download", "", 404, fault.CodeResourceNotFound)
	s.want("sub", "GET", "/console/qr/jobs/"+b.JobID, "", 403, fault.CodeUnauthorizedOperation)
	s.want(mainApp, "GET", "/openapi/v1/qr-jobs/qjnosuchjob", "", 404, fault.CodeResourceNotFound)
	s.want(mainApp, "GET", "/openapi/v1/qr-jobs/qj%00", "", 404, fault.CodeResourceNotFound)

	// Images a job cannot draw are refused before any code is issued.
	codesBefore, batchesBefore := countRows(t, e, "object_codes"), countRows(t, e, "object_batches")
	for _, tc := range []struct {
		name   string
		count  int
		images map[string]any
		code   string
	}{
		{"gif", 5, map[string]any{"format": "gif"}, fault.CodeInvalidParameter},
		{"module size", 5, map[string]any{"moduleSize": 41}, fault.CodeInvalidParameter},
		{"level", 5, map[string]any{"level": "X"}, fault.CodeInvalidParameter},
		{"long caption", 5, map[string]any{"caption": strings.Repeat("x", 95) + "{number}"}, fault.CodeInvalidParameter},
		{"unknown option", 5, map[string]any{"colour": "red"}, fault.CodeInvalidParameter},
		{"more than a job holds", 100_001, map[string]any{}, fault.CodeInvalidParameter},
	} {
		body := mustMarshal(map[string]any{"codeDefId": e.rule, "count": tc.count, "images": tc.images})
		if a := s.do(mainApp, "POST", "/openapi/v1/object-codes/batches", body); a.status != 400 || a.code != tc.code {
			t.Errorf("%s: %d %s %s, want 400 %s", tc.name, a.status, a.code, a.msg, tc.code)
		}
	}
	if c, bt := countRows(t, e, "object_codes"), countRows(t, e, "object_batches"); c != codesBefore || bt != batchesBefore {
		t.Fatalf("refused pre-issues stored %d codes and %d batches", c-codesBefore, bt-batchesBefore)
	}
	// Without images, a batch submits no job.
	var plain codeengine.Batch
	s.must(mainApp, "POST", "/openapi/v1/object-codes/batches", mustMarshal(map[string]any{"codeDefId": e.rule, "count": 2})).decode(t, &plain)
	if plain.JobID != "" {
		t.Fatalf("a batch without images has job %s", plain.JobID)
	}
	// A host without image jobs says so.
	plainHost := newObjServer(t, e, tokens{})
	plainHost.want(mainApp, "POST", "/openapi/v1/object-codes/batches", mustMarshal(map[string]any{"codeDefId": e.rule, "count": 2,
		"images": map[string]any{}}), 400, fault.CodeUnsupportedOperation)
}
