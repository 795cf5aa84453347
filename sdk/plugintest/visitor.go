package plugintest

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/sdk/client"
)

// Visitor is a citizen logged in to the demo app, browsing landing pages
// as themselves (the host's visitor cookie is in its jar).
type Visitor struct {
	h      *Harness
	http   *http.Client
	app    *client.Client
	userID string
}

// Person is who a Visitor is.
type Person struct {
	Name   string // 张三
	CertNo string // resident ID number
	Mobile string
}

// Login registers the person with the demo app (openPersonalCode), asks
// the host for a landing ticket (/api/landing/ticket), and opens the first
// code with it, as the city's app does for its logged-in user.
func (h *Harness) Login(t testing.TB, p Person) *Visitor {
	t.Helper()
	secret, err := hex.DecodeString(h.demo.AppSecret)
	if err != nil {
		t.Fatalf("plugintest: demo secret: %v", err)
	}
	app := client.New(h.URL, h.demo.CityCodeAppID, secret)
	ext, _ := json.Marshal(map[string]string{"name": p.Name, "certType": "RESIDENT_ID", "certNo": p.CertNo, "mobile": p.Mobile})
	var opened struct {
		UserID string `json:"userId"`
	}
	ctx := context.Background()
	if err := app.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": h.demo.CityCodeAppID,
		"codeDefId": h.demo.Rules["identity"], "userExt": base64.StdEncoding.EncodeToString(ext)}, &opened); err != nil {
		t.Fatalf("plugintest: openPersonalCode: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	v := &Visitor{h: h, app: app, userID: opened.UserID, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// Follow the host's own redirect after a ticket, not a
			// plugin's redirects: tests look at those.
			if len(via) == 1 && strings.Contains(via[0].URL.RawQuery, "ticket=") {
				return nil
			}
			return http.ErrUseLastResponse
		}}}
	var ticket struct {
		Ticket string `json:"ticket"`
	}
	if err := app.Call(ctx, "/api/landing/ticket", map[string]any{"cityCodeAppId": h.demo.CityCodeAppID, "userId": opened.UserID}, &ticket); err != nil {
		t.Fatalf("plugintest: landing ticket: %v", err)
	}
	resp, err := v.http.Get(h.URL + "/c/" + h.codes[0] + "/.plugintest?ticket=" + ticket.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(jar.Cookies(resp.Request.URL)) == 0 {
		t.Fatalf("plugintest: the ticket did not log the visitor in (%d)", resp.StatusCode)
	}
	return v
}

// Authorize lets the plugin see the person's masked name and mobile
// (scene authorization with acceptOrgId plugin:{name}).
func (v *Visitor) Authorize(t testing.TB) {
	t.Helper()
	if err := v.app.Call(context.Background(), "/api/authorizeScene", map[string]any{"cityCodeAppId": v.h.demo.CityCodeAppID,
		"userId": v.userID, "acceptOrgId": "plugin:" + v.h.Plugin}, nil); err != nil {
		t.Fatalf("plugintest: authorizeScene: %v", err)
	}
}

// Get fetches a page of a code as the visitor.
func (v *Visitor) Get(t testing.TB, code, path string) (int, string) {
	t.Helper()
	resp, err := v.http.Get(v.h.URL + "/c/" + code + path)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

// Post submits to an action of a code as the visitor.
func (v *Visitor) Post(t testing.TB, code, path, contentType string, body io.Reader) (int, string, http.Header) {
	t.Helper()
	resp, err := v.http.Post(v.h.URL+"/c/"+code+path, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	status, b := read(t, resp)
	return status, b, resp.Header
}
