package scenes

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestGateAcrossNodes: a change made through one node applies on that node
// at once, and on another node once its snapshot is Refresh old.
func TestGateAcrossNodes(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	node := func() *Service {
		s, err := New(Config{Pool: pool, MainPlatformID: "P0000", Clock: clock.Now, Refresh: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := node(), node()
	var id int64
	if err := pool.QueryRow(ctx, `INSERT INTO scenes (platform_id, name, org_ids, created_by, created_at, updated_at)
		VALUES ('P0000', '地铁', '{申通地铁}', 't', now(), now()) RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{a, b} {
		if err := s.Check(ctx, "gate", "phone", "u1", "申通地铁"); err != nil {
			t.Fatal(err)
		}
	}
	// Node a stops the scene.
	if _, err := pool.Exec(ctx, `UPDATE scenes SET disabled = true WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	a.changed()
	if err := a.Check(ctx, "gate", "phone", "u1", "申通地铁"); fault.CodeOf(err) != fault.CodeSceneDisabled {
		t.Fatalf("on the node that changed it: %v", err)
	}
	if err := b.Check(ctx, "gate", "phone", "u1", "申通地铁"); err != nil {
		t.Fatalf("the other node, within its refresh: %v", err)
	}
	clock.Add(2 * time.Second)
	if err := b.Check(ctx, "gate", "phone", "u1", "申通地铁"); fault.CodeOf(err) != fault.CodeSceneDisabled {
		t.Fatalf("the other node, after its refresh: %v", err)
	}
	// Switches are read at every decode: no delay on any node.
	if _, err := pool.Exec(ctx, `UPDATE scenes SET disabled = false WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	a.changed()
	b.changed()
	if _, err := pool.Exec(ctx, `INSERT INTO scene_switches (app_id, user_id, scene_id, updated_at) VALUES ('phone', 'u1', $1, now())`, id); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx, "gate", "phone", "u1", "申通地铁"); fault.CodeOf(err) != fault.CodeSceneSwitchedOff {
		t.Fatalf("switched off: %v", err)
	}
	if err := b.Check(ctx, "gate", "other-app", "u1", "申通地铁"); err != nil {
		t.Fatalf("the same user id of another app: %v", err)
	}
}

// BenchmarkCheck measures the gate at an organization of no scene (most
// decodes) and at a scene's organization (one primary-key lookup).
func BenchmarkCheck(b *testing.B) {
	pool := storetest.New(b)
	ctx := context.Background()
	s, err := New(Config{Pool: pool, MainPlatformID: "P0000", Refresh: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO scenes (platform_id, name, org_ids, created_by, created_at, updated_at)
		SELECT 'P0000', 'scene ' || i, ARRAY['org' || i], 't', now(), now() FROM generate_series(1, 1000) i`); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, org string }{{"no-scene", "瑞金医院"}, {"scene", "org500"}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := s.Check(ctx, "gate", "phone", "u1", c.org); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
