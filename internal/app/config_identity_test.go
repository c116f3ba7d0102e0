package app

import (
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/platform/env"
)

func TestIdentityConfig(t *testing.T) {
	cfg, err := LoadConfig(env.FromMap(map[string]string{
		"QUIKAPP_OIDC_PROVIDERS":             "google,corp",
		"QUIKAPP_OIDC_GOOGLE_CLIENT_ID":      "g-id",
		"QUIKAPP_OIDC_GOOGLE_CLIENT_SECRET":  "g-secret",
		"QUIKAPP_OIDC_CORP_CLIENT_ID":        "c-id",
		"QUIKAPP_OIDC_CORP_CLIENT_SECRET":    "c-secret",
		"QUIKAPP_OIDC_CORP_ISSUER":           "https://sso.corp.example",
		"QUIKAPP_PUBLIC_URL":                 "https://chat.example.com/",
		"QUIKAPP_RATE_LIMIT_AUTH":            "10/30s",
		"QUIKAPP_TRUSTED_PROXIES":            "10.0.0.0/8, 192.168.1.7",
		"QUIKAPP_REQUIRE_EMAIL_VERIFICATION": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Identity
	if len(c.OIDC) != 2 || c.OIDC[0].Issuer != "https://accounts.google.com" || c.OIDC[1].Issuer != "https://sso.corp.example" ||
		c.OIDC[1].RedirectURL != "https://chat.example.com/api/v1/auth/oidc/corp/callback" {
		t.Fatalf("oidc: %+v", c.OIDC)
	}
	if c.AuthRate != (RateSpec{Limit: 10, Window: 30 * time.Second}) || len(c.TrustedProxies) != 2 || !c.RequireEmailVerification {
		t.Fatalf("identity: %+v", c)
	}
	_, err = LoadConfig(env.FromMap(map[string]string{
		"QUIKAPP_OIDC_PROVIDERS":      "google,corp,Bad Name",
		"QUIKAPP_OIDC_CORP_CLIENT_ID": "c", "QUIKAPP_OIDC_CORP_CLIENT_SECRET": "s",
		"QUIKAPP_RATE_LIMIT_USER":      "lots",
		"QUIKAPP_TRUSTED_PROXIES":      "everyone",
		"QUIKAPP_PUBLIC_URL":           "chat.example.com",
		"QUIKAPP_SMTP_TLS":             "maybe",
		"QUIKAPP_TWILIO_ACCOUNT_SID":   "AC1",
		"QUIKAPP_JWT_PRIVATE_KEY_FILE": "/no/such/key.pem",
	}))
	if err == nil {
		t.Fatal("bad identity configuration accepted")
	}
	for _, want := range []string{"QUIKAPP_OIDC_GOOGLE_CLIENT_ID", "QUIKAPP_OIDC_CORP_ISSUER", "Bad Name", "QUIKAPP_RATE_LIMIT_USER",
		"QUIKAPP_TRUSTED_PROXIES", "QUIKAPP_PUBLIC_URL", "QUIKAPP_SMTP_TLS", "QUIKAPP_TWILIO_ACCOUNT_SID", "QUIKAPP_JWT_PRIVATE_KEY_FILE"} {
		if !strings.Contains(err.Error(), strings.ToLower(want)) && !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}
