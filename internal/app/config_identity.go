package app

import (
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/auth/oidc"
	"github.com/quikapp/quikapp/internal/platform/env"
)

func loadIdentity(r *env.Reader) IdentityConfig {
	c := IdentityConfig{
		PublicURL:                strings.TrimRight(r.String("QUIKAPP_PUBLIC_URL", "http://localhost:3000"), "/"),
		RequireEmailVerification: r.Bool("QUIKAPP_REQUIRE_EMAIL_VERIFICATION", false),
		RateLimitStore:           r.Enum("QUIKAPP_RATE_LIMIT_STORE", "memory", "memory", "database"),
		AuthRate:                 rateSpec(r, "QUIKAPP_RATE_LIMIT_AUTH", "30/1m"),
		UserRate:                 rateSpec(r, "QUIKAPP_RATE_LIMIT_USER", "1200/1m"),
		SMTP: SMTPConfig{
			Host:     r.String("QUIKAPP_SMTP_HOST", ""),
			Port:     r.Port("QUIKAPP_SMTP_PORT", 587),
			Username: r.String("QUIKAPP_SMTP_USERNAME", ""),
			Password: r.Secret("QUIKAPP_SMTP_PASSWORD"),
			From:     r.String("QUIKAPP_SMTP_FROM", "QuikApp <no-reply@localhost>"),
			TLS:      r.Enum("QUIKAPP_SMTP_TLS", "auto", "auto", "starttls", "implicit", "none"),
		},
	}
	c.Twilio = TwilioConfig{
		AccountSID:          r.String("QUIKAPP_TWILIO_ACCOUNT_SID", ""),
		AuthToken:           r.Secret("QUIKAPP_TWILIO_AUTH_TOKEN"),
		From:                r.String("QUIKAPP_TWILIO_FROM", ""),
		MessagingServiceSID: r.String("QUIKAPP_TWILIO_MESSAGING_SERVICE_SID", ""),
		BaseURL:             r.String("QUIKAPP_TWILIO_BASE_URL", "https://api.twilio.com"),
	}
	if t := c.Twilio; t.AccountSID != "" && (t.AuthToken == "" || (t.From == "" && t.MessagingServiceSID == "")) {
		r.Fail("QUIKAPP_TWILIO_ACCOUNT_SID", "needs QUIKAPP_TWILIO_AUTH_TOKEN and QUIKAPP_TWILIO_FROM or QUIKAPP_TWILIO_MESSAGING_SERVICE_SID")
	}
	c.OIDC = loadOIDC(r, c.PublicURL)
	if !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		r.Fail("QUIKAPP_PUBLIC_URL", "must be an http:// or https:// address")
	}
	if f := r.String("QUIKAPP_JWT_PRIVATE_KEY_FILE", ""); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			r.Fail("QUIKAPP_JWT_PRIVATE_KEY_FILE", "cannot read the file: "+err.Error())
		}
		c.JWTPrivateKey = b
	} else if k := r.Secret("QUIKAPP_JWT_PRIVATE_KEY"); k != "" {
		c.JWTPrivateKey = []byte(k)
	}
	if f := r.String("QUIKAPP_JWT_RETIRED_KEYS_FILE", ""); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			r.Fail("QUIKAPP_JWT_RETIRED_KEYS_FILE", "cannot read the file: "+err.Error())
		}
		c.JWTRetiredKeys = b
	}
	for _, s := range r.List("QUIKAPP_TRUSTED_PROXIES") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				r.Fail("QUIKAPP_TRUSTED_PROXIES", "must be CIDRs such as 10.0.0.0/8 or addresses; "+strconv.Quote(s)+" is neither")
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	return c
}

// rateSpec reads "N/duration", e.g. 30/1m.
func rateSpec(r *env.Reader, name, def string) RateSpec {
	v := r.String(name, def)
	n, d, ok := strings.Cut(v, "/")
	limit, err1 := strconv.Atoi(strings.TrimSpace(n))
	window, err2 := time.ParseDuration(strings.TrimSpace(d))
	if !ok || err1 != nil || err2 != nil || limit < 1 || window < time.Second {
		r.Fail(name, "must be requests/window such as 30/1m (at least 1 request, window at least 1s)")
		return RateSpec{Limit: 1, Window: time.Minute}
	}
	return RateSpec{Limit: limit, Window: window}
}

var providerName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// loadOIDC reads QUIKAPP_OIDC_PROVIDERS and each provider's variables.
func loadOIDC(r *env.Reader, publicURL string) []oidc.Config {
	var out []oidc.Config
	for _, name := range r.List("QUIKAPP_OIDC_PROVIDERS") {
		name = strings.ToLower(name)
		if !providerName.MatchString(name) {
			r.Fail("QUIKAPP_OIDC_PROVIDERS", strconv.Quote(name)+" is not a provider name (lower-case letters, digits, dashes)")
			continue
		}
		prefix := "QUIKAPP_OIDC_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
		cfg, preset := oidc.Preset(name)
		cfg.Name = name
		cfg.ClientID = r.String(prefix+"CLIENT_ID", "")
		cfg.ClientSecret = r.Secret(prefix + "CLIENT_SECRET")
		cfg.Issuer = r.String(prefix+"ISSUER", cfg.Issuer)
		cfg.DiscoveryURL = r.String(prefix+"DISCOVERY_URL", cfg.DiscoveryURL)
		cfg.AuthURL = r.String(prefix+"AUTH_URL", cfg.AuthURL)
		cfg.TokenURL = r.String(prefix+"TOKEN_URL", cfg.TokenURL)
		cfg.APIURL = r.String(prefix+"API_URL", cfg.APIURL)
		cfg.RedirectURL = strings.TrimRight(publicURL, "/") + "/api/v1/auth/oidc/" + name + "/callback"
		if cfg.ClientID == "" || cfg.ClientSecret == "" {
			r.Fail(prefix+"CLIENT_ID", "provider "+name+" needs "+prefix+"CLIENT_ID and "+prefix+"CLIENT_SECRET")
			continue
		}
		if !preset && cfg.Issuer == "" {
			r.Fail(prefix+"ISSUER", "provider "+name+" is not a preset (google, microsoft, github); give its issuer URL")
			continue
		}
		if _, err := oidc.New(cfg); err != nil {
			r.Fail(prefix+"ISSUER", err.Error())
			continue
		}
		out = append(out, cfg)
	}
	return out
}
