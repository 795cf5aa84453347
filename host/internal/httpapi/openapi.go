package httpapi

import (
	"encoding"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// OpenAPI builds the OpenAPI 3 document of every mounted route and every
// error code, from the same declarations that serve the requests.
func (a *API) OpenAPI() *openapi3.T {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:       a.cfg.Title,
			Version:     a.cfg.Version,
			Description: apiDescription(),
		},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"consoleSession": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("opaque session token")},
				"developerSession": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("opaque developer session token").
					WithDescription("a session of the open platform's developer portal (/open/v1/login); console sessions are not accepted")},
				"appSignature": &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
					Type: "apiKey", In: "header", Name: "X-CityCode-Signature",
					Description: "HMAC-SM3 (or SM2) signature over METHOD\\nPATH[?QUERY]\\nTIMESTAMP\\nNONCE\\nhex(SM3(body)); also send X-CityCode-AppId, X-CityCode-Timestamp (unix ms) and X-CityCode-Nonce.",
				}},
			},
		},
	}
	doc.Components.Schemas["Error"] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Type: &openapi3.Types{"object"},
		Properties: openapi3.Schemas{
			"Code":    openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"string"}, Enum: allCodes()}),
			"Message": openapi3.NewStringSchema().NewRef(),
		},
		Required: []string{"Code", "Message"},
	})
	g := &schemaGen{defs: doc.Components.Schemas}
	for _, r := range a.routes {
		path := echoPathToOpenAPI(r.Path)
		item := doc.Paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(path, item)
		}
		item.SetOperation(r.Method, a.operation(g, r))
	}
	return doc
}

func apiDescription() string {
	var b strings.Builder
	b.WriteString("City Code Platform API. Every answer is the envelope " +
		"{\"Response\": {\"Data\": ..., \"Error\": {\"Code\", \"Message\"}, \"RequestId\"}}; " +
		"Error is absent on success. Error codes:\n\n| Code | HTTP | Meaning |\n|---|---|---|\n")
	for _, c := range fault.Codes {
		b.WriteString("| " + c.Code + " | " + strconv.Itoa(Status(c.Kind)) + " | " + c.Meaning + " |\n")
	}
	return b.String()
}

