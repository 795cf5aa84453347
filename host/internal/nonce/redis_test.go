package nonce_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opencitycode/citycode/host/internal/nonce"
)

// redisClient connects a new client (one "host node") to the test Redis.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = os.Getenv("CITYCODE_TEST_REDIS_URL")
	}
	if url == "" {
		if os.Getenv("CITYCODE_ALLOW_NO_REDIS") == "1" {
			t.Skip("no REDIS_URL; skipped because CITYCODE_ALLOW_NO_REDIS=1")
		}
		t.Fatal("REDIS_URL (or CITYCODE_TEST_REDIS_URL) is not set; set CITYCODE_ALLOW_NO_REDIS=1 to skip")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", url, err)
	}
	return c
}

// testPrefix returns a key prefix unique to the test and deletes its keys
// afterwards.
func testPrefix(t *testing.T, c *redis.Client) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "citycode-test:nonce:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
	})
	return prefix
}

func TestRedisAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c1, c2 := redisClient(t), redisClient(t)
	prefix := testPrefix(t, c1)
	node1, node2 := nonce.NewRedis(c1, prefix), nonce.NewRedis(c2, prefix)
	steps := []struct {
		store      *nonce.Redis
		app, nonce string
		want       bool
	}{
		{node1, "app1", "nonce-0000000000000001", true},
		{node2, "app1", "nonce-0000000000000001", false}, // replay on another node
		{node1, "app1", "nonce-0000000000000001", false}, // replay on the same node
		{node2, "app1", "nonce-0000000000000002", true},
		{node2, "app2", "nonce-0000000000000001", true},
		{node1, "app2", "nonce-0000000000000001", false},
	}
	for i, s := range steps {
		fresh, err := s.store.Use(ctx, s.app, s.nonce, time.Minute)
		if err != nil || fresh != s.want {
			t.Fatalf("step %d Use(%q, %q) = %v, %v; want %v", i, s.app, s.nonce, fresh, err, s.want)
		}
	}
	pttl, err := c1.PTTL(ctx, prefix+"app1:nonce-0000000000000001").Result()
	if err != nil || pttl <= 55*time.Second || pttl > time.Minute {
		t.Fatalf("key ttl = %v, %v; want just under 1m", pttl, err)
	}
}

func TestRedisExpiry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := redisClient(t)
	store := nonce.NewRedis(c, testPrefix(t, c))
	const ttl = 150 * time.Millisecond
	start := time.Now()
	if fresh, err := store.Use(ctx, "app", "nonce-expiry-000001", ttl); !fresh || err != nil {
		t.Fatalf("first use: %v, %v", fresh, err)
	}
	if fresh, err := store.Use(ctx, "app", "nonce-expiry-000001", ttl); fresh || err != nil {
		t.Fatalf("replay within ttl: %v, %v", fresh, err)
	}
	for {
		fresh, err := store.Use(ctx, "app", "nonce-expiry-000001", ttl)
		if err != nil {
			t.Fatal(err)
		}
		if fresh {
			if since := time.Since(start); since < ttl {
				t.Fatalf("fresh again after %v, before the ttl of %v", since, ttl)
			}
			return
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("nonce never expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisConcurrentNodes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c1, c2 := redisClient(t), redisClient(t)
	prefix := testPrefix(t, c1)
	nodes := []*nonce.Redis{nonce.NewRedis(c1, prefix), nonce.NewRedis(c2, prefix)}
	const goroutines = 16
	var fresh atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range goroutines {
		wg.Go(func() {
			<-start
			ok, err := nodes[i%2].Use(ctx, "app", "nonce-raced-0000001", time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				fresh.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := fresh.Load(); got != 1 {
		t.Fatalf("%d of %d concurrent uses were fresh, want exactly 1", got, goroutines)
	}
}

func TestRedisErrors(t *testing.T) {
	t.Parallel()
	c := redisClient(t)
	store := nonce.NewRedis(c, testPrefix(t, c))
	if fresh, err := store.Use(t.Context(), "app", "nonce-bad-ttl-00001", 0); fresh || !errors.Is(err, nonce.ErrTTL) {
		t.Errorf("ttl 0: %v, %v; want ErrTTL", fresh, err)
	}

	// An unreachable Redis is an error and never a fresh nonce.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer down.Close()
	if fresh, err := nonce.NewRedis(down, "x:").Use(t.Context(), "app", "nonce-redis-down-01", time.Minute); fresh || err == nil {
		t.Errorf("Redis down: %v, %v; want an error", fresh, err)
	}
}
