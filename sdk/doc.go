// Package sdk is the public side of the City Code Platform: everything code
// outside the host imports.
//
//   - sdk/apisign defines the signed open-API request scheme (headers, string
//     to sign, HMAC-SM3 and SM2 signatures, SM4-GCM bodies) for apps in any
//     language; sdk/client is a Go client that calls the open API with it.
//   - sdk/codeformat defines the content of dynamic codes (byte layout and
//     test vectors for scanners in any language); sdk/verify verifies them
//     offline with the keys of GET /api/keys; sdk/holder makes holder-signed
//     codes on the holder's device.
//   - plugin authors import the manifest types, the plugin interface and the
//     guest helpers from the other sdk packages.
//
// Nothing under sdk imports the host's internals or its heavy dependencies
// (echo, pgx, OPA, wazero); a test in this directory enforces it.
package sdk
