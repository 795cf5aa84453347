package codeengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codekeys"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/sdk/codeformat"
)

// Causes of the FailedOperation.CodeNotActive errors of enterprise codes,
// for callers that tell them apart (errors.Is).
var (
	// ErrEnterpriseDisabled: the enterprise's code is disabled.
	ErrEnterpriseDisabled = errors.New("codeengine: enterprise code is disabled")
	// ErrExpired: a genuine dynamic code past its validity.
	ErrExpired = errors.New("codeengine: dynamic code expired")
)

// maxStaticCode is the longest static code text that is not a URL: a
// 24-character token or a 9-digit number. Anything longer that does not
// point at /e/ is read as a dynamic code.
const maxStaticCode = 32

// isDynamic reports whether a scanned text is to be read as a dynamic
// code: not the URL of a static code, and longer than its token or number.
// A dynamic code is upper-case base32 after its guide ("CC:"), so it never
// holds "/e/".
func isDynamic(code string) bool {
	return len(code) > maxStaticCode && !strings.Contains(code, "/e/")
}

// DynamicCode is a short-lived enterprise code.
type DynamicCode struct {
	Code           string    `json:"code" doc:"the signed code text (sdk/codeformat) to show as a QR code"`
	ExpiresAt      time.Time `json:"expiresAt"`
	RefreshSeconds int       `json:"refreshSeconds" doc:"ask for a new code after this many seconds"`
}

// subject is what a dynamic code carries of its enterprise: the id, in
// plain ASCII padded with zero bytes. An enterprise id, unlike a person's,
// needs no sealing: it names an enterprise whose code is posted in public.
func subject(id string) ([codeformat.SubjectSize]byte, bool) {
	var s [codeformat.SubjectSize]byte
	return s, copy(s[:], id) == len(id)
}

func subjectID(s [codeformat.SubjectSize]byte) string {
	return string(bytes.TrimRight(s[:], "\x00"))
}

// Dynamic issues a short-lived code of enterprise id of the app's platform
// under the enterprise's rule, which must be dynamic (FailedOperation
// otherwise) and bound to the app. It is signed with the platform's key
// and valid for the rule's validity. Each issue is a usage event (show).
func (e *Enterprises) Dynamic(ctx context.Context, appID, platformID, id string) (*DynamicCode, error) {
	ent, err := e.Enterprise(ctx, platformID, id)
	if err != nil {
		return nil, err
	}
	r, err := e.objects.rules.Resolve(ctx, appID, ent.CodeDefID)
	if err != nil {
		return nil, err
	}
	if r.Form != FormDynamic {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "the enterprise code of %s is static (rule %s): show its URL, or its image", ent.Name, r.RuleID)
	}
	if ent.Status != "enabled" {
		return nil, disabled(ent)
	}
	if e.keys == nil {
		return nil, fault.E(fault.Invalid, fault.CodeUnsupportedOperation, "dynamic enterprise codes are not configured on this host")
	}
	sub, ok := subject(ent.ID)
	if !ok {
		return nil, fmt.Errorf("codeengine: enterprise id %s does not fit a code's subject", ent.ID)
	}
	kid, sign, err := e.keys.Signer(ctx, ent.platformID)
	if err != nil {
		return nil, err
	}
	now := e.objects.rules.cfg.Clock().Truncate(time.Second)
	validity := time.Duration(r.Function.ValiditySeconds) * time.Second
	text, err := codeformat.Encode(codeformat.Code{PlatformID: ent.platformID, RuleID: r.RuleID, RuleVersion: r.Version,
		Family: codeformat.FamilyEnterprise, Kind: codeformat.KindEnterprise, CertType: codeformat.CertSocialCredit,
		Offline: r.Function.Offline, Subject: sub, IssuedAt: now, Validity: validity, KeyID: kid}, sign)
	if err != nil {
		return nil, fmt.Errorf("codeengine: issue the dynamic code of %s: %w", ent.ID, err)
	}
	if err := e.objects.events.Write(ctx, events.Event{At: now, Type: events.Show, Result: events.Success, PlatformID: ent.platformID,
		AppID: appID, RuleID: r.RuleID, RuleVersion: r.Version, Kind: "enterprise", SubjectID: ent.ID, CodeID: codeID(text)}); err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the usage record could not be written; try again")
	}
	refresh := r.Function.RefreshSeconds
	if refresh <= 0 {
		refresh = r.Function.ValiditySeconds
	}
	return &DynamicCode{Code: text, ExpiresAt: now.Add(validity), RefreshSeconds: refresh}, nil
}

