// Package nonce remembers which request nonces an app has used, so that a
// signed open-API request cannot be replayed while its timestamp is still
// inside the acceptance window.
//
// Two stores implement the same contract: Memory for a single host node
// (the default) and Redis for several nodes behind a load balancer, where a
// nonce used on one node must be refused on every other.
package nonce

import (
	"context"
	"errors"
	"time"
)

// Store records nonce uses.
type Store interface {
	// Use records that appID used nonce and reports whether it is fresh:
	// false means the same (appID, nonce) was used less than its ttl ago.
	// Recording and checking are one atomic step, so of concurrent uses of a
	// nonce exactly one is fresh. On error the caller must treat the nonce as
	// not fresh (fail closed).
	Use(ctx context.Context, appID, nonce string, ttl time.Duration) (fresh bool, err error)
}

// Errors of the stores.
var (
	// ErrTTL: Use was called with a ttl that is not positive.
	ErrTTL = errors.New("nonce: ttl must be positive")
	// ErrFull: the memory store holds MemoryLimit live nonces; see Memory.
	ErrFull = errors.New("nonce: memory store is full")
)
