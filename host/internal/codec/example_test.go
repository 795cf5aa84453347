package codec_test

import (
	"fmt"

	"github.com/opencitycode/citycode/host/internal/codec"
)

// A Sealer keeps secrets encrypted at rest under the master key. The purpose
// is part of the authenticated data: a value sealed as an app secret does not
// open as anything else.
func ExampleSealer() {
	master, _ := codec.ParseMasterKey("00112233445566778899aabbccddeeff") // from configuration
	s, _ := codec.NewSealer(master)

	stored, _ := s.Seal([]byte("my app secret"), "app.secret")
	plain, err := s.Open(stored, "app.secret")
	fmt.Println(string(plain), err)

	_, err = s.Open(stored, "person.mobile")
	fmt.Println(err)
	// Output:
	// my app secret <nil>
	// codec: message authentication failed
}

// A blind index finds a row by an encrypted field without decrypting every
// row: store the index next to the sealed value and query by it.
func ExampleSealer_BlindIndex() {
	master, _ := codec.ParseMasterKey("00112233445566778899aabbccddeeff")
	s, _ := codec.NewSealer(master)
	a := s.BlindIndex("13800138000", "person.mobile")
	b := s.BlindIndex("13800138000", "person.mobile")
	fmt.Println(a == b, len(a))
	// Output: true 64
}

// SM4-GCM with a key built once and used for many messages.
func ExampleAEAD() {
	key := codec.Random(16)
	aead, _ := codec.NewAEAD(key)
	sealed := aead.Seal([]byte(`{"codeId":"42"}`), nil)
	plain, err := aead.Open(sealed, nil)
	fmt.Println(string(plain), err, len(sealed)-len(plain))
	// Output: {"codeId":"42"} <nil> 28
}

// Keys are generated as PEM; keys pasted by apps may be PEM, base64, hex DER
// or a hex point.
func ExampleSM2Sign() {
	privPEM, pubPEM, _ := codec.GenerateSM2Key()
	priv, _ := codec.ParseSM2PrivateKey(privPEM)
	pub, _ := codec.ParseSM2PublicKey(pubPEM)

	sig, _ := codec.SM2Sign(priv, []byte("hello"))
	fmt.Println(codec.SM2Verify(pub, []byte("hello"), sig))
	fmt.Println(codec.SM2Verify(pub, []byte("hellO"), sig))
	// Output:
	// true
	// false
}

func ExampleVerifyHMACSM3Hex() {
	key := []byte("app secret")
	sig := fmt.Sprintf("%x", codec.HMACSM3(key, []byte("string to sign")))
	fmt.Println(codec.VerifyHMACSM3Hex(key, []byte("string to sign"), sig))
	// Output: true
}
