// Package oidctest is an identity provider for tests. It checks requests
// the way a real one does: the authorize request must name the client,
// the registered redirect URI, a state and an S256 PKCE challenge; the
// token request must carry the client secret, the code (once, unexpired)
// and the verifier matching the challenge. It signs ID tokens with its own
// RSA key, and speaks GitHub's OAuth and user API as well.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// User is who signs in at the provider.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Server is the fake provider.
type Server struct {
	*httptest.Server
	ClientID, ClientSecret, RedirectURI string
	key                                 *rsa.PrivateKey

	mu    sync.Mutex
	user  User
	codes map[string]grant
	// Tamper, when set, changes the claims of the next ID token.
	Tamper func(claims map[string]any)
}

type grant struct {
	challenge, nonce string
	user             User
	expires          time.Time
}

var b64 = base64.RawURLEncoding

// New starts a provider for one client.
func New(clientID, secret, redirectURI string) *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s := &Server{ClientID: clientID, ClientSecret: secret, RedirectURI: redirectURI, key: key, codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /user", s.githubUser)
	mux.HandleFunc("GET /user/emails", s.githubEmails)
	s.Server = httptest.NewServer(mux)
	return s
}

// SignInAs sets who the next authorize request signs in.
func (s *Server) SignInAs(u User) {
	s.mu.Lock()
	s.user = u
	s.mu.Unlock()
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"issuer": s.URL, "authorization_endpoint": s.URL + "/authorize",
		"token_endpoint": s.URL + "/token", "jwks_uri": s.URL + "/jwks"})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
		"n": b64.EncodeToString(s.key.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(s.key.E)).Bytes())}}})
}

// authorize signs the current user in at once and redirects back with a
// code, as a provider does after its login page.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.ClientID || q.Get("redirect_uri") != s.RedirectURI || q.Get("response_type") != "code" ||
		q.Get("state") == "" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		http.Error(w, "invalid_request", 400)
		return
	}
	code := randomString()
	s.mu.Lock()
	s.codes[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), user: s.user, expires: time.Now().Add(time.Minute)}
	s.mu.Unlock()
	http.Redirect(w, r, s.RedirectURI+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	f := r.PostForm
	if f.Get("client_id") != s.ClientID || f.Get("client_secret") != s.ClientSecret {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	s.mu.Lock()
	g, ok := s.codes[f.Get("code")]
	delete(s.codes, f.Get("code")) // single use
	s.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if !ok || time.Now().After(g.expires) || f.Get("grant_type") != "authorization_code" || f.Get("redirect_uri") != s.RedirectURI ||
		b64.EncodeToString(sum[:]) != g.challenge {
		writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": s.URL, "sub": g.user.Subject, "aud": s.ClientID, "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "nonce": g.nonce, "email": g.user.Email, "email_verified": g.user.EmailVerified, "name": g.user.Name}
	s.mu.Lock()
	if s.Tamper != nil {
		s.Tamper(claims)
		s.Tamper = nil
	}
	s.mu.Unlock()
	access := "gho_" + g.user.Subject + "_" + randomString()
	s.mu.Lock()
	s.codes["access:"+access] = g
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": access, "token_type": "Bearer", "id_token": s.sign(claims)})
}

func (s *Server) sign(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	in := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	return in + "." + b64.EncodeToString(sig)
}

func (s *Server) bearer(r *http.Request) (User, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	g, found := s.codes["access:"+tok]
	return g.user, ok && found
}

func (s *Server) githubUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.bearer(r)
	if !ok {
		writeJSON(w, 401, map[string]string{"message": "Bad credentials"})
		return
	}
	id := int64(0)
	for _, c := range u.Subject {
		id = id*10 + int64(c-'0')%10
	}
	writeJSON(w, 200, map[string]any{"id": id, "login": strings.ToLower(u.Name), "name": u.Name})
}

func (s *Server) githubEmails(w http.ResponseWriter, r *http.Request) {
	u, ok := s.bearer(r)
	if !ok {
		writeJSON(w, 401, map[string]string{"message": "Bad credentials"})
		return
	}
	writeJSON(w, 200, []any{
		map[string]any{"email": "old-" + u.Email, "primary": false, "verified": true},
		map[string]any{"email": u.Email, "primary": true, "verified": u.EmailVerified},
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}
