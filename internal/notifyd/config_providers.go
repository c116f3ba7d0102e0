package notifyd

import (
	"net"
	"net/mail"
	"slices"
	"strings"

	"github.com/quikapp/quikapp/internal/platform/env"
)

// Provider sections of LoadConfig. Each reads its provider-specific
// variables only once that provider is selected.

func loadEmail(r *env.Reader) EmailConfig {
	e := EmailConfig{Provider: r.Enum("NOTIFY_EMAIL_PROVIDER", ProviderNone, ProviderNone, ProviderSMTP, ProviderEmailService)}
	if !e.Enabled() {
		return e
	}
	e.From = r.String("NOTIFY_EMAIL_FROM", "")
	if e.From == "" {
		r.Fail("NOTIFY_EMAIL_FROM", "required when NOTIFY_EMAIL_PROVIDER is not none")
	} else if _, err := mail.ParseAddress(e.From); err != nil {
		r.Fail("NOTIFY_EMAIL_FROM", "must be an email address such as noreply@example.com or \"QuikApp <noreply@example.com>\"")
	}
	e.APIKey = r.Secret("NOTIFY_EMAIL_API_KEY")
	e.Region = r.String("NOTIFY_EMAIL_REGION", "")
	e.Endpoint = r.String("NOTIFY_EMAIL_ENDPOINT", "")
	switch e.Provider {
	case ProviderEmailService:
		e.ServiceAddress = r.String("NOTIFY_EMAIL_SERVICE_ADDRESS", "")
		if e.ServiceAddress == "" {
			r.Fail("NOTIFY_EMAIL_SERVICE_ADDRESS", "required when NOTIFY_EMAIL_PROVIDER=emailservice")
		}
	case ProviderSMTP:
		e.SMTP = loadSMTP(r)
	}
	return e
}

func loadSMTP(r *env.Reader) SMTPConfig {
	s := SMTPConfig{
		Host:     r.String("NOTIFY_EMAIL_SMTP_HOST", ""),
		Username: r.String("NOTIFY_EMAIL_SMTP_USERNAME", ""),
		Password: r.Secret("NOTIFY_EMAIL_SMTP_PASSWORD"),
		TLS:      r.Enum("NOTIFY_EMAIL_SMTP_TLS", SMTPTLSAuto, SMTPTLSAuto, SMTPTLSStartTLS, SMTPTLSImplicit, SMTPTLSNone),
	}
	defPort := 587
	if s.TLS == SMTPTLSImplicit {
		defPort = 465
	}
	s.Port = r.Port("NOTIFY_EMAIL_SMTP_PORT", defPort)
	switch {
	case s.Host == "":
		r.Fail("NOTIFY_EMAIL_SMTP_HOST", "required when NOTIFY_EMAIL_PROVIDER=smtp")
	case hasPort(s.Host):
		r.Fail("NOTIFY_EMAIL_SMTP_HOST", "must be a host name without a port; set NOTIFY_EMAIL_SMTP_PORT")
	}
	// Half a login is always a mistake: it would either fail at the first
	// send or silently send unauthenticated.
	if s.Username != "" && s.Password == "" {
		r.Fail("NOTIFY_EMAIL_SMTP_PASSWORD", "required when NOTIFY_EMAIL_SMTP_USERNAME is set")
	}
	if s.Username == "" && s.Password != "" {
		r.Fail("NOTIFY_EMAIL_SMTP_USERNAME", "required when NOTIFY_EMAIL_SMTP_PASSWORD is set")
	}
	return s
}

func hasPort(host string) bool {
	_, _, err := net.SplitHostPort(host)
	return err == nil
}

// loadTwilio reads the SMS or WhatsApp section; prefix is "NOTIFY_SMS_" or
// "NOTIFY_WHATSAPP_". The auth token falls back to TWILIO_AUTH_TOKEN, as
// our deployment seed names it.
func loadTwilio(r *env.Reader, prefix string) TwilioConfig {
	t := TwilioConfig{Provider: r.Enum(prefix+"PROVIDER", ProviderNone, ProviderNone, ProviderTwilio)}
	if !t.Enabled() {
		return t
	}
	need := "required when " + prefix + "PROVIDER=twilio"
	t.AccountSID = r.String(prefix+"ACCOUNT_SID", "")
	if t.AccountSID == "" {
		r.Fail(prefix+"ACCOUNT_SID", need)
	}
	_, t.AuthToken = firstSet(r, prefix+"AUTH_TOKEN", "TWILIO_AUTH_TOKEN")
	if t.AuthToken == "" {
		r.Fail(prefix+"AUTH_TOKEN", need+" (or set TWILIO_AUTH_TOKEN)")
	}
	t.MessagingServiceSID = r.String(prefix+"MESSAGING_SERVICE_SID", "")
	t.From = r.String(prefix+"FROM", "")
	if t.From == "" && t.MessagingServiceSID == "" {
		r.Fail(prefix+"FROM", need+" unless "+prefix+"MESSAGING_SERVICE_SID is set")
	}
	t.BaseURL = baseURL(r, prefix+"BASE_URL", "https://api.twilio.com")
	return t
}

