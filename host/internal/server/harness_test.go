package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/config"
	"github.com/opencitycode/citycode/host/internal/server"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// captchaAnswer is what every captcha of the test hosts shows: the only
// randomness the end-to-end tests fake.
const captchaAnswer = "24680"

// host is one running platform node over real PostgreSQL (and Redis when
// asked), served by httptest on a real socket.
type host struct {
	t       testing.TB
	srv     *server.Server
	http    *httptest.Server
	URL     string
	dbURL   string
	keyFile string
	adminPW string // the admin's password after the first change
}

type hostOpts struct {
	dbURL    string // reuse another host's database (a second node)
	redis    bool
	keyFile  string
	policies string
	clock    func() time.Time
	risk     bool // verifies go through risk control
}

// wasmCache is the compilation cache every test host shares: compiling a
// WASM plugin under the race detector takes many seconds, its result is
// keyed by the module's hash. buildPlugins warms it.
var wasmCache = filepath.Join(os.TempDir(), "citycode-server-test-wazero")

func newHost(t testing.TB, o hostOpts) *host {
	t.Helper()
	if o.dbURL == "" {
		_, o.dbURL = storetest.NewWithURL(t)
	}
	cfg := config.Default()
	cfg.Database.URL = o.dbURL
	cfg.Database.MaxConns = 8
	if o.keyFile == "" {
		o.keyFile = filepath.Join(t.TempDir(), "master.key")
	}
	cfg.Security.MasterKeyFile = o.keyFile
	cfg.Policy.Dir = o.policies
	cfg.Auth.MaxFailures = 5
	cfg.Plugins.Dir = filepath.Join(t.TempDir(), "plugins")
	cfg.Plugins.CacheDir = wasmCache
	// Push receivers in tests listen on loopback.
	cfg.Webhooks.AllowInsecure = true
	cfg.Risk.Enabled = o.risk
	// The test client stands for a proxy: X-Forwarded-For names the caller
	// (the blacklist tests come from many addresses).
	cfg.HTTP.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
	cfg.Plugins.Reload = 200 * time.Millisecond
	if o.redis {
		cfg.Redis.URL = os.Getenv("REDIS_URL")
		if cfg.Redis.URL == "" {
			cfg.Redis.URL = os.Getenv("CITYCODE_TEST_REDIS_URL")
		}
		if cfg.Redis.URL == "" {
			if os.Getenv("CITYCODE_ALLOW_NO_REDIS") == "1" {
				t.Skip("no Redis configured")
			}
			t.Fatal("REDIS_URL is not set: run through `make test`")
		}
	}
	var logw io.Writer = io.Discard
	if os.Getenv("CITYCODE_TEST_LOG") == "1" {
		logw = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := server.New(ctx, cfg, log, server.Options{CaptchaAnswers: func() string { return captchaAnswer }, Clock: o.clock,
		WebhookInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close(context.Background())
	})
	h := &host{t: t, srv: srv, http: hs, URL: hs.URL, dbURL: o.dbURL, keyFile: o.keyFile}
	return h
}

// answer is a decoded envelope.
type answer struct {
	Status int
	Header http.Header
	Data   json.RawMessage
	Code   string
	Msg    string
	Raw    []byte
}

func (a answer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Data, v); err != nil {
		t.Fatalf("decode %s: %v", a.Data, err)
	}
}

// call sends a console request with an optional bearer token.
func (h *host) call(token, method, path string, body any) answer {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, h.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	var env struct {
		Response struct {
			Data  json.RawMessage
			Error *struct{ Code, Message string }
		}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &env); err != nil {
			h.t.Fatalf("%s %s: answer is not an envelope: %s", method, path, raw)
		}
		a.Data = env.Response.Data
		if env.Response.Error != nil {
			a.Code, a.Msg = env.Response.Error.Code, env.Response.Error.Message
		}
	}
	return a
}

