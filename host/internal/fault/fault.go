// Package fault is the error vocabulary shared by every service of the host.
//
// A service returns a *fault.Error when the caller did something the product
// refuses (bad input, no permission, a conflict); anything else is an internal
// error. Each Error carries a Kind, which httpapi alone maps to an HTTP status,
// and a stable dotted Code (the API error code clients program against), plus
// a Message for people. Internal details never travel in Message.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error for transport mapping.
type Kind uint8

// The kinds. The zero Kind is Internal so that an unclassified error is never
// mistaken for a client mistake.
const (
	Internal        Kind = iota // 500: a bug or an unavailable dependency
	Invalid                     // 400: the request is malformed or breaks a rule
	Unauthenticated             // 401: who is calling is unknown or unproven
	Denied                      // 403: the caller may not do this
	NotFound                    // 404: the thing does not exist (in the caller's view)
	Conflict                    // 409: the thing's current state forbids it
	Limited                     // 429: a rate limit or quota is exhausted
	Unavailable                 // 503: a dependency is down; try again
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unauthenticated:
		return "unauthenticated"
	case Denied:
		return "denied"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case Limited:
		return "limited"
	case Unavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// Stable API error codes. Every code the API can answer is listed here so the
// OpenAPI document can enumerate them; add new ones here, never inline.
const (
	CodeInvalidParameter       = "InvalidParameter"
	CodeMissingParameter       = "MissingParameter"
	CodeAuthFailure            = "AuthFailure"
	CodeSignatureFailure       = "AuthFailure.SignatureFailure"
	CodeSignatureExpire        = "AuthFailure.SignatureExpire"
	CodeNonceUsed              = "AuthFailure.NonceUsed"
	CodeAppNotFound            = "AuthFailure.AppNotFound"
	CodeAppDisabled            = "AuthFailure.AppDisabled"
	CodeInvalidCredential      = "AuthFailure.InvalidCredential"
	CodeCaptchaFailure         = "AuthFailure.CaptchaFailure"
	CodeAccountLocked          = "AuthFailure.AccountLocked"
	CodeAccountDisabled        = "AuthFailure.AccountDisabled"
	CodeSessionExpired         = "AuthFailure.SessionExpired"
	CodePasswordChangeRequired = "AuthFailure.PasswordChangeRequired"
	CodeUnauthorizedOperation  = "UnauthorizedOperation"
	CodeBlacklisted            = "UnauthorizedOperation.Blacklisted"
	CodeRiskIntercepted        = "UnauthorizedOperation.RiskIntercepted"
	CodeSceneSwitchedOff       = "UnauthorizedOperation.SceneSwitchedOff"
	CodeSceneDisabled          = "UnauthorizedOperation.SceneDisabled"
	CodeCounterpartDisabled    = "UnauthorizedOperation.CounterpartDisabled"
	CodeResourceNotFound       = "ResourceNotFound"
	CodeForeignCode            = "ResourceNotFound.ForeignCode"
	CodeResourceInUse          = "ResourceInUse"
	CodeResourceAlreadyExists  = "ResourceAlreadyExists"
	CodeFailedOperation        = "FailedOperation"
	CodeDecryptFailure         = "FailedOperation.DecryptFailure"
	CodePolicyRejected         = "FailedOperation.PolicyRejected"
	CodeCodeTampered           = "FailedOperation.CodeTampered"
	CodeCodeRevoked            = "FailedOperation.CodeRevoked"
	CodeCodeNotActive          = "FailedOperation.CodeNotActive"
	CodeCodeExpired            = "FailedOperation.CodeExpired"
	CodeRateLimit              = "LimitExceeded.RateLimit"
	CodeQuota                  = "LimitExceeded.Quota"
	CodeRequestTooLarge        = "LimitExceeded.RequestTooLarge"
	CodeUnsupportedOperation   = "UnsupportedOperation"
	CodeServiceUnavailable     = "ServiceUnavailable"
	CodeInternalError          = "InternalError"
)

// Codes lists every stable code with the kind it is answered with and what it
// means; the API documentation is generated from it.
var Codes = []struct {
	Code    string
	Kind    Kind
	Meaning string
}{
	{CodeInvalidParameter, Invalid, "a parameter is malformed, of the wrong type or out of range"},
	{CodeMissingParameter, Invalid, "a required parameter is absent"},
	{CodeAuthFailure, Unauthenticated, "the request is not authenticated"},
	{CodeSignatureFailure, Unauthenticated, "the request signature does not verify"},
	{CodeSignatureExpire, Unauthenticated, "the request timestamp is more than 300 s from server time"},
	{CodeNonceUsed, Unauthenticated, "the nonce was already used by this app in the last 600 s"},
	{CodeAppNotFound, Unauthenticated, "no app has this cityCodeAppId"},
	{CodeAppDisabled, Denied, "the app is disabled"},
	{CodeInvalidCredential, Unauthenticated, "account or password is wrong"},
	{CodeCaptchaFailure, Unauthenticated, "the image captcha is wrong or expired"},
	{CodeAccountLocked, Denied, "too many failed logins; the account is locked for a while"},
	{CodeAccountDisabled, Denied, "the account is disabled"},
	{CodeSessionExpired, Unauthenticated, "the console session is missing or expired"},
	{CodePasswordChangeRequired, Denied, "the one-time password must be changed first"},
	{CodeUnauthorizedOperation, Denied, "the caller may not perform this operation on this resource"},
	{CodeBlacklisted, Denied, "the caller's IP address or access account is on a blacklist (黑名单)"},
	{CodeRiskIntercepted, Denied, "risk control intercepted the call: an indicator (per IP, user, organization or code) is over its threshold (风控拦截)"},
	{CodeSceneSwitchedOff, Denied, "the code's holder switched off the scene of the accepting organization (场景开关)"},
	{CodeSceneDisabled, Denied, "the scene of the accepting organization is stopped: disabled in an emergency, or its counterpart (场景对接方) is disabled"},
	{CodeCounterpartDisabled, Denied, "the calling app belongs to a disabled scene counterpart (场景对接方)"},
	{CodeResourceNotFound, NotFound, "the resource does not exist"},
	{CodeForeignCode, NotFound, "the scanned content is not a registered business code (互联互通业务码)"},
	{CodeResourceInUse, Conflict, "the resource is in use and cannot be changed this way"},
	{CodeResourceAlreadyExists, Conflict, "a resource with this identity already exists"},
	{CodeFailedOperation, Conflict, "the operation is not allowed in the resource's current state"},
	{CodeDecryptFailure, Invalid, "the encrypted body could not be decrypted"},
	{CodePolicyRejected, Invalid, "the policy bundle failed to compile or failed its tests"},
	{CodeCodeTampered, Invalid, "the code is not one this platform issued: malformed, altered or signed with a foreign key"},
	{CodeCodeRevoked, Conflict, "the code was revoked (its holder's codes were withdrawn, or the object code cancelled)"},
	{CodeCodeNotActive, Conflict, "the code's rule or rule version is disabled, or the object code is not yet activated"},
	{CodeCodeExpired, Conflict, "the dynamic code is past its validity: show a fresh one (personal-code decode answers expire=true instead, as the manual specifies)"},
	{CodeRateLimit, Limited, "too many requests; retry after the given time"},
	{CodeQuota, Limited, "the quota for this capability is used up"},
	{CodeRequestTooLarge, Invalid, "the request body exceeds the size limit"},
	{CodeUnsupportedOperation, Invalid, "the operation or method is not supported"},
	{CodeServiceUnavailable, Unavailable, "a dependency is unavailable; try again"},
	{CodeInternalError, Internal, "an internal error; the request id identifies it in the logs"},
}

// Error is a classified error.
type Error struct {
	Kind    Kind
	Code    string // stable dotted API code
	Message string // for people; safe to show to the caller
	Err     error  // the cause, for logs only; never shown to callers
	// RetryAfter, on a 429, is when the caller may try again (the
	// Retry-After header); zero means one second.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error with a formatted message.
func E(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a cause to a new Error.
func Wrap(err error, kind Kind, code, msg string) *Error {
	return &Error{Kind: kind, Code: code, Message: msg, Err: err}
}

// Shorthands for the common cases.

func Invalidf(format string, args ...any) *Error {
	return E(Invalid, CodeInvalidParameter, format, args...)
}

func Missing(param string) *Error {
	return E(Invalid, CodeMissingParameter, "missing required parameter %q", param)
}

func NotFoundf(format string, args ...any) *Error {
	return E(NotFound, CodeResourceNotFound, format, args...)
}

func Deniedf(format string, args ...any) *Error {
	return E(Denied, CodeUnauthorizedOperation, format, args...)
}

func Conflictf(code, format string, args ...any) *Error {
	return E(Conflict, code, format, args...)
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var fe *Error
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}

// KindOf returns the Kind of err: Internal unless err wraps an *Error.
func KindOf(err error) Kind {
	if fe, ok := As(err); ok {
		return fe.Kind
	}
	return Internal
}

// CodeOf returns the API code of err: InternalError unless err wraps an *Error.
func CodeOf(err error) string {
	if fe, ok := As(err); ok {
		return fe.Code
	}
	return CodeInternalError
}
