package apisign_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/opencitycode/citycode/sdk/apisign"
)

// Signing a call by hand, as an app without sdk/client does it. In real
// calls the timestamp is the current time and the nonce is random; they are
// fixed here so the output is stable.
func Example() {
	appID, secret := "app_demo", []byte("demo-app-secret")
	body := []byte(`{"codeId":"C0001"}`)
	timestamp := int64(1700000000000) // time.Now().UnixMilli()
	nonce := "n0nce-0123456789abcdef" // 16+ random URL-safe characters

	req, _ := http.NewRequest(http.MethodPost, "https://citycode.example/openapi/v1/codes/verify?lang=zh", bytes.NewReader(body))
	sts := apisign.StringToSign(req.Method, req.URL.EscapedPath(), req.URL.RawQuery, timestamp, nonce, body)

	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(apisign.HeaderAppID, appID)
	req.Header.Set(apisign.HeaderTimestamp, strconv.FormatInt(timestamp, 10))
	req.Header.Set(apisign.HeaderNonce, nonce)
	req.Header.Set(apisign.HeaderSignature, apisign.SignHMAC(secret, sts))

	fmt.Printf("%s\n\n", sts)
	fmt.Println(req.Header.Get(apisign.HeaderSignature))
	// Output:
	// POST
	// /openapi/v1/codes/verify?lang=zh
	// 1700000000000
	// n0nce-0123456789abcdef
	// e961f3d0fc13392a05905b8ba5c653d8a5966862ab7a2cc859b1a2ecbc0f00a6
	//
	// 78e6fb984e2ab40f49acb88652d1b3f0e63f357debd4ad019a224e144a15a88d
}

// With body encryption, the body on the wire is the ciphertext text, and the
// signature covers that text.
func ExampleEncryptBody() {
	dataKey := []byte("0123456789abcdef") // the app's 16-byte SM4 data key
	wire, _ := apisign.EncryptBody(dataKey, []byte(`{"codeId":"C0001"}`))
	sts := apisign.StringToSign("POST", "/openapi/v1/codes/verify", "", 1700000000000, "n0nce-0123456789abcdef", wire)
	_ = apisign.SignHMAC([]byte("demo-app-secret"), sts)
	// Send wire as the body with X-CityCode-Encrypt: SM4-GCM; the answer
	// comes back encrypted the same way.
	plain, err := apisign.DecryptBody(dataKey, wire)
	fmt.Println(string(plain), err)
	// Output: {"codeId":"C0001"} <nil>
}

// Signing with SM2 instead of HMAC: the app registers its public key and
// keeps the private key.
func ExampleSignSM2() {
	priv, err := apisign.ParsePrivateKey("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
	if err != nil {
		panic(err)
	}
	sts := apisign.StringToSign("GET", "/openapi/v1/codes/C0001", "", 1700000000000, "n0nce-0123456789abcdef", nil)
	sig, _ := apisign.SignSM2(priv, sts)
	h := http.Header{}
	h.Set(apisign.HeaderSignMethod, apisign.SignMethodSM2)
	h.Set(apisign.HeaderSignature, sig)
	fmt.Println(h.Get(apisign.HeaderSignMethod), len(sig) > 0)
	// Output: SM2 true
}
