package auth

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// LoginRecorder is told about every login attempt (the host writes them to
// the audit trail). An error for a successful attempt fails the login, so
// no session is ever issued unrecorded; errors for failed attempts are only
// logged, since the attempt is refused anyway.
type LoginRecorder interface {
	RecordLogin(ctx context.Context, ev LoginEvent) error
}

// LoginEvent is one login attempt.
type LoginEvent struct {
	Account    string // as typed
	OperatorID int64  // 0 when no such account
	PlatformID string // "" when no such account
	IP         string
	UserAgent  string
	Success    bool
	Reason     string // the fault code of a failure; "" on success
}

// LoginInput is what the login form sends.
type LoginInput struct {
	Account     string `json:"account" validate:"required,max=64"`
	Password    string `json:"password" validate:"required,max=128"`
	CaptchaID   string `json:"captchaId" validate:"required,max=64"`
	CaptchaCode string `json:"captchaCode" validate:"required,max=16"`
}

// LoginResult is a new session.
type LoginResult struct {
	Token              string    `json:"token" doc:"send as Authorization: Bearer <token>"`
	ExpiresAt          time.Time `json:"expiresAt" doc:"absolute end of the session; idleness ends it earlier"`
	MustChangePassword bool      `json:"mustChangePassword" doc:"only the password change, me and logout work until it is changed"`
	Operator           *Operator `json:"operator"`
}

// Me is the calling operator.
type Me struct {
	Operator     *Operator `json:"operator"`
	Permissions  []string  `json:"permissions" doc:"permission codes from the operator's enabled roles"`
	MainPlatform bool      `json:"mainPlatform"`
}

const tokenBytes = 32

