package ttlcache_test

import (
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/ttlcache"
)

func TestExpiryBoundAndConcurrency(t *testing.T) {
	now := time.Unix(0, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := ttlcache.New[string, int](2*time.Second, 320, clock)
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatal("fresh entry missing")
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if _, ok := c.Get("a"); ok {
		t.Fatal("expired entry served")
	}
	c.Put("b", 2)
	c.Delete("b")
	if _, ok := c.Get("b"); ok {
		t.Fatal("deleted entry served")
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10000 {
				c.Put(string(rune(g*10000+i)), i)
				c.Get(string(rune(i)))
			}
		}()
	}
	wg.Wait()
	n := 0
	for i := range 80000 {
		if _, ok := c.Get(string(rune(i))); ok {
			n++
		}
	}
	if n > 320 {
		t.Fatalf("%d entries kept, bound is 320", n)
	}
}
