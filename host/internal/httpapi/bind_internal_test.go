package httpapi

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
)

type lenientIn struct {
	Name  string          `json:"name" validate:"max=8"`
	N     int             `json:"n"`
	Tags  []string        `json:"tags"`
	Extra json.RawMessage `json:"extra"`
	Raw   json.RawMessage `json:"-" raw:"body"`
}

type anyIn struct {
	Params map[string]any `json:"params"`
}

// The json.Unmarshal fast path of lenient inputs answers exactly what the
// decoder answers: the same value, the same error.
func TestLenientFastPathIsTheDecoder(t *testing.T) {
	b := newBinder()
	noPath := func(string) string { return "" }
	noQuery := func() url.Values { return nil }
	for _, body := range []string{
		`{"name":"a","n":1,"tags":["x"],"extra":{"k":[1,2]},"unknown":true}`,
		`  {"name":"a"}  `, `{} {}`, `{}x`, `{"name":"a"`, `{"n":"one"}`, `{"n":1.5}`, `[1]`, `"s"`, `{"name":"toolongname"}`,
		`{"name":"\u00e9"}`, `{"name":1}`, `{"tags":"x"}`, `null`,
	} {
		var fast, ref lenientIn
		errFast := b.bind(&fast, []byte(body), true, noPath, noQuery)
		errRef := decodeJSON([]byte(body), &ref, true)
		if errRef == nil {
			ref.Raw = append([]byte(nil), body...)
			errRef = b.validate.Struct(&ref)
			if errRef != nil {
				errRef = validationFault(errRef)
			}
		}
		if (errFast == nil) != (errRef == nil) || errFast != nil && errFast.Error() != errRef.Error() {
			t.Errorf("%s: %v, decoder %v", body, errFast, errRef)
		}
		if errFast == nil && !reflect.DeepEqual(fast, ref) {
			t.Errorf("%s: %+v, decoder %+v", body, fast, ref)
		}
	}
	// Numbers in interfaces stay json.Number.
	var in anyIn
	if err := b.bind(&in, []byte(`{"params":{"n":12345678901234567890}}`), true, noPath, noQuery); err != nil {
		t.Fatal(err)
	}
	if _, ok := in.Params["n"].(json.Number); !ok {
		t.Fatalf("%T", in.Params["n"])
	}
}
