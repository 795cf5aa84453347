package signature

import (
	"net/http"
	"testing"

	"github.com/opencitycode/citycode/sdk/apisign"
)

func TestHeaderKeysAreCanonical(t *testing.T) {
	for name, pair := range map[string][2]string{
		"app id":      {keyAppID, apisign.HeaderAppID},
		"timestamp":   {keyTimestamp, apisign.HeaderTimestamp},
		"nonce":       {keyNonce, apisign.HeaderNonce},
		"signature":   {keySignature, apisign.HeaderSignature},
		"sign method": {keySignMethod, apisign.HeaderSignMethod},
		"encrypt":     {keyEncrypt, apisign.HeaderEncrypt},
	} {
		if want := http.CanonicalHeaderKey(pair[1]); pair[0] != want {
			t.Errorf("%s: key %q, want %q", name, pair[0], want)
		}
	}
}
