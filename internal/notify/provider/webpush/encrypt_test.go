package webpush

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"
)

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decrypt is the browser's side of RFC 8291 / RFC 8188, written from the
// RFCs independently of encrypt, so the tests check one against the other
// and both against the RFC's published vector.
func decrypt(body []byte, ua *ecdh.PrivateKey, authSecret []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("short body")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen || rs < 18 {
		return nil, errors.New("bad header")
	}
	asPub, err := ecdh.P256().NewPublicKey(body[21 : 21+idlen])
	if err != nil {
		return nil, err
	}
	record := body[21+idlen:]
	if uint32(len(record)) > rs {
		return nil, errors.New("record larger than rs")
	}
	shared, err := ua.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	prkKey, _ := hkdf.Extract(sha256.New, shared, authSecret)
	ikm, _ := hkdf.Expand(sha256.New, prkKey, "WebPush: info\x00"+string(ua.PublicKey().Bytes())+string(asPub.Bytes()), 32)
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, err
	}
	// Strip padding: the last non-zero byte is the delimiter, 0x02 for the
	// last record.
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 0x02 {
		return nil, errors.New("missing last-record delimiter")
	}
	return plain[:i], nil
}

// RFC 8291 Appendix A.
const (
	rfcPlaintext = "When I grow up, I want to be a watermelon"
	rfcASPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcSalt      = "DGv6ra1nlYgDCS1FRnbzlw"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

func TestRFC8291Vector(t *testing.T) {
	as, err := ecdh.P256().NewPrivateKey(mustB64(t, rfcASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	ua, err := ecdh.P256().NewPrivateKey(mustB64(t, rfcUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ua.PublicKey().Bytes(), mustB64(t, rfcUAPublic)) {
		t.Fatal("vector's UA key pair does not match")
	}
	got, err := encrypt([]byte(rfcPlaintext), ua.PublicKey(), mustB64(t, rfcAuth), as, mustB64(t, rfcSalt))
	if err != nil {
		t.Fatal(err)
	}
	if enc := base64.RawURLEncoding.EncodeToString(got); enc != rfcBody {
		t.Fatalf("encrypt:\n got %s\nwant %s", enc, rfcBody)
	}
	plain, err := decrypt(mustB64(t, rfcBody), ua, mustB64(t, rfcAuth))
	if err != nil || string(plain) != rfcPlaintext {
		t.Fatalf("decrypt of the RFC body: %q %v", plain, err)
	}
}

func TestEncryptLimits(t *testing.T) {
	ua, _ := ecdh.P256().GenerateKey(nil)
	as, _ := ecdh.P256().GenerateKey(nil)
	auth := make([]byte, 16)
	salt := make([]byte, 16)
	big, err := encrypt(make([]byte, MaxPayload), ua.PublicKey(), auth, as, salt)
	if err != nil || len(big) != 4096 {
		t.Fatalf("a MaxPayload message: %d bytes, %v (want exactly 4096)", len(big), err)
	}
	if _, err := encrypt(make([]byte, MaxPayload+1), ua.PublicKey(), auth, as, salt); err == nil {
		t.Fatal("an oversized payload was encrypted")
	}
	if plain, err := decrypt(big, ua, auth); err != nil || len(plain) != MaxPayload {
		t.Fatalf("round trip: %d %v", len(plain), err)
	}
}
