// Package risk is the risk-control subsystem (城市码风控). This file holds
// its blacklists (黑名单): IP addresses and ranges refused on every
// request, access accounts (apps) refused on their signed calls, and users.
//
// The gate checks a snapshot in memory — the hot path of every request
// touches no database — which every node re-reads every two seconds; a
// change made on a node applies there at once.
package risk

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/snapshot"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Kinds of blacklist entry.
const (
	KindIP      = "ip"
	KindAccount = "account"
	KindUser    = "user"
)

// Config wires the blacklists.
type Config struct {
	Pool   *pgxpool.Pool
	Clock  func() time.Time
	Log    *slog.Logger
	Reload time.Duration // default 2 s
}

// Blacklists keeps the entries and gates requests.
type Blacklists struct {
	cfg Config
	log *slog.Logger

	snap *snapshot.Value[*entries]
}

// entries are the active blacklist entries, as every node holds them.
type entries struct {
	prefixes []netip.Prefix
	accounts map[string]bool
	users    map[string]bool
}

// NewBlacklists makes the service.
func NewBlacklists(cfg Config) *Blacklists {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Reload <= 0 {
		cfg.Reload = 2 * time.Second
	}
	b := &Blacklists{cfg: cfg, log: cfg.Log.With("component", "blacklist")}
	b.snap = snapshot.New(snapshot.Config{Every: cfg.Reload, Clock: cfg.Clock, Log: b.log, What: "the blacklists"}, b.read)
	return b
}

// current answers the entries in force. When the database cannot be read
// the last ones stay in force (none before any was read).
func (b *Blacklists) current(ctx context.Context) *entries {
	s, err := b.snap.Get(ctx)
	if err != nil {
		b.log.Warn("reading the blacklists", "err", err)
	}
	if s == nil {
		s = &entries{}
	}
	return s
}

func (b *Blacklists) read(ctx context.Context) (*entries, error) {
	rows, err := b.cfg.Pool.Query(ctx, `SELECT kind, value FROM risk_blacklist
		WHERE status = 'active' AND (expires_at IS NULL OR expires_at > $1)`, b.cfg.Clock())
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{ kind, value string }, error) {
		var e struct{ kind, value string }
		return e, r.Scan(&e.kind, &e.value)
	})
	if err != nil {
		return nil, err
	}
	s := &entries{accounts: map[string]bool{}, users: map[string]bool{}}
	for _, e := range list {
		switch e.kind {
		case KindIP:
			if p, err := netip.ParsePrefix(e.value); err == nil {
				s.prefixes = append(s.prefixes, p)
			}
		case KindAccount:
			s.accounts[e.value] = true
		case KindUser:
			s.users[e.value] = true
		}
	}
	return s, nil
}

func (b *Blacklists) invalidate() { b.snap.Invalidate() }

var errBlacklisted = func(what string) error {
	return fault.E(fault.Denied, fault.CodeBlacklisted, "%s is on a blacklist (黑名单)", what)
}

// AllowIP implements httpapi.Gate.
func (b *Blacklists) AllowIP(ctx context.Context, ip string) error {
	s := b.current(ctx)
	if len(s.prefixes) == 0 {
		return nil
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	addr = addr.Unmap()
	for _, p := range s.prefixes {
		if p.Contains(addr) {
			return errBlacklisted("the IP address " + ip)
		}
	}
	return nil
}

// AllowApp implements httpapi.Gate.
func (b *Blacklists) AllowApp(ctx context.Context, appID string) error {
	if b.current(ctx).accounts[appID] {
		return errBlacklisted("the access account " + appID)
	}
	return nil
}

// AllowUser refuses a blacklisted user (a person's userId of an app).
func (b *Blacklists) AllowUser(ctx context.Context, userID string) error {
	if userID != "" && b.current(ctx).users[userID] {
		return errBlacklisted("the user " + userID)
	}
	return nil
}

var _ httpapi.Gate = (*Blacklists)(nil)

// Routes declares the console's management of the blacklists.
func (b *Blacklists) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/risk/blacklist", b.listRoute).
			Doc("黑名单列表", "IP address (CIDR), access account (app) and user blacklist entries, by kind, status and keyword.").
			Tag("risk").Console("blacklist.read"),
		httpapi.Handle(http.MethodPost, "/console/risk/blacklist", b.createRoute).
			Doc("新增黑名单", "Blacklists an IP address or range (CIDR; refused on every request), an access account (an app: refused on its signed calls) or a user, until released or until expiresAt. Applies on every node within two seconds.").
			Tag("risk").Console("blacklist.create"),
		httpapi.Handle(http.MethodPost, "/console/risk/blacklist/:id/release", b.releaseRoute).
			Doc("解除黑名单", "Releases an entry (处理); it stays in the list as released.").
			Tag("risk").Console("blacklist.update"),
	}
}

