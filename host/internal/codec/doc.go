// Package codec holds the host's national cryptography (SM2, SM3, SM4 from
// github.com/emmansun/gmsm) behind small functions, so no other host package
// imports gmsm: digests and HMAC-SM3, SM4-GCM sealing, SM2 keys, signatures
// and their encodings, and the master-key sealer that protects stored secrets.
package codec
