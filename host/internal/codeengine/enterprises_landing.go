package codeengine

import (
	"context"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Scan answers the enterprise whose code a citizen's phone opened
// ({publicBase}/e/{token}, or the token alone) and the platform that
// manages it, for the landing page. A disabled enterprise answers the
// enterprise together with FailedOperation.CodeNotActive, so the page can
// say whose code it is and that it is out of use.
func (e *Enterprises) Scan(ctx context.Context, code string) (*Enterprise, string, error) {
	code = strings.TrimSpace(code)
	if i := strings.LastIndex(code, "/e/"); i >= 0 {
		code = code[i+3:]
	}
	if len(code) != 24 || strings.Trim(code, tokenAlphabet) != "" {
		return nil, "", fault.E(fault.Invalid, fault.CodeCodeTampered, "not an enterprise code of this platform")
	}
	ent, err := e.load(ctx, nil, "token = $1", code)
	if err != nil {
		return nil, "", err
	}
	if ent.Status != "enabled" {
		return ent, ent.platformID, disabled(ent)
	}
	return ent, ent.platformID, nil
}

// Token is the enterprise code's token, the last element of its URL.
func (ent *Enterprise) Token() string { return ent.URL[strings.LastIndex(ent.URL, "/")+1:] }