func allCodes() []any {
	out := make([]any, 0, len(fault.Codes))
	for _, c := range fault.Codes {
		out = append(out, c.Code)
	}
	return out
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// echoPathToOpenAPI writes :name as {name}, and a trailing wildcard (echo's
// *) as {path}, the name its parameter gets in the document.
func echoPathToOpenAPI(p string) string {
	if strings.HasSuffix(p, "/*") {
		p = strings.TrimSuffix(p, "*") + "{" + wildcardParam + "}"
	}
	return echoParam.ReplaceAllString(p, "{$1}")
}

// wildcardParam names echo's * path parameter in the OpenAPI document.
const wildcardParam = "path"

// commonCodes are the codes any route of an auth class may answer.
func commonCodes(auth Auth) []string {
	codes := []string{fault.CodeInvalidParameter, fault.CodeMissingParameter, fault.CodeInternalError}
	switch auth {
	case Console:
		codes = append(codes, fault.CodeSessionExpired, fault.CodePasswordChangeRequired, fault.CodeUnauthorizedOperation)
	case Developer:
		codes = append(codes, fault.CodeSessionExpired, fault.CodeAccountDisabled)
	case App:
		codes = append(codes, fault.CodeSignatureFailure, fault.CodeSignatureExpire, fault.CodeNonceUsed,
			fault.CodeAppNotFound, fault.CodeAppDisabled, fault.CodeDecryptFailure)
	}
	return codes
}

func (a *API) operation(g *schemaGen, r *Route) *openapi3.Operation {
	op := &openapi3.Operation{
		Summary:     r.Summary,
		Description: r.Description,
		Tags:        r.Tags,
		OperationID: r.Method + " " + r.Path,
		Responses:   openapi3.NewResponses(),
	}
	if r.Action != "" {
		op.Description = strings.TrimSpace(op.Description + "\n\nPolicy action: `" + r.Action + "`.")
	}
	switch r.Auth {
	case Console:
		op.Security = &openapi3.SecurityRequirements{{"consoleSession": {}}}
	case App:
		op.Security = &openapi3.SecurityRequirements{{"appSignature": {}}}
	case Developer:
		op.Security = &openapi3.SecurityRequirements{{"developerSession": {}}}
	}
	// Parameters from path and query tags; the rest of In is the JSON body.
	hasBody := false
	if r.in.Kind() == reflect.Struct {
		walkFields(r.in, func(f reflect.StructField) {
			if n := f.Tag.Get("path"); n != "" {
				if n == "*" {
					n = wildcardParam
				}
				op.AddParameter(openapi3.NewPathParameter(n).WithSchema(g.schema(f.Type).Value))
			} else if n := f.Tag.Get("query"); n != "" {
				p := openapi3.NewQueryParameter(n).WithSchema(g.schema(f.Type).Value)
				p.Description = f.Tag.Get("doc")
				p.Required = strings.Contains(f.Tag.Get("validate"), "required")
				op.AddParameter(p)
			} else if n, _, _ := strings.Cut(f.Tag.Get("json"), ","); n != "-" && f.IsExported() {
				hasBody = true
			}
		})
	}
	if hasBody && r.Method != http.MethodGet {
		op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().
			WithRequired(true).WithJSONSchemaRef(g.bodySchema(r.in))}
	}
	ok := openapi3.NewResponse().WithDescription("success")
	if r.out.Implements(reflect.TypeFor[Download]()) || reflect.PointerTo(r.out).Implements(reflect.TypeFor[Download]()) {
		ok.Content = openapi3.Content{"application/octet-stream": &openapi3.MediaType{Schema: openapi3.NewStringSchema().WithFormat("binary").NewRef()}}
	} else {
		ok.WithJSONSchemaRef(envelopeSchema(g.schema(r.out)))
	}
	op.Responses.Set("200", &openapi3.ResponseRef{Value: ok})

	byStatus := map[int][]string{}
	for _, code := range append(commonCodes(r.Auth), r.Codes...) {
		for _, c := range fault.Codes {
			if c.Code == code {
				st := Status(c.Kind)
				byStatus[st] = appendUnique(byStatus[st], code)
			}
		}
	}
	statuses := make([]int, 0, len(byStatus))
	for st := range byStatus {
		statuses = append(statuses, st)
	}
	sort.Ints(statuses)
	errEnv := envelopeErrorSchema()
	for _, st := range statuses {
		desc := http.StatusText(st) + ": " + strings.Join(byStatus[st], ", ")
		op.Responses.Set(strconv.Itoa(st), &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(desc).WithJSONSchemaRef(errEnv)})
	}
	return op
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func envelopeSchema(data *openapi3.SchemaRef) *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("", &openapi3.Schema{
		Type: &openapi3.Types{"object"},
		Properties: openapi3.Schemas{"Response": openapi3.NewSchemaRef("", &openapi3.Schema{
			Type: &openapi3.Types{"object"},
			Properties: openapi3.Schemas{
				"Data":      data,
				"RequestId": openapi3.NewStringSchema().NewRef(),
			},
			Required: []string{"RequestId"},
		})},
		Required: []string{"Response"},
	})
}

func envelopeErrorSchema() *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("", &openapi3.Schema{
		Type: &openapi3.Types{"object"},
		Properties: openapi3.Schemas{"Response": openapi3.NewSchemaRef("", &openapi3.Schema{
			Type: &openapi3.Types{"object"},
			Properties: openapi3.Schemas{
				"Error":     openapi3.NewSchemaRef("#/components/schemas/Error", nil),
				"RequestId": openapi3.NewStringSchema().NewRef(),
			},
			Required: []string{"Error", "RequestId"},
		})},
	})
}