// codeID names a code text in usage events, as the code API does: the
// first 16 bytes of its SM3 digest, in hex.
func codeID(text string) string { return codec.SM3Hex([]byte(text))[:32] }

// VerifyDynamic answers the enterprise a dynamic code names. An altered,
// forged or foreign-signed code answers FailedOperation.CodeTampered; a
// genuine code of another kind InvalidParameter; a code of a disabled rule
// version or of a disabled enterprise (ErrEnterpriseDisabled)
// FailedOperation.CodeNotActive; one past its validity (ErrExpired)
// FailedOperation.CodeExpired.
func (e *Enterprises) VerifyDynamic(ctx context.Context, text string) (*Enterprise, error) {
	if e.keys == nil {
		return nil, fault.E(fault.Invalid, fault.CodeUnsupportedOperation, "dynamic enterprise codes are not configured on this host")
	}
	res, err := e.keys.Verify(ctx, text)
	if errors.Is(err, codekeys.ErrRefused) {
		return nil, fault.Wrap(err, fault.Invalid, fault.CodeCodeTampered, "the code is not a valid code of this platform (malformed, altered or signed with an unknown key)")
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: verify a dynamic code: %w", err)
	}
	if res.HolderMode || res.Kind != codeformat.KindEnterprise {
		return nil, fault.Invalidf("this is not an enterprise code")
	}
	id := subjectID(res.Subject)
	if enterpriseID(id) != nil {
		return nil, tampered("the code names no enterprise")
	}
	ent, err := e.load(ctx, nil, "id = $1", id)
	if fault.KindOf(err) == fault.NotFound {
		// Signed by a key of ours yet naming nobody: a key compromise or a
		// bug, never a client mistake; refused like a forgery.
		return nil, tampered("the code names no enterprise")
	}
	if err != nil {
		return nil, err
	}
	if ent.platformID != res.PlatformID || ent.CodeDefID != res.RuleID {
		return nil, tampered("the code names an enterprise of another platform or rule")
	}
	r, err := e.objects.rules.Version(ctx, res.RuleID, res.RuleVersion)
	if err != nil {
		return nil, err
	}
	if err := r.Inactive(); err != nil {
		return nil, err
	}
	if ent.Status != "enabled" {
		return nil, disabled(ent)
	}
	// A code is valid for at most its rule version's validity, whatever it
	// claims.
	validity := res.Validity
	if v := time.Duration(r.Function.ValiditySeconds) * time.Second; v > 0 && (validity <= 0 || validity > v) {
		validity = v
	}
	if at := res.IssuedAt.Add(validity); res.Expired || !e.objects.rules.cfg.Clock().Before(at) {
		return nil, fault.Wrap(ErrExpired, fault.Conflict, fault.CodeCodeExpired,
			"the dynamic enterprise code expired at "+at.UTC().Format(time.RFC3339)+": show a fresh one")
	}
	return ent, nil
}

func tampered(msg string) error { return fault.E(fault.Invalid, fault.CodeCodeTampered, "%s", msg) }

func (e *Enterprises) dynamicRoute(ctx context.Context, in *EntIDIn) (*DynamicCode, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return e.Dynamic(ctx, a.AppID, a.PlatformID, in.ID)
}
