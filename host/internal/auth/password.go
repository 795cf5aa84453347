package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Passwords are hashed with argon2id and stored as PHC strings:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// Why argon2id: it is memory-hard, so each guess costs an attacker who stole
// the table as much memory as it costs us, which erases most of the
// advantage of GPUs and ASICs; the defaults are OWASP's minimum. PBKDF2 with
// HMAC-SM3 was considered because a commercial-cryptography assessment (密评)
// prefers national algorithms; it was not chosen because PBKDF2 is not
// memory-hard (at equal server cost a GPU rig tests orders of magnitude more
// guesses), and a stolen credential table is the threat this hash exists
// for. The PHC form names its scheme, so a "$pbkdf2-sm3$" scheme can be
// added later as one more case in Verify; rehash-on-login then migrates
// accounts without a reset.
//
// The parameters live in every hash, so raising them later only changes new
// hashes; old ones still verify and are upgraded at the next login.

// PasswordParams are the argon2id cost parameters for new hashes.
type PasswordParams struct {
	Memory  uint32 // KiB; default 19456 (19 MiB)
	Time    uint32 // passes; default 2
	Threads uint8  // lanes; default 1
}

const (
	// The defaults are OWASP's minimum recommendation for argon2id.
	defaultMemory  = 19456
	defaultTime    = 2
	defaultThreads = 1

	saltLen = 16
	keyLen  = 32
	// Upper bounds for parameters read from stored hashes, so a corrupt or
	// planted row cannot make a login allocate gigabytes.
	maxMemory  = 1 << 21 // 2 GiB
	maxTime    = 64
	minPassLen = 8
	maxPassLen = 128
)

func (p PasswordParams) withDefaults() PasswordParams {
	if p.Memory == 0 {
		p.Memory = defaultMemory
	}
	if p.Time == 0 {
		p.Time = defaultTime
	}
	if p.Threads == 0 {
		p.Threads = defaultThreads
	}
	return p
}

var b64 = base64.RawStdEncoding

// Hash returns the PHC string of password under p with a fresh random salt.
func (p PasswordParams) Hash(password string) string {
	p = p.withDefaults()
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // never fails; see crypto/rand.Read
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password matches the PHC string encoded, comparing
// in constant time, and whether the hash was made with parameters other than
// p (then the caller should store p.Hash(password) after a successful
// login). A malformed hash is an error, never a match.
func (p PasswordParams) Verify(encoded, password string) (ok, rehash bool, err error) {
	p = p.withDefaults()
	hp, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, hp.Time, hp.Memory, hp.Threads, uint32(len(want)))
	ok = subtle.ConstantTimeCompare(got, want) == 1
	return ok, ok && hp != p, nil
}

func parsePHC(s string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrHashFormat
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrHashFormat
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, ErrHashFormat
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, ErrHashFormat
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, ErrHashFormat
		}
	}
	if p.Time == 0 || p.Time > maxTime || p.Threads == 0 || p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory {
		return p, nil, nil, ErrHashFormat
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, ErrHashFormat
	}
	return p, salt, key, nil
}

// CheckPasswordPolicy enforces the console's password rules on another
// kind of account (the open platform's developers), naming param in the
// error: one policy for every password the host keeps.
func CheckPasswordPolicy(param, pw string) error { return checkPasswordPolicy(param, pw) }

// checkPasswordPolicy enforces the password rules: 8 to 128 characters with
// at least one letter and one digit.
func checkPasswordPolicy(param, pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < minPassLen || n > maxPassLen || !utf8.ValidString(pw) {
		return fault.Invalidf("parameter %q must be %d to %d characters long", param, minPassLen, maxPassLen)
	}
	var letter, digit bool
	for _, r := range pw {
		switch {
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsControl(r):
			return fault.Invalidf("parameter %q must not contain control characters", param)
		}
	}
	if !letter || !digit {
		return fault.Invalidf("parameter %q must contain both letters and digits", param)
	}
	return nil
}

// Alphabet of generated passwords: no look-alikes (0/O, 1/l/I), so an
// administrator can read one aloud.
const otpAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// oneTimePassword returns a random 16-character password that satisfies the
// password policy.
func oneTimePassword() string {
	for {
		b := make([]byte, 0, 16)
		var buf [1]byte
		for len(b) < 16 {
			_, _ = rand.Read(buf[:])
			// Rejection sampling keeps every character equally likely.
			if int(buf[0]) < 256-256%len(otpAlphabet) {
				b = append(b, otpAlphabet[int(buf[0])%len(otpAlphabet)])
			}
		}
		if checkPasswordPolicy("password", string(b)) == nil {
			return string(b)
		}
	}
}
