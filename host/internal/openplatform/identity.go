package openplatform

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/auth"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Identity is where developers' accounts and passwords live: the city's
// unified identity (统一身份认证) later, the local account provider by
// default. The portal keeps its own developer record keyed by the
// provider's name and the subject it answers.
type Identity interface {
	// Name names the provider ("local"); stored with every developer.
	Name() string
	// Register creates the account and answers its subject; an account
	// that exists answers a ResourceAlreadyExists fault, a password the
	// provider refuses an InvalidParameter one.
	Register(ctx context.Context, account, password string) (subject string, err error)
	// Verify checks a password and answers the account's subject; wrong
	// credentials answer AuthFailure.InvalidCredential, a locked account
	// AuthFailure.AccountLocked.
	Verify(ctx context.Context, account, password string) (subject string, err error)
}

// LocalConfig configures the local account provider.
type LocalConfig struct {
	Pool *pgxpool.Pool
	// PasswordParams are the console's argon2id costs (zero: its defaults).
	PasswordParams auth.PasswordParams
	MaxFailures    int           // consecutive failures that lock; default 5
	LockFor        time.Duration // default 15 min
	Clock          func() time.Time
}

// LocalAccounts is the local account provider: argon2id hashes and the
// password policy of the console (host/internal/auth), with a lockout after
// repeated failures. The subject is the account itself.
type LocalAccounts struct {
	cfg   LocalConfig
	dummy string // verified for unknown accounts, so they answer as slowly
}

// NewLocalAccounts makes the provider.
func NewLocalAccounts(cfg LocalConfig) *LocalAccounts {
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.LockFor <= 0 {
		cfg.LockFor = 15 * time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &LocalAccounts{cfg: cfg, dummy: cfg.PasswordParams.Hash(codec.RandomToken(16))}
}

var _ Identity = (*LocalAccounts)(nil)

// Name implements Identity.
func (l *LocalAccounts) Name() string { return "local" }

// Register implements Identity.
func (l *LocalAccounts) Register(ctx context.Context, account, password string) (string, error) {
	if err := auth.CheckPasswordPolicy("password", password); err != nil {
		return "", err
	}
	tag, err := l.cfg.Pool.Exec(ctx, `INSERT INTO open_local_accounts (account, password_hash, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (account) DO NOTHING`, account, l.cfg.PasswordParams.Hash(password), l.cfg.Clock())
	if err != nil {
		return "", fmt.Errorf("openplatform: insert local account: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return "", errAccountTaken(account)
	}
	return account, nil
}

func errAccountTaken(account string) error {
	return fault.Conflictf(fault.CodeResourceAlreadyExists, "the account %s is taken; choose another", account)
}

var errBadCredential = fault.E(fault.Unauthenticated, fault.CodeInvalidCredential, "wrong account or password")

// Verify implements Identity. A locked account answers AccountLocked
// whatever the password, so guessing cannot go on during the lock.
func (l *LocalAccounts) Verify(ctx context.Context, account, password string) (string, error) {
	var hash string
	var failures int
	var lockedUntil *time.Time
	err := l.cfg.Pool.QueryRow(ctx, `SELECT password_hash, failures, locked_until FROM open_local_accounts WHERE account = $1`, account).
		Scan(&hash, &failures, &lockedUntil)
	if store.NoRows(err) {
		_, _, _ = l.cfg.PasswordParams.Verify(l.dummy, password)
		return "", errBadCredential
	}
	if err != nil {
		return "", err
	}
	now := l.cfg.Clock()
	ok, rehash, verr := l.cfg.PasswordParams.Verify(hash, password)
	if lockedUntil != nil && now.Before(*lockedUntil) {
		mins := int(math.Ceil(lockedUntil.Sub(now).Minutes()))
		return "", fault.E(fault.Denied, fault.CodeAccountLocked, "too many failed logins: the account is locked; try again in %d minute(s)", mins)
	}
	if verr != nil {
		return "", fmt.Errorf("openplatform: verify password of %s: %w", account, verr)
	}
	if !ok {
		// The count and the lock are one statement, so concurrent guesses
		// cannot slip between reading and writing the count.
		_, err := l.cfg.Pool.Exec(ctx, `UPDATE open_local_accounts SET
			failures = CASE WHEN failures + 1 >= $2 THEN 0 ELSE failures + 1 END,
			locked_until = CASE WHEN failures + 1 >= $2 THEN $3::timestamptz ELSE locked_until END
			WHERE account = $1`, account, l.cfg.MaxFailures, now.Add(l.cfg.LockFor))
		if err != nil {
			return "", err
		}
		return "", errBadCredential
	}
	newHash := hash
	if rehash {
		newHash = l.cfg.PasswordParams.Hash(password)
	}
	if _, err := l.cfg.Pool.Exec(ctx, `UPDATE open_local_accounts SET failures = 0, locked_until = NULL, password_hash = $2 WHERE account = $1`,
		account, newHash); err != nil {
		return "", err
	}
	return account, nil
}
