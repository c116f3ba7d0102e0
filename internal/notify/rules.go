package notify

import "github.com/google/uuid"

// CanonicalID accepts only the 36-character hyphenated UUID form, in
// either case, and returns it in lower case: the form every store keeps,
// so matching is the same on memory, SQLite text and PostgreSQL uuid
// (which alone would also accept braces or missing hyphens).
func CanonicalID(id string) (string, bool) {
	if len(id) != 36 {
		return "", false
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// KnownStatus reports whether s is one of the five row statuses.
func KnownStatus(s string) bool {
	switch s {
	case StatusPending, StatusDelivered, StatusAcked, StatusRead, StatusFailed:
		return true
	}
	return false
}

// ClampLimit applies the inbox page rule (≤ 0 → 20, > 100 → 100); stores
// apply it too, in case a caller did not.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// Short bounds a provider's error text kept in logs and the delivery log.
func Short(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
