package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// ABI version of the contract. A host refuses a plugin built for another
// major; minors only add optional fields and capabilities.
const (
	ABIMajor = 1
	ABIMinor = 1
)

// ABI is the version string manifests carry in sdkVersion.
var ABI = strconv.Itoa(ABIMajor) + "." + strconv.Itoa(ABIMinor)

// Runtime is how a plugin is executed.
type Runtime string

// The runtimes.
const (
	WASM   Runtime = "wasm"   // a WASM module run in the host by wazero
	Native Runtime = "native" // a separate process spoken to over go-plugin (gRPC)
)

// RouteKind says who reaches a route.
type RouteKind string

// The route kinds.
const (
	// Landing routes serve a scanned code: GET {publicBase}/c/{token} and
	// the pages below it.
	Landing RouteKind = "landing"
	// Action routes are the forms and calls a landing page makes
	// ({publicBase}/c/{token}/{path}).
	Action RouteKind = "action"
	// Admin routes serve the platform's operators in the console.
	Admin RouteKind = "admin"
)

// Capability names a host service a plugin may call. A manifest lists the
// ones it needs; the host refuses the others.
type Capability string

// The capabilities.
const (
	CodeResolve   Capability = "code.resolve"   // verify a code and read what it is
	VisitorRead   Capability = "visitor.read"   // the scanning citizen, when they authorized the scene
	ObjectRead    Capability = "object.read"    // an object code's attributes
	ObjectWrite   Capability = "object.write"   // update an object code's attributes
	RecordsRead   Capability = "records.read"   // the plugin's own records on the platform
	RecordsWrite  Capability = "records.write"  // create, update and delete them
	FilesRead     Capability = "files.read"     // the plugin's stored files (photos)
	FilesWrite    Capability = "files.write"    // store files
	NotifySend    Capability = "notify.send"    // send a message through a message template
	EventsWrite   Capability = "events.write"   // usage events (埋点)
	AuditWrite    Capability = "audit.write"    // entries in the platform's audit trail
	TokenExchange Capability = "token.exchange" // redeem a landing access_token (令牌获取信息)
)

// Capabilities lists every capability the host knows.
var Capabilities = []Capability{CodeResolve, VisitorRead, ObjectRead, ObjectWrite, RecordsRead, RecordsWrite,
	FilesRead, FilesWrite, NotifySend, EventsWrite, AuditWrite, TokenExchange}

// Manifest is plugin.json: what a plugin is, what it serves and what it
// needs.
type Manifest struct {
	Name        string  `json:"name"`       // unique id: lower-case letters, digits and '-', 2–40 characters
	Version     string  `json:"version"`    // semantic version, e.g. 1.2.0
	SDKVersion  string  `json:"sdkVersion"` // the ABI it was built for, e.g. "1.0"
	Title       string  `json:"title"`      // display name (码上城管)
	Vendor      string  `json:"vendor,omitempty"`
	Description string  `json:"description,omitempty"`
	Runtime     Runtime `json:"runtime"`
	Entry       string  `json:"entry"` // file name of the .wasm module or the executable, beside plugin.json

	Serves       Serves          `json:"serves"`
	Routes       []Route         `json:"routes"`
	Capabilities []Capability    `json:"capabilities,omitempty"`
	Config       json.RawMessage `json:"config,omitempty"` // JSON Schema of the per-platform configuration
	Collections  []Collection    `json:"collections,omitempty"`
	Limits       Limits          `json:"limits,omitempty"`
}

// Serves says which codes a plugin can be the landing of.
type Serves struct {
	CodeKinds   []string `json:"codeKinds,omitempty"`   // object, enterprise, person
	ObjectTypes []string `json:"objectTypes,omitempty"` // object type ids or names it is meant for; empty: any
}

