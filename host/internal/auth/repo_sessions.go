package auth

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// credential is what login needs of an operator.
type credential struct {
	id          int64
	platformID  string
	status      string
	hash        string
	lockedUntil *time.Time
}

// credentials loads the operator with account (case-insensitively); it
// returns pgx.ErrNoRows when there is none.
func (s *Service) credentials(ctx context.Context, account string) (*credential, error) {
	var c credential
	err := s.pool.QueryRow(ctx, `
		SELECT id, platform_id, status, password_hash, locked_until
		  FROM auth_operators WHERE lower(account) = lower($1)`, account).
		Scan(&c.id, &c.platformID, &c.status, &c.hash, &c.lockedUntil)
	if err != nil && !store.NoRows(err) {
		return nil, fmt.Errorf("auth: load credentials: %w", err)
	}
	return &c, err
}

// countFailure adds one failed login and sets the lock when the count
// reaches max. After an expired lock the count starts again from one. The
// expressions read the row as locked for the update, so concurrent
// failures all count.
func countFailure(ctx context.Context, q querier, id int64, now time.Time, max int, lockUntil time.Time) error {
	_, err := q.Exec(ctx, `
		UPDATE auth_operators SET
			failed_logins = CASE WHEN locked_until <= $2 THEN 1 ELSE failed_logins + 1 END,
			locked_until = CASE WHEN (CASE WHEN locked_until <= $2 THEN 1 ELSE failed_logins + 1 END) >= $3
			                    THEN $4::timestamptz END
		WHERE id = $1`, id, now, max, lockUntil)
	if err != nil {
		return fmt.Errorf("auth: count failed login of operator %d: %w", id, err)
	}
	return nil
}

// loginSucceeded resets the failure count and records the login; a
// non-empty newHash replaces the password hash (parameter upgrade).
func loginSucceeded(ctx context.Context, q querier, id int64, now time.Time, ip, newHash string) error {
	_, err := q.Exec(ctx, `
		UPDATE auth_operators SET failed_logins = 0, locked_until = NULL, last_login_at = $2, last_login_ip = $3,
			password_hash = COALESCE(NULLIF($4, ''), password_hash)
		WHERE id = $1`, id, now, ip, newHash)
	if err != nil {
		return fmt.Errorf("auth: record login of operator %d: %w", id, err)
	}
	return nil
}

func passwordHash(ctx context.Context, q querier, id int64) (string, error) {
	var h string
	err := q.QueryRow(ctx, `SELECT password_hash FROM auth_operators WHERE id = $1 FOR UPDATE`, id).Scan(&h)
	if store.NoRows(err) {
		return "", fault.NotFoundf("operator %d does not exist", id)
	}
	if err != nil {
		return "", fmt.Errorf("auth: load password of operator %d: %w", id, err)
	}
	return h, nil
}

// insertSession stores a new session and, in the same statement, sweeps
// every expired one (logins are rare enough for this to be cheap).
func (s *Service) insertSession(ctx context.Context, q querier, hash []byte, operatorID int64, now, expires time.Time, ip, ua string) error {
	_, err := q.Exec(ctx, `
		WITH swept AS (DELETE FROM auth_sessions WHERE expires_at <= $3 OR last_seen_at <= $7)
		INSERT INTO auth_sessions (token_hash, operator_id, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $3, $4, $5, $6)`,
		hash, operatorID, now, expires, ip, truncate(ua, 512), now.Add(-s.idle))
	if err != nil {
		return fmt.Errorf("auth: insert session: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}

// session is a session row joined with its operator.
type session struct {
	id                  int64
	lastSeen, expiresAt time.Time
	status              string
	actor               actor.Actor
}

// loadSession reads a session, its operator and the operator's permissions
// (the union of its enabled roles' menu permission codes) in one query.
func (s *Service) loadSession(ctx context.Context, hash []byte) (*session, error) {
	var ss session
	a := &ss.actor
	err := s.pool.QueryRow(ctx, `
		SELECT s.id, s.last_seen_at, s.expires_at, o.status,
		       o.id, o.account, o.type, o.platform_id, o.region_code, COALESCE(o.parent_id, 0),
		       o.object_types, o.must_change_password,
		       ARRAY(SELECT DISTINCT m.permission
		               FROM auth_operator_roles orl
		               JOIN auth_roles r ON r.id = orl.role_id AND r.status = 'enabled'
		               JOIN auth_role_menus rm ON rm.role_id = r.id
		               JOIN auth_menus m ON m.id = rm.menu_id
		              WHERE orl.operator_id = o.id AND m.permission <> ''
		              ORDER BY 1)
		  FROM auth_sessions s JOIN auth_operators o ON o.id = s.operator_id
		 WHERE s.token_hash = $1`, hash).
		Scan(&ss.id, &ss.lastSeen, &ss.expiresAt, &ss.status,
			&a.OperatorID, &a.Account, &a.OperatorType, &a.PlatformID, &a.RegionCode, &a.ParentID,
			&a.ObjectTypes, &a.MustChangePassword, &a.Permissions)
	if err != nil {
		if store.NoRows(err) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: load session: %w", err)
	}
	a.SessionID = strconv.FormatInt(ss.id, 10)
	return &ss, nil
}

func (s *Service) touchSession(ctx context.Context, id int64, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE auth_sessions SET last_seen_at = $2 WHERE id = $1`, id, now); err != nil {
		return fmt.Errorf("auth: touch session: %w", err)
	}
	return nil
}

func (s *Service) deleteSession(ctx context.Context, id int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM auth_sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	return nil
}

// revokeSessions ends every session of an operator but keep (a session id;
// "" keeps none).
func revokeSessions(ctx context.Context, q querier, operatorID int64, keep string) error {
	keepID, _ := strconv.ParseInt(keep, 10, 64)
	if _, err := q.Exec(ctx, `DELETE FROM auth_sessions WHERE operator_id = $1 AND id <> $2`, operatorID, keepID); err != nil {
		return fmt.Errorf("auth: revoke sessions of operator %d: %w", operatorID, err)
	}
	return nil
}
