package notifyd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"sync"
)

// testKeyMaterial is valid key material for the provider sections,
// generated once per test binary.
type testKeyMaterial struct {
	FCMJSON             string // service-account JSON
	APNsP8              string // PEM
	VAPIDPub, VAPIDPriv string // base64url
	OtherVAPIDPriv      string // a private key of another pair
}

var testKeys = sync.OnceValue(func() testKeyMaterial {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		panic(err)
	}
	sa, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "quikapp-test",
		"private_key_id": "kid-1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "notify@quikapp-test.iam.gserviceaccount.com",
		"token_uri":      "https://oauth2.googleapis.com/token",
	})
	if err != nil {
		panic(err)
	}
	ec := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	apns := ec()
	apnsDER, err := x509.MarshalPKCS8PrivateKey(apns)
	if err != nil {
		panic(err)
	}
	vapid, other := ec(), ec()
	pub, err := vapid.PublicKey.Bytes()
	if err != nil {
		panic(err)
	}
	raw := func(k *ecdsa.PrivateKey) string {
		b, err := k.Bytes()
		if err != nil {
			panic(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return testKeyMaterial{
		FCMJSON:        string(sa),
		APNsP8:         string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: apnsDER})),
		VAPIDPub:       base64.RawURLEncoding.EncodeToString(pub),
		VAPIDPriv:      raw(vapid),
		OtherVAPIDPriv: raw(other),
	}
})
