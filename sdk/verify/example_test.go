package verify_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/opencitycode/citycode/sdk/codeformat"
	"github.com/opencitycode/citycode/sdk/verify"
)

// A scanner keeps the answer of GET /api/keys and verifies scanned codes
// with no network. Here the platform's side (its key and one code) is made
// in place.
func ExampleKeySet_Verify() {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	priv, _ := sm2.GenerateKey(rand.Reader)
	scanned, _ := codeformat.Encode(codeformat.Code{Guide: "HTTPS://CC.EXAMPLE.CN/D/", PlatformID: "P0000", RuleID: "R0001",
		RuleVersion: 1, Family: codeformat.FamilyHealth, Kind: codeformat.KindPerson, Offline: true,
		IssuedAt: now, Validity: time.Minute, KeyID: 0x5eed0001},
		func(msg []byte) ([]byte, error) {
			return sm2.SignASN1(rand.Reader, priv, msg, sm2.DefaultSM2SignerOpts)
		})
	body, _ := json.Marshal(map[string]any{"keys": []verify.Key{{KeyID: 0x5eed0001, PlatformID: "P0000", Algorithm: "SM2",
		PublicKey: codeformat.NewPublicKey(&priv.PublicKey).Hex(), Status: "active", NotBefore: now.Add(-time.Hour)}}})

	ks, err := verify.NewKeySet(body) // once a day
	if err != nil {
		panic(err)
	}
	for _, at := range []time.Time{now.Add(10 * time.Second), now.Add(2 * time.Minute)} {
		res, err := ks.Verify(scanned, at)
		if err != nil {
			fmt.Println("refuse:", err)
			continue
		}
		fmt.Printf("rule %s v%d of %s, expired %v\n", res.RuleID, res.RuleVersion, res.PlatformID, res.Expired)
	}
	_, err = ks.Verify(scanned[:len(scanned)-8], now) // a damaged code
	fmt.Println(err != nil)
	// Output:
	// rule R0001 v1 of P0000, expired false
	// rule R0001 v1 of P0000, expired true
	// true
}
