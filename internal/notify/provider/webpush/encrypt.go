package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// recordSize is the aes128gcm record size we declare; a push message is a
// single record, so the payload must fit in it.
const recordSize = 4096

// headerSize is salt (16) + rs (4) + idlen (1) + a P-256 key id (65).
const headerSize = 16 + 4 + 1 + 65

// MaxPayload is the largest plaintext one record carries: the record
// holds the plaintext, the 0x02 delimiter and the 16-byte GCM tag, and
// push services accept 4096-byte bodies in all.
const MaxPayload = 4096 - headerSize - 1 - 16

// encrypt is RFC 8291 message encryption with the aes128gcm content coding
// of RFC 8188. as is the application server's ephemeral key and salt 16
// random bytes; both are parameters so the RFC's test vector can be
// reproduced exactly.
func encrypt(plaintext []byte, uaPublic *ecdh.PublicKey, authSecret []byte, as *ecdh.PrivateKey, salt []byte) ([]byte, error) {
	if len(plaintext) > MaxPayload {
		return nil, fmt.Errorf("payload of %d bytes exceeds %d", len(plaintext), MaxPayload)
	}
	if len(salt) != 16 || len(authSecret) != 16 {
		return nil, errors.New("salt and auth secret must be 16 bytes")
	}
	shared, err := as.ECDH(uaPublic)
	if err != nil {
		return nil, err
	}
	asPublic := as.PublicKey().Bytes()
	// IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" 0x00 ua_public as_public, 32)
	prkKey, err := hkdf.Extract(sha256.New, shared, authSecret)
	if err != nil {
		return nil, err
	}
	keyInfo := "WebPush: info\x00" + string(uaPublic.Bytes()) + string(asPublic)
	ikm, err := hkdf.Expand(sha256.New, prkKey, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, headerSize+len(plaintext)+1+gcm.Overhead())
	out = append(out, salt...)
	out = binary.BigEndian.AppendUint32(out, recordSize)
	out = append(out, byte(len(asPublic)))
	out = append(out, asPublic...)
	record := append(append(make([]byte, 0, len(plaintext)+1), plaintext...), 0x02) // last record, no padding
	return gcm.Seal(out, nonce, record, nil), nil
}
