package codekeys_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codekeys"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/sdk/codeformat"
	"github.com/opencitycode/citycode/sdk/holder"
	"github.com/opencitycode/citycode/sdk/verify"
)

func testEngine(t testing.TB) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// sessions stands in for the console login: a token names an operator.
type sessions map[string]actor.Actor

func (s sessions) Authenticate(_ context.Context, token string) (*actor.Actor, error) {
	a, ok := s[token]
	if !ok {
		return nil, fault.E(fault.Unauthenticated, fault.CodeSessionExpired, "no session")
	}
	return &a, nil
}

var operators = sessions{
	"root": {Kind: actor.KindOperator, Account: "admin", OperatorType: actor.Root, PlatformID: "P0000", MainPlatform: true},
	"sub":  {Kind: actor.KindOperator, Account: "sub-admin", OperatorType: actor.PlatformAdmin, PlatformID: "P0001"},
	"clerk": {Kind: actor.KindOperator, Account: "clerk", OperatorType: actor.Staff, PlatformID: "P0000", MainPlatform: true,
		Permissions: []string{"key.read"}},
}

// serve mounts the ring's routes on the host's HTTP layer.
func serve(t *testing.T, r *codekeys.Ring) *httptest.Server {
	t.Helper()
	api, err := httpapi.New(httpapi.Config{Log: slog.New(slog.DiscardHandler), Console: operators, Authz: testEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(r.Routes()...)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   []byte
	env    struct {
		Response struct {
			Data  json.RawMessage
			Error *struct{ Code string }
		}
	}
}

func call(t *testing.T, srv *httptest.Server, method, path, token string) *answer {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	a := &answer{status: res.StatusCode, header: res.Header}
	a.body, _ = io.ReadAll(res.Body)
	if err := json.Unmarshal(a.body, &a.env); err != nil {
		t.Fatalf("%s %s: %s", method, path, a.body)
	}
	return a
}

// The scanner's whole story: it downloads GET /api/keys from the real route
// once, and from then on verifies codes with sdk/verify and no server —
// platform-signed codes across a key rotation, and holder-signed codes a
// device made offline, which the host also verifies online.
func TestScannerVerifiesOfflineWithTheKeysEndpoint(t *testing.T) {
	t.Parallel()
	r, c, _ := newRing(t)
	ctx := context.Background()
	srv := serve(t, r)

	before := issue(t, r, c, "P0000")
	sub := issue(t, r, c, "P0001")

	// A device registers: the platform certifies its key (as the host's
	// registerHolderDevice does, with the ring's signer).
	devPriv, devPub, err := holder.GenerateDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	devKey, _ := codeformat.ParsePublicKey(devPub)
	kid, sign, err := r.Signer(ctx, "P0000")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := codeformat.IssueCertificate(codeformat.Certificate{PlatformID: "P0000", RuleID: "R0007", RuleVersion: 1,
		Family: codeformat.FamilyIdentity, Kind: codeformat.KindPerson, CertType: codeformat.CertResidentID,
		IssuedAt: c.Now(), Validity: 30 * time.Minute, CodeValidity: time.Minute, DeviceKey: devKey, KeyID: kid}, sign)
	if err != nil {
		t.Fatal(err)
	}

	c.Add(5 * time.Minute)
	if _, err := r.Rotate(ctx, "P0000"); err != nil {
		t.Fatal(err)
	}
	after := issue(t, r, c, "P0000")

	a := call(t, srv, http.MethodGet, "/api/keys", "")
	if a.status != http.StatusOK || a.header.Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("GET /api/keys: %d %q %s", a.status, a.header.Get("Cache-Control"), a.body)
	}
	srv.Close() // from here on: no server

	for name, body := range map[string][]byte{"whole answer": a.body, "its Data": a.env.Response.Data} {
		t.Run(name, func(t *testing.T) {
			ks, err := verify.NewKeySet(body)
			if err != nil {
				t.Fatal(err)
			}
			now := c.Now()
			for what, text := range map[string]string{"signed before the rotation": before, "signed after": after, "of a sub-platform": sub} {
				res, err := ks.Verify(text, now)
				if err != nil || res.RuleID != "R0001" || res.HolderMode {
					t.Fatalf("%s: %+v %v", what, res, err)
				}
			}
			if res, _ := ks.Verify(after, now.Add(time.Minute)); res == nil || !res.Expired {
				t.Fatal("expiry not reported offline")
			}
			// The device, with no server either.
			dev, err := holder.New(base64.StdEncoding.EncodeToString(cert), devPriv)
			if err != nil {
				t.Fatal(err)
			}
			code, err := dev.Code(now)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ks.Verify(code, now.Add(5*time.Second))
			if err != nil || !res.HolderMode || res.RuleID != "R0007" || res.Expired {
				t.Fatalf("holder code offline: %+v %v", res, err)
			}
			// Online, the host verifies the same code.
			if res, err := r.Verify(ctx, code); err != nil || !res.HolderMode || res.Subject != res.Certificate.Subject {
				t.Fatalf("holder code online: %+v %v", res, err)
			}
			// Tampered, and re-signed by a foreign key.
			b := []byte(after)
			b[len(b)-30] ^= 1
			if _, err := ks.Verify(string(b), now); err == nil {
				t.Fatal("a tampered code verified offline")
			}
		})
	}
}

func TestConsoleRoutes(t *testing.T) {
	t.Parallel()
	r, _, _ := newRing(t)
	ctx := context.Background()
	for _, p := range []string{"P0000", "P0001", "P0002"} {
		if err := r.EnsureKey(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	srv := serve(t, r)
	list := func(token, query string) (int, []verify.Key) {
		a := call(t, srv, http.MethodGet, "/console/keys"+query, token)
		var page codekeys.ListOut
		json.Unmarshal(a.env.Response.Data, &page)
		if page.Total < len(page.Items) {
			t.Fatalf("total %d < %d items", page.Total, len(page.Items))
		}
		return page.Total, page.Items
	}

	t.Run("rotation is main-platform only", func(t *testing.T) {
		if a := call(t, srv, http.MethodPost, "/console/keys/P0001/rotate", "sub"); a.status != http.StatusForbidden {
			t.Fatalf("sub-platform admin rotating its own key: %d %s", a.status, a.body)
		}
		if a := call(t, srv, http.MethodPost, "/console/keys/P0001/rotate", "clerk"); a.status != http.StatusForbidden {
			t.Fatalf("staff without key.rotate: %d %s", a.status, a.body)
		}
		if a := call(t, srv, http.MethodPost, "/console/keys/P0001/rotate", ""); a.status != http.StatusUnauthorized {
			t.Fatalf("anonymous: %d", a.status)
		}
		a := call(t, srv, http.MethodPost, "/console/keys/P0001/rotate", "root")
		var out codekeys.RotateOut
		if a.status != http.StatusOK || json.Unmarshal(a.env.Response.Data, &out) != nil || out.KeyID == 0 {
			t.Fatalf("root: %d %s", a.status, a.body)
		}
		if a := call(t, srv, http.MethodPost, "/console/keys/P0099/rotate", "root"); a.status != http.StatusNotFound {
			t.Fatalf("a platform without keys: %d %s", a.status, a.body)
		}
	})
	t.Run("list in scope, without private parts", func(t *testing.T) {
		total, items := list("root", "")
		if total != 4 {
			t.Fatalf("root sees %d keys", total)
		}
		if a := call(t, srv, http.MethodGet, "/console/keys", "root"); containsAny(string(a.body), "sealed", "PRIVATE", "private") {
			t.Fatalf("private parts listed: %s", a.body)
		}
		total, items = list("sub", "")
		if total != 2 || items[0].PlatformID != "P0001" || items[1].PlatformID != "P0001" || items[0].Status != "active" || items[1].Status != "retired" {
			t.Fatalf("sub-platform admin sees %d: %+v", total, items)
		}
		if total, _ := list("sub", "?platformId=P0000"); total != 0 {
			t.Fatalf("sub-platform admin sees the main platform's keys")
		}
		total, items = list("clerk", "?platformId=P0001&pageSize=1&pageNo=2")
		if total != 2 || len(items) != 1 || items[0].Status != "retired" {
			t.Fatalf("paging: %d %+v", total, items)
		}
	})
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
