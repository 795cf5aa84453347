package pluginhost

import (
	"fmt"
	"sync"
	"time"
)

// A plugin whose calls fail in the runtime (crashes, timeouts, memory
// exhausted) breakAfter times in a row on a node is given a rest of
// breakFor there: its landing pages fall back to the platform's standard
// page and its actions answer 503, instead of every citizen waiting out a
// deadline or meeting a crash. After the rest one call goes through;
// success closes the breaker, failure opens it again. An answer the plugin
// gives, an error included, is not a failure; nor is a plugin that is
// restarting (ErrUnavailable), which already fails at once and comes back
// by itself. Each version has its own breaker.
const (
	breakAfter = 5
	breakFor   = 30 * time.Second
)

type breaker struct {
	mu        sync.Mutex
	failures  int
	openUntil time.Time
}

// allow reports whether a call may go to the plugin now.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !now.Before(b.openUntil)
}

// done records a call's outcome.
func (b *breaker) done(ok bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.failures, b.openUntil = 0, time.Time{}
		return
	}
	b.failures++
	if b.failures >= breakAfter {
		b.openUntil = now.Add(breakFor)
	}
}

// state describes an open breaker, or "" when closed.
func (b *breaker) state(now time.Time) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.openUntil) {
		return fmt.Sprintf("breaker open after %d failures in a row, until %s", b.failures, b.openUntil.Format(time.RFC3339))
	}
	return ""
}

// breakerOf answers a plugin version's breaker on this node.
func (s *Service) breakerOf(l *loaded) *breaker {
	b, _ := s.breakers.LoadOrStore(l.name+"@"+l.version, &breaker{})
	return b.(*breaker)
}