// Entry is a blacklist entry.
type Entry struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"`
	Value      string     `json:"value"`
	Reason     string     `json:"reason,omitempty"`
	Status     string     `json:"status"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	ReleasedBy *string    `json:"releasedBy,omitempty"`
	ReleasedAt *time.Time `json:"releasedAt,omitempty"`
}

// ListIn filters entries.
type ListIn struct {
	Kind     string `query:"kind" validate:"omitempty,oneof=ip account user"`
	Status   string `query:"status" validate:"omitempty,oneof=active released"`
	Keyword  string `query:"keyword" validate:"max=100"`
	PageNo   int    `query:"pageNo" validate:"min=0,max=100000"`
	PageSize int    `query:"pageSize" validate:"min=0,max=500"`
}

// Page is a page of entries.
type Page struct {
	Total int64   `json:"total"`
	Items []Entry `json:"items"`
}

const entryCols = `id, kind, value, reason, status, expires_at, created_by, created_at, released_by, released_at`

func scanEntry(r pgx.Row) (Entry, error) {
	var e Entry
	err := r.Scan(&e.ID, &e.Kind, &e.Value, &e.Reason, &e.Status, &e.ExpiresAt, &e.CreatedBy, &e.CreatedAt, &e.ReleasedBy, &e.ReleasedAt)
	return e, err
}

func (b *Blacklists) listRoute(ctx context.Context, in *ListIn) (*Page, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	where := `($1 = '' OR kind = $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR strpos(value, $3) > 0 OR strpos(reason, $3) > 0)`
	p := &Page{Items: []Entry{}}
	if err := b.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM risk_blacklist WHERE `+where, in.Kind, in.Status, in.Keyword).Scan(&p.Total); err != nil {
		return nil, err
	}
	rows, err := b.cfg.Pool.Query(ctx, `SELECT `+entryCols+` FROM risk_blacklist WHERE `+where+` ORDER BY id DESC OFFSET $4 LIMIT $5`,
		in.Kind, in.Status, in.Keyword, (max(in.PageNo, 1)-1)*size, size)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, err
	}
	p.Items = items
	return p, nil
}

// CreateIn blacklists something.
type CreateIn struct {
	Kind      string     `json:"kind" validate:"required,oneof=ip account user"`
	Value     string     `json:"value" validate:"required,max=64" doc:"ip: an address or CIDR; account: an app id; user: a userId"`
	Reason    string     `json:"reason" validate:"max=200"`
	ExpiresAt *time.Time `json:"expiresAt" doc:"optional: the entry lapses then"`
}

func (b *Blacklists) createRoute(ctx context.Context, in *CreateIn) (*Entry, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	v := strings.TrimSpace(in.Value)
	switch in.Kind {
	case KindIP:
		p, err := parseCIDR(v)
		if err != nil {
			return nil, err
		}
		v = p.String()
	case KindAccount:
		var n int
		if err := b.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM apps WHERE id = $1`, v).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fault.NotFoundf("app %s not found", v)
		}
	case KindUser:
		if v == "" || strings.ContainsAny(v, " \t\r\n\x00") {
			return nil, fault.Invalidf("parameter %q: %q is not a user id", "value", v)
		}
	}
	now := b.cfg.Clock()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, fault.Invalidf("parameter %q: must be in the future", "expiresAt")
	}
	e, err := scanEntry(b.cfg.Pool.QueryRow(ctx, `INSERT INTO risk_blacklist (kind, value, reason, expires_at, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, value) WHERE status = 'active' DO NOTHING RETURNING `+entryCols,
		in.Kind, v, in.Reason, in.ExpiresAt, actor.AccountOf(ctx), now))
	if store.NoRows(err) {
		return nil, fault.Conflictf(fault.CodeResourceAlreadyExists, "%s %s is already blacklisted", in.Kind, v)
	}
	if err != nil {
		return nil, err
	}
	b.invalidate()
	return &e, nil
}

// parseCIDR reads an address (as its single-address prefix) or a CIDR,
// and refuses ranges wide enough to shut out a city by mistake.
func parseCIDR(v string) (netip.Prefix, error) {
	bad := fault.Invalidf("parameter %q: %q is not an IP address or CIDR range", "value", v)
	var p netip.Prefix
	if strings.Contains(v, "/") {
		var err error
		if p, err = netip.ParsePrefix(v); err != nil {
			return p, bad
		}
	} else {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return p, bad
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p = p.Masked()
	if (p.Addr().Is4() && p.Bits() < 8) || (p.Addr().Is6() && p.Bits() < 32) {
		return p, fault.Invalidf("parameter %q: %s is too wide a range (at most /8, or /32 for IPv6)", "value", p)
	}
	return p, nil
}

// IDIn names an entry.
type IDIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

func (b *Blacklists) releaseRoute(ctx context.Context, in *IDIn) (*Entry, error) {
	if err := mainOnly(ctx); err != nil {
		return nil, err
	}
	e, err := scanEntry(b.cfg.Pool.QueryRow(ctx, `UPDATE risk_blacklist SET status = 'released', released_by = $2, released_at = $3
		WHERE id = $1 AND status = 'active' RETURNING `+entryCols, in.ID, actor.AccountOf(ctx), b.cfg.Clock()))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("no active blacklist entry %d", in.ID)
	}
	if err != nil {
		return nil, err
	}
	b.invalidate()
	return &e, nil
}

// mainOnly keeps the blacklists to the main platform's administrators: an
// IP address refused is refused on the whole host.
func mainOnly(ctx context.Context) error {
	if !actor.OnMainPlatform(ctx) {
		return fault.Deniedf("blacklists are kept by the main platform's administrators")
	}
	return nil
}
