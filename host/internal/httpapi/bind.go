package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// binder decodes and validates handler inputs. It is built once per server.
type binder struct {
	validate *validator.Validate
}

func newBinder() *binder {
	v := validator.New(validator.WithRequiredStructEnabled())
	// Errors name parameters as clients spell them.
	v.RegisterTagNameFunc(paramName)
	return &binder{validate: v}
}

// paramName is the client-facing name of a struct field.
func paramName(f reflect.StructField) string {
	for _, tag := range []string{"json", "query", "path"} {
		if n, _, _ := strings.Cut(f.Tag.Get(tag), ","); n != "" && n != "-" {
			return n
		}
	}
	return f.Name
}

// bind fills in from body, path and query and validates it. query is
// called only for inputs that have query parameters.
func (b *binder) bind(in any, body []byte, lenient bool, pathParam func(string) string, query func() url.Values) error {
	v := reflect.ValueOf(in).Elem()
	if len(bytes.TrimSpace(body)) > 0 {
		// json.Unmarshal reads a body exactly as the decoder below does when
		// unknown fields are accepted and no value lands in an interface
		// (where UseNumber would matter), without the decoder's copy of
		// the body; a body it refuses goes through the decoder, for the
		// same error as ever.
		if !lenient || hasInterface(v.Type()) || json.Unmarshal(body, in) != nil {
			if err := decodeJSON(body, in, lenient); err != nil {
				return err
			}
		}
	}
	if v.Kind() == reflect.Struct {
		p := planOf(v.Type())
		for _, i := range p.raw {
			v.Field(i).SetBytes(append([]byte(nil), body...))
		}
		var q url.Values
		if p.query || len(p.rawQuery) > 0 {
			q = query()
		}
		for _, i := range p.rawQuery {
			v.Field(i).Set(reflect.ValueOf(cloneValues(q)))
		}
		if len(p.params) > 0 {
			if err := bindParams(v, p.params, pathParam, q); err != nil {
				return err
			}
		}
		if err := b.validate.Struct(in); err != nil {
			return validationFault(err)
		}
	}
	return nil
}

// bindPlan is what bind needs to know of an input type, read from its
// struct tags once rather than on every request.
type bindPlan struct {
	raw      []int // fields tagged raw:"body"
	rawQuery []int // fields tagged raw:"query"
	params   []paramField
	query    bool // some of params are query parameters
}

// paramField is a field tagged path:"x" or query:"x", in field order,
// those of embedded structs included.
type paramField struct {
	index []int
	name  string
	path  bool
}

var plans sync.Map // reflect.Type → *bindPlan

var valuesType = reflect.TypeOf(url.Values(nil))

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func planOf(t reflect.Type) *bindPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*bindPlan)
	}
	p := &bindPlan{}
	for i := 0; i < t.NumField(); i++ {
		// A field tagged raw:"body" (a json.RawMessage) gets the whole
		// request body, for handlers that read fields a rule configures at
		// run time (data-collection fields) besides the declared ones.
		if f := t.Field(i); f.Tag.Get("raw") == "body" && f.Type == rawType {
			p.raw = append(p.raw, i)
		}
		// A field tagged raw:"query" (a url.Values) gets the whole query,
		// for handlers that pass it on (a plugin's admin routes).
		if f := t.Field(i); f.Tag.Get("raw") == "query" && f.Type == valuesType {
			p.rawQuery = append(p.rawQuery, i)
		}
	}
	p.params = paramFields(t, nil, nil)
	for _, f := range p.params {
		p.query = p.query || !f.path
	}
	plans.Store(t, p)
	return p
}

func paramFields(t reflect.Type, index []int, out []paramField) []paramField {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		at := append(append([]int(nil), index...), i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = paramFields(f.Type, at, out)
			continue
		}
		if name := f.Tag.Get("path"); name != "" {
			out = append(out, paramField{index: at, name: name, path: true})
		} else if name := f.Tag.Get("query"); name != "" {
			out = append(out, paramField{index: at, name: name})
		}
	}
	return out
}

var interfaces sync.Map // reflect.Type → bool

