package pluginhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// call is one request being served by a plugin: everything a capability
// call is scoped by comes from here, never from the plugin's arguments.
type call struct {
	s          *Service
	l          *loaded
	platformID string
	requestID  string
	code       *plugin.Code
	visitor    plugin.Visitor
	enabled    bool
}

// hostFunc answers the plugin's capability calls for this request.
func (c *call) hostFunc() runner.HostFunc {
	return func(ctx context.Context, raw []byte) []byte {
		res, err := c.dispatch(ctx, raw)
		var out plugin.CallResult
		if err != nil {
			out.Error = toPluginError(err)
		} else if res != nil {
			b, merr := json.Marshal(res)
			if merr != nil {
				out.Error = &plugin.Error{Code: plugin.ErrInternal, Message: "unencodable result"}
			} else {
				out.Result = b
			}
		}
		b, _ := json.Marshal(out)
		return b
	}
}

// toPluginError turns a host error into what the plugin sees: the fault's
// code and message, or an opaque internal error.
func toPluginError(err error) *plugin.Error {
	if pe, ok := errors.AsType[*plugin.Error](err); ok {
		return pe
	}
	if f, ok := fault.As(err); ok && f.Kind != fault.Internal {
		return &plugin.Error{Code: f.Code, Message: f.Message}
	}
	return &plugin.Error{Code: plugin.ErrInternal, Message: "the host could not complete the call"}
}

func denied(format string, a ...any) *plugin.Error {
	return &plugin.Error{Code: plugin.ErrDenied, Message: fmt.Sprintf(format, a...)}
}

func invalid(format string, a ...any) *plugin.Error {
	return &plugin.Error{Code: plugin.ErrInvalid, Message: fmt.Sprintf(format, a...)}
}

// decodeArgs decodes a capability's arguments strictly.
func decodeArgs(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("arguments: %v", err)
	}
	return nil
}

func (c *call) dispatch(ctx context.Context, raw []byte) (any, error) {
	var in plugin.Call
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, invalid("undecodable call: %v", err)
	}
	if in.RequestID != c.requestID {
		return nil, c.deny(ctx, in, "the call names a request that is not in flight")
	}
	if in.Capability == "log" {
		var a plugin.LogArgs
		if err := decodeArgs(in.Args, &a); err != nil {
			return nil, err
		}
		c.s.pluginLog(c.l.name, a.Level, a.Message)
		return nil, nil
	}
	if err := c.authorize(ctx, in); err != nil {
		return nil, err
	}
	switch in.Capability + "/" + plugin.Capability(in.Op) {
	case plugin.CodeResolve + "/resolve":
		return c.resolve(ctx, in.Args)
	case plugin.ObjectRead + "/get":
		return c.resolve(ctx, in.Args)
	case plugin.ObjectWrite + "/update":
		return c.updateObject(ctx, in.Args)
	case plugin.VisitorRead + "/get":
		return plugin.VisitorDetails{Visitor: c.visitor}, nil
	case plugin.RecordsWrite + "/put":
		return c.putRecord(ctx, in.Args)
	case plugin.RecordsWrite + "/delete":
		return c.deleteRecord(ctx, in.Args)
	case plugin.RecordsRead + "/get":
		return c.getRecord(ctx, in.Args)
	case plugin.RecordsRead + "/query":
		return c.queryRecords(ctx, in.Args)
	case plugin.FilesWrite + "/put":
		return c.putFile(ctx, in.Args)
	case plugin.FilesRead + "/get":
		return c.getFile(ctx, in.Args)
	case plugin.NotifySend + "/send":
		return c.notify(ctx, in.Args)
	case plugin.EventsWrite + "/write":
		return c.event(ctx, in.Args)
	case plugin.AuditWrite + "/write":
		return c.auditWrite(ctx, in.Args)
	case plugin.TokenExchange + "/redeem":
		return c.redeem(ctx, in.Args)
	}
	return nil, invalid("unknown operation %s.%s", in.Capability, in.Op)
}

