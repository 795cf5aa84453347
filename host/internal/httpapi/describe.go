package httpapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"
)

// DocPath is the route's path as the OpenAPI document writes it
// (/console/apps/{appId}).
func (r *Route) DocPath() string { return echoPathToOpenAPI(r.Path) }

// ErrorCodes are the error codes the route may answer: those of every
// route of its auth class, then its own.
func (r *Route) ErrorCodes() []string {
	codes := commonCodes(r.Auth)
	for _, c := range r.Codes {
		if !slices.Contains(codes, c) {
			codes = append(codes, c)
		}
	}
	return codes
}

// Examples answers JSON examples of the route's input (its body; path and
// query fields are left out) and of its answer's data: every field
// present, lists with one element, texts named after their fields. They
// show a request's shape, not valid values.
func (r *Route) Examples() (in, out json.RawMessage) {
	return example(r.in, true), example(r.out, false)
}

func example(t reflect.Type, body bool) json.RawMessage {
	if t == nil {
		return json.RawMessage(`{}`)
	}
	b, err := json.Marshal(exampleValue(t, body, "", 0))
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

// exampleValue builds a JSON-able example of t; name is the field's JSON
// name, used for texts. Depth bounds recursive types.
func exampleValue(t reflect.Type, body bool, name string, depth int) any {
	if depth > 6 {
		return nil
	}
	switch {
	case t == timeType:
		return time.Date(2026, 11, 29, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return exampleValue(t.Elem(), body, name, depth+1)
	case reflect.String:
		if name == "" {
			return "string"
		}
		return name
	case reflect.Bool:
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return 1
	case reflect.Float32, reflect.Float64:
		return 1.5
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "base64"
		}
		return []any{exampleValue(t.Elem(), body, strings.TrimSuffix(name, "s"), depth+1)}
	case reflect.Map:
		return map[string]any{"key": exampleValue(t.Elem(), body, "value", depth+1)}
	case reflect.Struct:
		out := map[string]any{}
		fields(t, body, depth, out)
		return out
	}
	return nil
}

// fields adds t's JSON fields to out, embedded structs flattened as
// encoding/json does.
func fields(t reflect.Type, body bool, depth int, out map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if body && (f.Tag.Get("path") != "" || f.Tag.Get("query") != "") {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				fields(ft, body, depth+1, out)
				continue
			}
		}
		if tag == "" {
			tag = f.Name
		}
		out[tag] = exampleValue(f.Type, body, tag, depth+1)
	}
}
