package codeformat_test

import (
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/opencitycode/citycode/sdk/codeformat"
)

// FuzzParse: no text makes Parse panic, and a text Parse accepts is the
// one text of its code — laying the parsed code out again with the same
// signature gives the same text back (a scanner cannot be shown two texts
// for one code). No text but the ones the key signed verifies under it.
func FuzzParse(f *testing.F) {
	k, pub := newKey(f)
	c := sample()
	c.Extension, c.Guide = "扩展 ext", "HTTPS://CODE.EXAMPLE.CN/C/"
	signed := map[string]bool{encode(f, sample(), k): true, encode(f, c, k): true}
	for s := range signed {
		f.Add(s)
	}
	f.Add("CC:")
	f.Add("CC:AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := codeformat.Parse(text)
		if err != nil {
			return
		}
		again, err := codeformat.Encode(p.Code, func([]byte) ([]byte, error) {
			// The parsed r||s as the DER a crypto library would answer.
			return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(p.Signature[:32]), new(big.Int).SetBytes(p.Signature[32:])})
		})
		if err == nil && again != text {
			t.Fatalf("%q parses, but its code lays out as %q", text, again)
		}
		if codeformat.Verify(p, pub) && !signed[text] {
			t.Fatalf("%q verifies, but the key never signed it", text)
		}
	})
}

// FuzzParseHolder: no text makes ParseHolder or ParseCertificate panic.
func FuzzParseHolder(f *testing.F) {
	f.Add("H")
	f.Add("HAAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		if p, err := codeformat.ParseHolder(text); err == nil && p == nil {
			t.Fatal("nil holder without an error")
		}
		if c, err := codeformat.ParseCertificate([]byte(text)); err == nil && c == nil {
			t.Fatal("nil certificate without an error")
		}
	})
}
