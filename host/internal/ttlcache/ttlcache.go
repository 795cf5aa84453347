// Package ttlcache is a small concurrent cache whose entries expire after a
// fixed time, for answers on the hot path of every API call that may be a
// little stale (who holds a code, whether a scene is authorized, whether
// codes were revoked): each service states how stale in its own docs.
//
// It is bounded: when full, an insert clears the shard it falls in, which
// is crude but keeps memory fixed without bookkeeping on every read.
package ttlcache

import (
	"hash/maphash"
	"sync"
	"time"
)

const shards = 32

// Cache maps K to V for at most TTL after each Put.
type Cache[K comparable, V any] struct {
	ttl    time.Duration
	max    int // entries per shard
	clock  func() time.Time
	seed   maphash.Seed
	shards [shards]shard[K, V]
}

type shard[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]entry[V]
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns a cache of at most maxEntries entries living ttl each; clock
// nil is time.Now.
func New[K comparable, V any](ttl time.Duration, maxEntries int, clock func() time.Time) *Cache[K, V] {
	if clock == nil {
		clock = time.Now
	}
	c := &Cache[K, V]{ttl: ttl, max: max(1, maxEntries/shards), clock: clock, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = map[K]entry[V]{}
	}
	return c
}

func (c *Cache[K, V]) shard(k K) *shard[K, V] {
	return &c.shards[maphash.Comparable(c.seed, k)%shards]
}

// Get answers the value of k if it was Put less than TTL ago.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	s := c.shard(k)
	s.mu.RLock()
	e, ok := s.m[k]
	s.mu.RUnlock()
	if !ok || c.clock().Sub(e.at) >= c.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v under k.
func (c *Cache[K, V]) Put(k K, v V) {
	s := c.shard(k)
	s.mu.Lock()
	if len(s.m) >= c.max {
		clear(s.m)
	}
	s.m[k] = entry[V]{v: v, at: c.clock()}
	s.mu.Unlock()
}

// Delete drops k (a change made on this node applies here at once).
func (c *Cache[K, V]) Delete(k K) {
	s := c.shard(k)
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

// Clear drops every entry (a change that touches many keys, made on this
// node, applies here at once).
func (c *Cache[K, V]) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}
