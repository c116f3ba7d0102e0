package realtime

import (
	"errors"
	"net/http"

	"github.com/quikapp/quikapp/internal/platform"
)

// refuse answers a request that cannot become a stream in the API's
// error shape, so clients handle it like any other API error.
func refuse(w http.ResponseWriter, r *http.Request, status int, message string) {
	code := map[int]string{
		http.StatusBadRequest:         "VALIDATION_ERROR",
		http.StatusUnauthorized:       "UNAUTHENTICATED",
		http.StatusForbidden:          "FORBIDDEN",
		http.StatusMethodNotAllowed:   "METHOD_NOT_ALLOWED",
		http.StatusUpgradeRequired:    "UPGRADE_REQUIRED",
		http.StatusServiceUnavailable: "UNAVAILABLE",
	}[status]
	if code == "" {
		code = "INTERNAL"
	}
	platform.WriteError(w, r, status, code, message)
}

// subscribeStatus is the answer for a failed subscribe.
func subscribeStatus(err error) (int, string) {
	if errors.Is(err, ErrForbidden) {
		return http.StatusForbidden, "you may not follow this topic"
	}
	return http.StatusInternalServerError, "could not subscribe; try again"
}
