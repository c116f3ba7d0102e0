package platform

import (
	"net/http"
)

// ErrorBody is the public API's error envelope (product.md, "Public API
// conventions").
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of the envelope.
type ErrorDetail struct {
	Code      string        `json:"code"`
	Message   string        `json:"message"`
	Details   []FieldDetail `json:"details,omitempty"`
	RequestID string        `json:"requestId,omitempty"`
}

// FieldDetail says what is wrong with one input field.
type FieldDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// WriteError answers with the error envelope, carrying the request id.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string, details ...FieldDetail) {
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{
		Code: code, Message: message, Details: details, RequestID: RequestID(r.Context()),
	}})
}
