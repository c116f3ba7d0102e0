package app

import (
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
	"github.com/quikapp/quikapp/internal/auth/token"
)

// A signing key rotates without signing anyone out: tokens of the retired
// key keep working while it is listed, and stop when it is dropped.
func TestSigningKeyRotation(t *testing.T) {
	oldKey, _ := token.GenerateEd25519()
	newKey, _ := token.GenerateEd25519()
	oldPEM, _ := token.MarshalPrivateKeyPEM(oldKey)
	newPEM, _ := token.MarshalPrivateKeyPEM(newKey)
	oldPub, _ := token.MarshalPublicKeyPEM(oldKey)
	cfg := testConfig(t)
	run := func(private, retired []byte) *api {
		c := cfg
		c.Identity.JWTPrivateKey, c.Identity.JWTRetiredKeys = private, retired
		a, err := New(c, testLogger(t), "test")
		if err != nil {
			t.Fatal(err)
		}
		a.tuneAuth = func(ac *auth.Config) { ac.Hash = auth.HashParams{Memory: 64, Time: 1, Threads: 1} }
		r := runApp(t, a)
		return &api{t: t, base: r.base, run: r, cfg: c, clock: &testClock{t: time.Now()}}
	}
	stop := func(s *api) {
		s.run.cancel()
		<-s.run.done
	}
	s := run(oldPEM, nil)
	ann := s.signUp("Ann")
	stop(s)

	s = run(newPEM, oldPub)
	s.must(200, "GET", "/api/v1/users/me", ann.Access, nil)
	fresh := ann
	s.login(&fresh)
	stop(s)

	s = run(newPEM, nil)
	if r := s.do("GET", "/api/v1/users/me", ann.Access, nil); r.Status != 401 {
		t.Fatalf("token of a dropped key: %s", r)
	}
	s.must(200, "GET", "/api/v1/users/me", fresh.Access, nil)
}

// With no key configured, a node makes one in its data dir and keeps it
// across restarts.
func TestLocalKeySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	k1, err := auth.LocalKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := auth.LocalKey(dir)
	if err != nil || k1.ID != k2.ID {
		t.Fatalf("second load: %v, ids %s %s", err, k1.ID, k2.ID)
	}
}