// Login checks, in order, the captcha (consumed either way), the account
// and password, a lockout and the account's status, and opens a session.
//
// Unknown accounts and wrong passwords get the same answer in the same
// time (a dummy hash is verified). A locked account answers AccountLocked
// whatever the password, so guessing cannot go on during the lock; the
// lock check therefore comes before the password's result is used. A
// disabled account is only revealed to someone who knows its password.
func (s *Service) Login(ctx context.Context, in LoginInput) (*LoginResult, error) {
	for _, p := range [][2]string{{"account", in.Account}, {"password", in.Password}, {"captchaId", in.CaptchaID}, {"captchaCode", in.CaptchaCode}} {
		if p[1] == "" {
			return nil, fault.Missing(p[0])
		}
	}
	ip, ua := s.clientInfo(ctx)
	ev := LoginEvent{Account: in.Account, IP: ip, UserAgent: ua}
	fail := func(err error) error {
		ev.Reason = fault.CodeOf(err)
		if rerr := s.logins.RecordLogin(ctx, ev); rerr != nil {
			s.log.ErrorContext(ctx, "recording a failed login", "account", in.Account, "err", rerr)
		}
		return err
	}
	if err := s.checkCaptcha(ctx, in.CaptchaID, in.CaptchaCode); err != nil {
		if fault.KindOf(err) == fault.Internal {
			return nil, err
		}
		return nil, fail(err)
	}
	badCredential := fault.E(fault.Unauthenticated, fault.CodeInvalidCredential, "wrong account or password")
	cred, err := s.credentials(ctx, in.Account)
	if store.NoRows(err) {
		_, _, _ = s.pw.Verify(s.dummyHash, in.Password)
		return nil, fail(badCredential)
	}
	if err != nil {
		return nil, err
	}
	ev.OperatorID, ev.PlatformID = cred.id, cred.platformID
	now := s.now()
	ok, rehash, verr := s.pw.Verify(cred.hash, in.Password)
	if cred.lockedUntil != nil && now.Before(*cred.lockedUntil) {
		mins := int(math.Ceil(cred.lockedUntil.Sub(now).Minutes()))
		return nil, fail(fault.E(fault.Denied, fault.CodeAccountLocked,
			"too many failed logins: the account is locked; try again in %d minute(s)", mins))
	}
	if verr != nil {
		return nil, fmt.Errorf("auth: verify password of operator %d: %w", cred.id, verr)
	}
	if !ok {
		if err := s.loginFailed(ctx, cred.id, now); err != nil {
			return nil, err
		}
		return nil, fail(badCredential)
	}
	if cred.status != StatusEnabled {
		return nil, fail(fault.E(fault.Denied, fault.CodeAccountDisabled, "the account is disabled"))
	}
	ev.Success = true
	if err := s.logins.RecordLogin(ctx, ev); err != nil {
		return nil, fmt.Errorf("auth: record login: %w", err)
	}
	newHash := ""
	if rehash {
		newHash = s.pw.Hash(in.Password)
	}
	token := codec.RandomToken(tokenBytes)
	expires := now.Add(s.max)
	var op *Operator
	err = store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := loginSucceeded(ctx, tx, cred.id, now, ip, newHash); err != nil {
			return err
		}
		if err := s.insertSession(ctx, tx, tokenHash(token), cred.id, now, expires, ip, ua); err != nil {
			return err
		}
		op, err = s.getOperator(ctx, tx, cred.id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &LoginResult{Token: token, ExpiresAt: expires, MustChangePassword: op.MustChangePassword, Operator: op}, nil
}

func tokenHash(token string) []byte {
	h := codec.SM3([]byte(token))
	return h[:]
}

// Authenticate resolves a session token to its operator in one database
// round trip (plus, at most once a minute per session, the write that
// slides the idle timeout). It implements httpapi.ConsoleAuthenticator.
//
// The idle timeout is measured from the last recorded activity, which lags
// real activity by under a minute; a session may thus end up to a minute
// before the full idle period.
func (s *Service) Authenticate(ctx context.Context, token string) (*actor.Actor, error) {
	expired := fault.E(fault.Unauthenticated, fault.CodeSessionExpired, "the session has expired; log in again")
	if len(token) != 43 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return nil, expired
	}
	sess, err := s.loadSession(ctx, tokenHash(token))
	if store.NoRows(err) {
		return nil, expired
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(sess.expiresAt) || !now.Before(sess.lastSeen.Add(s.idle)) {
		if err := s.deleteSession(ctx, sess.id); err != nil {
			return nil, err
		}
		return nil, expired
	}
	if sess.status != StatusEnabled {
		return nil, fault.E(fault.Denied, fault.CodeAccountDisabled, "the account is disabled")
	}
	if now.Sub(sess.lastSeen) >= time.Minute {
		if err := s.touchSession(ctx, sess.id, now); err != nil {
			return nil, err
		}
	}
	a := sess.actor
	a.Kind = actor.KindOperator
	a.MainPlatform = a.PlatformID == s.mainID
	return &a, nil
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(a.SessionID, 10, 64)
	if err != nil {
		return nil // not a session (the host's own actor): nothing to end
	}
	return s.deleteSession(ctx, id)
}

// Me returns the calling operator.
func (s *Service) Me(ctx context.Context) (*Me, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if a.Kind != actor.KindOperator {
		return nil, fault.Invalidf("only console operators have a profile")
	}
	o, err := s.getOperator(ctx, s.pool, a.OperatorID, false)
	if err != nil {
		return nil, err
	}
	return &Me{Operator: o, Permissions: nonNil(a.Permissions), MainPlatform: a.MainPlatform}, nil
}

// ChangePassword replaces the caller's password after checking the old
// one, clears mustChangePassword, and ends the caller's other sessions.
func (s *Service) ChangePassword(ctx context.Context, oldPassword, newPassword string) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	if a.Kind != actor.KindOperator {
		return fault.Invalidf("only console operators have a password")
	}
	if oldPassword == "" {
		return fault.Missing("oldPassword")
	}
	if newPassword == "" {
		return fault.Missing("newPassword")
	}
	if err := checkPasswordPolicy("newPassword", newPassword); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return fault.Invalidf("the new password must differ from the old one")
	}
	return store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		hash, err := passwordHash(ctx, tx, a.OperatorID)
		if err != nil {
			return err
		}
		ok, _, err := s.pw.Verify(hash, oldPassword)
		if err != nil {
			return fmt.Errorf("auth: verify password of operator %d: %w", a.OperatorID, err)
		}
		if !ok {
			return fault.Invalidf("parameter %q is not the current password", "oldPassword")
		}
		if err := setPassword(ctx, tx, a.OperatorID, s.pw.Hash(newPassword), false, s.now()); err != nil {
			return err
		}
		return revokeSessions(ctx, tx, a.OperatorID, a.SessionID)
	})
}

// loginFailed counts a failed login and locks the account when the count
// reaches the limit.
func (s *Service) loginFailed(ctx context.Context, id int64, now time.Time) error {
	return countFailure(ctx, s.pool, id, now, s.maxFailures, now.Add(s.lockFor))
}