func walkFields(t reflect.Type, fn func(reflect.StructField)) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			walkFields(f.Type, fn)
			continue
		}
		fn(f)
	}
}

// schemaGen turns Go types into JSON schemas, naming struct types as
// components so recursive and shared types are written once.
type schemaGen struct {
	defs openapi3.Schemas
}

func (g *schemaGen) bodySchema(t reflect.Type) *openapi3.SchemaRef {
	return g.structSchema(t, true)
}

func (g *schemaGen) schema(t reflect.Type) *openapi3.SchemaRef {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return openapi3.NewDateTimeSchema().NewRef()
	case t == reflect.TypeFor[json.RawMessage]():
		return openapi3.NewSchema().NewRef()
	case t.Implements(reflect.TypeFor[encoding.TextMarshaler]()):
		return openapi3.NewStringSchema().NewRef() // JSON encodes it as its text
	}
	switch t.Kind() {
	case reflect.String:
		return openapi3.NewStringSchema().NewRef()
	case reflect.Bool:
		return openapi3.NewBoolSchema().NewRef()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return openapi3.NewIntegerSchema().NewRef()
	case reflect.Float32, reflect.Float64:
		return openapi3.NewFloat64Schema().NewRef()
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return openapi3.NewBytesSchema().NewRef()
		}
		arr := openapi3.NewArraySchema()
		arr.Items = g.schema(t.Elem())
		return arr.NewRef()
	case reflect.Map:
		obj := openapi3.NewObjectSchema()
		obj.AdditionalProperties = openapi3.AdditionalProperties{Schema: g.schema(t.Elem())}
		return obj.NewRef()
	case reflect.Struct:
		return g.structSchema(t, false)
	}
	return openapi3.NewSchema().NewRef()
}

func (g *schemaGen) structSchema(t reflect.Type, bodyOnly bool) *openapi3.SchemaRef {
	name := schemaName(t)
	if !bodyOnly && name != "" {
		if _, ok := g.defs[name]; ok {
			return openapi3.NewSchemaRef("#/components/schemas/"+name, nil)
		}
		g.defs[name] = openapi3.NewObjectSchema().NewRef() // placeholder breaks recursion
	}
	s := openapi3.NewObjectSchema()
	walkFields(t, func(f reflect.StructField) {
		if !f.IsExported() || f.Tag.Get("path") != "" || f.Tag.Get("query") != "" || f.Tag.Get("raw") != "" {
			return
		}
		n, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if n == "-" {
			return
		}
		if n == "" {
			n = f.Name
		}
		ps := g.schema(f.Type)
		if doc := f.Tag.Get("doc"); doc != "" && ps.Ref == "" {
			cp := *ps.Value
			cp.Description = doc
			ps = cp.NewRef()
		}
		s.WithPropertyRef(n, ps)
		v := f.Tag.Get("validate")
		if strings.Contains(v, "required") || (!bodyOnly && !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer) {
			s.Required = append(s.Required, n)
		}
	})
	if bodyOnly || name == "" {
		return s.NewRef()
	}
	g.defs[name] = s.NewRef()
	return openapi3.NewSchemaRef("#/components/schemas/"+name, nil)
}

func schemaName(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	// Generic instances are named with their arguments' full import paths;
	// keep only the last path element so the name is a valid component key.
	name := pkgPathPart.ReplaceAllString(t.Name(), "")
	return pkg + "." + strings.NewReplacer("[", "_", "]", "", ",", "_", "*", "").Replace(name)
}

var pkgPathPart = regexp.MustCompile(`[A-Za-z0-9_.\-]*/`)

// ServeOpenAPI mounts GET /openapi.json.
func (a *API) ServeOpenAPI() {
	var cached []byte
	a.e.GET("/openapi.json", func(c echo.Context) error {
		if cached == nil {
			b, err := json.Marshal(a.OpenAPI())
			if err != nil {
				return err
			}
			cached = b
		}
		return c.JSONBlob(http.StatusOK, cached)
	})
}
