package audit

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/host/internal/codec"
)

// genesis is the prev_hash of the first entry.
var genesis = strings.Repeat("0", 64)

// chainHash returns an entry's hash:
//
//	hash = lowercase hex( SM3( prev_hash || F(seq) || F(at) || F(type) ||
//	        F(operator_id) || F(account) || F(platform_id) || F(source_ip) ||
//	        F(action) || F(target) || F(result) || F(detail) || F(request_id) ) )
//
// where prev_hash is the previous entry's hash as its 64 lowercase hex ASCII
// characters (64 '0' for the first entry) and F(x) is the 4-byte big-endian
// length of x's bytes followed by those bytes. seq and at (unix milliseconds)
// are written as decimal ASCII; text fields as their UTF-8 bytes; detail as
// its canonical JSON (see canonicalJSON). The length prefixes make the
// encoding unambiguous: no two different entries encode to the same bytes.
//
// detail must already be canonical.
func chainHash(prev string, e *Entry, detail []byte) string {
	var b bytes.Buffer
	b.Grow(len(prev) + 12*4 + 128 + len(detail))
	b.WriteString(prev)
	field := func(s []byte) {
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		b.Write(s)
	}
	field(strconv.AppendInt(nil, e.Seq, 10))
	field(strconv.AppendInt(nil, e.At.UnixMilli(), 10))
	for _, s := range []string{string(e.Type), e.OperatorID, e.Account, e.PlatformID, e.SourceIP, e.Action, e.Target, string(e.Result)} {
		field([]byte(s))
	}
	field(detail)
	field([]byte(e.RequestID))
	return codec.SM3Hex(b.Bytes())
}

// Limits of canonical JSON: PostgreSQL's jsonb must store every canonical
// document and give back the same values.
const (
	maxDepth     = 64
	maxNumberLen = 400
)

// canonicalJSON returns the canonical form of the JSON document raw, the form
// that is hashed and stored:
//   - no insignificant whitespace;
//   - object keys sorted by their UTF-8 bytes, each once (a repeated key keeps
//     its last value, as jsonb does);
//   - strings escape only '"', '\\' and characters below U+0020 (\b \f \n \r
//     \t, else \u00xx in lowercase hex); everything else is raw UTF-8;
//     invalid UTF-8 and U+0000 (which jsonb refuses) become U+FFFD;
//   - numbers in plain decimal notation of their exact value: no exponent,
//     no leading zeros, no trailing fractional zeros, no "-0" (1.50e2 → 150,
//     -0.0 → 0, 1E-3 → 0.001), at most 400 characters;
//   - true, false, null as is.
//
// The form depends only on the document's values, so the jsonb text
// PostgreSQL gives back (its own spacing, key order and number scale) has
// the same canonical form as what was stored; Verify relies on this.
func canonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the document")
	}
	var b bytes.Buffer
	if err := writeCanonical(&b, v, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeCanonical(b *bytes.Buffer, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		n, err := canonicalNumber(string(v))
		if err != nil {
			return err
		}
		b.WriteString(n)
	case string:
		writeString(b, v)
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, x, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		// Two raw keys may collapse into one once NUL is replaced; taking
		// raw keys in order makes the greater one win, deterministically.
		raw := slices.Sorted(maps.Keys(v))
		fixed := make(map[string]any, len(v))
		for _, k := range raw {
			fixed[fixString(k)] = v[k]
		}
		keys := slices.Sorted(maps.Keys(fixed))
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := writeCanonical(b, fixed[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("unexpected JSON value %T", v)
	}
	return nil
}

// fixString replaces what jsonb cannot hold. encoding/json already turned
// invalid UTF-8 and lone surrogates into U+FFFD; NUL is left.
func fixString(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	s = fixString(s)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
		i++
	}
	b.WriteByte('"')
}

// canonicalNumber rewrites a JSON number literal (already validated by the
// decoder) as the plain decimal of its exact value.
func canonicalNumber(lit string) (string, error) {
	tooBig := fmt.Errorf("number %.40q out of range", lit)
	s, neg := strings.CutPrefix(lit, "-")
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 1<<20 || e < -1<<20 {
			return "", tooBig
		}
		s, exp = s[:i], e
	}
	ip, fp, _ := strings.Cut(s, ".")
	digits := strings.TrimLeft(ip+fp, "0")
	exp -= len(fp)
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	digits = trimmed
	if digits == "" {
		return "0", nil
	}
	// value = digits × 10^exp; the length is checked before building.
	point := len(digits) + exp
	size := len(digits) + exp // exp >= 0: digits and zeros
	switch {
	case exp < 0 && point > 0:
		size = len(digits) + 1
	case exp < 0:
		size = 2 - point + len(digits)
	}
	if size > maxNumberLen {
		return "", tooBig
	}
	var out string
	switch {
	case exp >= 0:
		out = digits + strings.Repeat("0", exp)
	case point > 0:
		out = digits[:point] + "." + digits[point:]
	default:
		out = "0." + strings.Repeat("0", -point) + digits
	}
	if neg {
		out = "-" + out
	}
	return out, nil
}
