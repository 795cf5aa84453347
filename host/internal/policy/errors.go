package policy

import (
	"errors"
	"strings"
)

var (
	// ErrBundleRejected is matched (errors.Is) by every refusal of a bundle:
	// a module fails to parse or compile, a *_test.rego test fails or errors,
	// a rule the host relies on is missing, or an uploaded file name is not a
	// relative path to a .rego file. The error is a *BundleError listing why.
	ErrBundleRejected = errors.New("policy: bundle rejected")
	// ErrUnknownQuery is returned by Eval for a query that is not the path of
	// a package or rule of the loaded bundle.
	ErrUnknownQuery = errors.New("policy: query not in the loaded bundle")
	// ErrUndefined is returned when a query has no result for the input.
	ErrUndefined = errors.New("policy: undefined result")
	// ErrMalformed is returned when a decision does not have the shape the
	// host expects (e.g. "allow" is not a boolean); the caller must deny.
	ErrMalformed = errors.New("policy: malformed decision")
)

// BundleError is a refused bundle and the problems found in it, one per
// failing file, compile error or test, each naming the file it concerns.
type BundleError struct {
	Problems []string
}

func (e *BundleError) Error() string {
	return ErrBundleRejected.Error() + ": " + strings.Join(e.Problems, "; ")
}

// Is makes errors.Is(err, ErrBundleRejected) hold.
func (e *BundleError) Is(target error) bool { return target == ErrBundleRejected }
