// Package scenes keeps the scene catalogue and the service pool the phone
// clients show (场景与服务): a tree of scene types with typed definition
// parameters; scenes with their intro, contact, required authorization
// level, keywords and accepting organizations; a pool of services shared by
// every client (三端同源); what is published to each client (the App,
// mini-program A, mini-program B) independently; the organizations that
// integrate scenes (场景对接方); and each user's scene switches.
//
// The phone clients read it through signed configuration APIs that carry a
// strong ETag (httpapi Route.ETag), and decode asks Gate whether a scene stops
// a person's code at an organization.
//
// Rows belong to a platform. Console management is limited to the caller's
// data scope; a main-platform scene type or service is offered to every
// platform, and so is a main-platform scene to every platform's apps.
package scenes

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// The clients a scene or service is published to.
const (
	ClientApp = "app"  // the city's App
	ClientMPA = "mp-a" // mini-program of platform A
	ClientMPB = "mp-b" // mini-program of platform B
)

// Clients lists every client, in display order.
var Clients = []string{ClientApp, ClientMPA, ClientMPB}

// Config wires the service.
type Config struct {
	Pool           *pgxpool.Pool
	MainPlatformID string
	Log            *slog.Logger
	Clock          func() time.Time
	// Refresh is how old the decode gate's snapshot may grow before it is
	// read again, so that changes made on another node reach this one
	// (default 2 s). Changes made on this node apply at once.
	Refresh time.Duration
	// Department answers the department of a console operator, for the
	// service lists (服务清单); nil: lists are for every department.
	Department func(ctx context.Context, operatorID int64) (string, error)
}

// Service manages scenes. It is safe for concurrent use.
type Service struct {
	cfg  Config
	gate *gate
}

// New makes the service.
func New(cfg Config) (*Service, error) {
	if cfg.Pool == nil || cfg.MainPlatformID == "" {
		return nil, errors.New("scenes: Pool and MainPlatformID are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 2 * time.Second
	}
	s := &Service{cfg: cfg}
	s.gate = newGate(cfg.Pool, cfg.Clock, cfg.Refresh, cfg.Log)
	return s, nil
}

// changed makes this node's decode gate read the catalogue again on its
// next use; other nodes follow within Config.Refresh.
func (s *Service) changed() { s.gate.invalidate() }

// ownPlatform answers the platform a new row belongs to: the one asked for,
// or the caller's, which must be in the caller's scope.
func ownPlatform(ctx context.Context, asked string) (string, error) {
	p := asked
	if p == "" {
		if a := actor.From(ctx); a != nil {
			p = a.PlatformID
		}
	}
	if p == "" || !policy.ScopeFrom(ctx).Contains(p, "", "") {
		return "", fault.Deniedf("platform %q is outside your scope", p)
	}
	return p, nil
}

// checkClients validates a list of clients and answers it sorted without
// duplicates.
func checkClients(param string, cs []string) ([]string, error) {
	out := []string{}
	for _, c := range cs {
		if !slices.Contains(Clients, c) {
			return nil, fault.Invalidf("parameter %q: %q is not a client (one of %s)", param, c, strings.Join(Clients, ", "))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out, nil
}

// checkHTTPS validates a link the clients open or load: an absolute https
// URL without credentials. Empty is allowed unless required.
func checkHTTPS(param, raw string, required bool) error {
	if raw == "" {
		if required {
			return fault.Missing(param)
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsAny(raw, "\\\t\r\n\x00 ") {
		return fault.Invalidf("parameter %q: %q is not an https URL", param, raw)
	}
	return nil
}

// cleanWords trims, lower-cases for matching and deduplicates keywords.
func cleanWords(param string, ws []string) ([]string, error) {
	out := []string{}
	for _, w := range ws {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" {
			continue
		}
		if len([]rune(w)) > 30 {
			return nil, fault.Invalidf("parameter %q: keyword %q is longer than 30 characters", param, w)
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	if len(out) > 50 {
		return nil, fault.Invalidf("parameter %q: at most 50 keywords", param)
	}
	return out, nil
}

// cleanIDs trims and deduplicates identifiers (acceptOrgId, cityCodeAppId).
func cleanIDs(param string, ids []string) ([]string, error) {
	out := []string{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if len(id) > 64 {
			return nil, fault.Invalidf("parameter %q: %q is longer than 64 characters", param, id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}
