package codec

import "errors"

// Errors returned by codec. They say what kind of input failed and never
// carry key material.
var (
	// ErrKeySize: an SM4 key or master key is not 16 bytes.
	ErrKeySize = errors.New("codec: key must be 16 bytes")
	// ErrOpen: a sealed message failed authentication — tampered, sealed under
	// another key, or (for a Sealer) for another purpose.
	ErrOpen = errors.New("codec: message authentication failed")
	// ErrMalformed: the input is not in the expected encoding at all.
	ErrMalformed = errors.New("codec: malformed input")
	// ErrPurpose: Sealer.Seal was given an empty purpose.
	ErrPurpose = errors.New("codec: seal purpose must not be empty")
	// ErrKey: the text is not an SM2 key in any accepted form.
	ErrKey = errors.New("codec: not an SM2 key")
)
