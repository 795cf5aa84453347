package tenancy

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/opencitycode/citycode/host/internal/store"
)

// AppSecrets is what the request verifier needs to authenticate an app's
// signed call. The value may be shared between callers: treat it, and its
// slices, as read-only.
type AppSecrets struct {
	AppID      string
	PlatformID string
	// Enabled is false when the app or its platform is disabled.
	Enabled bool
	// Secret is the 32-byte HMAC-SM3 key (the console shows it as hex).
	Secret []byte
	// SM2PublicKey is the app's SM2 public key text, "" when none.
	SM2PublicKey string
	// DataKey is the 16-byte SM4 key for encrypted bodies, nil when none.
	DataKey []byte
}

// AppSecrets answers the secrets of an app, or ErrAppNotFound. It is on the
// path of every signed call: one indexed query joining the platform, then an
// in-process cache. Answers (including "not found") are cached for the
// secrets cache TTL (Config.SecretsCacheTTL, default 2 s). Every change made
// through this Service drops the app from this host's cache at once, so a
// disabled app, a rotated secret or a disabled platform take effect here
// immediately and on other hosts within the TTL.
func (s *Service) AppSecrets(ctx context.Context, appID string) (*AppSecrets, error) {
	if v, ok := s.secrets.get(appID); ok {
		if v == nil {
			return nil, ErrAppNotFound
		}
		return v, nil
	}
	gen := s.secrets.generation()
	// Concurrent misses for one app share a single query; keying by
	// generation keeps callers that arrive after an invalidation from
	// sharing a query that began before it.
	v, err, _ := s.secrets.flight.Do(strconv.FormatUint(gen, 10)+"/"+appID, func() (any, error) {
		v, err := s.loadSecrets(ctx, appID)
		if err != nil {
			return nil, err
		}
		s.secrets.put(appID, v, gen)
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	if v.(*AppSecrets) == nil {
		return nil, ErrAppNotFound
	}
	return v.(*AppSecrets), nil
}

// loadSecrets reads and opens an app's secrets; nil means no such app.
func (s *Service) loadSecrets(ctx context.Context, appID string) (*AppSecrets, error) {
	if !appIDRE.MatchString(appID) {
		return nil, nil
	}
	var out AppSecrets
	var sealedSecret, sealedKey string
	err := s.pool.QueryRow(ctx, `
		SELECT a.id, a.platform_id, a.status = 'enabled' AND p.status = 'enabled', a.secret_sealed, a.sm2_public_key, a.data_key_sealed
		FROM apps a JOIN platforms p ON p.id = a.platform_id WHERE a.id = $1`, appID).
		Scan(&out.AppID, &out.PlatformID, &out.Enabled, &sealedSecret, &out.SM2PublicKey, &sealedKey)
	if store.NoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tenancy: app secrets: %w", err)
	}
	if out.Secret, err = s.sealer.Open(sealedSecret, purposeAppSecret); err != nil {
		return nil, fmt.Errorf("tenancy: open secret of app %s: %w", appID, err)
	}
	if sealedKey != "" {
		if out.DataKey, err = s.sealer.Open(sealedKey, purposeDataKey); err != nil {
			return nil, fmt.Errorf("tenancy: open data key of app %s: %w", appID, err)
		}
	}
	return &out, nil
}

// Invalidate drops an app from this host's secrets cache. The Service calls
// it on every change of an app; other packages need not.
func (s *Service) Invalidate(appID string) { s.secrets.invalidate(appID) }

// maxCachedSecrets bounds the cache so that calls with made-up app ids
// cannot grow it without limit.
const maxCachedSecrets = 100_000

// secretCache is a TTL cache of AppSecrets answers; a nil value caches
// "not found". A generation counter keeps a load that raced with an
// invalidation from storing its stale answer.
type secretCache struct {
	ttl    time.Duration
	clock  func() time.Time
	flight singleflight.Group

	mu      sync.Mutex
	gen     uint64
	entries map[string]secretEntry
}

type secretEntry struct {
	v       *AppSecrets
	expires time.Time
}

func newSecretCache(ttl time.Duration, clock func() time.Time) *secretCache {
	return &secretCache{ttl: ttl, clock: clock, entries: map[string]secretEntry{}}
}

func (c *secretCache) get(appID string) (*AppSecrets, bool) {
	if c.ttl < 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[appID]
	if !ok || !c.clock().Before(e.expires) {
		return nil, false
	}
	return e.v, true
}

func (c *secretCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores v unless the cache was invalidated since gen was read.
func (c *secretCache) put(appID string, v *AppSecrets, gen uint64) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	now := c.clock()
	if len(c.entries) >= maxCachedSecrets {
		for id, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= maxCachedSecrets {
			clear(c.entries)
		}
	}
	c.entries[appID] = secretEntry{v: v, expires: now.Add(c.ttl)}
}

func (c *secretCache) invalidate(appID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, appID)
}

// invalidatePlatform drops every cached app of a platform.
func (c *secretCache) invalidatePlatform(platformID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for id, e := range c.entries {
		if e.v != nil && e.v.PlatformID == platformID {
			delete(c.entries, id)
		}
	}
}
