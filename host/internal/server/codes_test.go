package server_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/client"
	"github.com/opencitycode/citycode/sdk/codeformat"
	"github.com/opencitycode/citycode/sdk/holder"
	"github.com/opencitycode/citycode/sdk/verify"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func userExtOf(name, certNo, mobile string) string {
	b, _ := json.Marshal(map[string]string{"name": name, "certType": "RESIDENT_ID", "certNo": certNo, "mobile": mobile})
	return base64.StdEncoding.EncodeToString(b)
}

func signedClient(t testing.TB, h *host, app createdApp) *client.Client {
	t.Helper()
	secret, err := hex.DecodeString(app.AppSecret)
	if err != nil {
		t.Fatal(err)
	}
	return client.New(h.URL, app.AppID, secret)
}

func wantAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	ae := apiErr(t, err)
	if ae.HTTPStatus != status || ae.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", ae.HTTPStatus, ae.Code, ae.Message, status, code)
	}
}

// Journey 2: an integrator opens, shows and decodes personal codes; the
// hospital sees the identity in full only where the citizen authorized it;
// a scanner verifies offline with the published keys; tampered, revoked,
// expired and disabled-version codes each get their own answer; every
// successful decode has its event.
func TestPersonalCodeJourney(t *testing.T) {
	clock := &fakeClock{now: time.Now().Truncate(time.Second)}
	h := newHost(t, hostOpts{clock: clock.Now})
	admin := h.admin()
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{
		"name": "随申码·身份码", "form": "dynamic", "family": "identity",
		"function": map[string]any{"validitySeconds": 60, "refreshSeconds": 30, "offlineVerifiable": true},
	}).decode(t, &rule)
	// Unpublished rules issue nothing.
	phone := h.app(admin, map[string]any{"name": "随申办"})
	hospital := h.app(admin, map[string]any{"name": "瑞金医院闸机"})
	h.must(admin, "PUT", "/console/apps/"+phone.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	pc, hc := signedClient(t, h, phone), signedClient(t, h, hospital)
	ctx := context.Background()
	ext := userExtOf("张三丰", "11010519491231002X", "13800138000")
	var opened struct {
		UserID string `json:"userId"`
	}
	err := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID, "userExt": ext}, &opened)
	wantAPIError(t, err, 409, fault.CodeCodeNotActive)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)

	if err := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID, "userExt": ext}, &opened); err != nil {
		t.Fatal(err)
	}
	var again struct {
		UserID string `json:"userId"`
	}
	pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID, "userExt": ext}, &again)
	if opened.UserID == "" || again.UserID != opened.UserID {
		t.Fatalf("userId not stable: %q %q", opened.UserID, again.UserID)
	}
	// An app not bound to the rule cannot use it.
	wantAPIError(t, hc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": hospital.AppID, "codeDefId": rule.ID, "userExt": ext}, nil), 403, fault.CodeUnauthorizedOperation)

	type shownCode struct {
		CodeContent string `json:"codeContent"`
		CityCodeID  string `json:"cityCodeId"`
		ExpireTime  int64  `json:"expireTime"`
	}
	show := func() shownCode {
		t.Helper()
		var s shownCode
		// userId as a number-like string and codeDefId as the manual types it.
		if err := pc.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID, "userId": opened.UserID}, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	type identity struct {
		CityCodeAppID string `json:"cityCodeAppId"`
		CodeDefID     string `json:"codeDefId"`
		UserID        string `json:"userId"`
		Expire        bool   `json:"expire"`
		Name          string `json:"name"`
		CertNo        string `json:"certNo"`
		CertType      string `json:"certType"`
		Desensitized  bool   `json:"desensitized"`
	}
	decode := func(code, org string) (identity, error) {
		var out identity
		err := hc.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"acceptOrgId": org, "codeContent": code}, &out)
		return out, err
	}
	successes := 0

	code := show()
	if code.ExpireTime != clock.Now().Add(60*time.Second).Unix() {
		t.Fatalf("expireTime %d", code.ExpireTime)
	}
	got, err := decode(code.CodeContent, "RUIJIN-HOSP")
	successes++
	if err != nil || got.Name != "张*丰" || got.CertNo != "110***********002X" || !got.Desensitized || got.UserID != opened.UserID || got.CityCodeAppID != phone.AppID || got.CertType != "RESIDENT_ID" {
		t.Fatalf("unauthorized scene: %+v %v", got, err)
	}
	if err := pc.Call(ctx, "/api/authorizeScene", map[string]any{"cityCodeAppId": phone.AppID, "userId": opened.UserID, "acceptOrgId": "RUIJIN-HOSP"}, nil); err != nil {
		t.Fatal(err)
	}
	got, err = decode(code.CodeContent, "RUIJIN-HOSP")
	successes++
	if err != nil || got.Name != "张三丰" || got.CertNo != "11010519491231002X" || got.Desensitized {
		t.Fatalf("authorized scene: %+v %v", got, err)
	}
	if got, _ = decode(code.CodeContent, "OTHER-HOSP"); got.Name != "张*丰" {
		successes++
		t.Fatalf("another scene sees the full identity: %+v", got)
	}
	successes++

	t.Run("offline with the published keys", func(t *testing.T) {
		a := h.must("", "GET", "/api/keys", nil)
		if a.Header.Get("Cache-Control") == "" {
			t.Fatal("key set not cacheable")
		}
		ks, err := verify.NewKeySet(a.Raw)
		if err != nil {
			t.Fatal(err)
		}
		res, err := ks.Verify(code.CodeContent, clock.Now())
		if err != nil || res.Expired || res.RuleID != rule.ID || !res.Offline {
			t.Fatalf("offline verify: %+v %v", res, err)
		}
		if res, _ := ks.Verify(code.CodeContent, clock.Now().Add(61*time.Second)); res == nil || !res.Expired {
			t.Fatal("offline verify does not see expiry")
		}
	})

	t.Run("tampered", func(t *testing.T) {
		c := []byte(code.CodeContent)
		i := len(c) - 20
		if c[i] == 'A' {
			c[i] = 'B'
		} else {
			c[i] = 'A'
		}
		_, err := decode(string(c), "RUIJIN-HOSP")
		wantAPIError(t, err, 400, fault.CodeCodeTampered)
		_, err = decode("HELLO", "RUIJIN-HOSP")
		wantAPIError(t, err, 400, fault.CodeCodeTampered)
	})

	t.Run("expired", func(t *testing.T) {
		clock.Add(61 * time.Second)
		got, err := decode(code.CodeContent, "RUIJIN-HOSP")
		successes++
		if err != nil || !got.Expire || got.Name != "" || got.UserID != "" {
			t.Fatalf("expired code: %+v %v", got, err)
		}
	})

	t.Run("revoked", func(t *testing.T) {
		old := show()
		if err := pc.Call(ctx, "/api/revokePersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID, "userId": opened.UserID}, nil); err != nil {
			t.Fatal(err)
		}
		_, err := decode(old.CodeContent, "RUIJIN-HOSP")
		wantAPIError(t, err, 409, fault.CodeCodeRevoked)
		fresh := show()
		if _, err := decode(fresh.CodeContent, "RUIJIN-HOSP"); err != nil {
			t.Fatalf("code shown after the revocation: %v", err)
		}
		successes++
	})

	t.Run("disabled rule version", func(t *testing.T) {
		c := show()
		h.must(admin, "POST", "/console/rules/"+rule.ID+"/versions/1/disable", nil)
		_, err := decode(c.CodeContent, "RUIJIN-HOSP")
		wantAPIError(t, err, 409, fault.CodeCodeNotActive)
	})

	t.Run("the console finds the holder and their records", func(t *testing.T) {
		var found struct {
			Items []struct {
				PersonID int64 `json:"personId"`
				Identity struct {
					Name string `json:"name"`
				} `json:"identity"`
			} `json:"items"`
		}
		h.must(admin, "GET", "/console/persons?certNo=11010519491231002x", nil).decode(t, &found)
		if len(found.Items) != 1 || found.Items[0].Identity.Name != "张*丰" {
			t.Fatalf("search: %+v", found)
		}
		pid := strconv.FormatInt(found.Items[0].PersonID, 10)
		var recs struct {
			Total int64 `json:"total"`
		}
		h.must(admin, "GET", "/console/persons/"+pid+"/records?type=show", nil).decode(t, &recs)
		if recs.Total < 4 {
			t.Fatalf("show records: %d", recs.Total)
		}
		var sum struct {
			Last30 map[string]int64 `json:"last30Days"`
		}
		h.must(admin, "GET", "/console/persons/"+pid+"/summary", nil).decode(t, &sum)
		if sum.Last30["generate"] != 2 || sum.Last30["show"] != recs.Total {
			t.Fatalf("summary %+v vs %d shows", sum, recs.Total)
		}
		// Another platform's administrator sees nothing of this holder.
		_, xh := h.subPlatform(admin, "徐汇区子平台", "310104", "xuhui_admin")
		h.must(xh, "GET", "/console/persons?certNo=11010519491231002X", nil).decode(t, &found)
		if len(found.Items) != 0 {
			t.Fatal("another platform found the holder")
		}
		if a := h.call(xh, "GET", "/console/persons/"+pid+"/records", nil); a.Status != 404 {
			t.Fatalf("another platform read the records: %d", a.Status)
		}
	})

	var n int
	if err := h.srv.Pool().QueryRow(ctx, "SELECT count(*) FROM usage_events WHERE type = 'verify' AND result = 'success'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != successes {
		t.Fatalf("%d verify events for %d successful decodes", n, successes)
	}
	var rolled int64
	h.srv.Pool().QueryRow(ctx, "SELECT coalesce(sum(n), 0) FROM usage_rollups WHERE grain = 'day' AND type = 'verify' AND result = 'success'").Scan(&rolled)
	if rolled != int64(n) {
		t.Fatalf("rollup %d vs %d events", rolled, n)
	}
}

