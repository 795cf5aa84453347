package codeengine

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Field types.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeDate    = "date"
	TypeEnum    = "enum"
	TypeBoolean = "boolean"
)

// Field is one field of a spec (码规范字段), of a rule's extension
// (扩展字段) or data collection (数据采集字段), or an attribute of an object
// type. Lists of fields are ordered as the console shows them.
type Field struct {
	Name     string   `json:"name" validate:"required,max=64" doc:"letters, digits and _, starting with a letter; unique in its list"`
	Label    string   `json:"label" validate:"max=64" doc:"what people see"`
	Type     string   `json:"type" validate:"omitempty,oneof=string number date enum boolean" doc:"string (default), number, date (YYYY-MM-DD or RFC 3339), enum, boolean"`
	Length   int      `json:"length" validate:"min=0,max=4096" doc:"maximum length in characters (0: unlimited); required for spec and extension fields"`
	Required bool     `json:"required"`
	Options  []string `json:"options,omitempty" validate:"max=100,dive,max=64" doc:"the values of an enum field"`
}

// maxExtension is the room of a code's extension field (DB11/T 1917.2): the
// extension fields of a rule together may not exceed it.
const maxExtension = 200

// checkFields validates a list of fields named param and answers it
// normalized (type defaulted, text trimmed). needLength requires every
// field to state its length.
func checkFields(param string, fs []Field, needLength bool) ([]Field, error) {
	out := make([]Field, len(fs))
	seen := map[string]bool{}
	for i, f := range fs {
		at := fmt.Sprintf("%s[%d]", param, i)
		f.Name, f.Label = strings.TrimSpace(f.Name), strings.TrimSpace(f.Label)
		if !validName(f.Name) {
			return nil, fault.Invalidf("parameter %q must be 1 to 64 letters, digits or _, starting with a letter", at+".name")
		}
		if seen[f.Name] {
			return nil, fault.Invalidf("parameter %q: field %s appears twice", param, f.Name)
		}
		seen[f.Name] = true
		if utf8.RuneCountInString(f.Label) > 64 {
			return nil, fault.Invalidf("parameter %q must be at most 64 characters", at+".label")
		}
		if f.Type == "" {
			f.Type = TypeString
		}
		switch f.Type {
		case TypeString, TypeNumber, TypeDate, TypeEnum, TypeBoolean:
		default:
			return nil, fault.Invalidf("parameter %q must be string, number, date, enum or boolean", at+".type")
		}
		if f.Length < 0 || f.Length > 4096 || needLength && f.Length == 0 {
			return nil, fault.Invalidf("parameter %q must be between 1 and 4096", at+".length")
		}
		if f.Type == TypeEnum {
			f.Options = slices.Clone(f.Options)
			if len(f.Options) == 0 || len(f.Options) > 100 {
				return nil, fault.Invalidf("parameter %q of an enum field must list 1 to 100 values", at+".options")
			}
			for j, o := range f.Options {
				if o = strings.TrimSpace(o); o == "" || utf8.RuneCountInString(o) > 64 || slices.Contains(f.Options[:j], o) {
					return nil, fault.Invalidf("parameter %q must hold distinct values of 1 to 64 characters", at+".options")
				}
				f.Options[j] = o
			}
		} else if len(f.Options) > 0 {
			return nil, fault.Invalidf("parameter %q is only for enum fields", at+".options")
		}
		out[i] = f
	}
	return out, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c != '_' && (c < '0' || c > '9')) {
			return false
		}
	}
	return true
}

// checkExtension validates extension fields: each states its length and
// together they fit the code's extension field.
func checkExtension(fs []Field) ([]Field, error) {
	fs, err := checkFields("extensionFields", fs, true)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, f := range fs {
		total += f.Length
	}
	if total > maxExtension {
		return nil, fault.Invalidf("parameter %q: the lengths add up to %d, more than the %d characters of a code's extension field", "extensionFields", total, maxExtension)
	}
	return fs, nil
}

// checkValue validates a value given for the field.
func (f *Field) checkValue(v any) error {
	bad := func(what string) error { return fault.Invalidf("parameter %q must be %s", f.Name, what) }
	switch f.Type {
	case TypeNumber:
		var n float64
		var err error
		switch x := v.(type) {
		case float64:
			n = x
		case int:
			n = float64(x)
		case int64:
			n = float64(x)
		case json.Number:
			n, err = x.Float64()
		default:
			return bad("a number")
		}
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return bad("a number")
		}
	case TypeBoolean:
		if _, ok := v.(bool); !ok {
			return bad("true or false")
		}
	case TypeDate:
		s, ok := v.(string)
		if !ok || !isDate(s) {
			return bad("a date (YYYY-MM-DD or RFC 3339)")
		}
	case TypeEnum:
		s, ok := v.(string)
		if !ok || len(f.Options) > 0 && !slices.Contains(f.Options, s) {
			return bad("one of " + strings.Join(f.Options, ", "))
		}
	default:
		s, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		if f.Length > 0 && utf8.RuneCountInString(s) > f.Length {
			return bad(fmt.Sprintf("at most %d characters", f.Length))
		}
	}
	return nil
}

