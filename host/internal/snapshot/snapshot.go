// Package snapshot keeps a value read from the database in memory for the
// hot path of every request — blacklists, risk rules, capability grants,
// traffic limits, registered business codes — and reads it again when it
// is older than a period. Several nodes then agree within that period
// without a round trip per request; a change made on a node applies there
// at once (Invalidate).
//
// One caller reads at a time; the others wait for its result rather than
// all querying the database at once when the period ends. A failed read
// leaves the last value in force and is tried again after the period, so
// an unreachable database is not asked on every request.
package snapshot

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Value is a value re-read every period.
type Value[T any] struct {
	read  func(context.Context) (T, error)
	every time.Duration
	clock func() time.Time
	log   *slog.Logger
	what  string

	mu      sync.RWMutex
	v       T
	have    bool  // v was read at least once
	err     error // the last read's error, while there is no value
	loaded  time.Time
	invalid bool
	gen     uint64 // counts Invalidate calls
	load    sync.Mutex
}

// Config describes a snapshot.
type Config struct {
	Every time.Duration    // how old a value may get; default 2 s
	Clock func() time.Time // default time.Now
	Log   *slog.Logger     // failed reads are logged here
	What  string           // what the value is, for the log ("the blacklists")
}

// New makes a snapshot of what read answers.
func New[T any](cfg Config, read func(context.Context) (T, error)) *Value[T] {
	if cfg.Every <= 0 {
		cfg.Every = 2 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Value[T]{read: read, every: cfg.Every, clock: cfg.Clock, log: cfg.Log, what: cfg.What, invalid: true}
}

func (s *Value[T]) fresh(now time.Time) (T, error, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ok := !s.invalid && now.Sub(s.loaded) < s.every && !s.loaded.After(now)
	if !s.have {
		var zero T
		return zero, s.err, ok
	}
	return s.v, nil, ok
}

// Get answers the value, read again when older than the period. It answers
// an error only when no read has ever succeeded; a read that fails later
// is logged and the last value stays.
func (s *Value[T]) Get(ctx context.Context) (T, error) {
	now := s.clock()
	if v, err, ok := s.fresh(now); ok {
		return v, err
	}
	s.load.Lock()
	defer s.load.Unlock()
	if v, err, ok := s.fresh(now); ok {
		return v, err
	}
	s.mu.RLock()
	gen := s.gen
	s.mu.RUnlock()
	next, err := s.read(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	// A change committed while reading may be missing from next: when an
	// Invalidate came meanwhile, the next Get reads again.
	s.loaded, s.invalid = now, s.gen != gen
	if err != nil {
		if s.have {
			s.log.Warn("reading "+s.what+": the last value stays in force", "err", err)
			return s.v, nil
		}
		s.err = err
		var zero T
		return zero, err
	}
	s.v, s.have, s.err = next, true, nil
	return next, nil
}

// Invalidate makes the next Get read again, keeping the current value in
// force should that read fail.
func (s *Value[T]) Invalidate() {
	s.mu.Lock()
	s.invalid = true
	s.gen++
	s.mu.Unlock()
}
