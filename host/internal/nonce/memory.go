package nonce

import (
	"container/heap"
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// MemoryLimit is the most nonces a Memory store holds at once. An entry
// costs 80–100 bytes (map slot and expiry-queue item, with their growth
// slack), so the store stays under about 1.6 GiB; the limit is 28,000
// distinct requests per second sustained over a 600 s ttl. Past that, nodes
// should share a Redis store.
const MemoryLimit = 1 << 24

const (
	memoryShards = 64
	// sweepBatch bounds the expired entries one Use removes, so no call
	// stalls on a large backlog; as each Use adds at most one entry, the
	// sweep always outpaces growth.
	sweepBatch = 32
)

// Memory is a Store in the host's own memory, for a single node. It is
// sharded to keep lock contention low and is safe for concurrent use.
//
// Memory is bounded: an entry lives until its ttl passes and is then
// removed by later calls (a few per call, oldest first), so the store holds
// about the number of distinct nonces used within the longest ttl, and never
// more than MemoryLimit. When full, Use fails with ErrFull rather than
// forget a live nonce, since forgetting would let a replay through.
//
// Nonces are kept as 128-bit keyed hashes of (appID, nonce) with a random
// per-store key: a collision, which nobody can aim for, could only refuse a
// fresh nonce, never accept a replay.
type Memory struct {
	clock        func() time.Time
	seed0, seed1 maphash.Seed
	shardLimit   int
	shards       [memoryShards]memoryShard
}

type memoryShard struct {
	mu     sync.Mutex
	expiry map[memoryKey]int64 // unix ns after which the nonce is fresh again
	queue  expiryQueue
}

type memoryKey [2]uint64

// NewMemory returns an empty memory store reading time from clock (time.Now
// when nil).
func NewMemory(clock func() time.Time) *Memory {
	if clock == nil {
		clock = time.Now
	}
	m := &Memory{clock: clock, seed0: maphash.MakeSeed(), seed1: maphash.MakeSeed(), shardLimit: MemoryLimit / memoryShards}
	for i := range m.shards {
		m.shards[i].expiry = make(map[memoryKey]int64)
	}
	return m
}

// Use implements Store. A nonce is refused while now < first use + ttl.
func (m *Memory) Use(_ context.Context, appID, nonce string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, ErrTTL
	}
	k := memoryKey{m.hash(m.seed0, appID, nonce), m.hash(m.seed1, appID, nonce)}
	now := m.clock().UnixNano()
	s := &m.shards[k[0]%memoryShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if exp, ok := s.expiry[k]; ok && now < exp {
		return false, nil
	}
	if len(s.expiry) >= m.shardLimit {
		return false, ErrFull
	}
	exp := now + int64(ttl)
	s.expiry[k] = exp
	heap.Push(&s.queue, expiryItem{exp: exp, key: k})
	return true, nil
}

// Len returns the number of nonces held, including expired ones not yet
// swept.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.expiry)
		s.mu.Unlock()
	}
	return n
}

func (m *Memory) hash(seed maphash.Seed, appID, nonce string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(appID)
	h.WriteByte(0)
	h.WriteString(nonce)
	return h.Sum64()
}

// sweep removes up to sweepBatch entries that expired by now. A key reused
// after expiry has a newer queue item; its stale item must not delete it.
func (s *memoryShard) sweep(now int64) {
	for range sweepBatch {
		if len(s.queue) == 0 || s.queue[0].exp > now {
			return
		}
		it := heap.Pop(&s.queue).(expiryItem)
		if s.expiry[it.key] == it.exp {
			delete(s.expiry, it.key)
		}
	}
}

type expiryItem struct {
	exp int64
	key memoryKey
}

// expiryQueue is a min-heap by expiry (ttls differ per call, so insertion
// order is not expiry order).
type expiryQueue []expiryItem

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].exp < q[j].exp }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(expiryItem)) }
func (q *expiryQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

var _ Store = (*Memory)(nil)
