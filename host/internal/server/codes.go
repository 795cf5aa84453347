package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
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
// platform's key from the key ring, and verifies them with the ring.
type codeSigner struct {
	keys  *codekeys.Ring
	guide string // "" for codeformat.DefaultGuide
}

var kinds = map[string]codeformat.Kind{"person": codeformat.KindPerson, "enterprise": codeformat.KindEnterprise,
	"object": codeformat.KindObject, "virtual": codeformat.KindVirtual}

var families = map[string]codeformat.Family{"identity": codeformat.FamilyIdentity, "health": codeformat.FamilyHealth,
	"payment": codeformat.FamilyPayment, "enterprise": codeformat.FamilyEnterprise, "object": codeformat.FamilyObject,
	"virtual": codeformat.FamilyVirtual}

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
	return codeformat.Encode(codeformat.Code{
		Guide: c.guide, PlatformID: code.PlatformID, RuleID: code.RuleID, RuleVersion: code.RuleVersion,
		Family: families[code.Family], Kind: kinds[code.Kind], CertType: certTypes[code.CertType], Offline: code.Offline,
		Subject: code.Subject, IssuedAt: code.IssuedAt, Validity: code.Validity, KeyID: kid,
	}, sign)
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
	issued := code.IssuedAt.Truncate(time.Second)
	return codeformat.IssueCertificate(codeformat.Certificate{
		PlatformID: code.PlatformID, RuleID: code.RuleID, RuleVersion: code.RuleVersion, Family: families[code.Family],
		Kind: kinds[code.Kind], CertType: certTypes[code.CertType], Subject: code.Subject,
		IssuedAt: issued, Validity: expires.Sub(issued).Truncate(time.Second),
		// Holder codes carry their validity in two bytes (18 h); a
		// device refreshes its codes long before.
		CodeValidity: min(code.Validity, 0xffff*time.Second), DeviceKey: dev, KeyID: kid,
	}, sign)
}

func (c codeSigner) Verify(ctx context.Context, text string) (*codeapi.Code, error) {
	// Holder-signed codes are binary; JSON carries them base64
	// (codeContentType byte_base64).
	if b, err := base64.StdEncoding.DecodeString(text); err == nil && codeformat.IsHolder(string(b)) {
		text = string(b)
	}
	res, err := c.keys.Verify(ctx, text)
	if errors.Is(err, codekeys.ErrRefused) {
		return nil, fmt.Errorf("%w: %w", codeapi.ErrTampered, err)
	}
	if err != nil {
		return nil, err
	}
	return apiCode(&res.Code), nil
}

func apiCode(p *codeformat.Code) *codeapi.Code {
	return &codeapi.Code{PlatformID: p.PlatformID, RuleID: p.RuleID, RuleVersion: p.RuleVersion,
		Family: keyOf(families, p.Family), Kind: keyOf(kinds, p.Kind), Subject: p.Subject,
		CertType: keyOf(certTypes, p.CertType), IssuedAt: p.IssuedAt, Validity: p.Validity, Offline: p.Offline}
}

// keyOf answers the name of v in m, "" if none.
func keyOf[V comparable](m map[string]V, v V) string {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	return ""
}

// eventSink adapts the event writer to the code API.
type eventSink struct{ w *events.Writer }

func (s eventSink) Record(ctx context.Context, evs ...codeapi.Event) error {
	out := make([]events.Event, len(evs))
	for i, e := range evs {
		out[i] = events.Event{At: e.At, Type: events.Type(e.Type), Result: events.Result(e.Result), PlatformID: e.PlatformID, AppID: e.AppID,
			RuleID: e.RuleID, RuleVersion: e.RuleVersion, Kind: e.Kind, SubjectID: e.SubjectID, CodeID: e.CodeID,
			OrgID: e.OrgID, Detail: e.Detail}
	}
	return s.w.Write(ctx, out...)
}