// must is call that fails the test unless the answer is 200.
func (h *host) must(token, method, path string, body any) answer {
	h.t.Helper()
	a := h.call(token, method, path, body)
	if a.Status != http.StatusOK {
		h.t.Fatalf("%s %s: %d %s: %s", method, path, a.Status, a.Code, a.Msg)
	}
	return a
}

// login logs in through the captcha and returns the session token.
func (h *host) login(account, password string) (token string, mustChange bool) {
	h.t.Helper()
	var c struct {
		CaptchaID string `json:"captchaId"`
	}
	h.must("", "GET", "/console/captcha", nil).decode(h.t, &c)
	var res struct {
		Token              string `json:"token"`
		MustChangePassword bool   `json:"mustChangePassword"`
	}
	h.must("", "POST", "/console/login", map[string]string{
		"account": account, "password": password, "captchaId": c.CaptchaID, "captchaCode": captchaAnswer,
	}).decode(h.t, &res)
	return res.Token, res.MustChangePassword
}

// firstLogin logs in with a one-time password, sets a new one, and returns
// a session usable for everything.
func (h *host) firstLogin(account, oneTime string) string {
	h.t.Helper()
	tok, must := h.login(account, oneTime)
	if !must {
		h.t.Fatalf("%s: a one-time password did not require a change", account)
	}
	newPW := "Changed" + strings.ReplaceAll(account, "_", "") + "2026"
	h.must(tok, "PUT", "/console/me/password", map[string]string{"oldPassword": oneTime, "newPassword": newPW})
	tok, _ = h.login(account, newPW)
	return tok
}

// admin returns a session of the initial administrator, changing its
// one-time password on first use.
func (h *host) admin() string {
	h.t.Helper()
	if h.adminPW == "" {
		if !h.srv.FirstStart {
			h.t.Fatal("the initial administrator was not created by this host")
		}
		tok := h.firstLogin("admin", h.srv.InitialPassword)
		h.adminPW = "Changedadmin2026"
		return tok
	}
	tok, _ := h.login("admin", h.adminPW)
	return tok
}

// subPlatform creates a sub-platform with its administrator and returns the
// platform id and a ready session of the administrator.
func (h *host) subPlatform(admin, name, region, account string) (string, string) {
	h.t.Helper()
	var p struct {
		ID              string `json:"id"`
		OneTimePassword string `json:"oneTimePassword"`
	}
	h.must(admin, "POST", "/console/platforms", map[string]string{
		"name": name, "regionCode": region, "serviceUrl": "https://" + account + ".example.cn", "adminAccount": account,
	}).decode(h.t, &p)
	return p.ID, h.firstLogin(account, p.OneTimePassword)
}

type createdApp struct {
	AppID      string `json:"appId"`
	PlatformID string `json:"platformId"`
	RegionCode string `json:"regionCode"`
	AppSecret  string `json:"appSecret"`
	DataKey    string `json:"dataKey"`
}

func (h *host) app(token string, body map[string]any) createdApp {
	h.t.Helper()
	if _, ok := body["businessUnit"]; !ok {
		body["businessUnit"] = "市大数据中心"
	}
	if _, ok := body["developer"]; !ok {
		body["developer"] = map[string]string{"name": "张工", "mobile": "13800138000"}
	}
	var a createdApp
	h.must(token, "POST", "/console/apps", body).decode(h.t, &a)
	return a
}

type page struct {
	Total int64             `json:"total"`
	Items []json.RawMessage `json:"items"`
}

func (h *host) list(token, path string) (page, []map[string]any) {
	h.t.Helper()
	var p page
	h.must(token, "GET", path, nil).decode(h.t, &p)
	out := make([]map[string]any, len(p.Items))
	for i, it := range p.Items {
		json.Unmarshal(it, &out[i])
	}
	return p, out
}

func ids(items []map[string]any, key string) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprint(it[key]))
	}
	return out
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// decodeData reads the Data of an envelope.
func decodeData(raw []byte, v any) error {
	var env struct {
		Response struct {
			Data json.RawMessage
		}
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return err
	}
	return json.Unmarshal(env.Response.Data, v)
}
