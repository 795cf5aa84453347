package plugin_test

import (
	"encoding/json"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// FuzzParseManifest: no plugin.json makes the parser panic, and a manifest
// it accepts survives its own JSON: written out and read back it is the
// same manifest, still valid (what the host stores is what it checked).
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"name":"x"}`))
	f.Add([]byte(`{"name":"ab","version":"1.0.0","sdkVersion":"1.0","title":"t","runtime":"native","entry":"../../etc/passwd"}`))
	f.Add([]byte(`{}{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := plugin.ParseManifest(b)
		if err != nil {
			if m != nil {
				t.Fatal("a manifest with an error")
			}
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("an accepted manifest does not marshal: %v", err)
		}
		again, err := plugin.ParseManifest(out)
		if err != nil {
			t.Fatalf("an accepted manifest, written out, is refused: %v\n%s", err, out)
		}
		if out2, _ := json.Marshal(again); string(out) != string(out2) {
			t.Fatalf("the manifest changed through its JSON:\n%s\n%s", out, out2)
		}
	})
}
