package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// testClock is the time every identity part reads in API tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// api is a running QuikApp with helpers to call its API.
type api struct {
	t     *testing.T
	base  string
	clock *testClock
	run   *running
	cfg   Config
}

// eachAPI runs fn against a fresh QuikApp on SQLite and on PostgreSQL.
func eachAPI(t *testing.T, tune func(*Config), fn func(t *testing.T, s *api)) {
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) { fn(t, startAPI(t, driver, tune)) })
	}
}

func startAPI(t *testing.T, driver string, tune func(*Config)) *api {
	t.Helper()
	return startAPIWith(t, driver, tune, nil)
}

// startAPIWith is startAPI with a hook to adjust the App before it runs.
func startAPIWith(t *testing.T, driver string, tune func(*Config), tuneApp func(*App)) *api {
	t.Helper()
	cfg := testConfig(t)
	if driver == store.Postgres {
		cfg.DatabaseURL = storetest.NewPostgresSchema(t)
	}
	cfg.Identity.AuthRate = RateSpec{Limit: 10_000, Window: time.Minute}
	cfg.Identity.UserRate = RateSpec{Limit: 10_000, Window: time.Minute}
	if tune != nil {
		tune(&cfg)
	}
	clock := &testClock{t: time.Now()}
	a, err := New(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	a.tuneAuth = func(c *auth.Config) {
		c.Hash = auth.HashParams{Memory: 64, Time: 1, Threads: 1} // fast; the real cost is measured elsewhere
		c.Now = clock.Now
	}
	if tuneApp != nil {
		tuneApp(a)
	}
	r := runApp(t, a)
	return &api{t: t, base: r.base, clock: clock, run: r, cfg: cfg}
}

// resp is an answer.
type resp struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into v.
func (r resp) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// Code is the error code of an error answer.
func (r resp) Code() string {
	var e struct{ Error struct{ Code string } }
	_ = json.Unmarshal([]byte(r.Body), &e)
	return e.Error.Code
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// do calls the API. body is JSON-encoded unless it is a string or []byte.
func (s *api) do(method, path, token string, body any) resp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// must calls the API and fails the test unless the status is want.
func (s *api) must(want int, method, path, token string, body any) resp {
	s.t.Helper()
	r := s.do(method, path, token, body)
	if r.Status != want {
		s.t.Fatalf("%s %s: got %s, want %d", method, path, r, want)
	}
	return r
}

// user is a signed-up, signed-in account.
type user struct {
	ID, Email, Password string
	Access, Refresh     string
}

var userSeq struct {
	sync.Mutex
	n int
}

// signUp registers and signs in a new account named name.
func (s *api) signUp(name string) user {
	s.t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	u := user{Email: fmt.Sprintf("%s.%d@example.com", strings.ToLower(name), n), Password: "correct horse battery " + name}
	var created struct{ ID string }
	s.must(201, "POST", "/api/v1/auth/register", "", map[string]string{"email": u.Email, "password": u.Password, "displayName": name}).JSON(s.t, &created)
	u.ID = created.ID
	s.login(&u)
	return u
}

func (s *api) login(u *user) {
	s.t.Helper()
	var tok auth.Tokens
	s.must(200, "POST", "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password}).JSON(s.t, &tok)
	u.Access, u.Refresh = tok.AccessToken, tok.RefreshToken
}
