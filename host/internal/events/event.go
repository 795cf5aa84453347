package events

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Type is what happened to a code.
type Type string

// The event types.
const (
	Generate     Type = "generate"
	Show         Type = "show"
	Verify       Type = "verify"
	Activate     Type = "activate"
	Cancel       Type = "cancel"
	Relation     Type = "relation"
	ScanUpload   Type = "scan_upload"
	Landing      Type = "landing"
	PluginAction Type = "plugin_action"
)

// Valid reports whether t is a known type.
func (t Type) Valid() bool {
	switch t {
	case Generate, Show, Verify, Activate, Cancel, Relation, ScanUpload, Landing, PluginAction:
		return true
	}
	return false
}

// Result is how an operation ended.
type Result string

// The results.
const (
	Success     Result = "success"
	Failure     Result = "failure"
	Intercepted Result = "intercepted" // refused by risk control
)

// Valid reports whether r is a known result.
func (r Result) Valid() bool { return r == Success || r == Failure || r == Intercepted }

// Event is one usage event. SubjectID is an opaque id of the person,
// enterprise or object (never a name, certificate or mobile number); OrgID
// is the verifier's acceptOrgId. The JSON form is what the console lists.
type Event struct {
	At          time.Time       `json:"at"` // zero: the writer's clock at Write
	Type        Type            `json:"type"`
	Result      Result          `json:"result"`
	PlatformID  string          `json:"platformId"`
	AppID       string          `json:"appId"`
	RuleID      string          `json:"ruleId"`
	RuleVersion int             `json:"ruleVersion"`
	Kind        string          `json:"kind"` // person, enterprise, object, virtual, or empty
	SubjectID   string          `json:"subjectId"`
	CodeID      string          `json:"codeId"`
	OrgID       string          `json:"orgId"`
	RegionCode  string          `json:"regionCode"`
	Detail      json.RawMessage `json:"detail,omitempty"` // small JSON value, optional
}

// Limits of an event's fields. They keep one bad event from failing the
// batch it shares with others (the database refuses NUL bytes and invalid
// UTF-8) and keep rows small.
const (
	maxID       = 64
	maxLongID   = 256 // subject, code and organization ids
	maxDetail   = 4096
	maxFutureAt = 24 * time.Hour // partitions exist two months ahead; see partition.go
)

// check validates e as Write would store it (At already set).
func (e *Event) check(now time.Time) error {
	if !e.Type.Valid() {
		return fault.Invalidf("events: unknown event type %q", e.Type)
	}
	if !e.Result.Valid() {
		return fault.Invalidf("events: unknown event result %q", e.Result)
	}
	switch e.Kind {
	case "", "person", "enterprise", "object", "virtual":
	default:
		return fault.Invalidf("events: unknown code kind %q", e.Kind)
	}
	if e.At.After(now.Add(maxFutureAt)) {
		return fault.Invalidf("events: event time %s is in the future", e.At.Format(time.RFC3339))
	}
	if e.RuleVersion < 0 || e.RuleVersion > 1<<31-1 {
		return fault.Invalidf("events: rule version %d out of range", e.RuleVersion)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"platformId", e.PlatformID, maxID}, {"appId", e.AppID, maxID}, {"ruleId", e.RuleID, maxID},
		{"regionCode", e.RegionCode, maxID}, {"subjectId", e.SubjectID, maxLongID},
		{"codeId", e.CodeID, maxLongID}, {"orgId", e.OrgID, maxLongID},
	} {
		if len(f.v) > f.max || !utf8.ValidString(f.v) || strings.IndexByte(f.v, 0) >= 0 {
			return fault.Invalidf("events: %s must be valid text of at most %d bytes", f.name, f.max)
		}
	}
	if len(e.Detail) > 0 {
		// jsonb refuses the NUL character even escaped.
		if len(e.Detail) > maxDetail || !json.Valid(e.Detail) || bytes.Contains(e.Detail, []byte(`\u0000`)) {
			return fault.Invalidf("events: detail must be a JSON value of at most %d bytes", maxDetail)
		}
	}
	return nil
}
