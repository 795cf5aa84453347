package codeformat

import (
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Layout versions (the code-system id, byte 0).
const (
	Version       = 1 // platform-signed codes
	HolderVersion = 2 // holder-signed codes
)

// Limits of the format.
const (
	// MaxText is the longest code text: what a QR code of version 10 at
	// level M holds in alphanumeric mode.
	MaxText = 311
	// MaxHolderCode is the longest holder-signed code: what a QR code of
	// version 10 at level M holds in byte mode.
	MaxHolderCode = 213
	MaxIDLen      = 32
	MaxGuideLen   = 64
	// MaxExtension is the standard's limit in characters; the size budget
	// (MaxText) is usually the tighter one, see the package doc.
	MaxExtension  = 200
	SubjectSize   = 16
	SignatureSize = 64
	DefaultGuide  = "CC:"

	fixedBytes = 1 + 1 + 1 + 1 + 1 + 2 + SubjectSize + 4 + 4 + 4 + 1 + SignatureSize
)

// Errors. Parse and ParseHolder answer ErrMalformed or ErrVersion for
// anything that is not exactly a code this package would write.
var (
	ErrMalformed = errors.New("codeformat: malformed code")
	ErrVersion   = errors.New("codeformat: unknown code version")
	ErrField     = errors.New("codeformat: field out of range")
	ErrTooLarge  = errors.New("codeformat: code does not fit a QR code of version 10 at level M")
)

// Kind of subject a code is for (bits 0-3 of the code type).
type Kind byte

// The kinds.
const (
	KindPerson     Kind = 1
	KindEnterprise Kind = 2
	KindObject     Kind = 3
	KindVirtual    Kind = 4
)

// Family of a code rule (bits 4-7 of the code type); FamilyNone when the
// issuer does not say.
type Family byte

// The families.
const (
	FamilyNone       Family = 0
	FamilyIdentity   Family = 1
	FamilyHealth     Family = 2
	FamilyPayment    Family = 3
	FamilyEnterprise Family = 4
	FamilyObject     Family = 5
	FamilyVirtual    Family = 6
)

// CertType is the type of the holder's identity document (4 bits).
type CertType byte

// The certificate types.
const (
	CertNone         CertType = 0
	CertResidentID   CertType = 1 // resident identity card
	CertPassport     CertType = 2
	CertHKMacao      CertType = 3 // mainland travel permit for Hong Kong and Macao residents
	CertTaiwan       CertType = 4 // mainland travel permit for Taiwan residents
	CertForeignerPR  CertType = 5 // foreigner's permanent residence ID card
	CertSocialCredit CertType = 6 // unified social credit code (enterprises)
	CertOther        CertType = 15
)

func (k Kind) valid() bool     { return k >= KindPerson && k <= KindVirtual }
func (f Family) valid() bool   { return f <= FamilyVirtual }
func (t CertType) valid() bool { return t <= CertSocialCredit || t == CertOther }

// KeyID names a platform signing key: 4 bytes in codes, 8 hex digits in
// text and JSON.
type KeyID uint32

// String is the key id's 8 lower-case hex digits.
func (k KeyID) String() string { return fmt.Sprintf("%08x", uint32(k)) }

// MarshalText implements encoding.TextMarshaler.
func (k KeyID) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads 8 hex digits.
func (k *KeyID) UnmarshalText(b []byte) error {
	v, err := ParseKeyID(string(b))
	*k = v
	return err
}

// ParseKeyID reads a key id's 8 hex digits (either case).
func ParseKeyID(s string) (KeyID, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return 0, fmt.Errorf("%w: key id %q is not 8 hex digits", ErrField, s)
	}
	return KeyID(binary.BigEndian.Uint32(b)), nil
}

