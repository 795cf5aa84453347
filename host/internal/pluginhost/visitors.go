package pluginhost

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// Persons is what the landing pages need of the code holders: who an
// app's user is (masked), and whether they authorized a scene.
type Persons interface {
	// Holder answers the person behind an app's user, with their masked
	// name and mobile.
	Holder(ctx context.Context, appID, userID string) (personID int64, name, mobile string, err error)
	// Authorized reports whether the person allows the scene (orgID).
	Authorized(ctx context.Context, personID int64, orgID string) (bool, error)
}

const (
	ticketTTL     = 10 * time.Minute
	visitorTTL    = 30 * time.Minute
	visitorCookie = "cc_visitor"
)

// SceneOf is the acceptOrgId a person authorizes (/api/authorizeScene) to
// let a plugin know who they are.
func SceneOf(pluginName string) string { return "plugin:" + pluginName }

// TicketIn asks for a landing ticket.
type TicketIn struct {
	CityCodeAppID string `json:"cityCodeAppId" validate:"required,max=64" doc:"城市码应用ID: the signing app"`
	UserID        string `json:"userId" validate:"required,max=64" doc:"用户ID from openPersonalCode"`
}

// TicketOut is a landing ticket.
type TicketOut struct {
	Ticket     string `json:"ticket" doc:"append ?ticket=… to a code's URL once; the host turns it into a session cookie"`
	ExpireTime int64  `json:"expireTime" doc:"ms since the epoch"`
}

// AppRoutes declares the signed API apps use for landing pages.
func (s *Service) AppRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodPost, "/api/landing/ticket", s.ticketRoute).
			Doc("落地页登录票据", "A one-time ticket with which the app's logged-in user opens a code's landing page as themselves ({url}?ticket=…, within 10 minutes). Plugins then see a per-plugin pseudonym, and the masked name and mobile when the person authorized the plugin's scene (acceptOrgId plugin:{name}).").
			Tag("landing").App().AcceptUnknownFields(),
	}
}

func (s *Service) ticketRoute(ctx context.Context, in *TicketIn) (*TicketOut, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a signed app request is required")
	}
	if in.CityCodeAppID != a.AppID {
		return nil, fault.Deniedf("cityCodeAppId %q is not the signing app", in.CityCodeAppID)
	}
	if s.cfg.Persons == nil {
		return nil, fault.E(fault.Invalid, fault.CodeUnsupportedOperation, "landing tickets are not available")
	}
	person, name, mobile, err := s.cfg.Persons.Holder(ctx, a.AppID, in.UserID)
	if err != nil {
		return nil, err
	}
	tok := randomToken()
	exp := s.cfg.Clock().Add(ticketTTL)
	_, err = s.cfg.Pool.Exec(ctx, `INSERT INTO landing_tickets (ticket_hash, person_id, app_id, name_masked, mobile_masked, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, codec.SM3Hex([]byte(tok)), person, a.AppID, name, mobile, exp)
	if err != nil {
		return nil, err
	}
	return &TicketOut{Ticket: tok, ExpireTime: exp.UnixMilli()}, nil
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// visitorSession is a logged-in citizen on the landing pages.
type visitorSession struct {
	personID     int64
	name, mobile string
}

// redeemTicket turns a ticket into a visitor session, once, and answers
// the session id for the cookie.
func (s *Service) redeemTicket(ctx context.Context, ticket string) (string, error) {
	if len(ticket) > 64 {
		return "", fault.Invalidf("ticket is malformed")
	}
	now := s.cfg.Clock()
	var v visitorSession
	err := s.cfg.Pool.QueryRow(ctx, `UPDATE landing_tickets SET used_at = $2 WHERE ticket_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING person_id, name_masked, mobile_masked`, codec.SM3Hex([]byte(ticket)), now).Scan(&v.personID, &v.name, &v.mobile)
	if store.NoRows(err) {
		return "", fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "the ticket is unknown, used or expired")
	}
	if err != nil {
		return "", err
	}
	id := randomToken()
	_, err = s.cfg.Pool.Exec(ctx, `INSERT INTO visitor_sessions (id_hash, person_id, name_masked, mobile_masked, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, codec.SM3Hex([]byte(id)), v.personID, v.name, v.mobile, now.Add(visitorTTL))
	return id, err
}

// session reads the visitor session of a request's cookie; nil for a
// tourist.
func (s *Service) session(ctx context.Context, r *http.Request) *visitorSession {
	c, err := r.Cookie(visitorCookie)
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return nil
	}
	var v visitorSession
	err = s.cfg.Pool.QueryRow(ctx, `SELECT person_id, name_masked, mobile_masked FROM visitor_sessions WHERE id_hash = $1 AND expires_at > $2`,
		codec.SM3Hex([]byte(c.Value)), s.cfg.Clock()).Scan(&v.personID, &v.name, &v.mobile)
	if err != nil {
		return nil
	}
	return &v
}

// visitorFor is the visitor a plugin sees: a pseudonym of its own, and the
// masked name and mobile only when the person authorized its scene.
func (s *Service) visitorFor(ctx context.Context, v *visitorSession, pluginName string) plugin.Visitor {
	if v == nil {
		return plugin.Visitor{Tourist: true}
	}
	out := plugin.Visitor{Pseudonym: s.pseudonym(pluginName, strconv.FormatInt(v.personID, 10))}
	if s.cfg.Persons != nil {
		if ok, err := s.cfg.Persons.Authorized(ctx, v.personID, SceneOf(pluginName)); err == nil && ok {
			out.Authorized, out.Name, out.Mobile = true, v.name, v.mobile
		}
	}
	return out
}

// ticketLanding handles ?ticket=…: it sets the visitor cookie (for the
// landing paths under prefix, /c/ or /e/) and
// redirects to the same page without the ticket, so the ticket stays out
// of history and referrers. It reports whether it answered.
func (s *Service) ticketLanding(w http.ResponseWriter, r *http.Request, prefix string) bool {
	ticket := r.URL.Query().Get("ticket")
	if ticket == "" || r.Method != http.MethodGet {
		return false
	}
	id, err := s.redeemTicket(r.Context(), ticket)
	if err != nil {
		if _, ok := fault.As(err); !ok {
			s.internal(w, r, err)
			return true
		}
		s.page(w, http.StatusUnauthorized, "登录已失效", "登录票据无效或已过期，请在城市码App中重新扫码。", r)
		return true
	}
	http.SetCookie(w, &http.Cookie{Name: visitorCookie, Value: id, Path: prefix, MaxAge: int(visitorTTL.Seconds()),
		HttpOnly: true, Secure: strings.HasPrefix(s.cfg.PublicBase, "https://"), SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	q.Del("ticket")
	u := *r.URL
	u.RawQuery = q.Encode()
	securityHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
	return true
}
