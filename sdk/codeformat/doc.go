// Package codeformat is the single definition of the platform's dynamic
// code content: what a phone shows as a QR code and what a scanner reads,
// verifiable offline with the platform's published SM2 public keys. The host
// writes codes with it and every scanner (sdk/verify, or an implementation
// in another language working from the layout below and the golden vectors
// in testdata/vectors.json) reads them with it.
//
// Two layouts share the first bytes:
//
//   - version 1, platform-signed: the platform signs each code (Encode,
//     Parse, Verify);
//   - version 2, holder-signed, for weak networks as transit ride codes do:
//     the platform signs a short device certificate once, the holder's
//     device signs each refreshed code itself (IssueCertificate, HolderCode,
//     ParseHolder, VerifyHolder; sdk/holder on the device).
//
// # Fields
//
// Following the field structure of Beijing's city code standard
// DB11/T 1917.2-2021, so another city's scanner can map it:
//
//	standard's field   here
//	guide field        Code.Guide: a short upper-case URL prefix, so a generic
//	                   phone camera lands on a page explaining the code
//	standard field     code-system id (byte 0: layout version), authorization
//	                   id (issuing platform id), code-type id (rule id, rule
//	                   version, family and kind)
//	generation time,   issue time and validity, unix seconds
//	validity
//	(subject)          an opaque 16-byte subject id sealed by the platform;
//	                   never a name or an identity-document number
//	(flags)            certificate type of the holder's document; offline flag
//	extension field    up to 200 characters of UTF-8
//	security field     key id and an SM2 signature
//
// # Text of a version-1 code
//
//	text = GUIDE + BASE32(payload)
//
// BASE32 is RFC 4648's alphabet in upper case without padding. Every
// character of the text is in the QR alphanumeric set, so the whole code is
// one alphanumeric-mode segment (5.5 bits a character) in any QR encoder,
// and it stays a valid URL: the guide is an upper-case URL (scheme and host
// are case-insensitive; the landing page must answer its path in upper
// case) and base32 needs no escaping. Base45 (RFC 9285) packs 6 % more but uses ' ' and '%',
// which break URLs; a decimal payload packs 9 % more, but only in encoders
// that split segments by mode, and costs two or three versions in those
// that do not.
//
// The guide is 1-64 characters from 0-9 A-Z $ * + - . / : (the QR
// alphanumeric set less the space and '%', which URLs reserve) and ends in
// '/' or ':' (neither is a base32 character, so the text splits at the last
// of them). Default: "CC:". The guide is signed: a code cannot be moved
// under another landing URL.
//
// # Payload, version 1 (platform-signed)
//
//	offset  size  field
//	0       1     code-system id / layout version = 0x01
//	1       1     flags: bit 0 offline-verifiable; bits 1-3 zero;
//	              bits 4-7 certificate type (CertType)
//	2       1     code type: bits 4-7 family (Family), bits 0-3 kind (Kind)
//	3       1+n   authorization id: issuing platform id, n = 1..32
//	              printable ASCII, length-prefixed
//	.       1+n   rule id (codeDefId), n = 1..32 printable ASCII
//	.       2     rule version, big endian
//	.       16    subject id (opaque)
//	.       4     issue time, unix seconds, big endian
//	.       4     validity, seconds (0: does not expire)
//	.       4     key id of the platform signing key
//	.       1+n   extension, n = 0..255 bytes of UTF-8, at most 200 characters
//	.       64    security field: SM2 signature r||s (32 bytes each, big
//	              endian), SM3 with the default user id 1234567812345678,
//	              over the guide's ASCII bytes followed by every payload byte
//	              before the signature
//
// Values: kind 1 person, 2 enterprise, 3 object, 4 virtual; family 0 not
// given, 1 identity, 2 health, 3 payment, 4 enterprise, 5 object, 6 virtual;
// certificate type 0 none, 1 resident identity card, 2 passport, 3 Hong Kong
// and Macao residents' permit, 4 Taiwan residents' permit, 5 foreigner's
// permanent residence card, 6 unified social credit code, 15 other. Other
// values, like set reserved bits, make the code malformed.
//
// The fixed part is 100 bytes; a code is 100 + len(platform id) +
// len(rule id) + len(extension) bytes, 1.6 base32 characters a byte.
//
// # Size: QR version 10 at level M
//
// A QR code of version 10 at level M holds 311 alphanumeric characters
// (MaxText). Encode refuses a code whose text is longer (ErrTooLarge), so
// every code it makes fits. Measured by the test with a QR encoder
// (platform ids like "P0000" and rule ids like "R0001" have 5 characters):
//
//	guide                        ids     extension        text  QR version (M)
//	"CC:"                        5 + 5   none             179   8
//	"CC:"                        5 + 5   82 bytes (max)   311   10
//	"HTTPS://CC.EXAMPLE.CN/D/"   5 + 5   none             200   8
//	"HTTPS://CC.EXAMPLE.CN/D/"   5 + 5   69 bytes (max)   311   10
//	"HTTPS://CC.EXAMPLE.CN/D/"   32 + 32 15 bytes (max)   311   10
//	64-character guide           5 + 5   44 bytes (max)   311   10
//
// The standard allows 200 extension characters; within version 10 the room
// left is 82 bytes with the default guide and 69 with a 24-character URL
// (a Chinese character takes 3). Each character of guide costs 0.6 bytes
// of extension, each byte of ids one byte.
//
// # Holder-signed codes, version 2
//
// The certificate (IssueCertificate; the device keeps it) and each code the
// device makes from it (HolderCode):
//
//	offset  size  field
//	0       1     code-system id / layout version = 0x02
//	1       1     flags (as version 1; bit 0 always set)
//	2       1     code type (as version 1)
//	3       1+n   platform id
//	.       1+n   rule id
//	.       2     rule version
//	.       16    subject id
//	.       4     certificate issue time, unix seconds
//	.       4     certificate validity, seconds
//	.       2     validity of each code made with it, seconds
//	.       33    device SM2 public key, compressed point
//	.       4     key id of the platform signing key
//	.       64    platform signature r||s over every byte above
//	-------------------------------- end of certificate
//	.       4     code time, unix seconds (the device's clock)
//	.       64    device signature r||s over every byte above: the whole
//	              certificate, its signature included, and the code time
//
// A scanner checks platform key → certificate → code, all offline. The
// code is 202 + len(platform id) + len(rule id) bytes: 212 with
// 5-character ids. It is binary and takes QR byte mode, where version 10 at
// level M holds 213 bytes (MaxHolderCode; IssueCertificate refuses a
// certificate whose codes would not fit). In alphanumeric mode it would
// need 340 characters, version 11: two signatures, a device key and a
// subject leave no room. Encode the bytes as they are (byte mode, no UTF-8
// transcoding); JSON APIs carry them base64.
package codeformat
