package codekeys

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/sdk/codeformat"
	"github.com/opencitycode/citycode/sdk/verify"
)

// Routes declares the public key set for scanners and the console's key
// management. The console routes need Config.Authz.
func (r *Ring) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/api/keys", r.keySet).
			Doc("验码公钥", "The SM2 public keys that verify dynamic codes, of every platform: active keys, and retired keys until the codes and holder certificates they signed have expired. Scanners load it about once a day and verify codes offline (sdk/verify takes this answer as it is).").
			Tag("keys").Public().Reads().Cache(3600),
		httpapi.Handle(http.MethodGet, "/console/keys", r.list).
			Doc("密钥列表", "The code signing keys of the platforms in the caller's scope, newest first, without their private parts; status active, retired (still verifying) or expired.").
			Tag("keys").Console("key.read"),
		httpapi.Handle(http.MethodPost, "/console/keys/:platformId/rotate", r.rotate).
			Doc("轮换密钥", "Makes a new signing key active for the platform. The old key signs nothing more and keeps verifying what it signed until those codes expire. Main platform only.").
			Tag("keys").Console("key.rotate").Errors(fault.CodeResourceNotFound),
	}
}

// KeySet is the answer of GET /api/keys.
type KeySet struct {
	Keys []verify.Key `json:"keys"`
}

func (r *Ring) keySet(ctx context.Context, _ *httpapi.Empty) (*KeySet, error) {
	keys, err := r.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	return &KeySet{Keys: keys}, nil
}

// ListIn is the query of the console's key list.
type ListIn struct {
	PlatformID string `query:"platformId" validate:"max=32" doc:"only this platform's keys"`
	PageNo     int    `query:"pageNo" validate:"omitempty,min=1" doc:"1-based, default 1"`
	PageSize   int    `query:"pageSize" validate:"omitempty,min=1,max=500" doc:"default 20"`
}

// ListOut is a page of keys.
type ListOut struct {
	Total int          `json:"total"`
	Items []verify.Key `json:"items"`
}

func (r *Ring) list(ctx context.Context, in *ListIn) (*ListOut, error) {
	scope, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 1)
	where := "WHERE (" + scope + ")"
	if in.PlatformID != "" {
		args = append(args, in.PlatformID)
		where += " AND platform_id = $" + strconv.Itoa(len(args))
	}
	out := &ListOut{}
	if err := r.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM code_signing_keys `+where, args...).Scan(&out.Total); err != nil {
		return nil, err
	}
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	args = append(args, size, (max(in.PageNo, 1)-1)*size)
	page := where + " ORDER BY platform_id, retired_at DESC NULLS FIRST, created_at DESC, kid LIMIT $" + strconv.Itoa(len(args)-1) + " OFFSET $" + strconv.Itoa(len(args))
	var err error
	out.Items, err = r.keys(ctx, page, args...)
	return out, err
}

// RotateIn names the platform whose key rotates.
type RotateIn struct {
	PlatformID string `path:"platformId" validate:"required,max=32"`
}

// RotateOut names the new key.
type RotateOut struct {
	KeyID codeformat.KeyID `json:"kid"`
}

func (r *Ring) rotate(ctx context.Context, in *RotateIn) (*RotateOut, error) {
	if r.cfg.Authz == nil {
		return nil, errors.New("codekeys: no policy engine configured")
	}
	if _, err := r.cfg.Authz.Require(ctx, "key.rotate", &policy.Resource{PlatformID: in.PlatformID}); err != nil {
		return nil, err
	}
	kid, err := r.Rotate(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	return &RotateOut{KeyID: kid}, nil
}
