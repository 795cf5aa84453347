package codekeys_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codekeys"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/sdk/codeformat"
	"github.com/opencitycode/citycode/sdk/verify"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

const maxValidity = time.Hour

// node is one host's key ring over the shared database.
func node(t *testing.T, pool *pgxpool.Pool, c *clock) *codekeys.Ring {
	t.Helper()
	sealer, err := codec.NewSealer([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := codekeys.New(codekeys.Config{Pool: pool, Sealer: sealer, Authz: testEngine(t), Clock: c.Now,
		MaxCodeValidity: maxValidity, CacheTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newRing(t *testing.T) (*codekeys.Ring, *clock, *pgxpool.Pool) {
	t.Helper()
	pool := storetest.New(t)
	c := &clock{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	return node(t, pool, c), c, pool
}

// issue makes a code of platform signed by the ring, dated at the clock.
func issue(t *testing.T, r *codekeys.Ring, c *clock, platform string) string {
	t.Helper()
	kid, sign, err := r.Signer(context.Background(), platform)
	if err != nil {
		t.Fatal(err)
	}
	text, err := codeformat.Encode(codeformat.Code{PlatformID: platform, RuleID: "R0001", Kind: codeformat.KindPerson,
		IssuedAt: c.Now(), Validity: time.Minute, KeyID: kid}, sign)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func kidOf(t *testing.T, text string) codeformat.KeyID {
	t.Helper()
	p, err := codeformat.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return p.KeyID
}

func wantRefused(t *testing.T, err, why error) {
	t.Helper()
	if !errors.Is(err, codekeys.ErrRefused) || !errors.Is(err, why) {
		t.Fatalf("%v, want a refusal for %v", err, why)
	}
}

func TestEnsureKeyOnSeveralNodesMakesOneKey(t *testing.T) {
	t.Parallel()
	r, c, pool := newRing(t)
	other := node(t, pool, c)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			n := r
			if i%2 == 1 {
				n = other
			}
			if err := n.EnsureKey(ctx, "P0000"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	keys, err := r.PublicKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Status != "active" || keys[0].PlatformID != "P0000" || keys[0].Algorithm != "SM2" {
		t.Fatalf("keys %+v %v", keys, err)
	}
	// The private key is stored sealed, never in the clear.
	var sealed string
	pool.QueryRow(ctx, `SELECT private_sealed FROM code_signing_keys`).Scan(&sealed)
	if sealed == "" || strings.Contains(sealed, "PRIVATE KEY") || strings.Contains(sealed, "MIG") {
		t.Fatalf("private key stored as %.40q", sealed)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	r, c, _ := newRing(t)
	ctx := context.Background()
	old := issue(t, r, c, "P0000")
	if _, err := r.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	c.Add(10 * time.Minute)
	newKid, err := r.Rotate(ctx, "P0000")
	if err != nil || newKid == kidOf(t, old) {
		t.Fatalf("rotate: %s %v", newKid, err)
	}
	fresh := issue(t, r, c, "P0000")
	if kidOf(t, fresh) != newKid {
		t.Fatalf("signing with %s after rotation to %s", kidOf(t, fresh), newKid)
	}
	res, err := r.Verify(ctx, old)
	if err != nil || !res.Expired {
		t.Fatalf("a code signed before the rotation, after it: %+v %v", res, err)
	}
	keys, _ := r.PublicKeys(ctx)
	if len(keys) != 2 || keys[0].KeyID != newKid || keys[1].Status != "retired" || keys[1].VerifyUntil == nil ||
		!keys[1].VerifyUntil.Equal(c.Now().Add(maxValidity)) || keys[1].NotAfter == nil {
		t.Fatalf("published keys after rotation: %+v", keys)
	}
	offline, err := verify.NewKeySetOf(keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := offline.Verify(old, c.Now()); err != nil {
		t.Fatalf("offline, the retired key: %v", err)
	}

	// The old key drops out once its verification window ends.
	c.Add(maxValidity)
	if keys, _ := r.PublicKeys(ctx); len(keys) != 1 || keys[0].KeyID != newKid {
		t.Fatalf("published keys after the window: %+v", keys)
	}
	c.Add(2 * time.Second) // past the ring's cache
	_, err = r.Verify(ctx, old)
	wantRefused(t, err, verify.ErrUnknownKey)
	if _, err := offline.Verify(old, c.Now()); !errors.Is(err, verify.ErrKeyExpired) {
		t.Fatalf("a scanner's stale key set: %v", err)
	}
	if res, err := r.Verify(ctx, issue(t, r, c, "P0000")); err != nil || res.Expired {
		t.Fatalf("active key: %v", err)
	}
}

// A rotation on one host reaches another host's signer within the cache
// TTL, and a code of the new key verifies there at once.
func TestRotationReachesOtherNodes(t *testing.T) {
	t.Parallel()
	a, c, pool := newRing(t)
	b := node(t, pool, c)
	ctx := context.Background()
	before := issue(t, b, c, "P0000")
	if _, err := b.Verify(ctx, before); err != nil {
		t.Fatal(err)
	}
	newKid, err := a.Rotate(ctx, "P0000")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := b.Verify(ctx, issue(t, a, c, "P0000")); err != nil || res.KeyID != newKid {
		t.Fatalf("a code of the new key on the other host: %+v %v", res, err)
	}
	if kidOf(t, issue(t, b, c, "P0000")) == newKid {
		t.Fatal("the cache was not used") // b still signs with its cached key...
	}
	c.Add(2 * time.Second)
	if kidOf(t, issue(t, b, c, "P0000")) != newKid { // ...until the TTL passes
		t.Fatal("the other host kept the retired key past the cache TTL")
	}
}

func TestKeysAreBoundToTheirPlatform(t *testing.T) {
	t.Parallel()
	r, c, _ := newRing(t)
	ctx := context.Background()
	a := issue(t, r, c, "P0001")
	kid, sign, _ := r.Signer(ctx, "P0001")
	// A code claiming P0002 but signed by P0001's key, naming it.
	forged, _ := codeformat.Encode(codeformat.Code{PlatformID: "P0002", RuleID: "R0001", Kind: codeformat.KindPerson,
		IssuedAt: c.Now(), Validity: time.Minute, KeyID: kid}, sign)
	_, err := r.Verify(ctx, forged)
	wantRefused(t, err, verify.ErrUnknownKey)
	// P0002's key id on a code signed by P0001's key.
	kid2, _, _ := r.Signer(ctx, "P0002")
	resigned, _ := codeformat.Encode(codeformat.Code{PlatformID: "P0002", RuleID: "R0001", Kind: codeformat.KindPerson,
		IssuedAt: c.Now(), Validity: time.Minute, KeyID: kid2}, sign)
	_, err = r.Verify(ctx, resigned)
	wantRefused(t, err, verify.ErrBadSignature)
	if _, err := r.Verify(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, err = r.Verify(ctx, "CC:NOTACODE")
	wantRefused(t, err, verify.ErrMalformed)
}

func TestRotateWithoutKey(t *testing.T) {
	t.Parallel()
	r, _, _ := newRing(t)
	_, err := r.Rotate(context.Background(), "P0042")
	if !errors.Is(err, codekeys.ErrNoKey) || fault.KindOf(err) != fault.NotFound {
		t.Fatalf("%v", err)
	}
	if _, err := r.Verifier(context.Background()); !errors.Is(err, codekeys.ErrNoKey) {
		t.Fatalf("verifier without keys: %v", err)
	}
	_, err = r.Verify(context.Background(), "CC:AAAA")
	wantRefused(t, err, verify.ErrUnknownKey)
}

// A sealed private key moved onto another key's row (a database
// tampering) is refused rather than signing codes under the wrong id.
func TestSwappedPrivateKeyIsRefused(t *testing.T) {
	t.Parallel()
	r, _, pool := newRing(t)
	ctx := context.Background()
	for _, p := range []string{"P0001", "P0002"} {
		if err := r.EnsureKey(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE code_signing_keys SET private_sealed = (SELECT private_sealed FROM code_signing_keys WHERE platform_id = 'P0002')
		WHERE platform_id = 'P0001'`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Signer(ctx, "P0001"); err == nil {
		t.Fatal("signed with another row's private key")
	}
}

// Sign and encode one code with the host's cached key (Signer + Encode).
func BenchmarkSignEncode(b *testing.B) {
	pool := storetest.New(b)
	c := &clock{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	sealer, _ := codec.NewSealer([]byte("0123456789abcdef"))
	r, _ := codekeys.New(codekeys.Config{Pool: pool, Sealer: sealer, Clock: c.Now, CacheTTL: time.Hour})
	ctx := context.Background()
	for b.Loop() {
		kid, sign, err := r.Signer(ctx, "P0000")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := codeformat.Encode(codeformat.Code{PlatformID: "P0000", RuleID: "R0001", Kind: codeformat.KindPerson,
			IssuedAt: c.Now(), Validity: time.Minute, KeyID: kid}, sign); err != nil {
			b.Fatal(err)
		}
	}
}

// Parse and verify one code online (the host's cached key set).
func BenchmarkVerifyOnline(b *testing.B) {
	pool := storetest.New(b)
	c := &clock{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	sealer, _ := codec.NewSealer([]byte("0123456789abcdef"))
	r, _ := codekeys.New(codekeys.Config{Pool: pool, Sealer: sealer, Clock: c.Now, CacheTTL: time.Hour})
	ctx := context.Background()
	kid, sign, _ := r.Signer(ctx, "P0000")
	text, _ := codeformat.Encode(codeformat.Code{PlatformID: "P0000", RuleID: "R0001", Kind: codeformat.KindPerson,
		IssuedAt: c.Now(), Validity: time.Minute, KeyID: kid}, sign)
	for b.Loop() {
		if _, err := r.Verify(ctx, text); err != nil {
			b.Fatal(err)
		}
	}
}
