package codeengine

import (
	"context"
	"net/url"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// WithScanWhitelist lets verify recognize scanned URLs of the domains on
// the caller's platform's scan whitelist (扫码白名单), besides the public
// base's own.
func WithScanWhitelist(fn func(ctx context.Context, platformID, url string) (bool, error)) ObjectsOption {
	return func(o *Objects) { o.scanned = fn }
}

// recognized refuses a scanned URL of a domain that is neither the public
// base's nor on the scan whitelist: a look-alike sticker carrying a real
// token under another domain is not the platform's code. Tokens and
// numbers given alone are not URLs and pass.
func (o *Objects) recognized(ctx context.Context, platformID, code string) error {
	code = strings.TrimSpace(code)
	if !strings.Contains(code, "://") {
		return nil
	}
	u, err := url.Parse(code)
	base, berr := url.Parse(o.publicBase)
	if err == nil && berr == nil && u.User == nil && strings.EqualFold(u.Host, base.Host) && (u.Scheme == "https" || u.Scheme == "http") {
		return nil
	}
	if o.scanned != nil {
		ok, err := o.scanned(ctx, platformID, code)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return fault.E(fault.Invalid, fault.CodeCodeTampered, "not an object code of this platform: its domain is not on the scan whitelist (扫码白名单)")
}
