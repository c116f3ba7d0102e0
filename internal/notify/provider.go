package notify

import (
	"context"
	"errors"
	"fmt"
)

// Message is one notification on its way out on one channel to one
// destination (a phone number, an email address, a push token, a
// PushSubscription JSON document).
type Message struct {
	ID             string // the inbox row's UUID
	TenantID       string
	UserID         string
	NotificationID string // the producer's id
	Channel        string
	Destination    string
	Title          string
	Body           string
	SubjectRef     string
	SubjectType    string
}

// Result is what a provider reports for a message it accepted.
type Result struct {
	// Status is the row status the provider reports; empty means delivered.
	Status string
	// ReceiptID is the provider's id for the message (Twilio sid, FCM
	// message name, APNs apns-id), when it gives one.
	ReceiptID string
}

// Sender delivers messages on one channel through one provider. Send
// validates the destination before any network call and returns an error
// built with the helpers below so the engine can tell a retryable failure
// from a final one.
type Sender interface {
	// Provider names the provider for metrics and the delivery log
	// ("twilio", "fcm", "vapid", "apns", "smtp", "in_app", ...).
	Provider() string
	Send(ctx context.Context, m Message) (Result, error)
}

// Error classes a provider can report; test them with errors.Is.
var (
	// ErrInvalidDestination: the destination is malformed (not retried,
	// no network call was made).
	ErrInvalidDestination = errors.New("invalid destination")
	// ErrDestinationGone: the provider says the token or subscription no
	// longer exists (FCM UNREGISTERED/404, web push 410, APNs 410). Not
	// retried; the device should be purged.
	ErrDestinationGone = errors.New("destination gone")
	// ErrRejected: the provider refused this message for good (4xx other
	// than rate limiting). Not retried.
	ErrRejected = errors.New("rejected by provider")
	// ErrTemporary: network failure, timeout, 429 or 5xx. Retried with
	// backoff.
	ErrTemporary = errors.New("temporary provider failure")
)

// SendError carries a provider failure's class, HTTP status (0 if none)
// and a short, secret-free message.
type SendError struct {
	Class      error // one of the Err… values above
	HTTPStatus int
	Msg        string
}

func (e *SendError) Error() string {
	if e.HTTPStatus != 0 {
		return fmt.Sprintf("%s: HTTP %d: %s", e.Class, e.HTTPStatus, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Class, e.Msg)
}

func (e *SendError) Is(target error) bool { return target == e.Class }

// Errorf returns a SendError of class with a formatted message.
func Errorf(class error, httpStatus int, format string, args ...any) error {
	return &SendError{Class: class, HTTPStatus: httpStatus, Msg: fmt.Sprintf(format, args...)}
}

// Retryable says whether err is worth another attempt: temporary failures
// and errors of no known class (for example a dropped connection wrapped
// by the provider) are; invalid destinations, gone tokens and rejections
// are not; nor is a cancelled or expired context.
func Retryable(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, ErrInvalidDestination), errors.Is(err, ErrDestinationGone), errors.Is(err, ErrRejected):
		return false
	}
	return true
}

// ClassifyHTTP maps a provider's HTTP status to an error class: 429 and
// 5xx are temporary, 404 and 410 gone only where the caller says so (the
// caller decides, since a 404 means "token gone" for FCM but not for
// Twilio), other 4xx rejected.
func ClassifyHTTP(status int) error {
	switch {
	case status == 429, status >= 500:
		return ErrTemporary
	case status >= 400:
		return ErrRejected
	}
	return nil
}
