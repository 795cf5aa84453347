package server

import (
	"context"
	"encoding/base64"
	"errors"
	"time"

	"github.com/opencitycode/citycode/host/internal/codeapi"
	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/codekeys"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/codeformat"
)

// ruleSource adapts the code engine's rules to the code API.
type ruleSource struct{ r *codeengine.Rules }

func (s ruleSource) Resolve(ctx context.Context, appID, codeDefID string) (*codeapi.Rule, error) {
	r, err := s.r.Resolve(ctx, appID, codeDefID)
	if err != nil {
		return nil, err
	}
	return apiRule(r), nil
}

func (s ruleSource) Version(ctx context.Context, ruleID string, v int) (*codeapi.Rule, error) {
	r, err := s.r.Version(ctx, ruleID, v)
	if err != nil {
		return nil, err
	}
	return apiRule(r), nil
}

func apiRule(r *codeengine.Resolved) *codeapi.Rule {
	return &codeapi.Rule{
		ID: r.RuleID, Version: r.Version, Family: r.Family, Kind: r.Kind, PlatformID: r.PlatformID,
		Validity: time.Duration(r.Function.ValiditySeconds) * time.Second, Offline: r.Function.Offline,
		Active: r.Active(), Check: r.CheckCollection,
	}
}

// codeSigner encodes codes in the sdk/codeformat layout, signed by the
// platform's key from the key ring.
type codeSigner struct {
	keys  *codekeys.Ring
	guide string
}

var kinds = map[string]codeformat.Kind{"person": codeformat.Person, "enterprise": codeformat.Enterprise, "object": codeformat.Object, "virtual": codeformat.Virtual}

var certTypes = map[string]codeformat.CertType{
	"RESIDENT_ID": codeformat.CertResidentID, "PASSPORT": codeformat.CertPassport, "HK_MACAO": codeformat.CertHKMacao,
	"TAIWAN": codeformat.CertTaiwan, "FOREIGNER_PR": codeformat.CertForeignerPR, "SOCIAL_CREDIT": codeformat.CertSocialCredit,
	"OTHER": codeformat.CertOther,
}

func (c codeSigner) Issue(ctx context.Context, code codeapi.Code) (string, error) {
	kid, sign, err := c.keys.Signer(ctx, code.PlatformID)
	if err != nil {
		return "", err
	}
	fc := codeformat.Code{
		PlatformID: code.PlatformID, RuleID: code.RuleID, RuleVersion: code.RuleVersion, Kind: kinds[code.Kind],
		CertType: certTypes[code.CertType], Offline: code.Offline, Subject: code.Subject,
		IssuedAt: code.IssuedAt.Truncate(time.Second), Validity: code.Validity, KeyID: kid,
	}
	return codeformat.Encode(fc, c.guide, sign)
}

func (c codeSigner) Certify(ctx context.Context, code codeapi.Code, deviceKey string, expires time.Time) ([]byte, error) {
	dev, err := codeformat.ParsePublicKey(deviceKey)
	if err != nil {
		return nil, fault.Invalidf("devicePublicKey is not an SM2 public key")
	}
	kid, sign, err := c.keys.Signer(ctx, code.PlatformID)
	if err != nil {
		return nil, err
	}
	return codeformat.IssueCertificate(codeformat.Certificate{
		Code: codeformat.Code{PlatformID: code.PlatformID, RuleID: code.RuleID, RuleVersion: code.RuleVersion, Kind: kinds[code.Kind],
			CertType: certTypes[code.CertType], Offline: true, Subject: code.Subject, KeyID: kid},
		Expires: expires.Truncate(time.Second), DeviceKey: dev,
	}, sign)
}

func (c codeSigner) Verify(ctx context.Context, text string) (*codeapi.Code, error) {
	// Holder-signed codes are binary; JSON carries them base64
	// (codeContentType byte_base64).
	if b, err := base64.StdEncoding.DecodeString(text); err == nil && codeformat.IsHolder(string(b)) {
		return c.verifyHolder(ctx, string(b))
	}
	p, err := codeformat.Parse(text)
	if err != nil {
		return nil, codeapi.ErrTampered
	}
	if err := c.keys.Verify(ctx, p); err != nil {
		if errors.Is(err, codekeys.ErrUnknownKey) || errors.Is(err, codekeys.ErrSignature) || errors.Is(err, codekeys.ErrKeyExpired) {
			return nil, codeapi.ErrTampered
		}
		return nil, err
	}
	return apiCode(&p.Code), nil
}

func (c codeSigner) verifyHolder(ctx context.Context, raw string) (*codeapi.Code, error) {
	p, err := codeformat.ParseHolder(raw)
	if err != nil {
		return nil, codeapi.ErrTampered
	}
	pub, err := c.keys.PublicKey(ctx, p.KeyID, p.PlatformID)
	if err != nil {
		if errors.Is(err, codekeys.ErrUnknownKey) || errors.Is(err, codekeys.ErrKeyExpired) {
			return nil, codeapi.ErrTampered
		}
		return nil, err
	}
	if !p.Verify(pub) {
		return nil, codeapi.ErrTampered
	}
	return apiCode(&p.Code), nil
}

func apiCode(p *codeformat.Code) *codeapi.Code {
	kind := ""
	for k, v := range kinds {
		if v == p.Kind {
			kind = k
		}
	}
	cert := ""
	for k, v := range certTypes {
		if v == p.CertType {
			cert = k
		}
	}
	return &codeapi.Code{PlatformID: p.PlatformID, RuleID: p.RuleID, RuleVersion: p.RuleVersion, Kind: kind,
		Subject: p.Subject, CertType: cert, IssuedAt: p.IssuedAt, Validity: p.Validity, Offline: p.Offline}
}

// eventSink adapts the event writer to the code API.
type eventSink struct{ w *events.Writer }

func (s eventSink) Record(ctx context.Context, evs ...codeapi.Event) error {
	out := make([]events.Event, len(evs))
	for i, e := range evs {
		out[i] = events.Event{At: e.At, Type: e.Type, Result: e.Result, PlatformID: e.PlatformID, AppID: e.AppID,
			RuleID: e.RuleID, RuleVersion: e.RuleVersion, Kind: e.Kind, SubjectID: e.SubjectID, CodeID: e.CodeID,
			OrgID: e.OrgID, Detail: e.Detail}
	}
	return s.w.Write(ctx, out...)
}
