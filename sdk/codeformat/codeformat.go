// Package codeformat is the content of the platform's dynamic codes: what a
// phone shows as a QR code and a scanner reads, verifiable offline with the
// platform's published SM2 public keys.
//
// # Text
//
// A code is GUIDE + BASE32(payload), the base32 alphabet of RFC 4648 in
// upper case without padding. Everything is in the QR alphanumeric set
// (0-9 A-Z $ % * + - . / :), so a code takes the dense alphanumeric mode;
// a generic phone camera reading the guide URL lands on a page that explains
// the code. The guide ends at the last '/' or ':' (neither is in the base32
// alphabet). Default guide: "CC:".
//
// # Payload (version 1)
//
// Following the field structure of DB11/T 1917.2-2021 (standard fields:
// code system, authorization, code type; extension; security field;
// generation time and validity):
//
//	offset  size  field
//	0       1     version (code system id) = 0x01
//	1       1     flags: bit 0 offline-verifiable; bits 4-7 certificate type
//	2       1+n   authorization id: issuing platform id (length-prefixed, n <= 32)
//	.       1+n   code type: rule id (codeDefId, length-prefixed, n <= 32)
//	.       2     rule version (big endian)
//	.       1     kind: 1 person, 2 enterprise, 3 object, 4 virtual
//	.       16    subject: opaque holder reference (sealed by the platform; never personal data)
//	.       4     generation time, unix seconds (big endian)
//	.       4     validity, seconds (0 = does not expire)
//	.       4     key id of the signing key
//	.       1+n   extension field (n <= 200)
//	.       64    security field: SM2 signature r||s (32 bytes each) over every
//	              byte before it, default user id 1234567812345678
//
// A person code of rule "R0001" from platform "P0000" is 110 bytes: 176
// base32 characters, QR version 9 at level M with the default guide.
package codeformat

import (
	"encoding/asn1"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"math/big"
	"strings"
	"time"
)

// Version is the payload version this package writes.
const Version = 1

// Limits of the variable fields.
const (
	MaxIDLen        = 32
	MaxExtension    = 200
	SubjectSize     = 16
	SignatureSize   = 64
	DefaultGuide    = "CC:"
	minPayloadBytes = 1 + 1 + 1 + 1 + 2 + 1 + SubjectSize + 4 + 4 + 4 + 1 + SignatureSize
)

// Errors of Parse.
var (
	ErrMalformed = errors.New("codeformat: malformed code")
	ErrVersion   = errors.New("codeformat: unknown code version")
)

// Kind of subject a code is for.
type Kind byte

// The kinds.
const (
	Person     Kind = 1
	Enterprise Kind = 2
	Object     Kind = 3
	Virtual    Kind = 4
)

// CertType is the certificate-type flag a code carries (4 bits).
type CertType byte

// The certificate types.
const (
	CertNone         CertType = 0
	CertResidentID   CertType = 1
	CertPassport     CertType = 2
	CertHKMacao      CertType = 3
	CertTaiwan       CertType = 4
	CertForeignerPR  CertType = 5
	CertSocialCredit CertType = 6
	CertOther        CertType = 15
)

// Code is the content of a code.
type Code struct {
	PlatformID  string
	RuleID      string
	RuleVersion int
	Kind        Kind
	CertType    CertType
	Offline     bool
	Subject     [SubjectSize]byte
	IssuedAt    time.Time // whole seconds
	Validity    time.Duration
	KeyID       uint32
	Extension   string
}

// ExpiresAt is when the code stops being valid; zero when it never does.
func (c *Code) ExpiresAt() time.Time {
	if c.Validity <= 0 {
		return time.Time{}
	}
	return c.IssuedAt.Add(c.Validity)
}

// Expired reports whether the code is past its validity at now.
func (c *Code) Expired(now time.Time) bool {
	e := c.ExpiresAt()
	return !e.IsZero() && !now.Before(e)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Signer signs msg with SM2 (default user id) and returns an ASN.1 DER
// signature, as crypto libraries do.
type Signer func(msg []byte) ([]byte, error)

// Encode lays c out, signs it and returns the text form with guide in front
// ("" for DefaultGuide). The guide must be in the QR alphanumeric set and end
// with '/' or ':'.
func Encode(c Code, guide string, sign Signer) (string, error) {
	if guide == "" {
		guide = DefaultGuide
	}
	if !validGuide(guide) {
		return "", errors.New("codeformat: the guide must be upper-case URL characters ending in '/' or ':'")
	}
	body, err := c.marshal()
	if err != nil {
		return "", err
	}
	raw, err := signRaw(sign, body)
	if err != nil {
		return "", err
	}
	return guide + b32.EncodeToString(append(body, raw...)), nil
}

func validGuide(g string) bool {
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || strings.IndexByte(" $%*+-./:", c) >= 0) {
			return false
		}
	}
	return strings.HasSuffix(g, "/") || strings.HasSuffix(g, ":")
}

