// Package httpapi is the public API's plumbing: one error shape, strict
// JSON decoding with size limits, responses and list pages. Handlers are
// written as functions that return a value or an error; Handle turns them
// into http.Handlers, so no handler writes an error body of its own.
package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/quikapp/quikapp/internal/platform"
)

// Codes of the public error contract (product.md, "Public API conventions").
const (
	CodeValidation         = "VALIDATION_ERROR"
	CodeUnauthenticated    = "UNAUTHENTICATED"
	CodeInvalidCredentials = "INVALID_CREDENTIALS"
	CodeTokenExpired       = "TOKEN_EXPIRED"
	CodeTwoFactorRequired  = "TWO_FACTOR_REQUIRED"
	CodeForbidden          = "FORBIDDEN"
	CodeUserBanned         = "USER_BANNED"
	CodeNotFound           = "NOT_FOUND"
	CodeConflict           = "CONFLICT"
	CodeRateLimited        = "RATE_LIMITED"
	CodePayloadTooLarge    = "PAYLOAD_TOO_LARGE"
	CodeAccountLocked      = "ACCOUNT_LOCKED"
	CodeUnsupportedMedia   = "UNSUPPORTED_MEDIA_TYPE"
	CodeInternal           = "INTERNAL"
)

// Error is an error with its HTTP status and public code. Message is shown
// to the user, so it never carries internal detail.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []platform.FieldDetail
	// Header is set on the response (e.g. Retry-After).
	Header http.Header
	// Extra are fields sent beside "error" in the envelope, for the few
	// errors that carry something the client needs next (the interim
	// token of TWO_FACTOR_REQUIRED).
	Extra map[string]any
	// cause is logged, never sent.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.cause }

// Wrap returns a copy of e that records cause for the log.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Constructors for the common cases.

func Invalid(message string, details ...platform.FieldDetail) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeValidation, Message: message, Details: details}
}

// InvalidField reports one bad field.
func InvalidField(field, message string) *Error {
	return Invalid("invalid "+field+": "+message, platform.FieldDetail{Field: field, Message: message})
}

func Unauthenticated(message string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: message}
}

func Forbidden(message string) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: message}
}

func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " not found"}
}

func Conflict(message string) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: message}
}

func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Problems collects field errors so a request gets every complaint at once.
type Problems []platform.FieldDetail

// Add records a problem with field.
func (p *Problems) Add(field, message string) {
	*p = append(*p, platform.FieldDetail{Field: field, Message: message})
}

// Err returns nil when there are no problems, else one VALIDATION_ERROR.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	msg := "invalid " + p[0].Field + ": " + p[0].Message
	if len(p) > 1 {
		msg = fmt.Sprintf("%s (and %d more)", msg, len(p)-1)
	}
	return Invalid(msg, p...)
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
