package codeformat

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Certificate is what the platform vouches for in holder-signed mode: the
// device key DeviceKey speaks for Subject under this rule from IssuedAt for
// Validity, each code it makes valid for CodeValidity.
type Certificate struct {
	PlatformID   string
	RuleID       string
	RuleVersion  int
	Family       Family
	Kind         Kind
	CertType     CertType
	Subject      [SubjectSize]byte
	IssuedAt     time.Time     // whole seconds
	Validity     time.Duration // of the certificate, whole seconds
	CodeValidity time.Duration // of each code, 1 s to 65535 s
	DeviceKey    *PublicKey
	KeyID        KeyID // the platform key that signs the certificate
}

// ExpiresAt is when the certificate ends.
func (c *Certificate) ExpiresAt() time.Time { return c.IssuedAt.Add(c.Validity) }

const (
	deviceKeySize = 33
	certFixed     = 1 + 1 + 1 + 1 + 1 + 2 + SubjectSize + 4 + 4 + 2 + deviceKeySize + 4 + SignatureSize
	codeTail      = 4 + SignatureSize
)

// IssueCertificate lays c out and signs it with the platform key (sign must
// sign with the key c.KeyID names). The bytes go to the device, base64 in
// JSON. A certificate whose codes would not fit a QR code of version 10 at
// level M is refused with ErrTooLarge.
func IssueCertificate(c Certificate, sign Signer) ([]byte, error) {
	if c.DeviceKey == nil {
		return nil, fmt.Errorf("%w: no device key", ErrField)
	}
	if c.Validity < time.Second || c.Validity > 0xffffffff*time.Second || c.CodeValidity < time.Second || c.CodeValidity > 0xffff*time.Second {
		return nil, fmt.Errorf("%w: certificate or code validity", ErrField)
	}
	b := make([]byte, 0, certFixed+len(c.PlatformID)+len(c.RuleID)+codeTail)
	b, err := appendHead(b, HolderVersion, head{c.PlatformID, c.RuleID, c.RuleVersion, c.Family, c.Kind, c.CertType, true, c.Subject})
	if err != nil {
		return nil, err
	}
	if b, err = appendTime(b, c.IssuedAt); err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint32(b, uint32(c.Validity/time.Second))
	b = binary.BigEndian.AppendUint16(b, uint16(c.CodeValidity/time.Second))
	b = append(b, c.DeviceKey.compressed()...)
	b = binary.BigEndian.AppendUint32(b, uint32(c.KeyID))
	if len(b)+SignatureSize+codeTail > MaxHolderCode {
		return nil, ErrTooLarge
	}
	sig, err := signRaw(sign, b)
	if err != nil {
		return nil, err
	}
	return append(b, sig...), nil
}

// ParsedCertificate is a certificate read from its bytes, not yet verified.
type ParsedCertificate struct {
	Certificate
	Signed    []byte // what the platform signed
	Signature []byte // r||s
}

// ParseCertificate reads a certificate as IssueCertificate made it.
func ParseCertificate(b []byte) (*ParsedCertificate, error) {
	r := reader{b: b}
	c, err := r.certificate()
	if err != nil {
		return nil, err
	}
	if len(r.b) != 0 {
		return nil, ErrMalformed
	}
	return c, nil
}

func (r *reader) certificate() (*ParsedCertificate, error) {
	start := r.b
	if len(start) == 0 || start[0] != HolderVersion {
		return nil, ErrVersion
	}
	r.byte()
	h := r.head()
	p := &ParsedCertificate{Certificate: Certificate{PlatformID: h.platform, RuleID: h.rule, RuleVersion: h.ruleVersion,
		Family: h.family, Kind: h.kind, CertType: h.certType, Subject: h.subject}}
	p.IssuedAt = time.Unix(int64(r.u32()), 0)
	p.Validity = time.Duration(r.u32()) * time.Second
	p.CodeValidity = time.Duration(r.u16()) * time.Second
	point := r.take(deviceKeySize)
	p.KeyID = KeyID(r.u32())
	signed := len(start) - len(r.b)
	p.Signature = r.take(SignatureSize)
	if r.bad || !h.offline || p.Validity == 0 || p.CodeValidity == 0 {
		return nil, ErrMalformed
	}
	key, err := decompress(point)
	if err != nil {
		return nil, ErrMalformed
	}
	p.DeviceKey, p.Signed = key, start[:signed]
	return p, nil
}

// HolderCode makes a code from a certificate (as IssueCertificate made it)
// dated at, signed with the device key: the bytes for a QR code in byte
// mode.
func HolderCode(cert []byte, at time.Time, sign Signer) (string, error) {
	if _, err := ParseCertificate(cert); err != nil {
		return "", fmt.Errorf("codeformat: holder certificate: %w", err)
	}
	b := make([]byte, len(cert), len(cert)+codeTail)
	copy(b, cert)
	b, err := appendTime(b, at)
	if err != nil {
		return "", err
	}
	sig, err := signRaw(sign, b)
	if err != nil {
		return "", err
	}
	return string(append(b, sig...)), nil
}

// HolderParsed is a holder-signed code read from its bytes, not yet
// verified: call VerifyHolder.
type HolderParsed struct {
	Cert      ParsedCertificate
	At        time.Time // the code's time, from the device's clock
	Signed    []byte    // what the device signed
	Signature []byte    // r||s
}

// Code is the code as a Code: its time and validity, the certificate's
// other fields.
func (p *HolderParsed) Code() Code {
	c := &p.Cert
	return Code{PlatformID: c.PlatformID, RuleID: c.RuleID, RuleVersion: c.RuleVersion, Family: c.Family, Kind: c.Kind,
		CertType: c.CertType, Offline: true, Subject: c.Subject, IssuedAt: p.At, Validity: c.CodeValidity, KeyID: c.KeyID}
}

// ParseHolder reads a holder-signed code. It checks the layout only.
func ParseHolder(text string) (*HolderParsed, error) {
	if len(text) > MaxHolderCode {
		return nil, ErrMalformed
	}
	r := reader{b: []byte(text)}
	cert, err := r.certificate()
	if err != nil {
		return nil, err
	}
	p := &HolderParsed{Cert: *cert, At: time.Unix(int64(r.u32()), 0)}
	signed := len(text) - len(r.b)
	p.Signature = r.take(SignatureSize)
	if r.bad || len(r.b) != 0 {
		return nil, ErrMalformed
	}
	p.Signed = []byte(text[:signed])
	return p, nil
}

// VerifyHolder reports whether the chain holds: platform's signature of
// the certificate, then the device's signature of the code. It checks no
// time: sdk/verify does.
func VerifyHolder(p *HolderParsed, platform *PublicKey) bool {
	return p != nil && verifyRaw(platform, p.Cert.Signed, p.Cert.Signature) && verifyRaw(p.Cert.DeviceKey, p.Signed, p.Signature)
}

// IsHolder reports whether text is a holder-signed code by its first byte
// (which no version-1 text starts with: guides are printable).
func IsHolder(text string) bool { return len(text) > 0 && text[0] == HolderVersion }
