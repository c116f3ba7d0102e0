package app

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
)

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// fakeTwilio accepts Messages.json requests the way Twilio checks them:
// POST, HTTP basic auth with the account SID and token, a form with To,
// From and Body.
type fakeTwilio struct {
	mu   sync.Mutex
	sent []map[string]string
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if r.Method != "POST" || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" {
		http.Error(w, `{"code":20404,"message":"not found"}`, http.StatusNotFound)
		return
	}
	if !ok || user != "AC123" || pass != "tok" {
		http.Error(w, `{"code":20003,"message":"Authenticate"}`, http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("To") == "" || r.PostForm.Get("From") != "+15550001111" || r.PostForm.Get("Body") == "" {
		http.Error(w, `{"code":21604,"message":"missing parameter"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.sent = append(f.sent, map[string]string{"To": r.PostForm.Get("To"), "Body": r.PostForm.Get("Body")})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"sid":"SM1","status":"queued"}`))
}

func (f *fakeTwilio) last(t *testing.T) map[string]string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		t.Fatal("no SMS sent")
	}
	return f.sent[len(f.sent)-1]
}

func TestOneTimeCodes(t *testing.T) {
	tw := &fakeTwilio{}
	srv := httptest.NewServer(tw)
	defer srv.Close()
	eachAPI(t, func(c *Config) {
		c.Identity.Twilio = TwilioConfig{AccountSID: "AC123", AuthToken: "tok", From: "+15550001111", BaseURL: srv.URL}
	}, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		// By email.
		s.must(202, "POST", "/api/v1/auth/otp/request", "", map[string]string{"email": ann.Email})
		s.must(202, "POST", "/api/v1/auth/otp/request", "", map[string]string{"email": "nobody@example.com"})
		code := sixDigits.FindString(mailSubject(t, s, ann.Email, "sign-in code"))
		var tok auth.Tokens
		s.must(200, "POST", "/api/v1/auth/otp/verify", "", map[string]string{"email": ann.Email, "code": code}).JSON(t, &tok)
		if !tok.User.EmailVerified {
			t.Fatal("an emailed code did not verify the address")
		}
		s.must(401, "POST", "/api/v1/auth/otp/verify", "", map[string]string{"email": ann.Email, "code": code})

		// By SMS, to the phone on the profile.
		s.must(400, "PATCH", "/api/v1/users/"+ann.ID, ann.Access, map[string]string{"phone": "0151 123"})
		s.must(200, "PATCH", "/api/v1/users/"+ann.ID, ann.Access, map[string]string{"phone": "+4915112345678"})
		s.must(202, "POST", "/api/v1/auth/otp/request", "", map[string]string{"email": ann.Email, "channel": "sms"})
		sms := tw.last(t)
		if sms["To"] != "+4915112345678" {
			t.Fatalf("SMS to %q", sms["To"])
		}
		code = sixDigits.FindString(sms["Body"])
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		// Three tries per code: two wrong ones leave it usable...
		for range 2 {
			s.must(401, "POST", "/api/v1/auth/otp/verify", "", map[string]string{"email": ann.Email, "code": wrong})
		}
		s.must(200, "POST", "/api/v1/auth/otp/verify", "", map[string]string{"email": ann.Email, "code": code})

		// ...three use it up, and codes expire after five minutes.
		s.must(202, "POST", "/api/v1/auth/otp/request", "", map[string]string{"email": ann.Email, "channel": "sms"})
		code = sixDigits.FindString(tw.last(t)["Body"])
		for range auth.OTPTries {
			s.must(401, "POST", "/api/v1/auth/otp/verify", "", map[string]string{"email": ann.Email, "code": wrong})
		}
		s.must(401, "POST", "/api/v1/auth/otp/verify", "", map[string]string{"email": ann.Email, "code": code})
		s.clock.Add(20 * time.Minute)
		s.must(202, "POST", "/api/v1/auth/otp/request", "", map[string]string{"email": ann.Email, "channel": "sms"})
		code = sixDigits.FindString(tw.last(t)["Body"])
		s.clock.Add(auth.OTPTTL + time.Second)
		s.must(401, "POST", "/api/v1/auth/otp/verify", "", map[string]string{"email": ann.Email, "code": code})

		// At most three codes per 15 minutes are sent.
		s.clock.Add(time.Hour)
		tw.mu.Lock()
		before := len(tw.sent)
		tw.mu.Unlock()
		for range 5 {
			s.must(202, "POST", "/api/v1/auth/otp/request", "", map[string]string{"email": ann.Email, "channel": "sms"})
		}
		tw.mu.Lock()
		n := len(tw.sent) - before
		tw.mu.Unlock()
		if n != 3 {
			t.Fatalf("%d codes sent for 5 requests, want 3", n)
		}
		r := s.do("POST", "/api/v1/auth/otp/request", "", map[string]string{"email": ann.Email, "channel": "pigeon"})
		if r.Status != 400 || r.Code() != "VALIDATION_ERROR" {
			t.Fatalf("bad channel: %s", r)
		}
	})
}
