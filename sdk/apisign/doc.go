// Package apisign defines how an app signs a call to the City Code
// Platform's open API. The host verifies requests against this package's
// definition, and sdk/client signs with it; apps in other languages follow
// the same steps and can check themselves against testdata/vectors.json.
//
// # Headers
//
// Every call carries:
//
//	X-CityCode-AppId       the app's cityCodeAppId
//	X-CityCode-Timestamp   unix time in milliseconds, decimal digits without
//	                       leading zeros; refused when more than 300 s from
//	                       the server's clock (either way)
//	X-CityCode-Nonce       16–64 characters of [A-Za-z0-9_-], fresh per call;
//	                       refused if the app used it in the last 600 s
//	X-CityCode-Signature   the signature, see below
//
// and optionally:
//
//	X-CityCode-SignMethod  "SM2" to sign with SM2; absent or "HMAC-SM3" for HMAC
//	X-CityCode-Encrypt     "SM4-GCM" when the body is encrypted
//
// # String to sign
//
//	METHOD "\n" PATH ["?" RAWQUERY] "\n" TIMESTAMP "\n" NONCE "\n" hex(SM3(BODY))
//
// METHOD is upper-case. PATH is the request path exactly as sent (percent
// escapes kept as they are on the wire), without scheme and host. "?" and
// RAWQUERY, the query string as sent, appear only when the query string is
// not empty. TIMESTAMP and NONCE are the header values. BODY is the bytes on
// the wire — the ciphertext text when the body is encrypted — and hex is
// lower-case; an empty body hashes as the empty string. See StringToSign.
//
// # Signature
//
// HMAC (the default): lower-case hex of HMAC-SM3(appSecret, stringToSign).
//
// SM2: standard base64 (with padding) of the ASN.1 DER SM2 signature of the
// string to sign, computed the standard way (SM3 over ZA and the message,
// with the default user id "1234567812345678"), verified with the public key
// the app registered.
//
// # Encrypted bodies
//
// With X-CityCode-Encrypt: SM4-GCM the body is standard base64 (with
// padding) of nonce(12) || ciphertext || tag(16) under the app's 16-byte SM4
// data key, with a random 12-byte nonce and no associated data: the
// signature already binds the body to the request. The host then answers
// encrypted the same way and sets X-CityCode-Encrypt: SM4-GCM on the answer.
// An empty body (a GET) is sent empty, not encrypted; the header then only
// asks for an encrypted answer. See EncryptBody and DecryptBody.
//
// # Checking an implementation
//
// testdata/vectors.json lists inputs with the expected string to sign, HMAC
// signature, a valid SM2 signature and an encrypted body. The vectors agree
// with OpenSSL 3:
//
//	printf '%s' "$STRING_TO_SIGN" | openssl dgst -sm3 -hmac "$SECRET"
//	openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -digest sm3 \
//	    -pkeyopt distid:1234567812345678 -in sts.txt -sigfile sig.der
//
// # Errors
//
// A refused call answers with the platform's envelope and one of these codes:
// MissingParameter (a header is absent), InvalidParameter (a malformed
// header), AuthFailure.SignatureExpire, AuthFailure.AppNotFound,
// AuthFailure.AppDisabled, AuthFailure.SignatureFailure,
// AuthFailure.NonceUsed, FailedOperation.DecryptFailure.
package apisign
