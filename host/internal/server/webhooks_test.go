package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/apisign"
)

type pushed struct {
	ID         int64          `json:"id"`
	Event      string         `json:"event"`
	PlatformID string         `json:"platformId"`
	Data       map[string]any `json:"data"`
	delivery   string
}

// receiver is an app's push endpoint: it checks every push's signature
// with the app's secret and answers the statuses it is told to, in turn.
type receiver struct {
	mu       sync.Mutex
	secret   []byte
	statuses []int
	got      []pushed
	forged   int
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if err := apisign.VerifyWebhook(rv.secret, r, body, time.Now(), 5*time.Minute); err != nil {
		rv.forged++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	status := http.StatusOK
	if len(rv.statuses) > 0 {
		status, rv.statuses = rv.statuses[0], rv.statuses[1:]
	}
	if status == http.StatusOK {
		var p pushed
		_ = json.Unmarshal(body, &p)
		p.delivery = r.Header.Get(apisign.HeaderDelivery)
		rv.got = append(rv.got, p)
	}
	w.WriteHeader(status)
}

func (rv *receiver) received() []pushed {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]pushed(nil), rv.got...)
}

// TestWebhooks: 推送激活二维码接口 — an app subscribed to its platform's
// object codes gets each activation and cancellation pushed, signed with
// its secret, with the code's URL and the component's attributes; a
// receiver that fails is retried with backoff until it answers; an
// activation that was refused pushes nothing; subscriptions are checked and
// scoped, and removing one drops what is pending.
func TestWebhooks(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now().Truncate(time.Second)}
	h := newHost(t, hostOpts{clock: clock.Now})
	admin := h.admin()
	var typ, rule struct {
		ID string `json:"id"`
	}
	h.must(admin, "POST", "/console/object-types", map[string]any{"name": "窨井盖", "management": "local",
		"requiredFields": []map[string]any{{"name": "address", "required": true}}}).decode(t, &typ)
	h.must(admin, "POST", "/console/rules", map[string]any{"name": "井盖码", "form": "static", "family": "object"}).decode(t, &rule)
	h.must(admin, "POST", "/console/rules/"+rule.ID+"/publish", nil)
	app := h.app(admin, map[string]any{"name": "水务集团"})
	h.must(admin, "PUT", "/console/apps/"+app.AppID+"/rules", map[string]any{"ruleIds": []string{rule.ID}})
	secret, _ := hex.DecodeString(app.AppSecret)
	rv := &receiver{secret: secret, statuses: []int{http.StatusInternalServerError}}
	srv := httptest.NewServer(rv)
	defer srv.Close()

	// Subscriptions are checked.
	for _, body := range []map[string]any{
		{"url": "ftp://example.cn/hook", "events": []string{"object.activated"}},
		{"url": "https://user:pw@example.cn/hook", "events": []string{"object.activated"}},
		{"url": "/relative", "events": []string{"object.activated"}},
		{"url": srv.URL + "/hook", "events": []string{"object.exploded"}},
		{"url": srv.URL + "/hook", "events": []string{}},
	} {
		if a := h.call(admin, "PUT", "/console/apps/"+app.AppID+"/webhook", body); a.Status != 400 {
			t.Fatalf("subscription %v: %d %s", body, a.Status, a.Msg)
		}
	}
	if a := h.call(admin, "GET", "/console/apps/"+app.AppID+"/webhook", nil); a.Status != 404 {
		t.Fatalf("no subscription yet: %d", a.Status)
	}
	h.must(admin, "PUT", "/console/apps/"+app.AppID+"/webhook", map[string]any{"url": srv.URL + "/hook?src=citycode",
		"events": []string{"object.activated", "object.cancelled", "ping"}})
	// Another platform's operator does not see the app.
	_, subAdmin := h.subPlatform(admin, "浦东新区平台", "310115", "pd_admin")
	if a := h.call(subAdmin, "GET", "/console/apps/"+app.AppID+"/webhook", nil); a.Status != 404 {
		t.Fatalf("another platform's operator: %d", a.Status)
	}
	if a := h.call(subAdmin, "PUT", "/console/apps/"+app.AppID+"/webhook", map[string]any{"url": "https://evil.example/x", "events": []string{"ping"}}); a.Status != 404 {
		t.Fatalf("another platform's operator subscribing: %d", a.Status)
	}

	c := signedClient(t, h, app)
	ctx := context.Background()
	var batch struct {
		BatchID string `json:"batchId"`
	}
	if err := c.Call(ctx, "/openapi/v1/object-codes/batches", map[string]any{"codeDefId": rule.ID, "typeId": typ.ID, "regionCode": "310104", "count": 2}, &batch); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			Token  string `json:"token"`
			Number int64  `json:"number"`
		} `json:"items"`
	}
	if _, raw, err := c.Do(ctx, "GET", "/openapi/v1/object-codes/batches/"+batch.BatchID+"/codes", "limit=2", nil); err != nil || decodeData(raw, &list) != nil {
		t.Fatalf("batch codes: %v", err)
	}
	code := list.Items[0].Token

	// A refused activation (a required attribute missing) pushes nothing.
	err := c.Call(ctx, "/openapi/v1/object-codes/"+code+"/activate", map[string]any{"attributes": map[string]any{}}, nil)
	wantAPIError(t, err, http.StatusBadRequest, "MissingParameter")
	// Pre-issued empty codes push nothing either.
	if err := c.Call(ctx, "/openapi/v1/object-codes/"+code+"/activate", map[string]any{
		"attributes": map[string]any{"address": "漕溪北路 100 号"}, "ownerUnit": "徐汇区排水所"}, nil); err != nil {
		t.Fatal(err)
	}

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	type row struct {
		Status     string `json:"status"`
		Attempts   int    `json:"attempts"`
		LastStatus *int   `json:"lastStatus"`
		Event      string `json:"event"`
	}
	deliveries := func() []row {
		var p struct {
			Items []row `json:"items"`
		}
		h.must(admin, "GET", "/console/apps/"+app.AppID+"/webhook/deliveries", nil).decode(t, &p)
		return p.Items
	}
	// The first attempt meets a 500: the delivery waits for its retry.
	waitFor("the first attempt", func() bool {
		d := deliveries()
		return len(d) == 1 && d[0].Attempts == 1 && d[0].LastStatus != nil && *d[0].LastStatus == 500
	})
	if d := deliveries(); d[0].Status != "pending" || len(rv.received()) != 0 {
		t.Fatalf("after a failed attempt: %+v", d)
	}
	// Ten seconds later it is retried, and delivered.
	clock.Add(11 * time.Second)
	waitFor("the retry", func() bool { return len(rv.received()) == 1 })
	p := rv.received()[0]
	if p.Event != "object.activated" || p.PlatformID != app.PlatformID || p.Data["token"] != code ||
		!strings.HasSuffix(fmt.Sprint(p.Data["url"]), "/c/"+code) || p.Data["ownerUnit"] != "徐汇区排水所" || p.delivery == "" {
		t.Fatalf("pushed: %+v", p)
	}
	if attrs, _ := p.Data["attributes"].(map[string]any); attrs["address"] != "漕溪北路 100 号" {
		t.Fatalf("pushed attributes: %+v", p.Data)
	}
	waitFor("delivered", func() bool { d := deliveries(); return d[0].Status == "delivered" && d[0].Attempts == 2 })

	// Cancelling pushes too; a ping checks the receiver.
	if _, _, err := c.Do(ctx, "POST", "/openapi/v1/object-codes/"+code+"/cancel", "", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	h.must(admin, "POST", "/console/apps/"+app.AppID+"/webhook/ping", nil)
	waitFor("the cancellation and the ping", func() bool { return len(rv.received()) == 3 })
	events := map[string]bool{}
	for _, p := range rv.received()[1:] {
		events[p.Event] = true
	}
	if !events["object.cancelled"] || !events["ping"] || rv.forged != 0 {
		t.Fatalf("pushed: %+v (forged %d)", rv.received(), rv.forged)
	}

	// Unsubscribed: what is pending is dropped, nothing more is pushed.
	rv.mu.Lock()
	rv.statuses = []int{503}
	rv.mu.Unlock()
	if err := c.Call(ctx, "/openapi/v1/object-codes/"+list.Items[1].Token+"/activate", map[string]any{
		"attributes": map[string]any{"address": "漕溪北路 102 号"}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor("the failed attempt", func() bool { d := deliveries(); return len(d) == 4 && d[0].Attempts == 1 })
	h.must(admin, "DELETE", "/console/apps/"+app.AppID+"/webhook", nil)
	if d := deliveries(); d[0].Status != "dropped" {
		t.Fatalf("pending after unsubscribing: %+v", d[0])
	}
	var audited int
	h.srv.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_entries WHERE action IN ('webhook.subscribe', 'webhook.unsubscribe') AND target = $1`,
		"app:"+app.AppID).Scan(&audited)
	if audited != 2 {
		t.Fatalf("audited: %d", audited)
	}
}
