package auth

import (
	"strings"
	"testing"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	t.Parallel()
	p := testParams
	h := p.Hash("s3cret-Passw0rd")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	if h2 := p.Hash("s3cret-Passw0rd"); h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"right", "s3cret-Passw0rd", true},
		{"wrong", "s3cret-Passw0rD", false},
		{"empty", "", false},
		{"prefix", "s3cret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := p.Verify(h, tc.pw)
			if err != nil || ok != tc.ok || rehash {
				t.Fatalf("Verify = %v, %v, %v; want %v, false, nil", ok, rehash, err, tc.ok)
			}
		})
	}
}

func TestPasswordParameterUpgrade(t *testing.T) {
	t.Parallel()
	old := PasswordParams{Memory: 32, Time: 1, Threads: 1}
	raised := PasswordParams{Memory: 128, Time: 2, Threads: 2}
	h := old.Hash("Passw0rd!")
	ok, rehash, err := raised.Verify(h, "Passw0rd!")
	if err != nil || !ok || !rehash {
		t.Fatalf("old hash under raised params: %v %v %v; want ok and rehash", ok, rehash, err)
	}
	if ok, rehash, _ := raised.Verify(h, "wrong1234"); ok || rehash {
		t.Fatal("a wrong password must neither match nor ask for a rehash")
	}
	nh := raised.Hash("Passw0rd!")
	if !strings.Contains(nh, "m=128,t=2,p=2") {
		t.Fatalf("new hash does not carry the raised parameters: %s", nh)
	}
	if ok, rehash, _ := raised.Verify(nh, "Passw0rd!"); !ok || rehash {
		t.Fatal("a hash with the current parameters needs no rehash")
	}
	// The defaults apply to a zero PasswordParams.
	if !strings.Contains(PasswordParams{}.Hash("x"), "m=19456,t=2,p=1") {
		t.Fatal("zero params must mean the OWASP defaults")
	}
}

func TestPasswordHashMalformed(t *testing.T) {
	t.Parallel()
	good := testParams.Hash("Passw0rd")
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":        "",
		"bcrypt":       "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":      strings.Replace(good, "argon2id", "argon2i", 1),
		"version":      strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":  strings.Join([]string{"", "argon2id", "v=19", "m=99999999,t=1,p=1", parts[4], parts[5]}, "$"),
		"zero time":    strings.Join([]string{"", "argon2id", "v=19", "m=64,t=0,p=1", parts[4], parts[5]}, "$"),
		"unknown key":  strings.Join([]string{"", "argon2id", "v=19", "m=64,t=1,x=1", parts[4], parts[5]}, "$"),
		"bad salt":     strings.Join([]string{"", "argon2id", "v=19", "m=64,t=1,p=1", "!!", parts[5]}, "$"),
		"short hash":   strings.Join([]string{"", "argon2id", "v=19", "m=64,t=1,p=1", parts[4], "AAAA"}, "$"),
		"extra fields": good + "$x",
	} {
		t.Run(name, func(t *testing.T) {
			if ok, _, err := testParams.Verify(h, "Passw0rd"); ok || err == nil {
				t.Fatalf("malformed hash %q: ok=%v err=%v", h, ok, err)
			}
		})
	}
}

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"abcd1234", true},
		{"密码很长很长很长1", true},
		{"abc123", false},                       // too short
		{"abcdefgh", false},                     // no digit
		{"12345678", false},                     // no letter
		{strings.Repeat("a1", 64), true},        // 128
		{strings.Repeat("a1", 64) + "b", false}, // 129
		{"abcd1234\x00", false},
		{"abcd\xff1234", false},
	} {
		t.Run(tc.pw, func(t *testing.T) {
			err := checkPasswordPolicy("password", tc.pw)
			if (err == nil) != tc.ok {
				t.Fatalf("policy(%q) = %v, want ok=%v", tc.pw, err, tc.ok)
			}
		})
	}
	for range 50 {
		pw := oneTimePassword()
		if len(pw) != 16 || checkPasswordPolicy("password", pw) != nil || strings.ContainsAny(pw, "0O1lI") {
			t.Fatalf("bad one-time password %q", pw)
		}
	}
}

func TestMaskMobile(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"13812345678":    "138****5678",
		"+8613812345678": "+86*******5678",
		"0215551234":     "02******34",
	} {
		if got := maskMobile(in); got != want {
			t.Errorf("maskMobile(%s) = %s, want %s", in, got, want)
		}
	}
}
