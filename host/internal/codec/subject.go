package codec

import (
	"crypto/rand"
	"encoding/binary"
)

// SubjectSize is the length of a sealed subject id.
const SubjectSize = 16

// SealSubject hides the internal id of a code's subject (a person, an
// enterprise) in the 16 bytes a code carries: one SM4 block over the id and
// 8 fresh random bytes, under a key derived from the master key. Every code
// of the same person therefore carries a different, unlinkable subject id —
// a scanner that logs codes learns nothing about who came back — while the
// host opens it without a database look-up. Integrity comes from the code's
// signature, not from this block.
func (s *Sealer) SealSubject(id uint64) [SubjectSize]byte {
	var in, out [SubjectSize]byte
	binary.BigEndian.PutUint64(in[:8], id)
	_, _ = rand.Read(in[8:])
	s.subject.Encrypt(out[:], in[:])
	return out
}

// OpenSubject returns the id sealed by SealSubject. Any 16 bytes open to
// some id: callers must have verified the code's signature first.
func (s *Sealer) OpenSubject(sealed [SubjectSize]byte) uint64 {
	var out [SubjectSize]byte
	s.subject.Decrypt(out[:], sealed[:])
	return binary.BigEndian.Uint64(out[:8])
}