func loadWebPush(r *env.Reader) WebPushConfig {
	w := WebPushConfig{Provider: r.Enum("NOTIFY_WEBPUSH_PROVIDER", ProviderNone, ProviderNone, ProviderVAPID)}
	if !w.Enabled() {
		return w
	}
	pub, hasPub := r.Raw("NOTIFY_WEBPUSH_VAPID_PUBLIC")
	priv := r.Secret("NOTIFY_WEBPUSH_VAPID_PRIVATE")
	if !hasPub {
		r.Fail("NOTIFY_WEBPUSH_VAPID_PUBLIC", "required when NOTIFY_WEBPUSH_PROVIDER=vapid")
	}
	if priv == "" {
		r.Fail("NOTIFY_WEBPUSH_VAPID_PRIVATE", "required when NOTIFY_WEBPUSH_PROVIDER=vapid")
	}
	if hasPub && priv != "" {
		w.PublicKey, w.PrivateKey = parseVAPID(r, pub, priv)
	}
	if c, ok := r.Raw("NOTIFY_WEBPUSH_CONTACT_EMAIL"); ok {
		if w.Subject = vapidSubject(c); w.Subject == "" {
			r.Fail("NOTIFY_WEBPUSH_CONTACT_EMAIL", "must be an email address, a mailto: URL or an https:// URL")
		}
	}
	return w
}

func loadMobilePush(r *env.Reader) MobilePushConfig {
	var m MobilePushConfig
	names := r.List("NOTIFY_MOBILEPUSH_PROVIDER")
	for _, n := range names {
		n = strings.ToLower(n)
		switch {
		case n == ProviderNone && len(names) == 1:
		case n == ProviderFCM || n == ProviderAPNs:
			if !slices.Contains(m.Providers, n) {
				m.Providers = append(m.Providers, n)
			}
		default:
			r.Fail("NOTIFY_MOBILEPUSH_PROVIDER", "must be none, fcm, apns or a comma list of fcm and apns")
			return MobilePushConfig{}
		}
	}
	if m.Has(ProviderFCM) {
		m.FCM = loadFCM(r)
	}
	if m.Has(ProviderAPNs) {
		m.APNs = loadAPNs(r)
	}
	return m
}

func loadFCM(r *env.Reader) FCMConfig {
	var f FCMConfig
	name, raw := firstSet(r, "NOTIFY_FCM_CREDENTIALS_JSON", "FCM_SERVICE_ACCOUNT_JSON")
	tokenURI := ""
	if raw == "" {
		r.Fail("NOTIFY_FCM_CREDENTIALS_JSON", "required when NOTIFY_MOBILEPUSH_PROVIDER includes fcm (or set FCM_SERVICE_ACCOUNT_JSON)")
	} else if sa, reason := parseServiceAccount(raw); reason != "" {
		r.Fail(name, reason)
	} else {
		f.ClientEmail, f.PrivateKeyID, f.PrivateKey, tokenURI = sa.ClientEmail, sa.PrivateKeyID, sa.key, sa.TokenURI
	}
	f.ProjectID = r.String("NOTIFY_FCM_PROJECT_ID", "")
	if f.ProjectID == "" {
		r.Fail("NOTIFY_FCM_PROJECT_ID", "required when NOTIFY_MOBILEPUSH_PROVIDER includes fcm")
	}
	f.BaseURL = baseURL(r, "NOTIFY_FCM_BASE_URL", "https://fcm.googleapis.com")
	// The service account names its own token endpoint; the override
	// exists for tests and egress proxies.
	if tokenURI == "" {
		tokenURI = "https://oauth2.googleapis.com/token"
	}
	f.TokenURL = baseURL(r, "NOTIFY_FCM_TOKEN_URL", tokenURI)
	return f
}

func loadAPNs(r *env.Reader) APNsConfig {
	a := APNsConfig{
		KeyID:   r.String("NOTIFY_APNS_KEY_ID", ""),
		TeamID:  r.String("NOTIFY_APNS_TEAM_ID", ""),
		Topic:   r.String("NOTIFY_APNS_TOPIC", ""),
		Sandbox: r.Bool("NOTIFY_APNS_SANDBOX", false),
	}
	need := "required when NOTIFY_MOBILEPUSH_PROVIDER includes apns"
	if p8 := r.Secret("NOTIFY_APNS_KEY_P8"); p8 == "" {
		r.Fail("NOTIFY_APNS_KEY_P8", need)
	} else if a.Key = parseP8(p8); a.Key == nil {
		r.Fail("NOTIFY_APNS_KEY_P8", "must be the contents of an APNs .p8 key (PKCS#8 PEM of a P-256 EC key)")
	}
	for _, v := range [][2]string{{"NOTIFY_APNS_KEY_ID", a.KeyID}, {"NOTIFY_APNS_TEAM_ID", a.TeamID}, {"NOTIFY_APNS_TOPIC", a.Topic}} {
		if v[1] == "" {
			r.Fail(v[0], need)
		}
	}
	def := "https://api.push.apple.com"
	if a.Sandbox {
		def = "https://api.sandbox.push.apple.com"
	}
	a.BaseURL = baseURL(r, "NOTIFY_APNS_BASE_URL", def)
	return a
}

// firstSet returns the first of names that is set and non-empty, with its
// name, so an error can name the variable that actually held the value.
func firstSet(r *env.Reader, names ...string) (name, value string) {
	for _, n := range names {
		if v, ok := r.Raw(n); ok {
			return n, v
		}
	}
	return "", ""
}

// baseURL reads an http(s) URL override without a trailing slash; the
// providers append their own paths.
func baseURL(r *env.Reader, name, def string) string {
	u := r.URL(name, "http", "https")
	if u == nil {
		return def
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		r.Fail(name, "must be an http:// or https:// URL with a host and no query, fragment or credentials")
		return def
	}
	return strings.TrimRight(u.String(), "/")
}
