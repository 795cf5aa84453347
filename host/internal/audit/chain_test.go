package audit

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/opencitycode/citycode/host/internal/codec"
)

func TestCanonicalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty object", ` { } `, `{}`},
		{"sorted keys", `{"b":1,"a":2,"aa":3,"B":4}`, `{"B":4,"a":2,"aa":3,"b":1}`},
		{"nested", `{"z":[1, {"y":null,"x":true}],"a":false}`, `{"a":false,"z":[1,{"x":true,"y":null}]}`},
		{"duplicate key keeps last", `{"a":1,"a":2}`, `{"a":2}`},
		{"numbers", `[1.50, 1e2, 1.5E+1, -0, -0.0, 0.000, 1E-3, 120, 0.10, -12.340e1, 100e-2]`,
			`[1.5,100,15,0,0,0,0.001,120,0.1,-123.4,1]`},
		{"big integer kept exact", `[12345678901234567890123]`, `[12345678901234567890123]`},
		{"escapes", `["a\"b\\c\/d\n\t\r\b\f\u0001\u001f"]`, `["a\"b\\c/d\n\t\r\b\f\u0001\u001f"]`},
		{"unicode raw", `["\u5f20\u4e09 <&> \u2028 😀"]`, "[\"张三 <&> \u2028 😀\"]"},
		{"NUL replaced", `{"k\u0000":"v\u0000"}`, "{\"k\uFFFD\":\"v\uFFFD\"}"},
		{"keys collapsing keep the greater", `{"a\ufffd":2,"a\u0000":1}`, "{\"a\uFFFD\":2}"},
		{"lone surrogate replaced", `["\ud800"]`, "[\"\uFFFD\"]"},
		{"invalid UTF-8 replaced", "[\"a\xffb\"]", "[\"a\uFFFDb\"]"},
		{"keys sort by bytes", `{"é":1,"z":2,"中":3}`, `{"z":2,"é":1,"中":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := canonicalJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("canonical(%s) = %s, want %s", tt.in, got, tt.want)
			}
			again, err := canonicalJSON(got)
			if err != nil || string(again) != string(got) {
				t.Fatalf("not idempotent: %s -> %s (%v)", got, again, err)
			}
		})
	}
}

func TestCanonicalJSONRefuses(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)
	for name, in := range map[string]string{
		"invalid":          `{"a":}`,
		"trailing data":    `{} {}`,
		"trailing garbage": `{}x`,
		"huge exponent":    `[1e1000000000]`,
		"overflowing exp":  `[1e99999999999999999999999]`,
		"long number":      `[1e500]`,
		"tiny number":      `[1e-500]`,
		"long digits":      "[" + strings.Repeat("9", maxNumberLen+1) + "]",
		"long fraction":    "[0." + strings.Repeat("1", maxNumberLen) + "]",
		"too deep":         deep,
		"empty":            ``,
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := canonicalJSON([]byte(in)); err == nil {
				t.Fatalf("canonical(%.50s) = %.50s, want error", in, got)
			}
		})
	}
}

// TestChainHashEncoding rebuilds the documented encoding independently.
func TestChainHashEncoding(t *testing.T) {
	t.Parallel()
	e := &Entry{Seq: 57, At: time.UnixMilli(1740816000123), Type: TypeLogin, OperatorID: "7",
		Account: "alice", PlatformID: "P1", SourceIP: "10.0.0.1", Action: "auth.login",
		Target: "", Result: Failure, RequestID: "r-1"}
	detail := []byte(`{"reason":"密码错误"}`)
	msg := []byte(genesis)
	for _, f := range []string{"57", "1740816000123", "login", "7", "alice", "P1", "10.0.0.1",
		"auth.login", "", "failure", string(detail), "r-1"} {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(f)))
		msg = append(msg, f...)
	}
	want := codec.SM3Hex(msg)
	if got := chainHash(genesis, e, detail); got != want {
		t.Fatalf("chainHash = %s, want %s", got, want)
	}
	// Moving a byte between adjacent fields must change the hash.
	moved := *e
	moved.Account, moved.PlatformID = "alic", "eP1"
	if chainHash(genesis, &moved, detail) == want {
		t.Fatal("field boundaries are ambiguous")
	}
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	bad := map[string]func(*Entry){
		"no type":          func(e *Entry) { e.Type = "" },
		"unknown type":     func(e *Entry) { e.Type = "debug" },
		"no result":        func(e *Entry) { e.Result = "" },
		"unknown result":   func(e *Entry) { e.Result = "ok" },
		"no action":        func(e *Entry) { e.Action = "" },
		"detail array":     func(e *Entry) { e.Detail = []byte(`[1]`) },
		"detail string":    func(e *Entry) { e.Detail = []byte(`"x"`) },
		"detail invalid":   func(e *Entry) { e.Detail = []byte(`{"a"`) },
		"detail too large": func(e *Entry) { e.Detail = []byte(`{"a":"` + strings.Repeat("x", maxDetail) + `"}`) },
		"detail number":    func(e *Entry) { e.Detail = []byte(`{"a":1e999999}`) },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			e := entry("app.create")
			mutate(&e)
			if err := prepare(&e); !errors.Is(err, ErrInvalidEntry) {
				t.Fatalf("prepare = %v, want ErrInvalidEntry", err)
			}
		})
	}
	t.Run("defaults and sanitizing", func(t *testing.T) {
		e := entry("app.create")
		e.Detail = nil
		e.Account = "ev\x00il\nadmin\xff" + strings.Repeat("长", maxField)
		if err := prepare(&e); err != nil {
			t.Fatal(err)
		}
		if string(e.Detail) != "{}" {
			t.Errorf("detail = %s, want {}", e.Detail)
		}
		if !strings.HasPrefix(e.Account, "ev\uFFFDil\uFFFDadmin\uFFFD长") || len(e.Account) > maxField {
			t.Errorf("account = %.40q (%d bytes)", e.Account, len(e.Account))
		}
		if !utf8.ValidString(e.Account) {
			t.Error("account cut inside a rune")
		}
	})
}

func TestVerifyReport(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		res  VerifyResult
		want string
	}{
		{VerifyResult{OK: true, Checked: 1234}, "audit chain OK: 1234 entries"},
		{VerifyResult{Checked: 56, BrokenSeq: 57, Reason: ReasonHashMismatch}, "audit chain BROKEN at entry seq=57: hash mismatch"},
	} {
		if got := VerifyReport(tt.res); got != tt.want {
			t.Errorf("VerifyReport(%+v) = %q, want %q", tt.res, got, tt.want)
		}
	}
}
