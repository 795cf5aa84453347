package apisign

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Headers of a pushed event (webhook) besides the signature's.
const (
	HeaderEvent    = "X-CityCode-Event"    // object.activated …
	HeaderDelivery = "X-CityCode-Delivery" // the delivery's id: the same on every retry
)

// ErrWebhookSignature is a push whose signature, timestamp or nonce does
// not hold.
var ErrWebhookSignature = errors.New("apisign: the push is not signed by the platform with this secret")

// VerifyWebhook checks a push the platform made to an app: it is signed
// with the app's secret exactly as the app signs its requests (HMAC-SM3 of
// StringToSign over the method, the path and query the platform posted to,
// the timestamp, the nonce and the body), within maxSkew of now. A receiver
// also de-duplicates by HeaderDelivery: retries repeat it.
func VerifyWebhook(secret []byte, r *http.Request, body []byte, now time.Time, maxSkew time.Duration) error {
	ts, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	nonce := r.Header.Get(HeaderNonce)
	if err != nil || !ValidNonce(nonce) {
		return ErrWebhookSignature
	}
	if d := now.Sub(time.UnixMilli(ts)); d > maxSkew || d < -maxSkew {
		return ErrWebhookSignature
	}
	want := SignHMAC(secret, StringToSign(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, ts, nonce, body))
	if subtle.ConstantTimeCompare([]byte(want), []byte(r.Header.Get(HeaderSignature))) != 1 {
		return ErrWebhookSignature
	}
	return nil
}