// Route is one entry point of a plugin.
type Route struct {
	Name   string    `json:"name"`             // unique in the manifest; the Request carries it
	Kind   RouteKind `json:"kind"`             // landing, action or admin
	Method string    `json:"method,omitempty"` // GET (default), POST, PUT, DELETE
	Path   string    `json:"path"`             // below the code's URL: "/" for the landing page, "/report" ...
	// Tourist lets citizens use the route without logging in (游客模式);
	// the Visitor is then anonymous.
	Tourist bool   `json:"tourist,omitempty"`
	Title   string `json:"title,omitempty"`
}

// Collection declares a set of records the plugin keeps, so that the
// console can list and export them.
type Collection struct {
	Name   string  `json:"name"`
	Title  string  `json:"title,omitempty"`
	Fields []Field `json:"fields,omitempty"`
}

// Field is one column of a collection in the console.
type Field struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
	Type  string `json:"type,omitempty"` // string (default), number, bool, time
	// Personal marks personal data: masked in lists and exports.
	Personal bool `json:"personal,omitempty"`
}

// Limits bound what one call of the plugin may use. Zero means the host's
// default; the host caps them too.
type Limits struct {
	MemoryMB  int `json:"memoryMB,omitempty"`  // WASM linear memory cap
	TimeoutMS int `json:"timeoutMS,omitempty"` // per-call deadline
	Instances int `json:"instances,omitempty"` // WASM instances kept warm
}

var (
	nameRe    = regexp.MustCompile(`^[a-z][a-z0-9-]{1,39}$`)
	versionRe = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)
	entryRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	pathRe    = regexp.MustCompile(`^/[A-Za-z0-9/_-]*$`)
)

// ParseManifest decodes and validates plugin.json. Unknown fields are
// refused so that a typo is not silently ignored, and so are keys that
// differ from a field's name only in case and keys given twice: the JSON
// an operator reviews before installing reads exactly as the host reads it
// (encoding/json alone would take "NAME" for "name", and the last of two).
func ParseManifest(b []byte) (*Manifest, error) {
	if err := checkKeys(b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("plugin.json: %w", err)
	}
	if dec.More() {
		return nil, errors.New("plugin.json: trailing data after the manifest")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks a manifest; the error names the first bad field.
func (m *Manifest) Validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("plugin.json: %s: %s", field, fmt.Sprintf(format, a...))
	}
	if !nameRe.MatchString(m.Name) {
		return bad("name", "%q must be 2–40 lower-case letters, digits or '-', starting with a letter", m.Name)
	}
	if !versionRe.MatchString(m.Version) {
		return bad("version", "%q is not a semantic version like 1.0.0", m.Version)
	}
	major, _, ok := strings.Cut(m.SDKVersion, ".")
	if !ok || major != strconv.Itoa(ABIMajor) {
		return bad("sdkVersion", "%q is not supported: this host speaks ABI %s", m.SDKVersion, ABI)
	}
	if strings.TrimSpace(m.Title) == "" {
		return bad("title", "is required")
	}
	if m.Runtime != WASM && m.Runtime != Native {
		return bad("runtime", "%q must be wasm or native", m.Runtime)
	}
	if !entryRe.MatchString(m.Entry) || strings.Contains(m.Entry, "..") {
		return bad("entry", "%q must be a plain file name beside plugin.json", m.Entry)
	}
	for _, k := range m.Serves.CodeKinds {
		if k != "object" && k != "enterprise" && k != "person" {
			return bad("serves.codeKinds", "%q must be object, enterprise or person", k)
		}
	}
	if len(m.Routes) == 0 {
		return bad("routes", "at least one route is required")
	}
	names := map[string]bool{}
	keys := map[string]bool{}
	for i, r := range m.Routes {
		f := fmt.Sprintf("routes[%d]", i)
		if !nameRe.MatchString(r.Name) {
			return bad(f+".name", "%q must be 2–40 lower-case letters, digits or '-'", r.Name)
		}
		if names[r.Name] {
			return bad(f+".name", "%q is used twice", r.Name)
		}
		names[r.Name] = true
		if r.Kind != Landing && r.Kind != Action && r.Kind != Admin {
			return bad(f+".kind", "%q must be landing, action or admin", r.Kind)
		}
		switch r.Method {
		case "", "GET", "POST", "PUT", "DELETE":
		default:
			return bad(f+".method", "%q must be GET, POST, PUT or DELETE", r.Method)
		}
		if !pathRe.MatchString(r.Path) || strings.Contains(r.Path, "//") {
			return bad(f+".path", "%q must start with / and hold only letters, digits, '/', '_' and '-'", r.Path)
		}
		key := string(r.Kind) + " " + r.MethodOrGET() + " " + r.Path
		if keys[key] {
			return bad(f, "%s %s is routed twice", r.MethodOrGET(), r.Path)
		}
		keys[key] = true
	}
	known := map[Capability]bool{}
	for _, c := range Capabilities {
		known[c] = true
	}
	for i, c := range m.Capabilities {
		if !known[c] {
			return bad(fmt.Sprintf("capabilities[%d]", i), "%q is not a capability this host offers", c)
		}
	}
	if len(m.Config) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(m.Config, &schema); err != nil {
			return bad("config", "must be a JSON Schema object: %v", err)
		}
	}
	cols := map[string]bool{}
	for i, c := range m.Collections {
		if !nameRe.MatchString(c.Name) {
			return bad(fmt.Sprintf("collections[%d].name", i), "%q must be 2–40 lower-case letters, digits or '-'", c.Name)
		}
		if cols[c.Name] {
			return bad(fmt.Sprintf("collections[%d].name", i), "%q is declared twice", c.Name)
		}
		cols[c.Name] = true
		for j, f := range c.Fields {
			switch f.Type {
			case "", "string", "number", "bool", "time":
			default:
				return bad(fmt.Sprintf("collections[%d].fields[%d].type", i, j), "%q must be string, number, bool or time", f.Type)
			}
		}
	}
	if m.Limits.MemoryMB < 0 || m.Limits.TimeoutMS < 0 || m.Limits.Instances < 0 {
		return bad("limits", "must not be negative")
	}
	return nil
}

