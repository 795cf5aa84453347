package codekeys_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codekeys"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
	"github.com/opencitycode/citycode/sdk/codeformat"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newRing(t *testing.T) (*codekeys.Ring, *clock) {
	t.Helper()
	pool := storetest.New(t)
	sealer, _ := codec.NewSealer([]byte("0123456789abcdef"))
	c := &clock{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	r, err := codekeys.New(codekeys.Config{Pool: pool, Sealer: sealer, Clock: c.Now, MaxCodeValidity: time.Hour, CacheTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

func issue(t *testing.T, r *codekeys.Ring, platform string, at time.Time) *codeformat.Parsed {
	t.Helper()
	kid, sign, err := r.Signer(context.Background(), platform)
	if err != nil {
		t.Fatal(err)
	}
	text, err := codeformat.Encode(codeformat.Code{PlatformID: platform, RuleID: "R0001", Kind: codeformat.Person,
		IssuedAt: at, Validity: time.Minute, KeyID: kid}, "", sign)
	if err != nil {
		t.Fatal(err)
	}
	p, err := codeformat.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConcurrentEnsureMakesOneKey(t *testing.T) {
	r, _ := newRing(t)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.EnsureKey(context.Background(), "P0000"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	keys, err := r.PublicKeys(context.Background())
	if err != nil || len(keys) != 1 || keys[0].Status != "active" {
		t.Fatalf("keys %+v %v", keys, err)
	}
}

func TestRotationKeepsOldCodesVerifyingUntilTheyExpire(t *testing.T) {
	r, c := newRing(t)
	ctx := context.Background()
	old := issue(t, r, "P0000", c.Now())
	if err := r.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	newKid, err := r.Rotate(ctx, "P0000")
	if err != nil || newKid == old.KeyID {
		t.Fatalf("rotate: %d %v", newKid, err)
	}
	fresh := issue(t, r, "P0000", c.Now())
	if fresh.KeyID != newKid {
		t.Fatalf("signing with %d after rotation to %d", fresh.KeyID, newKid)
	}
	if err := r.Verify(ctx, old); err != nil {
		t.Fatalf("code of the retired key refused within MaxCodeValidity: %v", err)
	}
	keys, _ := r.PublicKeys(ctx)
	if len(keys) != 2 {
		t.Fatalf("published keys after rotation: %d", len(keys))
	}
	c.Add(time.Hour + time.Second)
	if err := r.Verify(ctx, old); !errors.Is(err, codekeys.ErrKeyExpired) {
		t.Fatalf("retired key still verifies after its window: %v", err)
	}
	if err := r.Verify(ctx, fresh); err != nil {
		t.Fatalf("active key: %v", err)
	}
	if keys, _ := r.PublicKeys(ctx); len(keys) != 1 {
		t.Fatalf("published keys after the window: %d", len(keys))
	}
}

func TestKeysAreBoundToTheirPlatform(t *testing.T) {
	r, c := newRing(t)
	ctx := context.Background()
	a := issue(t, r, "P0001", c.Now())
	// A code claiming another platform but signed with P0001's key.
	b := issue(t, r, "P0002", c.Now())
	forged := *a
	forged.PlatformID = "P0002"
	if err := r.Verify(ctx, &forged); !errors.Is(err, codekeys.ErrUnknownKey) {
		t.Fatalf("cross-platform key accepted: %v", err)
	}
	b.Signature = a.Signature
	if err := r.Verify(ctx, b); !errors.Is(err, codekeys.ErrSignature) {
		t.Fatalf("foreign signature accepted: %v", err)
	}
}
