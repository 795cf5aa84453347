// Package codeapi is the app-facing code API of the source manual's section
// 5: open (register the holder), show (issue a fresh signed code) and decode
// (verify a scanned code) of personal, health and payment codes, revocation,
// and the payment order notifications.
//
// It composes the other services through small interfaces: the code rules
// (which rule an app may use, its validity and collection fields), the code
// format and signing keys, the person registry, and the usage events. A
// request that answers success has its event committed.
package codeapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/ttlcache"
)

// Families of the manual's codes and the rule family each API serves.
const (
	FamilyIdentity = "identity"
	FamilyHealth   = "health"
	FamilyPayment  = "payment"
)

// Rule is what the API needs of one version of a code rule.
type Rule struct {
	ID         string // codeDefId
	Version    int
	Family     string
	Kind       string // person for the manual's codes
	PlatformID string // the rule's platform
	Validity   time.Duration
	Offline    bool // offline-verifiable: scanners verify with published keys
	// Active is false when the rule or this version is disabled; codes of an
	// inactive version answer FailedOperation.CodeNotActive.
	Active bool
	// Check validates the request's data-collection fields.
	Check func(params map[string]any) error
}

// Rules resolves code rules. Resolve checks the app is bound to the rule and
// answers its current version; Version answers a given version for codes
// being verified, including disabled ones (Active false).
type Rules interface {
	Resolve(ctx context.Context, appID, codeDefID string) (*Rule, error)
	Version(ctx context.Context, ruleID string, version int) (*Rule, error)
}

// Code is the content of a dynamic code, as issued and as verified.
type Code struct {
	PlatformID  string
	RuleID      string
	RuleVersion int
	Family      string
	Kind        string
	Subject     [codec.SubjectSize]byte
	CertType    string
	IssuedAt    time.Time
	Validity    time.Duration
	Offline     bool
}

// Codes encodes and signs codes with the platform's key, and parses and
// verifies them. Verify returns an error wrapping ErrTampered for anything
// that is not an intact code of this platform's keys.
type Codes interface {
	Issue(ctx context.Context, c Code) (text string, err error)
	Verify(ctx context.Context, text string) (*Code, error)
	// Certify signs a holder certificate: the device key (hex SM2 point)
	// may make codes of c's holder and rule from c.IssuedAt until expires,
	// each valid for c.Validity.
	Certify(ctx context.Context, c Code, deviceKey string, expires time.Time) ([]byte, error)
}

// ErrTampered is wrapped by Codes.Verify for malformed, altered or
// foreign-signed codes.
var ErrTampered = errors.New("codeapi: code tampered")

// Event is one usage event of the API.
type Event struct {
	At          time.Time
	Type        string // generate, show, verify
	Result      string // success, failure
	PlatformID  string
	AppID       string
	RuleID      string
	RuleVersion int
	Kind        string
	SubjectID   string // opaque: the holder's handle, never personal data
	CodeID      string
	OrgID       string
	Detail      []byte
}

// Events commits usage events before the request answers.
type Events interface {
	Record(ctx context.Context, evs ...Event) error
}

// Config configures the API.
type Config struct {
	Pool    *pgxpool.Pool
	Rules   Rules
	Codes   Codes
	Persons *persons.Service
	Sealer  *codec.Sealer
	Events  Events
	Log     *slog.Logger
	Clock   func() time.Time
	// Users refuses a blacklisted user (风控用户黑名单) on show and decode;
	// nil: none.
	Users func(ctx context.Context, userID string) error
	// Risk asks risk control about a generate, show or verify (event) of a
	// user's code, by an accepting organization for a verify (风控); nil:
	// none.
	Risk func(ctx context.Context, event, userID, orgID, codeID string) error
	// Scenes refuses a decode that a scene stops (场景): the decoding app's
	// counterpart is disabled, the accepting organization's scene is
	// stopped, or the holder (holderAppID, userID) switched that scene
	// off; nil: none. It runs on every decode, so it must be cheap.
	Scenes func(ctx context.Context, decoderAppID, holderAppID, userID, orgID string) error
}

// Service serves the code API. It is safe for concurrent use.
type Service struct {
	pool    *pgxpool.Pool
	rules   Rules
	codes   Codes
	persons *persons.Service
	sealer  *codec.Sealer
	events  Events
	log     *slog.Logger
	clock   func() time.Time
	revoked *ttlcache.Cache[revocationKey, time.Time]
	users   func(ctx context.Context, userID string) error
	risk    func(ctx context.Context, event, userID, orgID, codeID string) error
	scenes  func(ctx context.Context, decoderAppID, holderAppID, userID, orgID string) error
}

type revocationKey struct {
	handle int64
	rule   string
}

// New returns the API service.
func New(cfg Config) (*Service, error) {
	if cfg.Pool == nil || cfg.Rules == nil || cfg.Codes == nil || cfg.Persons == nil || cfg.Sealer == nil || cfg.Events == nil {
		return nil, errors.New("codeapi: Pool, Rules, Codes, Persons, Sealer and Events are required")
	}
	s := &Service{pool: cfg.Pool, rules: cfg.Rules, codes: cfg.Codes, persons: cfg.Persons, sealer: cfg.Sealer,
		events: cfg.Events, log: cfg.Log, clock: cfg.Clock, users: cfg.Users, risk: cfg.Risk, scenes: cfg.Scenes}
	if s.risk == nil {
		s.risk = func(context.Context, string, string, string, string) error { return nil }
	}
	if s.scenes == nil {
		s.scenes = func(context.Context, string, string, string, string) error { return nil }
	}
	if s.users == nil {
		s.users = func(context.Context, string) error { return nil }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	// A revocation made on another node applies here within 2 s; on this
	// node at once.
	s.revoked = ttlcache.New[revocationKey, time.Time](2*time.Second, 1<<18, s.clock)
	return s, nil
}
