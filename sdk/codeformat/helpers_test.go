package codeformat_test

import b32 "encoding/base32"

func base32(b []byte) string { return b32.StdEncoding.EncodeToString(b) }
