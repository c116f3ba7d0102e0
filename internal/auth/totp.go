package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"time"
)

// TOTP parameters: the defaults every authenticator app understands
// (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits).
const (
	totpStep   = 30
	totpDigits = 6
	// totpSkew accepts the previous and next step, for clocks a little off.
	totpSkew = 1
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func newTOTPSecret() string {
	b := make([]byte, 20) // 160 bits, as RFC 4226 recommends
	_, _ = rand.Read(b)
	return b32.EncodeToString(b)
}

// totpCode is the code for one time step.
func totpCode(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// totpMatch returns the step code matches at now (within the skew), or 0.
// Steps at or before last are refused, so a code works once.
func totpMatch(secretB32, code string, now time.Time, last int64) int64 {
	secret, err := b32.DecodeString(secretB32)
	if err != nil || len(code) != totpDigits {
		return 0
	}
	cur := now.Unix() / totpStep
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := cur + d
		if step <= last {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(totpCode(secret, step)), []byte(code)) == 1 {
			return step
		}
	}
	return 0
}

// otpauthURL is what an authenticator app scans (as a QR code).
func otpauthURL(secret, account string) string {
	v := url.Values{"secret": {secret}, "issuer": {"QuikApp"}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + url.PathEscape("QuikApp:"+account) + "?" + v.Encode()
}
