package notifyd

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Value checks for LoadConfig that do not involve key material. None of
// them returns the value it rejects, because several inspect secrets.

// validPostgresDSN accepts the two forms libpq accepts: a postgres:// or
// postgresql:// URL, or key=value pairs ("host=db dbname=notify"). It checks
// the shape only; the driver reports what it cannot use when it connects.
func validPostgresDSN(s string) bool {
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		_, err := url.Parse(s)
		return err == nil
	}
	if strings.Contains(s, "://") {
		return false
	}
	return validKeyValueDSN(s)
}

// validKeyValueDSN follows libpq's conninfo grammar: keywords of letters,
// digits and underscores; '=' with optional spaces around it; a value that
// is either unquoted (no spaces, backslash escapes) or single-quoted
// (backslash escapes, must be closed).
func validKeyValueDSN(s string) bool {
	i, pairs := 0, 0
	skip := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skip()
		if i == len(s) {
			return pairs > 0
		}
		start := i
		for i < len(s) && isKeywordByte(s[i]) {
			i++
		}
		if i == start {
			return false
		}
		skip()
		if i == len(s) || s[i] != '=' {
			return false
		}
		i++
		skip()
		if i < len(s) && s[i] == '\'' {
			i++
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(s) {
				return false // unterminated quote
			}
			i++
		} else {
			for i < len(s) && !isSpace(s[i]) {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			if i > len(s) {
				return false // trailing backslash
			}
		}
		pairs++
	}
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

func isKeywordByte(b byte) bool {
	return b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
}

// normalizeOrigin returns the origin as a browser serialises it in the
// Origin header (lower-case scheme and host, default port left out, no
// trailing slash), so a plain string comparison matches; or a reason it is
// not an origin. "*" means any origin.
func normalizeOrigin(s string) (origin, reason string) {
	if s == "*" {
		return s, ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "must use http or https"
	case u.Opaque != "" || u.Host == "" || strings.HasSuffix(u.Host, ":"):
		return "", "has no host"
	case u.User != nil:
		return "", "must not carry credentials"
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", "must not have a path, query or fragment"
	case strings.Contains(u.Host, "*"):
		return "", "has a wildcard; list each origin, or use * alone"
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", "has a bad port"
		}
	}
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		return u.Scheme + "://" + net.JoinHostPort(host, port), ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host, ""
}

// truncate keeps quoted non-secret values in error messages readable.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
