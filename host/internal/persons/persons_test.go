package persons_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// A valid resident ID number (check digit X) and its owner, for tests only.
const (
	certNo = "11010519491231002X"
	name   = "张三丰"
	mobile = "13800138000"
)

type env struct {
	svc   *persons.Service
	now   time.Time
	mu    sync.Mutex
	query func(ctx context.Context, sql string) string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := storetest.New(t)
	sealer, err := codec.NewSealer([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.New(t.Context(), policy.Config{PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	e := &env{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	e.svc, err = persons.New(persons.Config{Pool: pool, Sealer: sealer, Authz: eng, Clock: func() time.Time {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.now
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.query = func(ctx context.Context, sql string) string {
		var s string
		if err := pool.QueryRow(ctx, sql).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return e
}

func (e *env) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

func userExt(m map[string]any) string {
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

func code(err error) string { return fault.CodeOf(err) }

func TestParseUserExt(t *testing.T) {
	good := map[string]any{"name": name, "certType": "RESIDENT_ID", "certNo": certNo, "mobile": mobile}
	id, err := persons.ParseUserExt(userExt(good))
	if err != nil || id.Name != name || id.CertNo != certNo || id.CertType != persons.ResidentID {
		t.Fatalf("%+v %v", id, err)
	}
	// URL alphabet without padding, numeric certificate type, lower-case x.
	raw, _ := json.Marshal(map[string]any{"name": name, "certType": 1, "certNo": strings.ToLower(certNo)})
	if id, err := persons.ParseUserExt(base64.RawURLEncoding.EncodeToString(raw)); err != nil || id.CertNo != certNo {
		t.Fatalf("variant spelling: %+v %v", id, err)
	}
	for label, c := range map[string]struct {
		in   string
		code string
	}{
		"not base64":        {"%%%", fault.CodeInvalidParameter},
		"not JSON":          {base64.StdEncoding.EncodeToString([]byte("name=x")), fault.CodeInvalidParameter},
		"no name":           {userExt(map[string]any{"certNo": certNo}), fault.CodeMissingParameter},
		"no cert":           {userExt(map[string]any{"name": name}), fault.CodeMissingParameter},
		"bad check digit":   {userExt(map[string]any{"name": name, "certNo": "110105194912310021"}), fault.CodeInvalidParameter},
		"unknown cert type": {userExt(map[string]any{"name": name, "certNo": "E1234567", "certType": "LIBRARY_CARD"}), fault.CodeInvalidParameter},
		"bad mobile":        {userExt(map[string]any{"name": name, "certNo": certNo, "mobile": "call me"}), fault.CodeInvalidParameter},
		"bad credit code":   {userExt(map[string]any{"name": "某公司", "certType": "USCC", "certNo": "91310000MA1FL8L97X"}), fault.CodeInvalidParameter},
		"injection":         {userExt(map[string]any{"name": name, "certNo": "1' OR '1'='1", "certType": "PASSPORT"}), fault.CodeInvalidParameter},
	} {
		t.Run(label, func(t *testing.T) {
			if _, err := persons.ParseUserExt(c.in); code(err) != c.code {
				t.Fatalf("got %v, want %s", err, c.code)
			}
		})
	}
	if !persons.ValidSocialCreditCode("91350100M000100Y43") {
		t.Fatal("a valid unified social credit code refused")
	}
}

func TestMasking(t *testing.T) {
	for in, want := range map[string]string{"张": "*", "张三": "张*", "张三丰": "张*丰", "欧阳锋锋": "欧**锋"} {
		if got := persons.MaskName(in); got != want {
			t.Errorf("MaskName(%s) = %s, want %s", in, got, want)
		}
	}
	if got := persons.MaskCertNo(certNo); got != "110***********002X" {
		t.Errorf("MaskCertNo = %s", got)
	}
	if got := persons.MaskMobile(mobile); got != "138****8000" {
		t.Errorf("MaskMobile = %s", got)
	}
}

func TestOpenIsStablePerAppAndSealed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := persons.Identity{Name: name, CertType: persons.ResidentID, CertNo: certNo, Mobile: mobile}
	a1, err := e.svc.Open(ctx, "ccA", "P0000", id)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := e.svc.Open(ctx, "ccA", "P0000", id)
	b1, _ := e.svc.Open(ctx, "ccB", "P0001", id)
	if a1.UserID != a2.UserID || a1.UserID == b1.UserID || a1.PersonID != b1.PersonID {
		t.Fatalf("user ids: %s %s %s", a1.UserID, a2.UserID, b1.UserID)
	}
	if a1.Masked.Name != "张*丰" || a1.Masked.CertNo != "110***********002X" {
		t.Fatalf("masked %+v", a1.Masked)
	}
	row := e.query(ctx, "SELECT row_to_json(p)::text FROM persons p")
	for _, secret := range []string{name, certNo, mobile, "19491231"} {
		if strings.Contains(row, secret) {
			t.Fatalf("persons row holds %q in clear: %s", secret, row)
		}
	}
	full, err := e.svc.Identity(ctx, a1.PersonID)
	if err != nil || full != id {
		t.Fatalf("identity %+v %v", full, err)
	}

	// Another name for the same certificate is refused; a new mobile is kept.
	if _, err := e.svc.Open(ctx, "ccA", "P0000", persons.Identity{Name: "李四", CertType: persons.ResidentID, CertNo: certNo}); code(err) != fault.CodeInvalidParameter {
		t.Fatalf("renaming through open: %v", err)
	}
	if _, err := e.svc.Open(ctx, "ccA", "P0000", persons.Identity{Name: name, CertType: persons.ResidentID, CertNo: certNo, Mobile: "13900139000"}); err != nil {
		t.Fatal(err)
	}
	if full, _ := e.svc.Identity(ctx, a1.PersonID); full.Mobile != "13900139000" || full.Name != name {
		t.Fatalf("after mobile change: %+v", full)
	}

	// The handle a code carries finds the app, its user id and the person.
	byHandle, err := e.svc.UserByHandle(ctx, b1.Handle)
	if err != nil || byHandle.AppID != "ccB" || byHandle.UserID != b1.UserID || byHandle.PersonID != a1.PersonID || a1.Handle == b1.Handle {
		t.Fatalf("by handle: %+v %v", byHandle, err)
	}
	if _, err := e.svc.UserByHandle(ctx, 1<<40); !errors.Is(err, persons.ErrUnknownUser) {
		t.Fatalf("unknown handle: %v", err)
	}

	// An app cannot reach another app's user id.
	if _, err := e.svc.User(ctx, "ccB", a1.UserID); !errors.Is(err, persons.ErrUnknownUser) {
		t.Fatalf("cross-app user: %v", err)
	}
}

func TestConcurrentOpenMakesOnePerson(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := persons.Identity{Name: name, CertType: persons.ResidentID, CertNo: certNo}
	var wg sync.WaitGroup
	users := make([]string, 20)
	errs := make([]error, 20)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := e.svc.Open(ctx, "ccA", "P0000", id)
			errs[i] = err
			if u != nil {
				users[i] = u.UserID
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || users[i] != users[0] {
			t.Fatalf("open %d: %v (%s vs %s)", i, err, users[i], users[0])
		}
	}
	if n := e.query(ctx, "SELECT count(*)::text FROM persons"); n != "1" {
		t.Fatalf("%s persons", n)
	}
}

func TestSceneAuthorizationDecidesDisclosure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, err := e.svc.Open(ctx, "ccA", "P0000", persons.Identity{Name: name, CertType: persons.ResidentID, CertNo: certNo})
	if err != nil {
		t.Fatal(err)
	}
	full := func(org string) bool {
		t.Helper()
		f, err := e.svc.Disclosure(ctx, u.PersonID, org, "identity", "ccHospital")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if full("HOSP-001") {
		t.Fatal("full identity without authorization")
	}
	if _, err := e.svc.Authorize(ctx, "ccA", u.UserID, "HOSP-001", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if !full("HOSP-001") || full("HOSP-002") || full("") {
		t.Fatal("authorization not scoped to its scene")
	}
	e.advance(25 * time.Hour)
	if full("HOSP-001") {
		t.Fatal("expired authorization still discloses")
	}
	e.svc.Authorize(ctx, "ccA", u.UserID, "HOSP-001", 24*time.Hour)
	if err := e.svc.Revoke(ctx, "ccA", u.UserID, "HOSP-001"); err != nil || full("HOSP-001") {
		t.Fatalf("revoked authorization still discloses (%v)", err)
	}
	if _, err := e.svc.Authorize(ctx, "ccB", u.UserID, "HOSP-001", time.Hour); !errors.Is(err, persons.ErrUnknownUser) {
		t.Fatalf("another app authorized for the user: %v", err)
	}
	if _, err := e.svc.Authorize(ctx, "ccA", u.UserID, "HOSP-001", 400*24*time.Hour); code(err) != fault.CodeInvalidParameter {
		t.Fatalf("over-long authorization: %v", err)
	}
}

func TestBoundData(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, _ := e.svc.Open(ctx, "ccA", "P0000", persons.Identity{Name: name, CertType: persons.ResidentID, CertNo: certNo})
	health := json.RawMessage(`{"healthStatus":"green","isVaccinated":"3","reportDate":"2026-11-20"}`)
	if err := e.svc.Bind(ctx, "ccA", u.UserID, "health", "健康状态", health); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.query(ctx, "SELECT data_sealed FROM person_bound_data"), "green") {
		t.Fatal("bound data stored in clear")
	}
	bs, err := e.svc.BoundData(ctx, "ccA", u.UserID, "health", "vaccine")
	if err != nil || len(bs) != 1 || string(bs[0].Data) != string(health) {
		t.Fatalf("bound %+v %v", bs, err)
	}
	byPerson, _ := e.svc.BoundOfPerson(ctx, u.PersonID, "health")
	if len(byPerson) != 1 {
		t.Fatal("bound data not found by person")
	}
	for label, c := range map[string]struct {
		err  error
		code string
	}{
		"not JSON":     {e.svc.Bind(ctx, "ccA", u.UserID, "x", "", json.RawMessage(`{`)), fault.CodeInvalidParameter},
		"too large":    {e.svc.Bind(ctx, "ccA", u.UserID, "x", "", json.RawMessage(`"`+strings.Repeat("a", 17<<10)+`"`)), fault.CodeInvalidParameter},
		"no type":      {e.svc.Bind(ctx, "ccA", u.UserID, "", "", health), fault.CodeMissingParameter},
		"other app":    {e.svc.Bind(ctx, "ccB", u.UserID, "health", "", health), fault.CodeResourceNotFound},
		"unbind none":  {e.svc.Unbind(ctx, "ccA", u.UserID, "vaccine"), fault.CodeResourceNotFound},
		"unknown user": {e.svc.Unbind(ctx, "ccA", "u000", "health"), fault.CodeResourceNotFound},
	} {
		if code(c.err) != c.code {
			t.Errorf("%s: %v, want %s", label, c.err, c.code)
		}
	}
	if err := e.svc.Unbind(ctx, "ccA", u.UserID, "health"); err != nil {
		t.Fatal(err)
	}
	if bs, _ := e.svc.BoundData(ctx, "ccA", u.UserID); len(bs) != 0 {
		t.Fatal("unbound data still there")
	}
}
