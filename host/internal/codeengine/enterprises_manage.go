package codeengine

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/qr"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Limits of an enterprise's addresses.
const (
	MaxAddresses     = 50
	MaxAddressLength = 256 // characters
)

// enterpriseID refuses what cannot name an enterprise ('E' and digits)
// as not found, before it reaches the database.
func enterpriseID(id string) error {
	ok := len(id) > 1 && len(id) <= 32 && id[0] == 'E'
	for i := 1; ok && i < len(id); i++ {
		ok = id[i] >= '0' && id[i] <= '9'
	}
	if !ok {
		return fault.NotFoundf("no enterprise code %q on this platform", id)
	}
	return nil
}

// Enterprise answers an enterprise code of platformID. Another platform's
// enterprise answers ResourceNotFound, as one that does not exist: its
// existence is not revealed.
func (e *Enterprises) Enterprise(ctx context.Context, platformID, id string) (*Enterprise, error) {
	if err := enterpriseID(id); err != nil {
		return nil, err
	}
	ent, err := e.load(ctx, nil, "id = $1 AND platform_id = $2", id, platformID)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.NotFoundf("no enterprise code %s on this platform", id)
	}
	return ent, err
}

// EntModifyIn changes an enterprise code. Absent fields stay as they are.
type EntModifyIn struct {
	Name      string    `json:"name" validate:"max=128" doc:"企业名称: the registry must hold this name for the enterprise's unified social credit code"`
	Addresses *[]string `json:"addresses" doc:"replaces every address: at most 50, each 1-256 characters; duplicates are dropped, [] removes them all"`
}

// addresses checks a new address list and answers it trimmed, without
// duplicates, in the order given.
func addresses(in []string) ([]string, error) {
	if len(in) > MaxAddresses {
		return nil, fault.Invalidf("parameter %q holds at most %d addresses", "addresses", MaxAddresses)
	}
	out := make([]string, 0, len(in))
	for i, a := range in {
		a = strings.TrimSpace(a)
		param := "addresses[" + strconv.Itoa(i) + "]"
		switch {
		case a == "":
			return nil, fault.Invalidf("parameter %q must not be empty", param)
		case utf8.RuneCountInString(a) > MaxAddressLength:
			return nil, fault.Invalidf("parameter %q is too long (max %d characters)", param, MaxAddressLength)
		case !utf8.ValidString(a):
			return nil, fault.Invalidf("parameter %q must be UTF-8 text", param)
		}
		if err := storable(param, a); err != nil {
			return nil, err
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// Modify replaces an enterprise's addresses and changes its name, both or
// either. A new name must be the one the registry holds for the
// enterprise's unified social credit code (the two-factor check of Apply);
// otherwise nothing changes. Another platform's enterprise answers
// ResourceNotFound. The change is recorded by the API's audit trail, not
// as a usage event: no event type says "modify", as for object codes.
func (e *Enterprises) Modify(ctx context.Context, platformID, id string, in *EntModifyIn) (*Enterprise, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" && in.Addresses == nil {
		return nil, fault.Invalidf("nothing to modify: give name or addresses")
	}
	if err := storable("name", name); err != nil {
		return nil, err
	}
	var addrs []byte
	if in.Addresses != nil {
		list, err := addresses(*in.Addresses)
		if err != nil {
			return nil, err
		}
		addrs, _ = json.Marshal(list)
	}
	ent, err := e.Enterprise(ctx, platformID, id)
	if err != nil {
		return nil, err
	}
	if name != "" && name != ent.Name {
		// The registry may be a remote service: asked before the
		// transaction, not while holding the enterprise's lock.
		registered, found, err := e.registry.RegisteredName(ctx, ent.USCC)
		if err != nil {
			return nil, err
		}
		if !found || registered != name {
			return nil, fault.Invalidf("the name and the unified social credit code do not match the enterprise registry")
		}
	}
	var out *Enterprise
	err = store.Tx(ctx, e.objects.rules.cfg.Pool, func(tx pgx.Tx) error {
		// Apply adds addresses under the same lock.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, ent.USCC); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE enterprises SET name = coalesce(nullif($3, ''), name), addresses = coalesce($4::jsonb, addresses), updated_at = $5
			WHERE id = $1 AND platform_id = $2`, id, platformID, name, addrs, e.objects.rules.cfg.Clock())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fault.NotFoundf("no enterprise code %s on this platform", id)
		}
		out, err = e.load(ctx, tx, "id = $1", id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EntIDIn names an enterprise code.
type EntIDIn struct {
	ID string `path:"enterpriseId" json:"-"`
}

func (e *Enterprises) viewRoute(ctx context.Context, in *EntIDIn) (*Enterprise, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return e.Enterprise(ctx, a.PlatformID, in.ID)
}

// EntModifyRouteIn names the enterprise code to modify.
type EntModifyRouteIn struct {
	ID string `path:"enterpriseId" json:"-"`
	EntModifyIn
}

func (e *Enterprises) modifyRoute(ctx context.Context, in *EntModifyRouteIn) (*Enterprise, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	return e.Modify(ctx, a.PlatformID, in.ID, &in.EntModifyIn)
}

// EntImageIn asks for an enterprise code's image. Its query parameters
// are ImageIn's (the object code's image); ImageIn itself cannot be
// embedded, as its path parameter is named code.
type EntImageIn struct {
	ID     string `path:"enterpriseId" json:"-"`
	Format string `query:"format" validate:"omitempty,oneof=png svg"`
	Level  string `query:"level" validate:"omitempty,oneof=L M Q H"`
	Size   int    `query:"moduleSize" validate:"min=0,max=40" doc:"pixels per module"`
}

// imageRoute draws the enterprise's URL, as the object code's image route
// draws an object's, named by its unified number.
func (e *Enterprises) imageRoute(ctx context.Context, in *EntImageIn) (*image, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	ent, err := e.Enterprise(ctx, a.PlatformID, in.ID)
	if err != nil {
		return nil, err
	}
	data, err := qr.Render(ent.URL, qr.Style{Format: in.Format, Level: in.Level, ModulePx: in.Size})
	if err != nil {
		return nil, err
	}
	format := in.Format
	if format == "" {
		format = "png"
	}
	return &image{data: data, format: format, name: strconv.FormatInt(ent.Number, 10) + "." + format}, nil
}
