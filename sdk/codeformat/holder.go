package codeformat

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/binary"
	"errors"
	"time"

	"github.com/emmansun/gmsm/sm2"
)

// HolderVersion is the payload version of holder-signed codes.
//
// # Holder-signed codes (weak networks, like transit ride codes)
//
// The platform issues a device certificate once; the phone then makes every
// refreshed code itself, offline, by signing the time with its own key. A
// scanner verifies platform key → certificate → code, offline. The code is
// binary (QR byte mode): with 5-character platform and rule ids it is 208
// bytes, QR version 10 at level M (213 bytes); longer ids take version 11.
//
//	offset  size  field
//	0       1     version = 0x02
//	1       1     flags (as version 1)
//	2       1+n   platform id
//	.       1+n   rule id
//	.       2     rule version
//	.       1     kind
//	.       16    subject
//	.       4     certificate expiry, unix seconds
//	.       33    device SM2 public key, compressed point
//	.       4     platform key id
//	.       64    platform signature r||s over the certificate bytes above
//	.       4     code time, unix seconds          } signed by the device,
//	.       2     code validity, seconds            } together with every
//	.       64    device signature r||s             } byte before them
const HolderVersion = 2

// Errors of holder codes.
var ErrCertificate = errors.New("codeformat: holder certificate invalid")

// Certificate is what the platform vouches for: this device key speaks for
// this subject under this rule until Expires.
type Certificate struct {
	Code                 // platform, rule, kind, subject, cert type, key id (of the platform key)
	Expires   time.Time  // certificate expiry
	DeviceKey *PublicKey // the device's SM2 key
}

// IssueCertificate lays out and signs a certificate; the result is handed to
// the device (base64 it for transport).
func IssueCertificate(c Certificate, sign Signer) ([]byte, error) {
	if c.DeviceKey == nil {
		return nil, ErrCertificate
	}
	b, err := c.certBytes()
	if err != nil {
		return nil, err
	}
	raw, err := signRaw(sign, b)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

func (c *Certificate) certBytes() ([]byte, error) {
	if len(c.PlatformID) == 0 || len(c.PlatformID) > MaxIDLen || len(c.RuleID) == 0 || len(c.RuleID) > MaxIDLen || c.CertType > 15 {
		return nil, errors.New("codeformat: certificate field out of range")
	}
	flags := byte(c.CertType) << 4
	if c.Offline {
		flags |= 1
	}
	b := []byte{HolderVersion, flags}
	b = append(append(b, byte(len(c.PlatformID))), c.PlatformID...)
	b = append(append(b, byte(len(c.RuleID))), c.RuleID...)
	b = binary.BigEndian.AppendUint16(b, uint16(c.RuleVersion))
	b = append(b, byte(c.Kind))
	b = append(b, c.Subject[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(c.Expires.Unix()))
	b = append(b, elliptic.MarshalCompressed(sm2.P256(), c.DeviceKey.k.X, c.DeviceKey.k.Y)...)
	b = binary.BigEndian.AppendUint32(b, c.KeyID)
	return b, nil
}

// HolderCode makes a code from a certificate (as IssueCertificate returned
// it) at time at, valid for validity, signed with the device key.
func HolderCode(cert []byte, at time.Time, validity time.Duration, sign Signer) (string, error) {
	if validity <= 0 || validity > 0xffff*time.Second {
		return "", errors.New("codeformat: validity out of range")
	}
	b := append([]byte{}, cert...)
	b = binary.BigEndian.AppendUint32(b, uint32(at.Unix()))
	b = binary.BigEndian.AppendUint16(b, uint16(validity/time.Second))
	raw, err := signRaw(sign, b)
	if err != nil {
		return "", err
	}
	return string(append(b, raw...)), nil
}

// HolderParsed is a holder code read from its bytes, not yet verified.
type HolderParsed struct {
	Certificate
	CertSigned    []byte // bytes the platform signed
	CertSignature []byte
	CodeSigned    []byte // bytes the device signed
	CodeSignature []byte
	// Code.IssuedAt and Code.Validity are the code's own time and validity.
}

// ParseHolder reads a holder-signed code.
func ParseHolder(text string) (*HolderParsed, error) {
	raw := []byte(text)
	if len(raw) < 2 || raw[0] != HolderVersion {
		return nil, ErrVersion
	}
	r := reader{b: raw}
	p := &HolderParsed{}
	r.byte()
	flags := r.byte()
	if flags&0x0e != 0 {
		return nil, ErrMalformed
	}
	p.Offline, p.CertType = flags&1 == 1, CertType(flags>>4)
	p.PlatformID = r.str(MaxIDLen)
	p.RuleID = r.str(MaxIDLen)
	p.RuleVersion = int(r.u16())
	p.Kind = Kind(r.byte())
	copy(p.Subject[:], r.take(SubjectSize))
	p.Expires = time.Unix(int64(r.u32()), 0)
	point := r.take(33)
	p.KeyID = r.u32()
	certLen := len(raw) - len(r.b)
	p.CertSignature = r.take(SignatureSize)
	p.IssuedAt = time.Unix(int64(r.u32()), 0)
	p.Validity = time.Duration(r.u16()) * time.Second
	codeLen := len(raw) - len(r.b)
	p.CodeSignature = r.take(SignatureSize)
	if r.bad || len(r.b) != 0 || p.PlatformID == "" || p.RuleID == "" || p.Kind < Person || p.Kind > Virtual {
		return nil, ErrMalformed
	}
	x, y := elliptic.UnmarshalCompressed(sm2.P256(), point)
	if x == nil {
		return nil, ErrMalformed
	}
	p.DeviceKey = &PublicKey{k: &ecdsa.PublicKey{Curve: sm2.P256(), X: x, Y: y}}
	p.CertSigned, p.CodeSigned = raw[:certLen], raw[:codeLen]
	return p, nil
}

// Verify checks the platform's signature on the certificate, the device's
// on the code, and that the certificate covered the code's time.
func (p *HolderParsed) Verify(platform *PublicKey) bool {
	if platform == nil || p.IssuedAt.After(p.Expires) {
		return false
	}
	return verifyRaw(platform, p.CertSigned, p.CertSignature) && verifyRaw(p.DeviceKey, p.CodeSigned, p.CodeSignature)
}

func verifyRaw(pub *PublicKey, msg, sig []byte) bool {
	der, err := RawToDER(sig)
	if err != nil {
		return false
	}
	return sm2.VerifyASN1WithSM2(pub.k, nil, msg, der)
}

// IsHolder reports whether text is a holder-signed code (by its version).
func IsHolder(text string) bool { return len(text) > 0 && text[0] == HolderVersion }
