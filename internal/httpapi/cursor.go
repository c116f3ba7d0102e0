package httpapi

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// EncodeCursor is the opaque position after an item of a list ordered
// by (time in ms, id): what every keyset-paged list hands back as
// nextCursor.
func EncodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + id))
}

// DecodeCursor reads a cursor EncodeCursor made; anything else is the
// public "not a cursor" error.
func DecodeCursor(c string) (at int64, id string, err error) {
	bad := InvalidField("cursor", "is not a cursor this API returned")
	b, derr := base64.RawURLEncoding.DecodeString(c)
	if derr != nil {
		return 0, "", bad
	}
	a, id, ok := strings.Cut(string(b), ":")
	n, perr := strconv.ParseInt(a, 10, 64)
	if !ok || perr != nil || id == "" {
		return 0, "", bad
	}
	return n, id, nil
}