// authorize asks policies/plugins; a denial is audited. The decision is a
// pure function of its input and the policy bundle, so it is memoized per
// bundle version: a capability call costs a map look-up, not a Rego
// evaluation, and a new bundle takes effect at once.
func (c *call) authorize(ctx context.Context, in plugin.Call) error {
	key := decisionKey{bundle: c.s.cfg.Authz.Version(), plugin: c.l.name, version: c.l.version, platform: c.platformID,
		enabled: c.enabled, capability: in.Capability}
	if v, ok := c.s.decisions.Load(key); ok {
		d := v.(decision)
		if !d.Allow {
			return c.deny(ctx, in, d.Reason)
		}
		return nil
	}
	input := map[string]any{
		"plugin": map[string]any{
			"name": c.l.name, "capabilities": c.l.manifest.Capabilities, "enabled": c.enabled,
		},
		"platform_id": c.platformID,
		"capability":  string(in.Capability),
	}
	var d decision
	if err := c.s.cfg.Authz.Eval(ctx, "data.plugins.decision", input, &d); err != nil {
		c.s.log.Error("plugin policy not evaluated", "plugin", c.l.name, "err", err)
		return c.deny(ctx, in, "the plugin policy could not be evaluated")
	}
	if c.s.decisionCount.Add(1) > maxDecisions {
		c.s.decisions.Clear()
		c.s.decisionCount.Store(0)
	}
	c.s.decisions.Store(key, d)
	if !d.Allow {
		return c.deny(ctx, in, d.Reason)
	}
	return nil
}

type decisionKey struct {
	bundle, plugin, version, platform string
	enabled                           bool
	capability                        plugin.Capability
}

type decision struct {
	Allow  bool   `json:"allow"`
	Reason string `json:"reason"`
}

// maxDecisions bounds the memo: plugins × platforms × capabilities is far
// smaller in practice.
const maxDecisions = 100000

func (c *call) deny(ctx context.Context, in plugin.Call, reason string) error {
	detail, _ := json.Marshal(map[string]string{"capability": string(in.Capability), "op": in.Op, "reason": reason, "version": c.l.version})
	c.s.auditEntry(ctx, audit.Entry{
		Type: audit.TypeDataSecurity, Action: "plugin.capability.denied", Target: "plugin:" + c.l.name,
		PlatformID: c.platformID, Result: audit.Failure, Detail: detail, RequestID: c.requestID,
		Account: "plugin:" + c.l.name,
	})
	return denied("%s", reason)
}

// auditDenied records a plugin reaching for data outside its scope.
func (c *call) auditDenied(ctx context.Context, reason string, detail map[string]string) {
	detail["reason"], detail["version"] = reason, c.l.version
	b, _ := json.Marshal(detail)
	c.s.auditEntry(ctx, audit.Entry{Type: audit.TypeDataSecurity, Action: "plugin.data.denied", Target: "plugin:" + c.l.name,
		PlatformID: c.platformID, Result: audit.Failure, Detail: b, RequestID: c.requestID, Account: "plugin:" + c.l.name})
}

func (s *Service) auditEntry(ctx context.Context, e audit.Entry) {
	if s.cfg.Audit == nil {
		return
	}
	if err := s.cfg.Audit.Record(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit entry not recorded", "action", e.Action, "err", err)
	}
}

// pluginLog writes a plugin's log line into the host's log.
func (s *Service) pluginLog(name, level, msg string) {
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	lv := slog.LevelInfo
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	}
	s.cfg.Log.Log(context.Background(), lv, msg, "plugin", name)
}

