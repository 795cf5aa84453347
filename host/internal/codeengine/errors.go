package codeengine

import "errors"

// Causes of the *fault.Error values Resolve and Resolved.Inactive answer,
// for callers that answer each case in their own words (errors.Is).
var (
	// ErrNotBound: the app is not bound to the rule (UnauthorizedOperation).
	ErrNotBound = errors.New("codeengine: app is not bound to rule")
	// ErrNotPublished: the rule is still pending (FailedOperation.CodeNotActive).
	ErrNotPublished = errors.New("codeengine: rule is not published")
	// ErrRuleDisabled: the rule is disabled (FailedOperation.CodeNotActive).
	ErrRuleDisabled = errors.New("codeengine: rule is disabled")
	// ErrVersionDisabled: the rule version is disabled; codes issued under
	// it no longer verify (FailedOperation.CodeNotActive).
	ErrVersionDisabled = errors.New("codeengine: rule version is disabled")
	// ErrNoEnabledVersion: every version of the rule in force on its
	// platform is disabled (FailedOperation.CodeNotActive).
	ErrNoEnabledVersion = errors.New("codeengine: rule has no enabled version")
	// ErrNotPushed: the version of a sub-platform's rule was never pushed to
	// that platform, so no code of it can exist (FailedOperation.CodeNotActive).
	ErrNotPushed = errors.New("codeengine: rule version is not pushed to its platform")
)