// Code is the content of a platform-signed code.
type Code struct {
	Guide       string // "" encodes DefaultGuide
	PlatformID  string // authorization id: the issuing platform
	RuleID      string
	RuleVersion int
	Family      Family
	Kind        Kind
	CertType    CertType
	Offline     bool // verifiable offline
	Subject     [SubjectSize]byte
	IssuedAt    time.Time     // carried in whole seconds (truncated)
	Validity    time.Duration // whole seconds; 0: does not expire
	KeyID       KeyID
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

// Signer signs msg with SM2 (SM3, default user id 1234567812345678) and
// answers the ASN.1 DER signature, as crypto libraries do.
type Signer func(msg []byte) ([]byte, error)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Encode lays c out, signs it with sign and answers its text. It refuses
// fields out of range (ErrField) and codes that would not fit a QR code of
// version 10 at level M (ErrTooLarge).
func Encode(c Code, sign Signer) (string, error) {
	if c.Guide == "" {
		c.Guide = DefaultGuide
	}
	if !validGuide(c.Guide) {
		return "", fmt.Errorf("%w: the guide must be 1-%d upper-case URL characters ending in '/' or ':'", ErrField, MaxGuideLen)
	}
	if c.Validity < 0 || c.Validity > 0xffffffff*time.Second {
		return "", fmt.Errorf("%w: validity", ErrField)
	}
	if !utf8.ValidString(c.Extension) || utf8.RuneCountInString(c.Extension) > MaxExtension || len(c.Extension) > 0xff {
		return "", fmt.Errorf("%w: the extension is at most %d characters of UTF-8", ErrField, MaxExtension)
	}
	b := make([]byte, 0, fixedBytes+len(c.PlatformID)+len(c.RuleID)+len(c.Extension))
	b, err := appendHead(b, Version, head{c.PlatformID, c.RuleID, c.RuleVersion, c.Family, c.Kind, c.CertType, c.Offline, c.Subject})
	if err != nil {
		return "", err
	}
	if b, err = appendTime(b, c.IssuedAt); err != nil {
		return "", err
	}
	b = binary.BigEndian.AppendUint32(b, uint32(c.Validity/time.Second))
	b = binary.BigEndian.AppendUint32(b, uint32(c.KeyID))
	b = append(append(b, byte(len(c.Extension))), c.Extension...)
	if len(c.Guide)+b32.EncodedLen(len(b)+SignatureSize) > MaxText {
		return "", ErrTooLarge
	}
	sig, err := signRaw(sign, signedBytes(c.Guide, b))
	if err != nil {
		return "", err
	}
	return c.Guide + b32.EncodeToString(append(b, sig...)), nil
}

// signedBytes is what a version-1 signature covers: the guide, then the
// payload before the signature.
func signedBytes(guide string, body []byte) []byte {
	return append([]byte(guide), body...)
}

func validGuide(g string) bool {
	if g == "" || len(g) > MaxGuideLen || !strings.ContainsAny(g[len(g)-1:], "/:") {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || strings.IndexByte("$*+-./:", c) >= 0) {
			return false
		}
	}
	return true
}

// Parsed is a code read from its text, not yet verified: call Verify with
// the platform key named by KeyID before trusting any field.
type Parsed struct {
	Code
	Signed    []byte // what the signature covers: the guide, then the payload before the signature
	Signature []byte // r||s
}

