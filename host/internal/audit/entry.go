package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/host/internal/actor"
)

// Type classifies an entry; the console shows each type as its own log.
type Type string

// The entry types.
const (
	TypeOperation    Type = "operation"     // 操作日志: an operator changed something
	TypeLogin        Type = "login"         // 登录日志: a login, logout or failed attempt
	TypeAPI          Type = "api"           // 接口调用日志: an app called an open API
	TypeDataSecurity Type = "data_security" // 数据安全日志: personal data shown, exported, decrypted
)

func (t Type) valid() bool {
	switch t {
	case TypeOperation, TypeLogin, TypeAPI, TypeDataSecurity:
		return true
	}
	return false
}

// label is the type's name in exports.
func (t Type) label() string {
	switch t {
	case TypeOperation:
		return "操作日志"
	case TypeLogin:
		return "登录日志"
	case TypeAPI:
		return "接口调用日志"
	case TypeDataSecurity:
		return "数据安全日志"
	}
	return string(t)
}

// Result tells whether the audited action succeeded.
type Result string

// The results.
const (
	Success Result = "success"
	Failure Result = "failure"
)

func (r Result) label() string {
	switch r {
	case Success:
		return "成功"
	case Failure:
		return "失败"
	}
	return string(r)
}

// Entry is one audit record.
//
// Callers fill Type, Action, Result and whatever else they know; Record
// assigns Seq, At, PrevHash and Hash (values set by the caller there are
// ignored). Detail must be a JSON object (or empty) whose personal data is
// already masked: the trail is append-only and cannot be scrubbed later.
type Entry struct {
	Seq        int64           `json:"seq"`
	At         time.Time       `json:"at"`
	Type       Type            `json:"type"`
	OperatorID string          `json:"operatorId"`
	Account    string          `json:"account"`
	PlatformID string          `json:"platformId"`
	SourceIP   string          `json:"sourceIp"`
	Action     string          `json:"action"` // e.g. "app.create"
	Target     string          `json:"target"` // e.g. "app:A0001"
	Result     Result          `json:"result"`
	Detail     json.RawMessage `json:"detail"`
	RequestID  string          `json:"requestId"`
	PrevHash   string          `json:"prevHash"`
	Hash       string          `json:"hash"`
}

// Limits on what one entry may hold. Text fields longer than maxField bytes
// are cut (they may carry attacker input, such as a login account, and the
// attempt must still be recorded); a larger detail is refused because only
// the caller can decide what to drop from it.
const (
	maxField  = 512
	maxDetail = 64 << 10
)

// fillFromActor completes the who/where fields the caller left empty from the
// authenticated caller in ctx, so most call sites name only what happened.
func fillFromActor(ctx context.Context, e *Entry) {
	a := actor.From(ctx)
	if a == nil {
		return
	}
	var id, account string
	switch a.Kind {
	case actor.KindApp:
		id, account = a.AppID, a.AppID
	default:
		account = a.Account
		if a.OperatorID != 0 {
			id = strconv.FormatInt(a.OperatorID, 10)
		}
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&e.OperatorID, id}, {&e.Account, account}, {&e.PlatformID, a.PlatformID},
		{&e.SourceIP, a.SourceIP}, {&e.RequestID, a.RequestID},
	} {
		if *f.dst == "" {
			*f.dst = f.v
		}
	}
}

// prepare validates e and brings it to the exact form that is hashed and
// stored: sanitized, bounded text and canonical detail.
func prepare(e *Entry) error {
	if !e.Type.valid() {
		return fmt.Errorf("%w: unknown type %q", ErrInvalidEntry, e.Type)
	}
	if e.Result != Success && e.Result != Failure {
		return fmt.Errorf("%w: unknown result %q", ErrInvalidEntry, e.Result)
	}
	for _, s := range []*string{&e.OperatorID, &e.Account, &e.PlatformID, &e.SourceIP, &e.Action, &e.Target, &e.RequestID} {
		*s = sanitize(*s)
	}
	if e.Action == "" {
		return fmt.Errorf("%w: action is required", ErrInvalidEntry)
	}
	if len(e.Detail) > maxDetail {
		return fmt.Errorf("%w: detail is %d bytes, more than %d", ErrInvalidEntry, len(e.Detail), maxDetail)
	}
	raw := e.Detail
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	d, err := canonicalJSON(raw)
	if err != nil {
		return fmt.Errorf("%w: detail: %w", ErrInvalidEntry, err)
	}
	if d[0] != '{' {
		return fmt.Errorf("%w: detail must be a JSON object", ErrInvalidEntry)
	}
	e.Detail = d
	return nil
}

// sanitize makes s storable and safe to show: invalid UTF-8 and control
// characters (PostgreSQL refuses NUL; line breaks forge log lines) become
// U+FFFD, and s is cut to maxField bytes on a rune boundary.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return utf8.RuneError
			}
			return r
		}, strings.ToValidUTF8(s, "\uFFFD"))
	}
	if len(s) > maxField {
		cut := maxField
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
