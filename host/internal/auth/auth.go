// Package auth is console identity: operators, roles, the menu tree and its
// permission codes, password hashing, image captchas, login with lockout,
// sessions, and the session authenticator the HTTP layer calls on every
// console request.
//
// Authorization decisions and data scope come from the policy engine; auth
// stores who has which roles and turns a session token into an
// actor.Actor. Only this package reads or writes the auth_* tables; others
// use its Go API (tenancy calls CreatePlatformAdmin inside its own
// transaction when it creates a sub-platform).
package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// Errors of the package. Client mistakes are *fault.Error values; these
// sentinels are for misconfiguration and corrupt data.
var (
	// ErrConfig: New was given an incomplete Config.
	ErrConfig = errors.New("auth: incomplete configuration")
	// ErrHashFormat: a stored password hash is not a PHC argon2id string
	// this package can verify.
	ErrHashFormat = errors.New("auth: malformed password hash")
	// ErrCaptchaAnswer: the captcha answer source gave something other than
	// 4 to 8 digits.
	ErrCaptchaAnswer = errors.New("auth: captcha answer must be 4 to 8 digits")
)

// Config configures the Service. Pool, Authz, Sealer, MainPlatformID and
// Logins are required; zero durations and counts take the defaults.
type Config struct {
	Pool   *pgxpool.Pool
	Authz  *policy.Engine
	Sealer *codec.Sealer // seals operators' mobile numbers
	Log    *slog.Logger
	Clock  func() time.Time // default time.Now
	// MainPlatformID is the main platform's id (P0000): the initial
	// administrator's platform, and operators of it are main-platform ones.
	MainPlatformID string
	// Logins is told about every login attempt, successful or not.
	Logins LoginRecorder
	// ClientInfo tells the client's address and user agent for a request
	// context; login is a public route, so no actor carries them. Nil
	// records them empty.
	ClientInfo func(ctx context.Context) (ip, userAgent string)

	// PasswordParams are the argon2id costs of new hashes (zero fields:
	// m=19456 KiB, t=2, p=1). Raising them later keeps old hashes valid;
	// they are upgraded at the owner's next login.
	PasswordParams PasswordParams
	SessionIdle    time.Duration // sliding idle timeout; default 30 min
	SessionMax     time.Duration // absolute session lifetime; default 12 h
	MaxFailures    int           // consecutive failed logins that lock; default 5
	LockFor        time.Duration // how long a lock lasts; default 15 min
	Captcha        CaptchaConfig
}

// Service implements operators, roles, menus, login and sessions. It is safe
// for concurrent use.
type Service struct {
	pool        *pgxpool.Pool
	authz       *policy.Engine
	sealer      *codec.Sealer
	log         *slog.Logger
	now         func() time.Time
	mainID      string
	logins      LoginRecorder
	clientInfo  func(ctx context.Context) (string, string)
	pw          PasswordParams
	idle, max   time.Duration
	maxFailures int
	lockFor     time.Duration
	captcha     CaptchaConfig
	// dummyHash is verified against when an account does not exist, so the
	// answer takes as long as for a real account with a wrong password.
	dummyHash string
}

// New returns the Service.
func New(cfg Config) (*Service, error) {
	if cfg.Pool == nil || cfg.Authz == nil || cfg.Sealer == nil || cfg.MainPlatformID == "" || cfg.Logins == nil {
		return nil, ErrConfig
	}
	s := &Service{
		pool: cfg.Pool, authz: cfg.Authz, sealer: cfg.Sealer, log: cfg.Log, now: cfg.Clock,
		mainID: cfg.MainPlatformID, logins: cfg.Logins, clientInfo: cfg.ClientInfo,
		pw: cfg.PasswordParams.withDefaults(), idle: cfg.SessionIdle, max: cfg.SessionMax,
		maxFailures: cfg.MaxFailures, lockFor: cfg.LockFor, captcha: cfg.Captcha.withDefaults(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.clientInfo == nil {
		s.clientInfo = func(context.Context) (string, string) { return "", "" }
	}
	if s.idle <= 0 {
		s.idle = 30 * time.Minute
	}
	if s.max <= 0 {
		s.max = 12 * time.Hour
	}
	if s.maxFailures <= 0 {
		s.maxFailures = 5
	}
	if s.lockFor <= 0 {
		s.lockFor = 15 * time.Minute
	}
	s.dummyHash = s.pw.Hash(oneTimePassword())
	return s, nil
}

var _ httpapi.ConsoleAuthenticator = (*Service)(nil)
