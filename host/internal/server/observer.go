package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/auth"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/openplatform"
)

// auditObserver writes the audit trail of the HTTP layer: every console
// change (operation log), every read that hands out data in bulk or reveals
// secrets (data-security log), and every signed app call that changes data
// or is refused (API-call log), and every change a developer makes through
// the open platform's portal (operation log, attributed to
// "developer:<account>" so it never reads as an operator's). Plain reads are not logged here: console
// reads would drown the trail, and open-API reads are usage events.
type auditObserver struct {
	trail *audit.Logger
	log   *slog.Logger
}

func (o *auditObserver) Observe(ctx context.Context, c httpapi.Call) {
	typ, ok := auditType(c)
	if !ok {
		return
	}
	e := audit.Entry{
		Type:   typ,
		Action: c.Route.Action,
		Target: target(c.PathParams),
		Result: audit.Success,
	}
	if e.Action == "" {
		e.Action = c.Route.Method + " " + c.Route.Path
	}
	detail := map[string]any{"status": c.Status, "durationMs": c.Duration.Milliseconds(), "route": c.Route.Method + " " + c.Route.Path}
	if c.Err != nil {
		e.Result = audit.Failure
		detail["error"] = fault.CodeOf(c.Err)
	}
	e.Detail, _ = json.Marshal(detail)
	if a := c.Actor; a != nil {
		e.PlatformID = a.PlatformID
		if a.Kind == actor.KindDeveloper {
			e.OperatorID, e.Account = a.DeveloperID, "developer:"+a.Account
		}
	} else {
		// The caller was not authenticated (bad signature, expired session):
		// still worth a line, attributed to nobody.
		e.Account = "anonymous"
		ip, _ := httpapi.ClientInfo(ctx)
		e.SourceIP = ip
	}
	if err := o.trail.Record(ctx, e); err != nil {
		o.log.ErrorContext(ctx, "audit record failed", "err", err, "action", e.Action)
	}
}

func auditType(c httpapi.Call) (audit.Type, bool) {
	if c.Route.Auth == httpapi.App {
		// Reads of the open API (show, decode, look-ups) run at thousands a
		// second and are recorded as usage events; the hash-chained trail
		// keeps the calls that change data and every refused call.
		return audit.TypeAPI, !c.Route.ReadOnly || c.Err != nil
	}
	action := c.Route.Action
	if strings.HasSuffix(action, ".export") || strings.HasSuffix(action, ".secret") {
		return audit.TypeDataSecurity, true
	}
	if c.Route.Method == http.MethodGet {
		return "", false
	}
	return audit.TypeOperation, true
}

func target(params map[string]string) string {
	if len(params) == 0 {
		return ""
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+params[k])
	}
	return strings.Join(parts, ",")
}

// loginRecorder writes login attempts to the audit trail's login log.
type loginRecorder struct{ trail *audit.Logger }

func (l loginRecorder) RecordLogin(ctx context.Context, ev auth.LoginEvent) error {
	e := audit.Entry{
		Type:       audit.TypeLogin,
		Account:    ev.Account,
		PlatformID: ev.PlatformID,
		SourceIP:   ev.IP,
		Action:     "auth.login",
		Result:     audit.Success,
	}
	if ev.OperatorID != 0 {
		e.OperatorID = strconv.FormatInt(ev.OperatorID, 10)
	}
	d := map[string]any{"userAgent": ev.UserAgent}
	if !ev.Success {
		e.Result = audit.Failure
		d["reason"] = ev.Reason
	}
	e.Detail, _ = json.Marshal(d)
	return l.trail.Record(ctx, e)
}

// developerLogins writes the open platform's developer logins to the
// audit trail's login log, as "developer:<account>".
type developerLogins struct {
	trail *audit.Logger
	log   *slog.Logger
}

func (l developerLogins) record(ctx context.Context, ev openplatform.LoginEvent) {
	e := audit.Entry{
		Type:       audit.TypeLogin,
		OperatorID: ev.DeveloperID,
		Account:    "developer:" + ev.Account,
		SourceIP:   ev.IP,
		Action:     "open.login",
		Result:     audit.Success,
	}
	d := map[string]any{"userAgent": ev.UserAgent}
	if !ev.Success {
		e.Result = audit.Failure
		d["reason"] = ev.Reason
	}
	e.Detail, _ = json.Marshal(d)
	if err := l.trail.Record(ctx, e); err != nil {
		l.log.ErrorContext(ctx, "recording a developer login", "account", ev.Account, "err", err)
	}
}