// Health codes carry the health data bound to the holder.
func TestHealthCodeCarriesBoundData(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{
		"name": "健康码", "form": "dynamic", "family": "health",
		"function":         map[string]any{"validitySeconds": 120},
		"collectionFields": []map[string]any{{"name": "temperature", "type": "number", "required": true}},
	}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	app := h.app(admin, map[string]any{"name": "健康云"})
	h.must(admin, "PUT", "/console/apps/"+app.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	c := signedClient(t, h, app)
	ctx := context.Background()
	base := map[string]any{"cityCodeAppId": app.AppID, "codeDefId": rule.ID, "userExt": userExtOf("李四", "310104199001011233", "")}
	// The rule's data-collection field is required on every call.
	wantAPIError(t, c.Call(ctx, "/api/openHealthCode", base, nil), 400, fault.CodeMissingParameter)
	base["temperature"] = "36.6"
	wantAPIError(t, c.Call(ctx, "/api/openHealthCode", base, nil), 400, fault.CodeInvalidParameter)
	base["temperature"] = 36.6
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := c.Call(ctx, "/api/openHealthCode", base, &opened); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "/bindData/bindData", map[string]any{"cityCodeAppId": app.AppID, "userId": opened.UserID, "dataType": "health",
		"bindData": map[string]string{"healthStatus": "green", "isVaccinated": "3", "reportDate": "2026-11-20"}}, nil); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		CodeContent       string `json:"codeContent"`
		DesensitizeName   string `json:"desensitizeName"`
		DesensitizeCardID string `json:"desensitizeCardId"`
		HealthStatus      string `json:"healthStatus"`
	}
	if err := c.Call(ctx, "/api/showHealthCode", map[string]any{"cityCodeAppId": app.AppID, "codeDefId": rule.ID, "userId": opened.UserID, "temperature": 36.5}, &shown); err != nil {
		t.Fatal(err)
	}
	if shown.HealthStatus != "green" || shown.DesensitizeName != "李*" || shown.DesensitizeCardID != "310***********1233" {
		t.Fatalf("health show: %+v", shown)
	}
	var dec struct {
		HealthStatus string `json:"healthStatus"`
		ReportDate   string `json:"reportDate"`
	}
	if err := c.Call(ctx, "/health/decodeHealthCode", map[string]any{"acceptOrgId": "METRO-1", "codeContent": shown.CodeContent}, &dec); err != nil {
		t.Fatal(err)
	}
	if dec.HealthStatus != "green" || dec.ReportDate != "2026-11-20" {
		t.Fatalf("health decode: %+v", dec)
	}
	// A health code is not an identity code.
	wantAPIError(t, c.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"acceptOrgId": "METRO-1", "codeContent": shown.CodeContent}, nil), 400, fault.CodeInvalidParameter)
}