// hasInterface reports whether decoding JSON into t may store a value in
// an interface.
func hasInterface(t reflect.Type) bool {
	if v, ok := interfaces.Load(t); ok {
		return v.(bool)
	}
	v := interfaceIn(t, map[reflect.Type]bool{})
	interfaces.Store(t, v)
	return v
}

func interfaceIn(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return interfaceIn(t.Elem(), seen)
	case reflect.Map:
		return interfaceIn(t.Key(), seen) || interfaceIn(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if interfaceIn(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

func decodeJSON(body []byte, in any, lenient bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if !lenient {
		dec.DisallowUnknownFields()
	}
	dec.UseNumber()
	if err := dec.Decode(in); err != nil {
		return jsonFault(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fault.Invalidf("request body must hold exactly one JSON value")
	}
	return nil
}

func jsonFault(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fault.Invalidf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		name := typ.Field
		if name == "" {
			return fault.Invalidf("request body must be a JSON %s, not %s", kindName(typ.Type), typ.Value)
		}
		return fault.Invalidf("parameter %q must be %s, not %s", name, kindName(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.Invalidf("malformed JSON: unexpected end of body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for unknown fields.
		return fault.Invalidf("unknown parameter %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return fault.Invalidf("malformed JSON body")
	}
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

var rawType = reflect.TypeFor[json.RawMessage]()

// bindParams sets fields tagged path:"x" and query:"x".
func bindParams(v reflect.Value, params []paramField, pathParam func(string) string, query url.Values) error {
	for _, p := range params {
		fv := v.FieldByIndex(p.index)
		if p.path {
			if err := setParam(fv, p.name, pathParam(p.name)); err != nil {
				return err
			}
			continue
		}
		if !query.Has(p.name) {
			continue
		}
		if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String {
			var vals []string
			for _, q := range query[p.name] {
				for _, s := range strings.Split(q, ",") {
					if s = strings.TrimSpace(s); s != "" {
						vals = append(vals, s)
					}
				}
			}
			fv.Set(reflect.ValueOf(vals))
			continue
		}
		if err := setParam(fv, p.name, query.Get(p.name)); err != nil {
			return err
		}
	}
	return nil
}

var timeType = reflect.TypeFor[time.Time]()

func setParam(fv reflect.Value, name, s string) error {
	if s == "" {
		return nil
	}
	if fv.Kind() == reflect.Pointer {
		p := reflect.New(fv.Type().Elem())
		if err := setParam(p.Elem(), name, s); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	}
	if fv.Type() == timeType {
		t, err := parseTime(s)
		if err != nil {
			return fault.Invalidf("parameter %q must be a time (RFC 3339, YYYY-MM-DD or unix milliseconds)", name)
		}
		fv.Set(reflect.ValueOf(t))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || fv.OverflowInt(n) {
			return fault.Invalidf("parameter %q must be an integer", name)
		}
		fv.SetInt(n)
	case reflect.Bool:
		bv, err := strconv.ParseBool(s)
		if err != nil {
			return fault.Invalidf("parameter %q must be true or false", name)
		}
		fv.SetBool(bv)
	default:
		return fmt.Errorf("httpapi: unsupported parameter type %s for %q", fv.Type(), name)
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad time")
}

func validationFault(err error) error {
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) || len(ves) == 0 {
		return fault.Invalidf("invalid parameters")
	}
	fe := ves[0]
	name := fe.Field()
	switch fe.Tag() {
	case "required", "required_if", "required_with", "required_without":
		return fault.Missing(name)
	case "max":
		return fault.Invalidf("parameter %q is too long or too large (max %s)", name, fe.Param())
	case "min":
		return fault.Invalidf("parameter %q is too short or too small (min %s)", name, fe.Param())
	case "len":
		return fault.Invalidf("parameter %q must have length %s", name, fe.Param())
	case "oneof":
		return fault.Invalidf("parameter %q must be one of: %s", name, fe.Param())
	case "email":
		return fault.Invalidf("parameter %q must be an email address", name)
	default:
		return fault.Invalidf("parameter %q is invalid (%s)", name, fe.Tag())
	}
}
