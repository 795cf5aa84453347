package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// Request is what the host hands a plugin: one landing visit, one action or
// one admin call.
type Request struct {
	// ID is the host's request id; capability calls made while serving the
	// request must carry it (Host does), and the host only honours them
	// while the request is in flight.
	ID     string              `json:"id"`
	Route  string              `json:"route"` // the manifest route's name
	Kind   RouteKind           `json:"kind"`
	Method string              `json:"method"`
	Path   string              `json:"path"`
	Query  map[string][]string `json:"query,omitempty"`
	// Header holds the few request headers a page needs (Accept-Language,
	// Content-Type, User-Agent); cookies and credentials are never passed.
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`

	PlatformID string          `json:"platformId"`
	Code       *Code           `json:"code,omitempty"`     // the scanned code (landing and action routes)
	Visitor    Visitor         `json:"visitor"`            // who is scanning
	Operator   *Operator       `json:"operator,omitempty"` // who is calling an admin route
	Config     json.RawMessage `json:"config,omitempty"`   // the platform's configuration of the plugin
	BaseURL    string          `json:"baseURL,omitempty"`  // absolute URL of the code's landing page, for links
	// AccessToken is a one-time token the plugin (or the vendor's own
	// backend) redeems for the code's data and the visitor's details
	// (令牌获取信息接口), valid for a few minutes.
	AccessToken string `json:"accessToken,omitempty"`
}

// QueryValue is the first value of a query parameter.
func (r *Request) QueryValue(name string) string {
	if v := r.Query[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Code is a resolved code as a plugin sees it.
type Code struct {
	Token      string          `json:"token"`
	Kind       string          `json:"kind"` // object, enterprise, person
	Number     int64           `json:"number,omitempty"`
	Status     string          `json:"status"`
	CodeDefID  string          `json:"codeDefId,omitempty"`
	TypeID     string          `json:"typeId,omitempty"`
	TypeName   string          `json:"typeName,omitempty"`
	RegionCode string          `json:"regionCode,omitempty"`
	OwnerUnit  string          `json:"ownerUnit,omitempty"`
	Name       string          `json:"name,omitempty"`
	Attributes json.RawMessage `json:"attributes,omitempty"`
}

// Visitor is the citizen scanning a code. Without login (tourist mode) only
// Tourist is set. The host gives a plugin a pseudonym stable for that
// plugin, never the person's identifiers; names and mobiles arrive masked.
type Visitor struct {
	Tourist    bool   `json:"tourist"`
	Pseudonym  string `json:"pseudonym,omitempty"`  // per plugin: the same person gets different ids in different plugins
	Authorized bool   `json:"authorized,omitempty"` // the person authorized this scene to know who they are
	Name       string `json:"name,omitempty"`       // masked: 张*
	Mobile     string `json:"mobile,omitempty"`     // masked: 138****0000
}

// Operator is the console operator calling an admin route; the host has
// authenticated them and checked their permission on the platform.
type Operator struct {
	Account    string `json:"account"`
	PlatformID string `json:"platformId"`
}

// Response is a plugin's answer.
type Response struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
}

// HTML answers a page.
func HTML(status int, page string) *Response {
	return &Response{Status: status, Header: map[string]string{"Content-Type": "text/html; charset=utf-8"}, Body: []byte(page)}
}

// RenderHTML answers a page from an html/template, which escapes what it
// interpolates.
func RenderHTML(status int, t *template.Template, data any) (*Response, error) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return HTML(status, b.String()), nil
}

// JSON answers a JSON document.
func JSON(status int, v any) (*Response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &Response{Status: status, Header: map[string]string{"Content-Type": "application/json"}, Body: b}, nil
}

// Redirect answers a redirect. The host only follows it to the plugin's own
// pages or to targets on the platform's service whitelist.
func Redirect(location string) *Response {
	return &Response{Status: http.StatusSeeOther, Header: map[string]string{"Location": location}}
}

// Handler is what a plugin implements, once for both runtimes.
type Handler interface {
	Handle(ctx context.Context, host *Host, req *Request) (*Response, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, host *Host, req *Request) (*Response, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, host *Host, req *Request) (*Response, error) {
	return f(ctx, host, req)
}

// Call is a capability call on the wire.
type Call struct {
	RequestID  string          `json:"requestId"`
	Capability Capability      `json:"capability"`
	Op         string          `json:"op"`
	Args       json.RawMessage `json:"args,omitempty"`
}

// CallResult answers a Call: a result or an error.
type CallResult struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// Error is an error the host or a plugin reports, with the host's error
// code (UnauthorizedOperation.Capability, ResourceNotFound, ...).
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Error codes plugins see.
const (
	ErrDenied      = "UnauthorizedOperation.Capability"
	ErrNotFound    = "ResourceNotFound"
	ErrInvalid     = "InvalidParameter"
	ErrUnavailable = "ServiceUnavailable"
	ErrInternal    = "InternalError"
)

// IsCode reports whether err is an *Error with the code (or a code below
// it: IsCode(err, "ResourceNotFound") matches "ResourceNotFound.Record").
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == code || strings.HasPrefix(e.Code, code+"."))
}

// Caller carries capability calls to the host: the runtime's transport.
type Caller interface {
	Call(ctx context.Context, call []byte) ([]byte, error)
}

// Host is the plugin's handle on the host's capabilities while serving one
// request.
type Host struct {
	caller    Caller
	requestID string
}

// NewHost binds a transport to the request being served. Runtimes call it;
// plugin tests may use it with a fake Caller.
func NewHost(c Caller, requestID string) *Host { return &Host{caller: c, requestID: requestID} }

// Invoke makes a raw capability call: it encodes args, and decodes the
// result into out (when out is not nil).
func (h *Host) Invoke(ctx context.Context, c Capability, op string, args, out any) error {
	if h == nil || h.caller == nil {
		return &Error{Code: ErrUnavailable, Message: "no host"}
	}
	var raw json.RawMessage
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("%s.%s: encoding arguments: %w", c, op, err)
		}
		raw = b
	}
	call, err := json.Marshal(Call{RequestID: h.requestID, Capability: c, Op: op})
	if err != nil {
		return err
	}
	if raw != nil {
		// Spliced in rather than marshalled as a RawMessage, which
		// encoding/json would scan once more to validate: for a photo
		// (files.put) that is megabytes, ~0.4 s per MB in a WASM guest.
		call = append(append(append(call[:len(call)-1], `,"args":`...), raw...), '}')
	}
	b, err := h.caller.Call(ctx, call)
	if err != nil {
		return &Error{Code: ErrUnavailable, Message: err.Error()}
	}
	var res CallResult
	if err := json.Unmarshal(b, &res); err != nil {
		return &Error{Code: ErrInternal, Message: "undecodable answer from the host: " + err.Error()}
	}
	if res.Error != nil {
		return res.Error
	}
	if out != nil && len(res.Result) > 0 {
		if err := json.Unmarshal(res.Result, out); err != nil {
			return fmt.Errorf("%s.%s: decoding the result: %w", c, op, err)
		}
	}
	return nil
}
