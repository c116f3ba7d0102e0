package notifyd

import (
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
)

const redacted = "[redacted]"

// Redacted returns the effective configuration keyed by variable name, safe
// to log: secrets show only whether they are set. Sections of providers and
// drivers that are off are left out, as LoadConfig did not read them.
func (c Config) Redacted() map[string]string {
	m := map[string]string{
		"NOTIFY_CLIENT_PORT":              strconv.Itoa(c.ClientPort),
		"NOTIFY_INTERNAL_PORT":            strconv.Itoa(c.InternalPort),
		"NOTIFY_METRICS_PORT":             strconv.Itoa(c.MetricsPort),
		"NOTIFY_LOG_LEVEL":                strings.ToLower(c.LogLevel.String()),
		"NOTIFY_SHUTDOWN_TIMEOUT":         c.ShutdownTimeout.String(),
		"NOTIFY_STORE_DRIVER":             c.Store.Driver,
		"NOTIFY_AUTH_DEV_MODE":            strconv.FormatBool(c.Auth.DevMode),
		"NOTIFY_AUTH_JWT_SECRET":          secret(string(c.Auth.JWTSecret)),
		"NOTIFY_AUTH_JWT_ISSUER":          c.Auth.Issuer,
		"NOTIFY_AUTH_JWT_AUDIENCE":        c.Auth.Audience,
		"NOTIFY_AUTH_JWT_LEEWAY":          c.Auth.Leeway.String(),
		"NOTIFY_INTERNAL_TOKEN":           secret(c.Auth.InternalToken),
		"NOTIFY_ALLOWED_ORIGINS":          strings.Join(c.AllowedOrigins, ","),
		"NOTIFY_LIVE_CONNECTIONS_ENABLED": strconv.FormatBool(c.Live.Enabled),
		"NOTIFY_LIVE_HEARTBEAT_INTERVAL":  c.Live.HeartbeatInterval.String(),
		"NOTIFY_LIVE_RETRY_MAX_ATTEMPTS":  strconv.Itoa(c.Live.RetryMaxAttempts),
		"NOTIFY_LIVE_RETRY_INTERVAL":      c.Live.RetryInterval.String(),
		"NOTIFY_SSE_ENABLED":              strconv.FormatBool(c.SSEEnabled),
		"NOTIFY_DEVICE_FALLBACK":          strconv.FormatBool(c.DeviceFallback),
		"NOTIFY_SEND_MAX_ATTEMPTS":        strconv.Itoa(c.Send.MaxAttempts),
		"NOTIFY_SEND_RETRY_BACKOFF":       c.Send.RetryBackoff.String(),
		"NOTIFY_EMAIL_PROVIDER":           c.Email.Provider,
		"NOTIFY_SMS_PROVIDER":             c.SMS.Provider,
		"NOTIFY_WHATSAPP_PROVIDER":        c.WhatsApp.Provider,
		"NOTIFY_WEBPUSH_PROVIDER":         c.WebPush.Provider,
		"NOTIFY_MOBILEPUSH_PROVIDER":      mobileProviders(c.MobilePush.Providers),
	}
	switch c.Store.Driver {
	case DriverPostgres:
		m["NOTIFY_POSTGRES_DSN"] = secret(c.Store.PostgresDSN)
		m["NOTIFY_POSTGRES_AUTOMIGRATE"] = strconv.FormatBool(c.Store.PostgresAutoMigrate)
	case DriverSQLite:
		m["NOTIFY_SQLITE_PATH"] = c.Store.SQLitePath
	}
	if e := c.Email; e.Enabled() {
		m["NOTIFY_EMAIL_FROM"] = e.From
		m["NOTIFY_EMAIL_API_KEY"] = secret(e.APIKey)
		m["NOTIFY_EMAIL_REGION"] = e.Region
		m["NOTIFY_EMAIL_ENDPOINT"] = e.Endpoint
		switch e.Provider {
		case ProviderEmailService:
			m["NOTIFY_EMAIL_SERVICE_ADDRESS"] = e.ServiceAddress
		case ProviderSMTP:
			m["NOTIFY_EMAIL_SMTP_HOST"] = e.SMTP.Host
			m["NOTIFY_EMAIL_SMTP_PORT"] = strconv.Itoa(e.SMTP.Port)
			m["NOTIFY_EMAIL_SMTP_USERNAME"] = e.SMTP.Username
			m["NOTIFY_EMAIL_SMTP_PASSWORD"] = secret(e.SMTP.Password)
			m["NOTIFY_EMAIL_SMTP_TLS"] = e.SMTP.TLS
		}
	}
	redactTwilio(m, "NOTIFY_SMS_", c.SMS)
	redactTwilio(m, "NOTIFY_WHATSAPP_", c.WhatsApp)
	if w := c.WebPush; w.Enabled() {
		m["NOTIFY_WEBPUSH_VAPID_PUBLIC"] = w.PublicKey
		m["NOTIFY_WEBPUSH_VAPID_PRIVATE"] = secretIf(w.PrivateKey != nil)
		m["NOTIFY_WEBPUSH_CONTACT_EMAIL"] = w.Subject
	}
	if mp := c.MobilePush; mp.Has(ProviderFCM) {
		m["NOTIFY_FCM_CREDENTIALS_JSON"] = secretIf(mp.FCM.PrivateKey != nil)
		m["NOTIFY_FCM_PROJECT_ID"] = mp.FCM.ProjectID
		m["NOTIFY_FCM_BASE_URL"] = mp.FCM.BaseURL
		m["NOTIFY_FCM_TOKEN_URL"] = mp.FCM.TokenURL
	}
	if mp := c.MobilePush; mp.Has(ProviderAPNs) {
		m["NOTIFY_APNS_KEY_P8"] = secretIf(mp.APNs.Key != nil)
		m["NOTIFY_APNS_KEY_ID"] = mp.APNs.KeyID
		m["NOTIFY_APNS_TEAM_ID"] = mp.APNs.TeamID
		m["NOTIFY_APNS_TOPIC"] = mp.APNs.Topic
		m["NOTIFY_APNS_SANDBOX"] = strconv.FormatBool(mp.APNs.Sandbox)
		m["NOTIFY_APNS_BASE_URL"] = mp.APNs.BaseURL
	}
	return m
}

func redactTwilio(m map[string]string, prefix string, t TwilioConfig) {
	if !t.Enabled() {
		return
	}
	m[prefix+"ACCOUNT_SID"] = t.AccountSID
	m[prefix+"AUTH_TOKEN"] = secret(t.AuthToken)
	m[prefix+"MESSAGING_SERVICE_SID"] = t.MessagingServiceSID
	m[prefix+"FROM"] = t.From
	m[prefix+"BASE_URL"] = t.BaseURL
}

func mobileProviders(p []string) string {
	if len(p) == 0 {
		return ProviderNone
	}
	return strings.Join(p, ",")
}

func secret(v string) string { return secretIf(v != "") }

func secretIf(set bool) string {
	if set {
		return redacted
	}
	return ""
}

// LogValue makes slog print the redacted form, so logging the Config by
// mistake leaks nothing.
func (c Config) LogValue() slog.Value {
	m := c.Redacted()
	attrs := make([]slog.Attr, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		attrs = append(attrs, slog.String(k, m[k]))
	}
	return slog.GroupValue(attrs...)
}

// String is the redacted form too, for the same reason (fmt's %v and %s).
func (c Config) String() string {
	m := c.Redacted()
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + strconv.Quote(m[k]))
	}
	return b.String()
}

// GoString covers %#v.
func (c Config) GoString() string { return "notifyd.Config{" + c.String() + "}" }
