package server_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/opencitycode/citycode/host/internal/fault"
)

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
