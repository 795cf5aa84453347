package plugin

import (
	"context"
	"encoding/json"
	"time"
)

// The typed capabilities. Each wraps Invoke with the argument and result
// types the host implements; the host decodes them strictly.

// ResolveArgs names a code: its token or the URL it holds.
type ResolveArgs struct {
	Code string `json:"code"`
}

// ResolveCode verifies a code (tamper check, status) and says what it is.
func (h *Host) ResolveCode(ctx context.Context, code string) (*Code, error) {
	var c Code
	if err := h.Invoke(ctx, CodeResolve, "resolve", ResolveArgs{Code: code}, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// VisitorDetails is who scanned, when they authorized the scene.
type VisitorDetails struct {
	Visitor
	// Verified is the authorization level of the person (实名认证 levels).
	Level int `json:"level,omitempty"`
}

// Visitor reads the scanning citizen of the current request.
func (h *Host) Visitor(ctx context.Context) (*VisitorDetails, error) {
	var v VisitorDetails
	if err := h.Invoke(ctx, VisitorRead, "get", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ObjectPatch updates attributes of the current request's object code:
// keys set to null are removed.
type ObjectPatch struct {
	Code       string          `json:"code"`
	Attributes json.RawMessage `json:"attributes"`
}

// Object reads an object code's attributes.
func (h *Host) Object(ctx context.Context, code string) (*Code, error) {
	var c Code
	if err := h.Invoke(ctx, ObjectRead, "get", ResolveArgs{Code: code}, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateObject merges attributes into an object code.
func (h *Host) UpdateObject(ctx context.Context, code string, attributes any) (*Code, error) {
	b, err := json.Marshal(attributes)
	if err != nil {
		return nil, err
	}
	var c Code
	if err := h.Invoke(ctx, ObjectWrite, "update", ObjectPatch{Code: code, Attributes: b}, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Record is one JSON document in a plugin's collection on a platform.
type Record struct {
	Collection string          `json:"collection"`
	ID         string          `json:"id,omitempty"`        // given by the plugin or by the host on create
	CodeToken  string          `json:"codeToken,omitempty"` // the code it is about, for filters
	Doc        json.RawMessage `json:"doc"`
	Version    int64           `json:"version,omitempty"` // optimistic concurrency: Put with a version fails if it changed
	// IfAbsent makes Put create only: it fails with
	// FailedOperation.RecordExists when the id is taken (exactly-once
	// markers across instances and nodes).
	IfAbsent  bool      `json:"ifAbsent,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// PutRecord creates or replaces a record; it answers the stored record.
func (h *Host) PutRecord(ctx context.Context, r Record) (*Record, error) {
	var out Record
	if err := h.Invoke(ctx, RecordsWrite, "put", r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RecordKey names a record.
type RecordKey struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
}

// GetRecord reads a record; a missing one is a ResourceNotFound error.
func (h *Host) GetRecord(ctx context.Context, collection, id string) (*Record, error) {
	var out Record
	if err := h.Invoke(ctx, RecordsRead, "get", RecordKey{Collection: collection, ID: id}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteRecord removes a record.
func (h *Host) DeleteRecord(ctx context.Context, collection, id string) error {
	return h.Invoke(ctx, RecordsWrite, "delete", RecordKey{Collection: collection, ID: id}, nil)
}

// RecordQuery filters a collection. Where holds top-level document fields
// that must equal the given values.
type RecordQuery struct {
	Collection string         `json:"collection"`
	CodeToken  string         `json:"codeToken,omitempty"`
	Where      map[string]any `json:"where,omitempty"`
	From       time.Time      `json:"from,omitzero"` // created at or after
	To         time.Time      `json:"to,omitzero"`   // created before
	Newest     bool           `json:"newest,omitempty"`
	Offset     int            `json:"offset,omitempty"`
	Limit      int            `json:"limit,omitempty"` // default 20, at most 500
}

// RecordPage is a page of records and the total that matched.
type RecordPage struct {
	Total int64    `json:"total"`
	Items []Record `json:"items"`
}

// QueryRecords lists records.
func (h *Host) QueryRecords(ctx context.Context, q RecordQuery) (*RecordPage, error) {
	var out RecordPage
	if err := h.Invoke(ctx, RecordsRead, "query", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// File is a stored file (a photo of a problem report).
type File struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"data,omitempty"`
	Size        int64  `json:"size,omitempty"`
	SM3         string `json:"sm3,omitempty"`
	URL         string `json:"url,omitempty"` // where the landing page can show it
}

// PutFile stores a file and answers its id and URL.
func (h *Host) PutFile(ctx context.Context, name, contentType string, data []byte) (*File, error) {
	var out File
	if err := h.Invoke(ctx, FilesWrite, "put", File{Name: name, ContentType: contentType, Data: data}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetFile reads a stored file.
func (h *Host) GetFile(ctx context.Context, id string) (*File, error) {
	var out File
	if err := h.Invoke(ctx, FilesRead, "get", File{ID: id}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Notification is a message through one of the platform's message
// templates.
type Notification struct {
	Template string            `json:"template"` // the template's code
	To       string            `json:"to"`       // a visitor pseudonym, an operator or an org id
	Params   map[string]string `json:"params,omitempty"`
}

// Notify queues a message; it answers the message id.
func (h *Host) Notify(ctx context.Context, n Notification) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := h.Invoke(ctx, NotifySend, "send", n, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// EventArgs is a usage event (埋点) of the plugin.
type EventArgs struct {
	Name   string          `json:"name"` // plugin-defined, e.g. report.created
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Event records a usage event about the current request's code.
func (h *Host) Event(ctx context.Context, name string, detail any) error {
	var b json.RawMessage
	if detail != nil {
		var err error
		if b, err = json.Marshal(detail); err != nil {
			return err
		}
	}
	return h.Invoke(ctx, EventsWrite, "write", EventArgs{Name: name, Detail: b}, nil)
}

// AuditArgs is an audit trail entry.
type AuditArgs struct {
	Action string          `json:"action"`
	Target string          `json:"target,omitempty"`
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Audit records an operation in the platform's audit trail.
func (h *Host) Audit(ctx context.Context, action, target string, detail any) error {
	var b json.RawMessage
	if detail != nil {
		var err error
		if b, err = json.Marshal(detail); err != nil {
			return err
		}
	}
	return h.Invoke(ctx, AuditWrite, "write", AuditArgs{Action: action, Target: target, Detail: b}, nil)
}

// TokenInfo is what a landing access_token redeems for.
type TokenInfo struct {
	Code    Code    `json:"code"`
	Visitor Visitor `json:"visitor"`
}

// RedeemToken exchanges a one-time access_token for the code and visitor it
// was issued for. A token works once.
func (h *Host) RedeemToken(ctx context.Context, token string) (*TokenInfo, error) {
	var out TokenInfo
	if err := h.Invoke(ctx, TokenExchange, "redeem", struct {
		Token string `json:"token"`
	}{token}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogArgs is a log line; logging needs no capability.
type LogArgs struct {
	Level   string `json:"level"` // debug, info, warn, error
	Message string `json:"message"`
}

// Log writes a line into the host's log under the plugin's name.
func (h *Host) Log(ctx context.Context, level, message string) {
	_ = h.Invoke(ctx, "log", "write", LogArgs{Level: level, Message: message}, nil)
}
