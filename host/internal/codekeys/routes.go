package codekeys

import (
	"context"
	"net/http"

	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// Routes declares the public key set for scanners and the console's key
// management.
func (r *Ring) Routes(authz *policy.Engine) []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/api/keys", r.keysRoute).
			Doc("验码公钥", "The SM2 public keys that verify dynamic codes, per platform, including retired keys until the codes they signed have expired. Scanners load this once a day and verify codes offline (sdk/verify).").
			Tag("keys").Public().Cache(3600),
		httpapi.Handle(http.MethodGet, "/console/keys", r.keysRoute).
			Doc("密钥列表", "The code signing keys (public parts).").
			Tag("keys").Console("key.read"),
		httpapi.Handle(http.MethodPost, "/console/keys/:platformId/rotate", func(ctx context.Context, in *RotateIn) (*RotateOut, error) {
			if _, err := authz.Require(ctx, "key.rotate", &policy.Resource{PlatformID: in.PlatformID}); err != nil {
				return nil, err
			}
			kid, err := r.Rotate(ctx, in.PlatformID)
			return &RotateOut{KeyID: kid}, err
		}).
			Doc("轮换密钥", "Makes a new signing key active for the platform; the old one keeps verifying codes it signed until they expire. Main platform only.").
			Tag("keys").Console("key.rotate"),
	}
}

// KeySet is the answer of /api/keys.
type KeySet struct {
	Keys []PublicKey `json:"keys"`
}

func (r *Ring) keysRoute(ctx context.Context, _ *httpapi.Empty) (*KeySet, error) {
	ks, err := r.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	return &KeySet{Keys: ks}, nil
}

// RotateIn names the platform whose key rotates.
type RotateIn struct {
	PlatformID string `path:"platformId" json:"-"`
}

// RotateOut names the new key.
type RotateOut struct {
	KeyID uint32 `json:"kid"`
}