// Parse reads a version-1 code's text. It checks the layout only. Exactly
// one text reads as a given code: anything else (lower case, padding, spare
// bits set, reserved bits, unknown enumerations, trailing bytes) is
// ErrMalformed; another layout version is ErrVersion.
func Parse(text string) (*Parsed, error) {
	if len(text) > MaxText {
		return nil, ErrMalformed
	}
	i := strings.LastIndexAny(text, "/:")
	if i < 0 || !validGuide(text[:i+1]) {
		return nil, ErrMalformed
	}
	guide, enc := text[:i+1], text[i+1:]
	raw, err := b32.DecodeString(enc)
	if err != nil || len(raw) == 0 || b32.EncodeToString(raw) != enc {
		// Re-encoding catches texts whose spare bits are set: they would
		// decode to the same bytes, a second text for one code.
		return nil, ErrMalformed
	}
	if raw[0] != Version {
		return nil, ErrVersion
	}
	if len(raw) < fixedBytes {
		return nil, ErrMalformed
	}
	body := raw[:len(raw)-SignatureSize]
	r := reader{b: body[1:]}
	h := r.head()
	p := &Parsed{Code: Code{Guide: guide, PlatformID: h.platform, RuleID: h.rule, RuleVersion: h.ruleVersion,
		Family: h.family, Kind: h.kind, CertType: h.certType, Offline: h.offline, Subject: h.subject}}
	p.IssuedAt = time.Unix(int64(r.u32()), 0)
	p.Validity = time.Duration(r.u32()) * time.Second
	p.KeyID = KeyID(r.u32())
	p.Extension = string(r.take(int(r.byte())))
	if r.bad || len(r.b) != 0 || !utf8.ValidString(p.Extension) || utf8.RuneCountInString(p.Extension) > MaxExtension {
		return nil, ErrMalformed
	}
	p.Signed = signedBytes(guide, body)
	p.Signature = raw[len(body):]
	return p, nil
}

// Verify reports whether p carries a valid signature of pub. It checks
// neither the key's validity nor the code's expiry: sdk/verify does.
func Verify(p *Parsed, pub *PublicKey) bool {
	return p != nil && verifyRaw(pub, p.Signed, p.Signature)
}

// head is the part both layouts start with, after the version byte.
type head struct {
	platform, rule string
	ruleVersion    int
	family         Family
	kind           Kind
	certType       CertType
	offline        bool
	subject        [SubjectSize]byte
}

func appendHead(b []byte, version byte, h head) ([]byte, error) {
	if !validID(h.platform) || !validID(h.rule) {
		return nil, fmt.Errorf("%w: platform and rule ids are 1-%d printable ASCII characters", ErrField, MaxIDLen)
	}
	if h.ruleVersion < 0 || h.ruleVersion > 0xffff || !h.family.valid() || !h.kind.valid() || !h.certType.valid() {
		return nil, fmt.Errorf("%w: rule version, family, kind or certificate type", ErrField)
	}
	flags := byte(h.certType) << 4
	if h.offline {
		flags |= 1
	}
	b = append(b, version, flags, byte(h.family)<<4|byte(h.kind))
	b = append(append(b, byte(len(h.platform))), h.platform...)
	b = append(append(b, byte(len(h.rule))), h.rule...)
	b = binary.BigEndian.AppendUint16(b, uint16(h.ruleVersion))
	return append(b, h.subject[:]...), nil
}

func appendTime(b []byte, t time.Time) ([]byte, error) {
	if s := t.Unix(); s < 0 || s > 0xffffffff {
		return nil, fmt.Errorf("%w: time %v", ErrField, t)
	}
	return binary.BigEndian.AppendUint32(b, uint32(t.Unix())), nil
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// reader reads fields; a short or invalid field sets bad.
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

func (r *reader) id() string {
	s := string(r.take(int(r.byte())))
	if !validID(s) {
		r.bad = true
	}
	return s
}

// head reads what appendHead wrote after the version byte.
func (r *reader) head() head {
	var h head
	flags, typ := r.byte(), r.byte()
	h.offline, h.certType = flags&1 == 1, CertType(flags>>4)
	h.family, h.kind = Family(typ>>4), Kind(typ&0x0f)
	if flags&0x0e != 0 || !h.certType.valid() || !h.family.valid() || !h.kind.valid() {
		r.bad = true // reserved bits and unknown values: one text per code
	}
	h.platform, h.rule = r.id(), r.id()
	h.ruleVersion = int(r.u16())
	copy(h.subject[:], r.take(SubjectSize))
	return h
}
