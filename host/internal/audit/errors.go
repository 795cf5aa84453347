package audit

import "errors"

// Errors returned by the package.
var (
	// ErrClosed is returned by Record after Close has begun.
	ErrClosed = errors.New("audit: logger closed")
	// ErrInvalidEntry means the caller built a malformed entry (unknown type
	// or result, no action, detail not a bounded JSON object). It is a bug of
	// the calling code, not of its client.
	ErrInvalidEntry = errors.New("audit: invalid entry")
	// ErrExportTooLarge is wrapped in the fault returned when a filter
	// matches more entries than one export may hold.
	ErrExportTooLarge = errors.New("audit: export too large")
)
