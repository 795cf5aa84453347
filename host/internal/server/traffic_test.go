package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/client"
)

// TestTrafficLimitsAcrossNodes: 场景限流管控 on two host processes sharing
// PostgreSQL and Redis — a per-second limit and a total cap hold across
// both (exactly: every call is checked and counted at once in Redis), a
// refused call answers 429 with Retry-After, the tripped route stays
// suspended until an administrator restores it, and limits are checked
// and kept to the main platform's administrators.
func TestTrafficLimitsAcrossNodes(t *testing.T) {
	t.Parallel()
	// Both nodes read one clock that moves only when the test says: the
	// per-second window is then the test's, not the machine's.
	clock := &fakeClock{now: time.Now().Truncate(time.Second)}
	h1 := newHost(t, hostOpts{redis: true, clock: clock.Now})
	h2 := newHost(t, hostOpts{dbURL: h1.dbURL, redis: true, keyFile: h1.keyFile, clock: clock.Now})
	admin := h1.admin()
	app := h1.app(admin, map[string]any{"name": "随申办"})
	secret, _ := hex.DecodeString(app.AppSecret)
	clients := []*client.Client{client.New(h1.URL, app.AppID, secret), client.New(h2.URL, app.AppID, secret)}
	const route = "POST /api/getAppInfo"

	// Limits are checked.
	for _, body := range []map[string]any{
		{"route": "POST /api/noSuchThing", "perSecond": 5},
		{"route": "GET /console/apps", "perSecond": 5},
		{"route": route},
		{"route": route, "perSecond": 10, "perMinute": 5},
		{"route": route, "perSecond": -1},
		{"route": route, "perSecond": 5, "appId": "cc0000000000000000"},
	} {
		if a := h1.call(admin, "POST", "/console/traffic-limits", body); a.Status/100 != 4 || a.Status == 403 {
			t.Fatalf("limit %v: %d %s", body, a.Status, a.Msg)
		}
	}
	_, subAdmin := h1.subPlatform(admin, "浦东新区平台", "310115", "pd_admin")
	if a := h1.call(subAdmin, "POST", "/console/traffic-limits", map[string]any{"route": route, "perSecond": 1}); a.Status != 403 {
		t.Fatalf("a sub-platform administrator set a limit: %d", a.Status)
	}

	var limit struct {
		ID int64 `json:"id"`
	}
	h1.must(admin, "POST", "/console/traffic-limits", map[string]any{"route": route, "perSecond": 20, "totalCap": 50, "note": "演示"}).decode(t, &limit)
	if a := h1.call(admin, "POST", "/console/traffic-limits", map[string]any{"route": route, "perSecond": 1}); a.Status != 409 {
		t.Fatalf("a second limit on the route: %d", a.Status)
	}
	// Both nodes read limits again once two seconds (of their clock) passed.
	clock.Add(3 * time.Second)

	// burst makes n calls spread over both nodes at once and counts the
	// admitted ones and the refusals by code.
	burst := func(n int) (ok int64, codes map[string]int, retryAfter string) {
		var mu sync.Mutex
		codes = map[string]int{}
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resp, raw, err := clients[i%2].Do(context.Background(), http.MethodPost, "/api/getAppInfo", "", []byte("{}"))
				if err != nil {
					t.Error(err)
					return
				}
				if resp.StatusCode == http.StatusOK {
					admitted.Add(1)
					return
				}
				var env struct {
					Response struct{ Error struct{ Code string } }
				}
				_ = json.Unmarshal(raw, &env)
				mu.Lock()
				codes[strconv.Itoa(resp.StatusCode)+" "+env.Response.Error.Code]++
				retryAfter = resp.Header.Get("Retry-After")
				mu.Unlock()
			})
		}
		wg.Wait()
		return admitted.Load(), codes, retryAfter
	}

	// One second: 60 calls over two nodes, 20 admitted.
	ok, codes, after := burst(60)
	if ok != 20 || codes["429 LimitExceeded.RateLimit"] != 40 || after != "1" {
		t.Fatalf("first second: %d admitted, %v, Retry-After %q", ok, codes, after)
	}
	// The next second: 20 more; the total is then 40 of 50.
	clock.Add(time.Second)
	if ok, codes, _ = burst(30); ok != 20 {
		t.Fatalf("second second: %d admitted, %v", ok, codes)
	}
	// The third: 10 reach the total cap of 50, and the route is suspended.
	clock.Add(time.Second)
	if ok, codes, _ = burst(30); ok != 10 || codes["429 LimitExceeded.Quota"] != 20 {
		t.Fatalf("third second: %d admitted, %v", ok, codes)
	}
	// It stays suspended, on both nodes, seconds later.
	clock.Add(5 * time.Second)
	if ok, codes, _ = burst(4); ok != 0 || codes["429 LimitExceeded.Quota"] != 4 {
		t.Fatalf("suspended: %d admitted, %v", ok, codes)
	}
	var listed struct {
		Items []struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
			Used  int64  `json:"used"`
		} `json:"items"`
	}
	h1.must(admin, "GET", "/console/traffic-limits", nil).decode(t, &listed)
	if len(listed.Items) != 1 || listed.Items[0].State != "tripped" || listed.Items[0].Used != 50 {
		t.Fatalf("limits: %+v", listed)
	}

	// Restored by an administrator: the count starts again.
	h2.must(admin, "POST", "/console/traffic-limits/"+strconv.FormatInt(limit.ID, 10)+"/restore", nil)
	clock.Add(3 * time.Second)
	if ok, codes, _ = burst(10); ok != 10 {
		t.Fatalf("after restoring: %d admitted, %v", ok, codes)
	}
	// Deleted: no limit at all.
	h1.must(admin, "DELETE", "/console/traffic-limits/"+strconv.FormatInt(limit.ID, 10), nil)
	clock.Add(3 * time.Second)
	if ok, codes, _ = burst(40); ok != 40 {
		t.Fatalf("without a limit: %d admitted, %v", ok, codes)
	}
}
