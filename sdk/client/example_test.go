package client_test

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/opencitycode/citycode/sdk/apisign"
	"github.com/opencitycode/citycode/sdk/client"
)

// A round trip against a stand-in for the platform whose verifier is a few
// lines over sdk/apisign (the real one also checks nonces and SM2).
func Example() {
	secret := []byte("demo-app-secret")
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(apisign.HeaderTimestamp), 10, 64)
		sts := apisign.StringToSign(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, ts, r.Header.Get(apisign.HeaderNonce), body)
		want := apisign.SignHMAC(secret, sts)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get(apisign.HeaderAppID) != "app_demo" || time.Since(time.UnixMilli(ts)).Abs() > 300*time.Second:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"Response":{"Error":{"Code":"AuthFailure","Message":"who are you?"},"RequestId":"req-1"}}`)
		case !hmac.Equal([]byte(r.Header.Get(apisign.HeaderSignature)), []byte(want)):
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"the request signature does not verify"},"RequestId":"req-2"}}`)
		default:
			fmt.Fprintf(w, `{"Response":{"Data":{"valid":true,"echo":%s},"RequestId":"req-3"}}`, body)
		}
	}))
	defer platform.Close()
	ctx := context.Background()

	c := client.New(platform.URL, "app_demo", secret)
	var out struct {
		Valid bool
		Echo  struct{ CodeID string }
	}
	err := c.Call(ctx, "/openapi/v1/codes/verify", map[string]string{"codeId": "C0001"}, &out)
	fmt.Println(out.Valid, out.Echo.CodeID, err)

	wrong := client.New(platform.URL, "app_demo", []byte("not the secret"))
	err = wrong.Call(ctx, "/openapi/v1/codes/verify", map[string]string{"codeId": "C0001"}, &out)
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.HTTPStatus, apiErr.Code, apiErr.RequestID)
	}
	// Output:
	// true C0001 <nil>
	// 401 AuthFailure.SignatureFailure req-2
}
