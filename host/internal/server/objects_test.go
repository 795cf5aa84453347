package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// decodeQR reads a PNG QR image back, as a phone camera would.
func decodeQR(t *testing.T, data []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	res, err := qrreader.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("QR image does not decode: %v", err)
	}
	return res.GetText()
}

// Journey 3: a district pre-issues toilet codes in one batch, a field worker
// activates one with the type's required attributes, a citizen's scan
// resolves it, and a cancelled code says so.
func TestObjectCodeJourney(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	var typ struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/object-types", map[string]any{"name": "公共厕所", "management": "local",
		"requiredFields": []map[string]any{{"name": "address", "required": true}, {"name": "lat", "type": "number", "required": true},
			{"name": "lng", "type": "number", "required": true}, {"name": "openingHours", "required": true}}}).decode(t, &typ)
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "公厕一物一码", "form": "static", "family": "object"}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	env := h.app(admin, map[string]any{"name": "环境局一物一码"})
	h.must(admin, "PUT", "/console/apps/"+env.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	c := signedClient(t, h, env)
	ctx := context.Background()

	var batch struct {
		BatchID     string `json:"batchId"`
		Count       int    `json:"count"`
		FirstNumber int64  `json:"firstNumber"`
	}
	if err := c.Call(ctx, "/openapi/v1/object-codes/batches", map[string]any{"codeDefId": rule.ID, "typeId": typ.ID, "regionCode": "310104", "count": 10000}, &batch); err != nil {
		t.Fatal(err)
	}
	var tokens, numbers int
	h.srv.Pool().QueryRow(ctx, "SELECT count(DISTINCT token), count(DISTINCT number) FROM object_codes WHERE batch_id = $1", batch.BatchID).Scan(&tokens, &numbers)
	if batch.Count != 10000 || tokens != 10000 || numbers != 10000 {
		t.Fatalf("batch %+v: %d tokens, %d numbers", batch, tokens, numbers)
	}
	var list struct {
		Items []struct {
			URL    string `json:"url"`
			Token  string `json:"token"`
			Number int64  `json:"number"`
			Status string `json:"status"`
		} `json:"items"`
	}
	if _, raw, err := c.Do(ctx, "GET", "/openapi/v1/object-codes/batches/"+batch.BatchID+"/codes", "limit=3", nil); err != nil {
		t.Fatal(err)
	} else if err := decodeData(raw, &list); err != nil || len(list.Items) != 3 || list.Items[0].Number != batch.FirstNumber || list.Items[0].Status != "empty" {
		t.Fatalf("batch list: %+v %v", list, err)
	}
	toilet := list.Items[0]

	t.Run("a zip of 1,000 images decodes back to the issued codes", func(t *testing.T) {
		var page struct {
			Items []struct {
				URL    string `json:"url"`
				Number int64  `json:"number"`
			} `json:"items"`
		}
		_, raw, err := c.Do(ctx, "GET", "/openapi/v1/object-codes/batches/"+batch.BatchID+"/codes", "limit=1000", nil)
		if err != nil || decodeData(raw, &page) != nil || len(page.Items) != 1000 {
			t.Fatalf("list: %v", err)
		}
		resp, zipped, err := c.Do(ctx, "GET", "/openapi/v1/object-codes/batches/"+batch.BatchID+"/images", "limit=1000&moduleSize=4", nil)
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("zip: %v %d", err, resp.StatusCode)
		}
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil || len(zr.File) != 1000 {
			t.Fatalf("zip holds %d files: %v", len(zr.File), err)
		}
		for i, f := range zr.File {
			rc, _ := f.Open()
			data, _ := io.ReadAll(rc)
			rc.Close()
			if f.Name != strconv.FormatInt(page.Items[i].Number, 10)+".png" || decodeQR(t, data) != page.Items[i].URL {
				t.Fatalf("image %d (%s) does not decode to %s", i, f.Name, page.Items[i].URL)
			}
		}
	})

	verify := func(code string) (map[string]any, error) {
		var out map[string]any
		err := c.Call(ctx, "/openapi/v1/object-codes/verify", map[string]any{"code": code}, &out)
		return out, err
	}
	_, err := verify(toilet.URL)
	wantAPIError(t, err, 409, fault.CodeCodeNotActive)

	attrs := map[string]any{"address": "徐汇区漕溪北路1号", "lat": 31.19, "lng": 121.43}
	err = c.Call(ctx, "/openapi/v1/object-codes/"+toilet.Token+"/activate", map[string]any{"attributes": attrs, "ownerUnit": "徐汇区绿化市容局"}, nil)
	wantAPIError(t, err, 400, fault.CodeMissingParameter)
	attrs["openingHours"] = "06:00-22:00"
	if err := c.Call(ctx, "/openapi/v1/object-codes/"+toilet.Token+"/activate", map[string]any{"attributes": attrs, "ownerUnit": "徐汇区绿化市容局"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{toilet.URL, toilet.Token, strconv.FormatInt(toilet.Number, 10)} {
		got, err := verify(code)
		if err != nil || got["typeName"] != "公共厕所" || got["ownerUnit"] != "徐汇区绿化市容局" || got["attributes"].(map[string]any)["openingHours"] != "06:00-22:00" {
			t.Fatalf("verify %s: %v %v", code, got, err)
		}
	}
	// A mistyped unified number is caught by its check digit.
	_, err = verify(strconv.FormatInt(toilet.Number+1, 10))
	wantAPIError(t, err, 400, fault.CodeInvalidParameter)
	_, err = verify("aaaaaaaaaaaaaaaaaaaaaaaa")
	wantAPIError(t, err, 404, fault.CodeResourceNotFound)

	// Another platform's app can read the code but never change it.
	_, xh := h.subPlatform(admin, "徐汇区子平台", "310104", "xuhui_admin")
	other := signedClient(t, h, h.app(xh, map[string]any{"name": "徐汇巡查"}))
	wantAPIError(t, other.Call(ctx, "/openapi/v1/object-codes/"+toilet.Token+"/cancel", map[string]any{}, nil), 403, fault.CodeUnauthorizedOperation)

	if err := c.Call(ctx, "/openapi/v1/object-codes/"+toilet.Token+"/cancel", map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = verify(toilet.URL)
	wantAPIError(t, err, 409, fault.CodeCodeRevoked)
}

// 一企一码: the two-factor check against the registry, one code per
// enterprise with its addresses grouped, verification by URL and number.
func TestEnterpriseCodes(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	const uscc = "91350100M000100Y43"
	h.must(admin, "POST", "/console/enterprise-registry", map[string]any{"uscc": uscc, "name": "某某餐饮有限公司"})
	if a := h.call(admin, "POST", "/console/enterprise-registry", map[string]any{"uscc": "91350100M000100Y44", "name": "x"}); a.Status != 400 {
		t.Fatalf("bad check character accepted: %d", a.Status)
	}
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "一企一码", "form": "static", "family": "enterprise"}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	app := h.app(admin, map[string]any{"name": "市场监管"})
	h.must(admin, "PUT", "/console/apps/"+app.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	c := signedClient(t, h, app)
	ctx := context.Background()
	type ent struct {
		ID        string   `json:"enterpriseId"`
		URL       string   `json:"url"`
		Number    int64    `json:"number"`
		Addresses []string `json:"addresses"`
		Name      string   `json:"name"`
	}
	apply := func(name, code, addr string) (ent, error) {
		var e ent
		err := c.Call(ctx, "/openapi/v1/enterprise-codes", map[string]any{"codeDefId": rule.ID, "name": name, "uscc": code, "address": addr}, &e)
		return e, err
	}
	_, err := apply("另一家公司", uscc, "")
	wantAPIError(t, err, 400, fault.CodeInvalidParameter)
	_, err = apply("某某餐饮有限公司", "91350100M000100Y44", "")
	wantAPIError(t, err, 400, fault.CodeInvalidParameter)
	first, err := apply("某某餐饮有限公司", uscc, "徐汇区漕溪北路1号")
	if err != nil {
		t.Fatal(err)
	}
	second, err := apply("某某餐饮有限公司", strings.ToLower(uscc), "静安区南京西路2号")
	if err != nil || second.ID != first.ID || second.URL != first.URL || len(second.Addresses) != 2 {
		t.Fatalf("second application: %+v %v", second, err)
	}
	for _, code := range []string{first.URL, strconv.FormatInt(first.Number, 10)} {
		var got ent
		if err := c.Call(ctx, "/openapi/v1/enterprise-codes/verify", map[string]any{"code": code}, &got); err != nil || got.ID != first.ID || got.Name != "某某餐饮有限公司" {
			t.Fatalf("verify %s: %+v %v", code, got, err)
		}
	}
	if err := c.Call(ctx, "/openapi/v1/enterprise-codes/"+first.ID+"/status", map[string]any{"enabled": false}, nil); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, c.Call(ctx, "/openapi/v1/enterprise-codes/verify", map[string]any{"code": first.URL}, nil), 409, fault.CodeCodeNotActive)

	// Batch import: good rows applied, bad rows reported by row number.
	h.must(admin, "POST", "/console/enterprise-registry", map[string]any{"uscc": "91310000MA1FL8L971", "name": "上海某科技有限公司"})
	x := excelize.NewFile()
	for i, row := range [][]any{
		{"企业名称", "统一社会信用代码", "地址"},
		{"上海某科技有限公司", "91310000MA1FL8L971", "徐汇区虹桥路100号"},
		{"上海某科技有限公司", "91310000MA1FL8L971", "闵行区莘庄路8号"},
		{"错误名称有限公司", "91310000MA1FL8L971", "x"},
		{"坏代码公司", "91310000MA1FL8L97B", "y"},
	} {
		x.SetSheetRow("Sheet1", "A"+strconv.Itoa(i+1), &row)
	}
	var buf bytes.Buffer
	x.Write(&buf)
	var res struct {
		Imported, Failed int
		Errors           []struct {
			Row  int    `json:"row"`
			Code string `json:"code"`
		}
	}
	if err := c.Call(ctx, "/openapi/v1/enterprise-codes/import", map[string]any{"codeDefId": rule.ID,
		"file": base64.StdEncoding.EncodeToString(buf.Bytes())}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.Failed != 2 || res.Errors[0].Row != 4 || res.Errors[1].Row != 5 {
		t.Fatalf("import: %+v", res)
	}
	var n int
	h.srv.Pool().QueryRow(ctx, "SELECT jsonb_array_length(addresses) FROM enterprises WHERE uscc = '91310000MA1FL8L971'").Scan(&n)
	if n != 2 {
		t.Fatalf("imported enterprise has %d addresses", n)
	}
}

// 码间关系: parents and children of object codes, cycles and second parents
// refused, trees, history, multi-level unbind, an event per change.
func TestCodeRelations(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "楼宇一物一码", "form": "static", "family": "object"}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	app := h.app(admin, map[string]any{"name": "楼宇管理"})
	h.must(admin, "PUT", "/console/apps/"+app.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	c := signedClient(t, h, app)
	ctx := context.Background()
	var batch struct {
		BatchID string `json:"batchId"`
	}
	if err := c.Call(ctx, "/openapi/v1/object-codes/batches", map[string]any{"codeDefId": rule.ID, "count": 5}, &batch); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			Number int64 `json:"number"`
		} `json:"items"`
	}
	_, raw, _ := c.Do(ctx, "GET", "/openapi/v1/object-codes/batches/"+batch.BatchID+"/codes", "", nil)
	decodeData(raw, &list)
	n := func(i int) int64 { return list.Items[i].Number }
	bind := func(parent int64, children ...int64) error {
		return c.Call(ctx, "/openapi/v1/code-relations", map[string]any{"parent": parent, "children": children}, nil)
	}
	if err := bind(n(0), n(1), n(2)); err != nil {
		t.Fatal(err)
	}
	if err := bind(n(1), n(3)); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, bind(n(3), n(0)), 409, fault.CodeFailedOperation)         // cycle
	wantAPIError(t, bind(n(1), n(2)), 409, fault.CodeFailedOperation)         // second parent
	wantAPIError(t, bind(n(4), n(4)), 409, fault.CodeFailedOperation)         // itself
	wantAPIError(t, bind(n(4), 100000000+1), 404, fault.CodeResourceNotFound) // no such code

	var tree struct {
		Items []struct {
			Number, Parent int64
			Depth          int
		} `json:"items"`
	}
	_, raw, _ = c.Do(ctx, "GET", "/openapi/v1/code-relations/"+strconv.FormatInt(n(0), 10)+"/tree", "", nil)
	decodeData(raw, &tree)
	if len(tree.Items) != 4 || tree.Items[3].Number != n(3) || tree.Items[3].Depth != 2 || tree.Items[3].Parent != n(1) {
		t.Fatalf("tree %+v", tree.Items)
	}
	var parent struct{ Parent int64 }
	_, raw, _ = c.Do(ctx, "GET", "/openapi/v1/code-relations/"+strconv.FormatInt(n(3), 10)+"/parent", "", nil)
	decodeData(raw, &parent)
	if parent.Parent != n(1) {
		t.Fatalf("parent %d", parent.Parent)
	}
	var cnt struct{ Count int }
	if err := c.Call(ctx, "/openapi/v1/code-relations/unbind", map[string]any{"child": n(1), "cascade": true}, &cnt); err != nil || cnt.Count != 2 {
		t.Fatalf("cascade unbind: %+v %v", cnt, err)
	}
	_, raw, _ = c.Do(ctx, "GET", "/openapi/v1/code-relations/"+strconv.FormatInt(n(0), 10)+"/tree", "", nil)
	decodeData(raw, &tree)
	if len(tree.Items) != 2 {
		t.Fatalf("tree after unbind %+v", tree.Items)
	}
	var hist struct {
		Items []struct{ Action string } `json:"items"`
	}
	_, raw, _ = c.Do(ctx, "GET", "/openapi/v1/code-relations/"+strconv.FormatInt(n(3), 10)+"/history", "", nil)
	decodeData(raw, &hist)
	if len(hist.Items) != 2 || hist.Items[0].Action != "unbind" {
		t.Fatalf("history %+v", hist.Items)
	}
	resp, csvBody, _ := c.Do(ctx, "GET", "/openapi/v1/code-relations/"+strconv.FormatInt(n(0), 10)+"/export", "", nil)
	if resp.StatusCode != 200 || strings.Count(string(csvBody), "\n") != 3 {
		t.Fatalf("export: %d %q", resp.StatusCode, csvBody)
	}
	var events int
	h.srv.Pool().QueryRow(ctx, "SELECT count(*) FROM usage_events WHERE type = 'relation'").Scan(&events)
	if events != 5 {
		t.Fatalf("%d relation events for 3 binds and 2 unbinds", events)
	}
}
