package codeapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/store"
)

// caller returns the signing app, checking that cityCodeAppId names it: an
// app never acts for another.
func caller(ctx context.Context, cityCodeAppID string) (*actor.Actor, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a signed app request is required")
	}
	if cityCodeAppID != "" && cityCodeAppID != a.AppID {
		return nil, fault.Deniedf("cityCodeAppId %q is not the signing app", cityCodeAppID)
	}
	return a, nil
}

// resolve finds the app's rule and checks it is of the API's family and that
// the request carries the rule's data-collection fields.
func (s *Service) resolve(ctx context.Context, appID, codeDefID, family string, raw json.RawMessage) (*Rule, error) {
	r, err := s.rules.Resolve(ctx, appID, codeDefID)
	if err != nil {
		return nil, err
	}
	if r.Family != family {
		return nil, fault.Invalidf("codeDefId %s is a %s code rule, not a %s one", codeDefID, r.Family, family)
	}
	if !r.Active {
		return nil, fault.Conflictf(fault.CodeCodeNotActive, "code rule %s is disabled", codeDefID)
	}
	if r.Check != nil {
		params := map[string]any{}
		if len(raw) > 0 {
			_ = json.Unmarshal(raw, &params) // the body already decoded as JSON
		}
		if err := r.Check(params); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// open registers the holder described by userExt and answers their userId.
func (s *Service) open(ctx context.Context, family string, in *OpenIn) (*OpenOut, error) {
	a, err := caller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	r, err := s.resolve(ctx, a.AppID, in.CodeDefID.String(), family, in.Raw)
	if err != nil {
		return nil, err
	}
	if in.UserExt == "" {
		return nil, fault.Missing("userExt")
	}
	id, err := persons.ParseUserExt(in.UserExt)
	if err != nil {
		return nil, err
	}
	u, err := s.persons.Open(ctx, a.AppID, a.PlatformID, id)
	if err != nil {
		return nil, err
	}
	if err := s.users(ctx, u.UserID); err != nil {
		return nil, err
	}
	if err := s.risk(ctx, "generate", u.UserID, "", ""); err != nil {
		return nil, err
	}
	if err := s.record(ctx, Event{Type: "generate", Result: "success", PlatformID: a.PlatformID, AppID: a.AppID,
		RuleID: r.ID, RuleVersion: r.Version, Kind: r.Kind, SubjectID: handleID(u.Handle)}); err != nil {
		return nil, err
	}
	return &OpenOut{UserID: u.UserID}, nil
}

// shown is an issued code and its holder.
type shown struct {
	out  ShowOut
	user *persons.User
	rule *Rule
}

// show issues a fresh code for one of the app's users.
func (s *Service) show(ctx context.Context, family string, in *ShowIn) (*shown, error) {
	a, err := caller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	r, err := s.resolve(ctx, a.AppID, in.CodeDefID.String(), family, in.Raw)
	if err != nil {
		return nil, err
	}
	userID := in.UserID.String()
	if userID == "" {
		return nil, fault.Missing("userId")
	}
	if err := s.users(ctx, userID); err != nil {
		return nil, err
	}
	if err := s.risk(ctx, "show", userID, "", ""); err != nil {
		return nil, err
	}
	u, err := s.persons.User(ctx, a.AppID, userID)
	if err != nil {
		return nil, err
	}
	revoked, err := s.revokedBefore(ctx, u.Handle, r.ID)
	if err != nil {
		return nil, err
	}
	// Codes carry whole seconds. A revocation covers codes issued up to
	// its instant, so a code shown in the same second as a revocation is
	// dated the next second, never born revoked.
	now := s.clock().Truncate(time.Second)
	if !revoked.IsZero() && !now.After(revoked) {
		now = revoked.Truncate(time.Second).Add(time.Second)
	}
	c := Code{PlatformID: a.PlatformID, RuleID: r.ID, RuleVersion: r.Version, Family: r.Family, Kind: r.Kind,
		Subject: s.sealer.SealSubject(uint64(u.Handle)), CertType: string(u.CertType),
		IssuedAt: now, Validity: r.Validity, Offline: r.Offline}
	text, err := s.codes.Issue(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("codeapi: issue: %w", err)
	}
	codeID := codeID(text)
	if err := s.record(ctx, Event{Type: "show", Result: "success", PlatformID: a.PlatformID, AppID: a.AppID,
		RuleID: r.ID, RuleVersion: r.Version, Kind: r.Kind, SubjectID: handleID(u.Handle), CodeID: codeID}); err != nil {
		return nil, err
	}
	return &shown{
		out: ShowOut{CityCodeAppID: a.AppID, CityCodeID: codeID, CodeContent: text, CodeContentType: "original_string",
			ExpireTime: now.Add(r.Validity).Unix()},
		user: u, rule: r,
	}, nil
}

// decoded is a verified code and its holder.
type decoded struct {
	out  DecodeOut
	user *persons.User
	code *Code
	rule *Rule
}

// decode verifies a scanned code for the accepting organisation. An expired
// code answers expire=true and nothing about its holder.
func (s *Service) decode(ctx context.Context, family string, in *DecodeIn) (*decoded, error) {
	a, err := caller(ctx, "")
	if err != nil {
		return nil, err
	}
	id := codeID(in.CodeContent)
	ev := Event{Type: "verify", Result: "failure", AppID: a.AppID, PlatformID: a.PlatformID, OrgID: in.AcceptOrgID, CodeID: id}
	d, err := s.verify(ctx, family, in, id)
	if d != nil {
		ev.PlatformID, ev.RuleID, ev.RuleVersion, ev.Kind = d.code.PlatformID, d.code.RuleID, d.code.RuleVersion, d.code.Kind
		if d.user != nil {
			ev.SubjectID = handleID(d.user.Handle)
		}
	}
	if err == nil {
		// The holder's scene switches and the scene's state, once the
		// holder is known; before risk control, which need not count a
		// decode that was never going to be answered.
		err = s.scenes(ctx, a.AppID, d.user.AppID, d.out.UserID, in.AcceptOrgID)
	}
	if err == nil {
		// Risk control sees the verify once the code is known to be ours:
		// forgeries are refused without counting against a real holder.
		err = s.risk(ctx, "verify", d.out.UserID, in.AcceptOrgID, id)
	}
	if err != nil {
		ev.Detail, _ = json.Marshal(map[string]string{"error": fault.CodeOf(err)})
		if rerr := s.record(ctx, ev); rerr != nil {
			s.log.ErrorContext(ctx, "recording a refused verify failed", "err", rerr)
		}
		return nil, err
	}
	ev.Result = "success"
	if d.out.Expire {
		ev.Detail = []byte(`{"expired":true}`)
	}
	if err := s.record(ctx, ev); err != nil {
		return nil, err
	}
	return d, nil
}

// verify checks the code of in, whose codeID is id.
func (s *Service) verify(ctx context.Context, family string, in *DecodeIn, id string) (*decoded, error) {
	c, err := s.codes.Verify(ctx, in.CodeContent)
	if err != nil {
		if errors.Is(err, ErrTampered) {
			return nil, fault.E(fault.Invalid, fault.CodeCodeTampered, "the code is not a valid code of this platform (malformed, altered or signed with an unknown key)")
		}
		return nil, fmt.Errorf("codeapi: verify: %w", err)
	}
	d := &decoded{code: c}
	r, err := s.rules.Version(ctx, c.RuleID, c.RuleVersion)
	if err != nil {
		return d, err
	}
	d.rule = r
	if r.Family != family {
		return d, fault.Invalidf("this is a %s code; decode it with the %s API", r.Family, r.Family)
	}
	if !r.Active {
		return d, fault.Conflictf(fault.CodeCodeNotActive, "the code's rule %s version %d is disabled", r.ID, r.Version)
	}
	handle := int64(s.sealer.OpenSubject(c.Subject))
	u, err := s.persons.UserByHandle(ctx, handle)
	if err != nil {
		if errors.Is(err, persons.ErrUnknownUser) {
			// Signed by our key yet naming nobody: a key compromise or a bug,
			// never a client mistake; refuse like a forgery.
			return d, fault.E(fault.Invalid, fault.CodeCodeTampered, "the code names no holder")
		}
		return d, err
	}
	if err := s.users(ctx, u.UserID); err != nil {
		return d, err
	}
	d.user = u
	d.out = DecodeOut{CityCodeAppID: u.AppID, CityCodeID: id, CodeDefID: r.ID, UserID: u.UserID}
	now := s.clock()
	if c.IssuedAt.After(now.Add(5 * time.Minute)) {
		// Holder devices date their own codes: one from the future is a
		// device clock gone wrong or a code made to outlive its validity.
		return d, fault.E(fault.Invalid, fault.CodeCodeTampered, "the code is dated in the future")
	}
	// A code is valid for at most its rule's validity, whatever it claims.
	validity := c.Validity
	if r.Validity > 0 && (validity <= 0 || validity > r.Validity) {
		validity = r.Validity
	}
	if !now.Before(c.IssuedAt.Add(validity)) {
		d.out.Expire = true
		return d, nil
	}
	revoked, err := s.revokedBefore(ctx, u.Handle, r.ID)
	if err != nil {
		return d, err
	}
	if !revoked.IsZero() && !c.IssuedAt.After(revoked) {
		return d, fault.Conflictf(fault.CodeCodeRevoked, "the holder's codes of this rule were revoked")
	}
	return d, nil
}

// identity fills the decoded holder's identity, in full or masked as the
// disclosure policy decides for the accepting organisation.
func (s *Service) identity(ctx context.Context, d *decoded, orgID, decoderApp string) (persons.Identity, bool, error) {
	full, err := s.persons.Disclosure(ctx, d.user.PersonID, orgID, d.rule.Family, decoderApp)
	if err != nil {
		return persons.Identity{}, false, err
	}
	if !full {
		return d.user.Masked, false, nil
	}
	id, err := s.persons.Identity(ctx, d.user.PersonID)
	return id, true, err
}

func (s *Service) record(ctx context.Context, ev Event) error {
	if ev.At.IsZero() {
		ev.At = s.clock()
	}
	if err := s.events.Record(ctx, ev); err != nil {
		// Success is answered only with its event committed.
		return fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the usage record could not be written; try again")
	}
	return nil
}

// revokedBefore answers the revocation instant of (holder, rule), zero when
// none.
func (s *Service) revokedBefore(ctx context.Context, handle int64, ruleID string) (time.Time, error) {
	key := revocationKey{handle, ruleID}
	if t, ok := s.revoked.Get(key); ok {
		return t, nil
	}
	var t time.Time
	err := s.pool.QueryRow(ctx, `SELECT revoked_before FROM code_revocations WHERE user_handle = $1 AND rule_id = $2`, handle, ruleID).Scan(&t)
	if store.NoRows(err) {
		err = nil
	}
	if err == nil {
		s.revoked.Put(key, t)
	}
	return t, err
}

// Revoke withdraws every code of the app user's rule issued so far.
func (s *Service) Revoke(ctx context.Context, appID, userID, codeDefID, reason string) error {
	u, err := s.persons.User(ctx, appID, userID)
	if err != nil {
		return err
	}
	if _, err := s.rules.Resolve(ctx, appID, codeDefID); err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `
		INSERT INTO code_revocations (user_handle, rule_id, revoked_before, reason, revoked_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_handle, rule_id) DO UPDATE SET revoked_before = EXCLUDED.revoked_before, reason = EXCLUDED.reason, revoked_by = EXCLUDED.revoked_by`,
		u.Handle, codeDefID, s.clock(), reason, "app:"+appID)
	s.revoked.Delete(revocationKey{u.Handle, codeDefID})
	return err
}

// codeID names a code text: the first 16 bytes of its SM3 digest, in hex.
func codeID(text string) string {
	d := codec.SM3([]byte(text))
	return hex.EncodeToString(d[:16])
}

// handleID is the opaque subject id of events (see persons.SubjectID).
func handleID(h int64) string { return persons.SubjectID(h) }

func isTampered(err error) bool { return errors.Is(err, ErrTampered) }