// MethodOrGET is the route's method, GET when unset.
func (r Route) MethodOrGET() string {
	if r.Method == "" {
		return "GET"
	}
	return r.Method
}

// Declares reports whether the manifest lists the capability.
func (m *Manifest) Declares(c Capability) bool {
	for _, d := range m.Capabilities {
		if d == c {
			return true
		}
	}
	return false
}

// Route finds the route of a kind for a method and path.
func (m *Manifest) Route(kind RouteKind, method, path string) (Route, bool) {
	for _, r := range m.Routes {
		if r.Kind == kind && r.MethodOrGET() == method && r.Path == path {
			return r, true
		}
	}
	return Route{}, false
}

// manifestKeys are the JSON keys of the manifest's fields, as declared.
var manifestKeys = func() map[string]bool {
	keys := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			keys[name] = true
			if f.Type != reflect.TypeFor[json.RawMessage]() {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[Manifest]())
	return keys
}()

// checkKeys walks the objects of plugin.json, but the free-form config
// schema, refusing keys not spelled as declared and keys given twice.
func checkKeys(b []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var value func(depth int, free bool) error
	value = func(depth int, free bool) error {
		if depth > 32 {
			return errors.New("plugin.json: nested too deeply")
		}
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("plugin.json: %w", err)
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return fmt.Errorf("plugin.json: %w", err)
				}
				key, _ := kt.(string)
				if !free {
					if !manifestKeys[key] {
						return fmt.Errorf("plugin.json: unknown field %q (names are case-sensitive)", key)
					}
					if seen[key] {
						return fmt.Errorf("plugin.json: field %q given twice", key)
					}
					seen[key] = true
				}
				if err := value(depth+1, free || (depth == 0 && key == "config")); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := value(depth+1, free); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := value(0, false); err != nil {
		return err
	}
	return nil
}