func isDate(s string) bool {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// Code forms.
const (
	FormDynamic = "dynamic"
	FormStatic  = "static"
)

// Limits of a code's validity.
const (
	MinValiditySeconds        = 10
	MaxDynamicValiditySeconds = 86400
	MaxStaticValiditySeconds  = 10 * 365 * 86400
)

// Function is a rule version's function settings (功能配置).
type Function struct {
	ValiditySeconds int  `json:"validitySeconds" doc:"dynamic codes: 10..86400; static codes: 0 (never expire, the default) or 10..315360000"`
	RefreshSeconds  int  `json:"refreshSeconds" doc:"dynamic codes: how often the app shows a new code, at most validitySeconds (default validitySeconds); static codes: 0"`
	Offline         bool `json:"offlineVerifiable" doc:"dynamic codes: true = SM2-signed codes scanners verify offline with the public keys of /api/keys; false = online verification only. Static codes: false"`
}

// check validates the settings for a code form, defaulting the refresh.
func (f *Function) check(form string) error {
	v := f.ValiditySeconds
	if form == FormDynamic {
		if v < MinValiditySeconds || v > MaxDynamicValiditySeconds {
			return fault.Invalidf("parameter %q of a dynamic code must be between %d and %d", "function.validitySeconds", MinValiditySeconds, MaxDynamicValiditySeconds)
		}
		if f.RefreshSeconds < 0 || f.RefreshSeconds > v {
			return fault.Invalidf("parameter %q must be between 0 and validitySeconds (%d)", "function.refreshSeconds", v)
		}
		if f.RefreshSeconds == 0 {
			f.RefreshSeconds = v
		}
		return nil
	}
	switch {
	case v != 0 && (v < MinValiditySeconds || v > MaxStaticValiditySeconds):
		return fault.Invalidf("parameter %q of a static code must be 0 (never expires) or between %d and %d", "function.validitySeconds", MinValiditySeconds, MaxStaticValiditySeconds)
	case f.RefreshSeconds != 0:
		return fault.Invalidf("parameter %q must be 0: static codes do not refresh", "function.refreshSeconds")
	case f.Offline:
		return fault.Invalidf("parameter %q must be false: static codes are verified online", "function.offlineVerifiable")
	}
	return nil
}

// QRStyle is how a rule's codes are drawn (码样式); package qr renders it.
type QRStyle struct {
	Level    string `json:"level" doc:"error correction: L, M (default), Q or H; a logo needs H (the default with a logo)"`
	Caption  string `json:"caption" doc:"caption template, at most 100 characters; {rule} stands for the rule's name and {number} for an object code's unified number"`
	LogoRef  string `json:"logoRef" doc:"the logo drawn in the middle: a stored file's id or an https URL; empty for none"`
	FontSize int    `json:"fontSize" doc:"caption font size in pixels, 8..128; 0 scales it with the image"`
	Position string `json:"position" doc:"caption position: bottom (default) or top"`
}

// normalize validates the style and fills in its defaults.
func (q *QRStyle) normalize() error {
	q.Level, q.Caption = strings.ToUpper(strings.TrimSpace(q.Level)), strings.TrimSpace(q.Caption)
	q.LogoRef, q.Position = strings.TrimSpace(q.LogoRef), strings.TrimSpace(q.Position)
	if q.Level == "" {
		q.Level = "M"
		if q.LogoRef != "" {
			q.Level = "H"
		}
	}
	if q.Position == "" {
		q.Position = "bottom"
	}
	switch {
	case !slices.Contains([]string{"L", "M", "Q", "H"}, q.Level):
		return fault.Invalidf("parameter %q must be L, M, Q or H", "qrStyle.level")
	case q.Position != "bottom" && q.Position != "top":
		return fault.Invalidf("parameter %q must be bottom or top", "qrStyle.position")
	case q.FontSize != 0 && (q.FontSize < 8 || q.FontSize > 128):
		return fault.Invalidf("parameter %q must be 0 (scaled with the image) or between 8 and 128", "qrStyle.fontSize")
	case utf8.RuneCountInString(q.Caption) > 100:
		return fault.Invalidf("parameter %q must be at most 100 characters", "qrStyle.caption")
	case !validCaption(q.Caption):
		return fault.Invalidf("parameter %q may use only the placeholders {rule} and {number}", "qrStyle.caption")
	case q.LogoRef != "" && !validLogoRef(q.LogoRef):
		return fault.Invalidf("parameter %q must be a file id (letters, digits, . _ - /) or an https URL, at most 256 characters", "qrStyle.logoRef")
	case q.LogoRef != "" && q.Level != "H":
		return fault.Invalidf("parameter %q must be H when a logo covers the middle of the code", "qrStyle.level")
	}
	return nil
}

func validCaption(s string) bool {
	for {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			return true
		}
		if s[i] == '}' {
			return false
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return false
		}
		if p := s[i+1 : i+end]; p != "rule" && p != "number" {
			return false
		}
		s = s[i+end+1:]
	}
}

func validLogoRef(s string) bool {
	if len(s) > 256 {
		return false
	}
	if strings.HasPrefix(s, "https://") {
		u, err := url.Parse(s)
		return err == nil && u.Host != ""
	}
	if strings.Contains(s, "..") || strings.HasPrefix(s, "/") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/", c)) {
			return false
		}
	}
	return true
}

func orEmpty(f []Field) []Field {
	if f == nil {
		return []Field{}
	}
	return f
}