// resolve verifies a code for the plugin. Only codes of the request's
// platform are visible: another platform's code is not found.
func (c *call) resolve(ctx context.Context, raw json.RawMessage) (any, error) {
	var a plugin.ResolveArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.Code == "" {
		return nil, invalid("code is required")
	}
	code, platform, err := c.s.cfg.Codes.Resolve(ctx, a.Code)
	if code != nil && platform != c.platformID {
		// Another platform's code: not found for the plugin, and on the
		// record for the auditors.
		c.auditDenied(ctx, "code of another platform", map[string]string{"code": code.Token, "platform": platform})
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "no such code"}
	}
	if err != nil {
		return nil, err
	}
	return code, nil
}

func (c *call) updateObject(ctx context.Context, raw json.RawMessage) (any, error) {
	var a plugin.ObjectPatch
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.Code == "" {
		return nil, invalid("code is required")
	}
	out, err := c.s.cfg.Codes.MergeAttributes(ctx, c.l.name, c.platformID, a.Code, a.Attributes)
	if err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(map[string]any{"attributes": json.RawMessage(a.Attributes)})
	c.s.auditEntry(ctx, audit.Entry{Type: audit.TypeOperation, Action: "plugin.object.update", Target: "object:" + out.Token,
		PlatformID: c.platformID, Result: audit.Success, Detail: detail, RequestID: c.requestID, Account: "plugin:" + c.l.name})
	return out, nil
}

func (c *call) notify(ctx context.Context, raw json.RawMessage) (any, error) {
	var n plugin.Notification
	if err := decodeArgs(raw, &n); err != nil {
		return nil, err
	}
	if n.Template == "" || len(n.Template) > 64 || n.To == "" || len(n.To) > 128 {
		return nil, invalid("template (≤64) and to (≤128) are required")
	}
	params, _ := json.Marshal(n.Params)
	if len(params) > 8<<10 {
		return nil, invalid("params exceed 8 KB")
	}
	id := newID("n")
	_, err := c.s.cfg.Pool.Exec(ctx, `INSERT INTO plugin_notifications (id, plugin, platform_id, template, recipient, params, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, c.l.name, c.platformID, n.Template, n.To, params, c.s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	return map[string]string{"id": id}, nil
}

func (c *call) event(ctx context.Context, raw json.RawMessage) (any, error) {
	var a plugin.EventArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.Name == "" || len(a.Name) > 64 {
		return nil, invalid("name is required (at most 64 bytes)")
	}
	if len(a.Detail) > 4<<10 {
		return nil, invalid("detail exceeds 4 KB")
	}
	detail, _ := json.Marshal(map[string]any{"plugin": c.l.name, "name": a.Name, "detail": a.Detail})
	ev := events.Event{Type: events.PluginAction, Result: events.Success, PlatformID: c.platformID, Detail: detail}
	if c.code != nil {
		ev.Kind, ev.RuleID, ev.CodeID, ev.RegionCode = c.code.Kind, c.code.CodeDefID, c.code.Token, c.code.RegionCode
	}
	return nil, c.s.cfg.Events.Write(ctx, ev)
}

func (c *call) auditWrite(ctx context.Context, raw json.RawMessage) (any, error) {
	var a plugin.AuditArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.Action == "" || len(a.Action) > 64 {
		return nil, invalid("action is required (at most 64 bytes)")
	}
	if len(a.Detail) > 0 {
		var obj map[string]any
		if json.Unmarshal(a.Detail, &obj) != nil {
			return nil, invalid("detail must be a JSON object")
		}
	}
	if c.s.cfg.Audit == nil {
		return nil, nil
	}
	err := c.s.cfg.Audit.Record(ctx, audit.Entry{Type: audit.TypeOperation, Action: "plugin." + c.l.name + "." + a.Action,
		Target: a.Target, PlatformID: c.platformID, Result: audit.Success, Detail: a.Detail, RequestID: c.requestID,
		Account: "plugin:" + c.l.name})
	return nil, err
}

// newID makes a random, time-ordered id: 12 hex digits of milliseconds and
// 16 of randomness.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s%012x%s", prefix, time.Now().UnixMilli(), hex.EncodeToString(b[:]))
}