// Journey 2, step 4: an offline turnstile uploads its scans at night; a
// retried upload stores nothing twice and forged codes are rejected.
func TestOfflineScanUpload(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "身份码", "form": "dynamic", "family": "identity",
		"function": map[string]any{"validitySeconds": 60, "offlineVerifiable": true}}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	phone := h.app(admin, map[string]any{"name": "随申办"})
	gate := h.app(admin, map[string]any{"name": "地铁闸机"})
	h.must(admin, "PUT", "/console/apps/"+phone.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	pc, gc := signedClient(t, h, phone), signedClient(t, h, gate)
	ctx := context.Background()
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID,
		"userExt": userExtOf("张三丰", "11010519491231002X", "")}, &opened); err != nil {
		t.Fatal(err)
	}
	var records []map[string]string
	for i := range 3 {
		var s struct {
			CodeContent string `json:"codeContent"`
		}
		pc.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID, "userId": opened.UserID}, &s)
		records = append(records, map[string]string{"codeContent": s.CodeContent, "scanTime": time.Now().Add(-time.Duration(i) * time.Minute).Format("20060102150405")})
	}
	records = append(records, map[string]string{"codeContent": "CC:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "scanTime": "20261122080000"})
	var out struct {
		Accepted, Duplicates, Rejected int
	}
	body := map[string]any{"acceptOrgId": "METRO-L1", "terminalNo": "G-07", "records": records}
	if err := gc.Call(ctx, "/api/uploadScanRecords", body, &out); err != nil {
		t.Fatal(err)
	}
	if out.Accepted != 3 || out.Rejected != 1 || out.Duplicates != 0 {
		t.Fatalf("first upload: %+v", out)
	}
	if err := gc.Call(ctx, "/api/uploadScanRecords", body, &out); err != nil {
		t.Fatal(err)
	}
	if out.Accepted != 0 || out.Duplicates != 3 {
		t.Fatalf("retried upload: %+v", out)
	}
	var n int
	h.srv.Pool().QueryRow(ctx, "SELECT count(*) FROM usage_events WHERE type = 'scan_upload'").Scan(&n)
	if n != 3 {
		t.Fatalf("%d scan events for 3 scans", n)
	}
}

// Holder-signed mode: the device makes codes with no server reachable; a
// scanner verifies them offline from the published keys, and the decode API
// verifies them online.
func TestHolderSignedCodes(t *testing.T) {
	h := newHost(t, hostOpts{})
	admin := h.admin()
	var rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "乘车码", "form": "dynamic", "family": "identity",
		"function": map[string]any{"validitySeconds": 60, "offlineVerifiable": true}}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	phone := h.app(admin, map[string]any{"name": "Metro 大都会"})
	gate := h.app(admin, map[string]any{"name": "地铁闸机"})
	h.must(admin, "PUT", "/console/apps/"+phone.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	pc, gc := signedClient(t, h, phone), signedClient(t, h, gate)
	ctx := context.Background()
	var opened struct {
		UserID string `json:"userId"`
	}
	if err := pc.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID,
		"userExt": userExtOf("张三丰", "11010519491231002X", "")}, &opened); err != nil {
		t.Fatal(err)
	}
	priv, pub, err := holder.GenerateDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		HolderCert string `json:"holderCert"`
	}
	if err := pc.Call(ctx, "/api/registerHolderDevice", map[string]any{"cityCodeAppId": phone.AppID, "codeDefId": rule.ID,
		"userId": opened.UserID, "devicePublicKey": pub}, &reg); err != nil {
		t.Fatal(err)
	}
	keys := h.must("", "GET", "/api/keys", nil).Raw

	// From here on, no server: the device and the scanner alone.
	dev, err := holder.New(reg.HolderCert, priv)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := verify.NewKeySet(keys)
	now := time.Now()
	code, err := dev.Code(now)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ks.Verify(code, now.Add(10*time.Second))
	if err != nil || !res.HolderMode || res.Expired || res.RuleID != rule.ID || res.Family != codeformat.FamilyIdentity {
		t.Fatalf("offline holder verify: %+v %v", res, err)
	}
	forged := []byte(code)
	forged[len(forged)-66] ^= 1 // the code time
	if _, err := ks.Verify(string(forged), now); err == nil {
		t.Fatal("an altered holder code verified offline")
	}
	otherPriv, _, _ := holder.GenerateDeviceKey()
	if _, err := holder.New(reg.HolderCert, otherPriv); err == nil {
		t.Fatal("a certificate worked with another device's key")
	}

	// Online, the same code decodes to its holder (base64 in JSON).
	b64, _ := dev.CodeBase64(time.Now())
	var got struct {
		UserID string `json:"userId"`
		Name   string `json:"name"`
	}
	if err := gc.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"acceptOrgId": "METRO-L2", "codeContent": b64}, &got); err != nil {
		t.Fatal(err)
	}
	if got.UserID != opened.UserID || got.Name != "张*丰" {
		t.Fatalf("online holder decode: %+v", got)
	}
	wantAPIError(t, gc.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"acceptOrgId": "METRO-L2",
		"codeContent": base64.StdEncoding.EncodeToString(forged)}, nil), 400, fault.CodeCodeTampered)
	// A device dating its codes far ahead is refused.
	future, _ := dev.CodeBase64(time.Now().Add(time.Hour))
	wantAPIError(t, gc.Call(ctx, "/identity/decodeIdentityCode", map[string]any{"acceptOrgId": "METRO-L2", "codeContent": future}, nil), 400, fault.CodeCodeTampered)
}
