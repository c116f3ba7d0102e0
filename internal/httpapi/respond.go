package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/quikapp/quikapp/internal/platform"
)

// Respond writes v as JSON with status.
func Respond(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// List is the shape of every list answer.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// Fail answers with err: an *Error as itself, a cancelled request quietly,
// anything else as a logged 500 that says nothing about the cause.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if e, ok := As(err); ok {
		for k, vs := range e.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if e.Status >= 500 && log != nil {
			log.ErrorContext(r.Context(), "request_failed", "route", r.Pattern, "error", err)
		}
		if len(e.Extra) > 0 {
			body := map[string]any{"error": platform.ErrorDetail{Code: e.Code, Message: e.Message, Details: e.Details,
				RequestID: platform.RequestID(r.Context())}}
			for k, v := range e.Extra {
				if k != "error" {
					body[k] = v
				}
			}
			Respond(w, e.Status, body)
			return
		}
		platform.WriteError(w, r, e.Status, e.Code, e.Message, e.Details...)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	if log != nil {
		log.ErrorContext(r.Context(), "request_failed", "route", r.Pattern, "error", err)
	}
	platform.WriteError(w, r, http.StatusInternalServerError, CodeInternal, "something went wrong on our side; try again")
}

// HandlerFunc handles a request and returns the status and value to send,
// or an error.
type HandlerFunc func(r *http.Request) (int, any, error)

// Handle adapts fn to an http.Handler.
func Handle(log *slog.Logger, fn HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, v, err := fn(r)
		if err != nil {
			Fail(w, r, log, err)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		Respond(w, status, v)
	})
}

// Limit reads the limit query parameter: def when absent, an error when it
// is not a number from 1 to max.
func Limit(r *http.Request, def, max int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, InvalidField("limit", "must be a number from 1 to "+strconv.Itoa(max))
	}
	return n, nil
}

// Client describes who sent a request, for audit records.
type Client struct {
	IP        string
	UserAgent string
	RequestID string
}

type clientKey struct{}

// WithClient stores c in ctx.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the Client stored in ctx (zero if none).
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}