func (c *Code) marshal() ([]byte, error) {
	if len(c.PlatformID) == 0 || len(c.PlatformID) > MaxIDLen || len(c.RuleID) == 0 || len(c.RuleID) > MaxIDLen {
		return nil, errors.New("codeformat: platform and rule ids must be 1-32 bytes")
	}
	if len(c.Extension) > MaxExtension {
		return nil, errors.New("codeformat: extension longer than 200 bytes")
	}
	if c.RuleVersion < 0 || c.RuleVersion > 0xffff || c.CertType > 15 || c.Validity < 0 || c.Validity > 0xffffffff*time.Second {
		return nil, errors.New("codeformat: field out of range")
	}
	b := make([]byte, 0, minPayloadBytes+len(c.PlatformID)+len(c.RuleID)+len(c.Extension))
	flags := byte(c.CertType) << 4
	if c.Offline {
		flags |= 1
	}
	b = append(b, Version, flags)
	b = append(append(b, byte(len(c.PlatformID))), c.PlatformID...)
	b = append(append(b, byte(len(c.RuleID))), c.RuleID...)
	b = binary.BigEndian.AppendUint16(b, uint16(c.RuleVersion))
	b = append(b, byte(c.Kind))
	b = append(b, c.Subject[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(c.IssuedAt.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(c.Validity/time.Second))
	b = binary.BigEndian.AppendUint32(b, c.KeyID)
	b = append(append(b, byte(len(c.Extension))), c.Extension...)
	return b, nil
}

// Parsed is a code read from its text, not yet verified.
type Parsed struct {
	Code
	Guide     string
	Signed    []byte // the bytes the signature covers
	Signature []byte // raw r||s
}

// Parse reads a code's text. It checks the layout only: call Verify with the
// key named by KeyID before trusting any field.
func Parse(text string) (*Parsed, error) {
	i := strings.LastIndexAny(text, "/:")
	guide, enc := text[:i+1], text[i+1:]
	raw, err := b32.DecodeString(enc)
	if err != nil || len(raw) < minPayloadBytes {
		return nil, ErrMalformed
	}
	if raw[0] != Version {
		return nil, ErrVersion
	}
	p := &Parsed{Guide: guide}
	r := reader{b: raw[:len(raw)-SignatureSize]}
	r.byte() // version
	flags := r.byte()
	p.Offline = flags&1 == 1
	if flags&0x0e != 0 {
		return nil, ErrMalformed // reserved bits must be zero: no two texts for one code
	}
	p.CertType = CertType(flags >> 4)
	p.PlatformID = r.str(MaxIDLen)
	p.RuleID = r.str(MaxIDLen)
	p.RuleVersion = int(r.u16())
	p.Kind = Kind(r.byte())
	copy(p.Subject[:], r.take(SubjectSize))
	p.IssuedAt = time.Unix(int64(r.u32()), 0)
	p.Validity = time.Duration(r.u32()) * time.Second
	p.KeyID = r.u32()
	p.Extension = r.str(MaxExtension)
	if r.bad || len(r.b) != 0 || p.PlatformID == "" || p.RuleID == "" || p.Kind < Person || p.Kind > Virtual {
		return nil, ErrMalformed
	}
	p.Signed = raw[:len(raw)-SignatureSize]
	p.Signature = raw[len(raw)-SignatureSize:]
	// Base32 of a length that is not a multiple of 8 has spare bits; a text
	// with any of them set would decode to the same bytes. Refuse it so a
	// code has exactly one text.
	if b32.EncodeToString(raw) != enc {
		return nil, ErrMalformed
	}
	return p, nil
}

type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte  { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }

func (r *reader) str(max int) string {
	n := int(r.byte())
	if n > max {
		r.bad = true
		return ""
	}
	return string(r.take(n))
}

// DER conversion of SM2 signatures: the code carries the fixed-size raw
// form to save about eight bytes and to have exactly one encoding.
type ecSig struct{ R, S *big.Int }

// signRaw signs msg and answers the r||s form codes carry.
func signRaw(sign Signer, msg []byte) ([]byte, error) {
	der, err := sign(msg)
	if err != nil {
		return nil, err
	}
	return derToRaw(der)
}

func derToRaw(der []byte) ([]byte, error) {
	var sig ecSig
	if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) != 0 {
		return nil, errors.New("codeformat: signer returned a malformed signature")
	}
	out := make([]byte, SignatureSize)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// RawToDER converts a code's r||s signature to ASN.1 DER for verifiers that
// take DER.
func RawToDER(raw []byte) ([]byte, error) {
	if len(raw) != SignatureSize {
		return nil, ErrMalformed
	}
	return asn1.Marshal(ecSig{R: new(big.Int).SetBytes(raw[:32]), S: new(big.Int).SetBytes(raw[32:])})
}
