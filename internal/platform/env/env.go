// Package env reads configuration from environment variables.
//
// A Reader collects every problem instead of stopping at the first, so a
// process that is misconfigured in three ways says so once, naming each
// variable and what it accepts. Each accessor returns the default when the
// variable is unset or empty; a set but invalid value is recorded as an error
// and the default is returned so parsing can go on.
package env

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LookupFunc finds a variable, as os.LookupEnv does.
type LookupFunc func(name string) (string, bool)

// Reader reads typed values and remembers every invalid one.
type Reader struct {
	lookup LookupFunc
	errs   []error
}

// New returns a Reader over lookup; a nil lookup reads the process environment.
func New(lookup LookupFunc) *Reader {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &Reader{lookup: lookup}
}

// FromMap returns a LookupFunc over a fixed set of variables (for tests and
// for reading a Kubernetes manifest's environment).
func FromMap(m map[string]string) LookupFunc {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// Error describes one invalid variable.
type Error struct {
	Name   string
	Value  string // empty when the value must not be echoed (secrets)
	Reason string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Name, e.Reason)
	}
	return fmt.Sprintf("%s=%q: %s", e.Name, e.Value, e.Reason)
}

// Fail records a problem with a variable found by the caller (for example a
// cross-field rule). The value is not echoed.
func (r *Reader) Fail(name, reason string) {
	r.errs = append(r.errs, &Error{Name: name, Reason: reason})
}

func (r *Reader) bad(name, value, reason string) {
	if len(value) > 64 {
		value = value[:64] + "…"
	}
	r.errs = append(r.errs, &Error{Name: name, Value: value, Reason: reason})
}

// Err returns every recorded problem joined, or nil.
func (r *Reader) Err() error {
	return errors.Join(r.errs...)
}

// Raw returns the trimmed value and whether it is set and non-empty.
func (r *Reader) Raw(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// String returns the trimmed value or def.
func (r *Reader) String(name, def string) string {
	if v, ok := r.Raw(name); ok {
		return v
	}
	return def
}

// Secret returns the value untrimmed of inner content but with surrounding
// whitespace removed; errors about it never echo the value.
func (r *Reader) Secret(name string) string {
	v, _ := r.Raw(name)
	return v
}

// FirstSecret returns the first of names that is set (a fallback chain).
func (r *Reader) FirstSecret(names ...string) string {
	for _, n := range names {
		if v, ok := r.Raw(n); ok {
			return v
		}
	}
	return ""
}

// Bool parses like strconv.ParseBool.
func (r *Reader) Bool(name string, def bool) bool {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.bad(name, v, "must be a boolean (true, false, 1, 0, t, f)")
		return def
	}
	return b
}

// Int parses a base-10 integer within [min, max].
func (r *Reader) Int(name string, def, min, max int) int {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.bad(name, v, fmt.Sprintf("must be an integer from %d to %d", min, max))
		return def
	}
	return n
}

// Port parses a TCP port (1..65535).
func (r *Reader) Port(name string, def int) int {
	return r.Int(name, def, 1, 65535)
}

// Duration parses Go duration syntax ("30s", "1m30s") and requires at least min.
func (r *Reader) Duration(name string, def, min time.Duration) time.Duration {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.bad(name, v, "must be a duration such as 500ms, 30s or 5m")
		return def
	}
	if d < min {
		r.bad(name, v, fmt.Sprintf("must be at least %s", min))
		return def
	}
	return d
}

// PositiveDuration parses a duration that must be > 0.
func (r *Reader) PositiveDuration(name string, def time.Duration) time.Duration {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.bad(name, v, "must be a positive duration such as 500ms, 30s or 5m")
		return def
	}
	return d
}

// Enum returns the lower-cased value, which must be one of allowed
// (compared case-insensitively).
func (r *Reader) Enum(name, def string, allowed ...string) string {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	lv := strings.ToLower(v)
	if !slices.Contains(allowed, lv) {
		r.bad(name, v, "must be one of "+strings.Join(allowed, ", "))
		return def
	}
	return lv
}

// List splits a comma-separated value, trimming entries and dropping empty ones.
func (r *Reader) List(name string) []string {
	v, ok := r.Raw(name)
	if !ok {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// URL parses an absolute URL whose scheme is one of schemes. The value is not
// echoed in errors because URLs often carry passwords.
func (r *Reader) URL(name string, schemes ...string) *url.URL {
	v, ok := r.Raw(name)
	if !ok {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" {
		r.Fail(name, "must be an absolute URL ("+strings.Join(schemes, ", ")+")")
		return nil
	}
	if len(schemes) > 0 && !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		r.Fail(name, "scheme must be one of "+strings.Join(schemes, ", "))
		return nil
	}
	return u
}
