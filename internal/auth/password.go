package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are argon2id's cost settings (RFC 9106).
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultHashParams follow OWASP's argon2id recommendation (19 MiB, two
// passes, one lane): about 40 ms per hash on this project's 2-core
// machines, and bounded memory per concurrent sign-in.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// hashPassword returns the PHC string $argon2id$v=19$m=,t=,p=$salt$hash.
func hashPassword(password string, p HashParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("auth: unreadable password hash")

// checkPassword reports whether password matches the PHC string, and
// whether the hash should be upgraded to p.
func checkPassword(password, phc string, p HashParams) (ok, rehash bool, err error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, false, errBadHash
	}
	var got HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &got.Memory, &got.Time, &got.Threads); err != nil {
		return false, false, errBadHash
	}
	// Bounds, so a tampered row cannot make us allocate gigabytes.
	if got.Memory < 8 || got.Memory > 1<<20 || got.Time < 1 || got.Time > 10 || got.Threads < 1 || got.Threads > 16 {
		return false, false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false, false, errBadHash
	}
	key := argon2.IDKey([]byte(password), salt, got.Time, got.Memory, got.Threads, uint32(len(want)))
	ok = subtle.ConstantTimeCompare(key, want) == 1
	return ok, ok && got != p, nil
}
