// Package whitelist keeps the scan whitelist (扫码白名单: domains whose
// object and enterprise code URLs are recognized as the platform's) and the
// service whitelist (服务白名单: domains a landing page may send a citizen
// to), and answers whether a URL is on them.
//
// An entry of the main platform holds for every platform; a sub-platform's
// for itself. A domain is a host ("svc.example.cn", which matches only
// itself) or "*.example.cn" (its subdomains, not example.cn itself).
package whitelist

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/ttlcache"
)

// Kinds of list.
const (
	KindScan    = "scan"
	KindService = "service"
)

// Config wires the service.
type Config struct {
	Pool           *pgxpool.Pool
	MainPlatformID string
	Clock          func() time.Time
}

// Service reads and keeps the lists.
type Service struct {
	cfg   Config
	cache *ttlcache.Cache[string, []string] // kind + platform → domains
}

// New makes the service; lookups are cached for two seconds, so a change
// reaches every node within that.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Service{cfg: cfg, cache: ttlcache.New[string, []string](2*time.Second, 1024, cfg.Clock)}
}

// domains answers the domains of a kind that hold for a platform.
func (s *Service) domains(ctx context.Context, kind, platformID string) ([]string, error) {
	key := kind + "\x00" + platformID
	if d, ok := s.cache.Get(key); ok {
		return d, nil
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT domain FROM whitelist_entries WHERE kind = $1 AND platform_id IN ($2, $3) ORDER BY domain`,
		kind, platformID, s.cfg.MainPlatformID)
	if err != nil {
		return nil, err
	}
	d, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	s.cache.Put(key, d)
	return d, nil
}

// Allowed reports whether a URL's host is on a platform's list of the
// kind, and the entry that matched. Service targets must be https; a URL
// with credentials, or one that does not parse, is never allowed.
func (s *Service) Allowed(ctx context.Context, kind, platformID, raw string) (bool, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Host == "" || strings.ContainsAny(raw, "\\\t\r\n\x00 ") {
		return false, "", nil
	}
	switch {
	case kind == KindService && u.Scheme != "https":
		return false, "", nil
	case u.Scheme != "https" && u.Scheme != "http":
		return false, "", nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	ds, err := s.domains(ctx, kind, platformID)
	if err != nil {
		return false, "", err
	}
	for _, d := range ds {
		if matches(d, host) {
			return true, d, nil
		}
	}
	return false, "", nil
}

// matches reports whether an entry covers a host.
func matches(domain, host string) bool {
	if rest, ok := strings.CutPrefix(domain, "*."); ok {
		return strings.HasSuffix(host, "."+rest)
	}
	return host == domain
}

// normalize checks a domain as an administrator enters it and answers it in
// lower case.
func normalize(d string) (string, error) {
	d = strings.ToLower(strings.TrimSpace(d))
	bad := fault.Invalidf("parameter %q: %q is not a domain (svc.example.cn, or *.example.cn for its subdomains)", "domain", d)
	host, wild := strings.CutPrefix(d, "*.")
	if len(host) > 253 || !strings.Contains(host, ".") {
		return "", bad
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", bad
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return "", bad
			}
		}
	}
	if wild {
		return "*." + host, nil
	}
	return host, nil
}
