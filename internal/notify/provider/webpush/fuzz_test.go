package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"testing"
)

// parse never panics on client-supplied subscriptions, and whatever it
// accepts is an https endpoint with a P-256 key and a 16-byte secret.
func FuzzParseSubscription(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := k.PublicKey.ECDH()
	s, err := New(Config{PublicKey: base64.RawURLEncoding.EncodeToString(pub.Bytes()), PrivateKey: k})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`{"endpoint":"https://push.example/x","keys":{"p256dh":"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4","auth":"BTBZMqHH6r4Tts7J_aSIgg"}}`)
	f.Add(`{"endpoint":"http://127.0.0.1/x","keys":{}}`)
	f.Add(`[]`)
	f.Add(`{"endpoint":null}`)
	f.Fuzz(func(t *testing.T, dest string) {
		sub, err := s.parse(dest)
		if err != nil {
			return
		}
		if sub.endpoint.Scheme != "https" || sub.endpoint.Host == "" || len(sub.auth) != 16 || len(sub.ua.Bytes()) != 65 {
			t.Fatalf("accepted %q", dest)
		}
	})
}
