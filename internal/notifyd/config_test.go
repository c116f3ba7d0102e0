package notifyd

import (
	"encoding/json"
	"log/slog"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/platform/env"
)

// required is the smallest valid non-dev environment.
func required(kv ...string) map[string]string {
	m := map[string]string{"NOTIFY_AUTH_JWT_SECRET": "jwt-secret-value", "NOTIFY_INTERNAL_TOKEN": "internal-token-value"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func mustLoad(t *testing.T, m map[string]string) Config {
	t.Helper()
	c, err := LoadConfig(env.FromMap(m))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	return c
}

func mustFail(t *testing.T, m map[string]string, want ...string) string {
	t.Helper()
	_, err := LoadConfig(env.FromMap(m))
	if err == nil {
		t.Fatalf("LoadConfig accepted %v", m)
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not mention %q:\n%s", w, msg)
		}
	}
	return msg
}

func TestLoadConfigDefaults(t *testing.T) {
	c := mustLoad(t, required())
	want := Config{
		ClientPort: 8080, InternalPort: 8081, MetricsPort: 9090,
		LogLevel: slog.LevelInfo, ShutdownTimeout: 30 * time.Second,
		Store: StoreConfig{Driver: DriverMemory},
		Auth: AuthConfig{
			JWTSecret: []byte("jwt-secret-value"), InternalToken: "internal-token-value",
			Leeway: 30 * time.Second,
		},
		Live:       LiveConfig{Enabled: true, HeartbeatInterval: 30 * time.Second, RetryMaxAttempts: 3, RetryInterval: 5 * time.Second},
		SSEEnabled: true,
		Send:       SendConfig{MaxAttempts: 3, RetryBackoff: 500 * time.Millisecond},
		Email:      EmailConfig{Provider: ProviderNone},
		SMS:        TwilioConfig{Provider: ProviderNone},
		WhatsApp:   TwilioConfig{Provider: ProviderNone},
		WebPush:    WebPushConfig{Provider: ProviderNone},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %#v\nwant %#v", c, want)
	}
	if c.Email.Enabled() || c.SMS.Enabled() || c.WhatsApp.Enabled() || c.WebPush.Enabled() || len(c.MobilePush.Providers) != 0 {
		t.Error("no provider may be on by default")
	}
}

func TestLoadConfigDevModeNeedsNoSecrets(t *testing.T) {
	c := mustLoad(t, map[string]string{"NOTIFY_AUTH_DEV_MODE": "true"})
	if !c.Auth.DevMode || len(c.Auth.JWTSecret) != 0 || c.Auth.InternalToken != "" {
		t.Fatalf("auth = %+v", c.Auth)
	}
	mustFail(t, map[string]string{}, "NOTIFY_AUTH_JWT_SECRET: required", "NOTIFY_INTERNAL_TOKEN: required")
	mustFail(t, map[string]string{"NOTIFY_AUTH_DEV_MODE": "false", "NOTIFY_INTERNAL_TOKEN": "x"}, "NOTIFY_AUTH_JWT_SECRET")
}

func TestLoadConfigValues(t *testing.T) {
	c := mustLoad(t, required(
		"NOTIFY_CLIENT_PORT", "1", "NOTIFY_INTERNAL_PORT", "65535", "NOTIFY_METRICS_PORT", " 9100 ",
		"NOTIFY_LOG_LEVEL", "WARNING", "NOTIFY_SHUTDOWN_TIMEOUT", "1m",
		"NOTIFY_AUTH_JWT_ISSUER", "https://id.example.com", "NOTIFY_AUTH_JWT_AUDIENCE", "notify",
		"NOTIFY_AUTH_JWT_LEEWAY", "0s", "NOTIFY_AUTH_DEV_MODE", "1",
		"NOTIFY_LIVE_CONNECTIONS_ENABLED", "F", "NOTIFY_LIVE_HEARTBEAT_INTERVAL", "10s",
		"NOTIFY_LIVE_RETRY_MAX_ATTEMPTS", "0", "NOTIFY_LIVE_RETRY_INTERVAL", "250ms",
		"NOTIFY_SSE_ENABLED", "false", "NOTIFY_DEVICE_FALLBACK", "TRUE",
		"NOTIFY_SEND_MAX_ATTEMPTS", "10", "NOTIFY_SEND_RETRY_BACKOFF", "2s",
	))
	if c.ClientPort != 1 || c.InternalPort != 65535 || c.MetricsPort != 9100 {
		t.Errorf("ports %d %d %d", c.ClientPort, c.InternalPort, c.MetricsPort)
	}
	if c.LogLevel != slog.LevelWarn || c.ShutdownTimeout != time.Minute {
		t.Errorf("log level %v, shutdown %v", c.LogLevel, c.ShutdownTimeout)
	}
	if a := c.Auth; a.Issuer != "https://id.example.com" || a.Audience != "notify" || a.Leeway != 0 || !a.DevMode {
		t.Errorf("auth %+v", a)
	}
	if want := (LiveConfig{false, 10 * time.Second, 0, 250 * time.Millisecond}); c.Live != want {
		t.Errorf("live %+v", c.Live)
	}
	if c.SSEEnabled || !c.DeviceFallback || c.Send != (SendConfig{10, 2 * time.Second}) {
		t.Errorf("sse %v fallback %v send %+v", c.SSEEnabled, c.DeviceFallback, c.Send)
	}
	for level, want := range map[string]slog.Level{"debug": slog.LevelDebug, "Info": slog.LevelInfo, "warn": slog.LevelWarn, "ERROR": slog.LevelError} {
		if got := mustLoad(t, required("NOTIFY_LOG_LEVEL", level)).LogLevel; got != want {
			t.Errorf("NOTIFY_LOG_LEVEL=%s: %v", level, got)
		}
	}
}

// TestLoadConfigRules checks each rule alone: the error names the variable
// and says what is allowed.
func TestLoadConfigRules(t *testing.T) {
	k := testKeys()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"port zero", required("NOTIFY_CLIENT_PORT", "0"), []string{"NOTIFY_CLIENT_PORT=\"0\"", "1 to 65535"}},
		{"port too big", required("NOTIFY_INTERNAL_PORT", "65536"), []string{"NOTIFY_INTERNAL_PORT"}},
		{"port not a number", required("NOTIFY_METRICS_PORT", "http"), []string{"NOTIFY_METRICS_PORT"}},
		{"ports equal", required("NOTIFY_INTERNAL_PORT", "8080"), []string{"NOTIFY_INTERNAL_PORT: must differ from NOTIFY_CLIENT_PORT"}},
		{"metrics on internal", required("NOTIFY_METRICS_PORT", "8081"), []string{"NOTIFY_METRICS_PORT: must differ from NOTIFY_INTERNAL_PORT"}},
		{"log level", required("NOTIFY_LOG_LEVEL", "verbose"), []string{"NOTIFY_LOG_LEVEL", "debug, info, warn, warning, error"}},
		{"shutdown zero", required("NOTIFY_SHUTDOWN_TIMEOUT", "0s"), []string{"NOTIFY_SHUTDOWN_TIMEOUT", "positive"}},
		{"shutdown negative", required("NOTIFY_SHUTDOWN_TIMEOUT", "-1s"), []string{"NOTIFY_SHUTDOWN_TIMEOUT"}},
		{"shutdown no unit", required("NOTIFY_SHUTDOWN_TIMEOUT", "30"), []string{"NOTIFY_SHUTDOWN_TIMEOUT"}},
		{"driver unknown", required("NOTIFY_STORE_DRIVER", "mysql"), []string{"NOTIFY_STORE_DRIVER", "memory, postgres, sqlite"}},
		{"postgres without dsn", required("NOTIFY_STORE_DRIVER", "postgres"), []string{"NOTIFY_POSTGRES_DSN: required when NOTIFY_STORE_DRIVER=postgres"}},
		{"postgres bad dsn", required("NOTIFY_STORE_DRIVER", "Postgres", "NOTIFY_POSTGRES_DSN", "mysql://u:p@h/db"), []string{"NOTIFY_POSTGRES_DSN: must be a postgres://"}},
		{"postgres garbage dsn", required("NOTIFY_STORE_DRIVER", "postgres", "NOTIFY_POSTGRES_DSN", "db.example.com"), []string{"NOTIFY_POSTGRES_DSN"}},
		{"postgres bad automigrate", required("NOTIFY_STORE_DRIVER", "postgres", "NOTIFY_POSTGRES_DSN", "host=db", "NOTIFY_POSTGRES_AUTOMIGRATE", "yes"), []string{"NOTIFY_POSTGRES_AUTOMIGRATE=\"yes\"", "boolean"}},
		{"entdb without vars", required("NOTIFY_STORE_DRIVER", "entdb"), []string{"NOTIFY_ENTDB_ADDRESS: required", "NOTIFY_ENTDB_TENANT_ID: required", "not supported by notifyd"}},
		{"entdb with vars", required("NOTIFY_STORE_DRIVER", "ENTDB", "NOTIFY_ENTDB_ADDRESS", "entdb:5000", "NOTIFY_ENTDB_TENANT_ID", "t"), []string{"NOTIFY_STORE_DRIVER: entdb is not supported by notifyd"}},
		{"dev mode bad bool", required("NOTIFY_AUTH_DEV_MODE", "on"), []string{"NOTIFY_AUTH_DEV_MODE=\"on\""}},
		{"leeway negative", required("NOTIFY_AUTH_JWT_LEEWAY", "-1s"), []string{"NOTIFY_AUTH_JWT_LEEWAY", "at least 0s"}},
		{"leeway garbage", required("NOTIFY_AUTH_JWT_LEEWAY", "a while"), []string{"NOTIFY_AUTH_JWT_LEEWAY"}},
		{"origin path", required("NOTIFY_ALLOWED_ORIGINS", "https://app.example.com/login"), []string{"NOTIFY_ALLOWED_ORIGINS", "path"}},
		{"origin scheme", required("NOTIFY_ALLOWED_ORIGINS", "ftp://app.example.com"), []string{"NOTIFY_ALLOWED_ORIGINS", "http or https"}},
		{"origin bare host", required("NOTIFY_ALLOWED_ORIGINS", "app.example.com"), []string{"NOTIFY_ALLOWED_ORIGINS", "app.example.com"}},
		{"origin wildcard host", required("NOTIFY_ALLOWED_ORIGINS", "https://*.example.com"), []string{"NOTIFY_ALLOWED_ORIGINS", "wildcard"}},
		{"origin credentials", required("NOTIFY_ALLOWED_ORIGINS", "https://u:p@app.example.com"), []string{"credentials"}},
		{"origin port", required("NOTIFY_ALLOWED_ORIGINS", "https://app.example.com:99999"), []string{"NOTIFY_ALLOWED_ORIGINS"}},
		{"origin empty port", required("NOTIFY_ALLOWED_ORIGINS", "https://app.example.com:"), []string{"NOTIFY_ALLOWED_ORIGINS"}},
		{"live bad bool", required("NOTIFY_LIVE_CONNECTIONS_ENABLED", "disabled"), []string{"NOTIFY_LIVE_CONNECTIONS_ENABLED"}},
		{"heartbeat zero", required("NOTIFY_LIVE_HEARTBEAT_INTERVAL", "0"), []string{"NOTIFY_LIVE_HEARTBEAT_INTERVAL"}},
		{"retry attempts negative", required("NOTIFY_LIVE_RETRY_MAX_ATTEMPTS", "-1"), []string{"NOTIFY_LIVE_RETRY_MAX_ATTEMPTS", "integer"}},
		{"retry attempts float", required("NOTIFY_LIVE_RETRY_MAX_ATTEMPTS", "1.5"), []string{"NOTIFY_LIVE_RETRY_MAX_ATTEMPTS"}},
		{"retry interval zero", required("NOTIFY_LIVE_RETRY_INTERVAL", "0s"), []string{"NOTIFY_LIVE_RETRY_INTERVAL"}},
		{"sse bad bool", required("NOTIFY_SSE_ENABLED", "nope"), []string{"NOTIFY_SSE_ENABLED"}},
		{"device fallback bad bool", required("NOTIFY_DEVICE_FALLBACK", "2"), []string{"NOTIFY_DEVICE_FALLBACK"}},
		{"send attempts zero", required("NOTIFY_SEND_MAX_ATTEMPTS", "0"), []string{"NOTIFY_SEND_MAX_ATTEMPTS", "1 to 10"}},
		{"send attempts eleven", required("NOTIFY_SEND_MAX_ATTEMPTS", "11"), []string{"NOTIFY_SEND_MAX_ATTEMPTS"}},
		{"send backoff zero", required("NOTIFY_SEND_RETRY_BACKOFF", "0ms"), []string{"NOTIFY_SEND_RETRY_BACKOFF"}},

		{"email unknown", required("NOTIFY_EMAIL_PROVIDER", "ses"), []string{"NOTIFY_EMAIL_PROVIDER=\"ses\"", "none, smtp, emailservice"}},
		{"email without from", required("NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_SMTP_HOST", "mail"), []string{"NOTIFY_EMAIL_FROM: required"}},
		{"email bad from", required("NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_SMTP_HOST", "mail", "NOTIFY_EMAIL_FROM", "no-at-sign"), []string{"NOTIFY_EMAIL_FROM: must be an email address"}},
		{"emailservice without address", required("NOTIFY_EMAIL_PROVIDER", "emailservice", "NOTIFY_EMAIL_FROM", "a@b.c"), []string{"NOTIFY_EMAIL_SERVICE_ADDRESS: required"}},
		{"smtp without host", required("NOTIFY_EMAIL_PROVIDER", "SMTP", "NOTIFY_EMAIL_FROM", "a@b.c"), []string{"NOTIFY_EMAIL_SMTP_HOST: required"}},
		{"smtp host with port", required("NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_FROM", "a@b.c", "NOTIFY_EMAIL_SMTP_HOST", "mail:25"), []string{"NOTIFY_EMAIL_SMTP_HOST: must be a host name without a port"}},
		{"smtp bad port", required("NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_FROM", "a@b.c", "NOTIFY_EMAIL_SMTP_HOST", "mail", "NOTIFY_EMAIL_SMTP_PORT", "0"), []string{"NOTIFY_EMAIL_SMTP_PORT", "1 to 65535"}},
		{"smtp bad tls", required("NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_FROM", "a@b.c", "NOTIFY_EMAIL_SMTP_HOST", "mail", "NOTIFY_EMAIL_SMTP_TLS", "ssl"), []string{"NOTIFY_EMAIL_SMTP_TLS", "auto, starttls, implicit, none"}},
		{"smtp user without password", required("NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_FROM", "a@b.c", "NOTIFY_EMAIL_SMTP_HOST", "mail", "NOTIFY_EMAIL_SMTP_USERNAME", "u"), []string{"NOTIFY_EMAIL_SMTP_PASSWORD: required when NOTIFY_EMAIL_SMTP_USERNAME"}},
		{"smtp password without user", required("NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_FROM", "a@b.c", "NOTIFY_EMAIL_SMTP_HOST", "mail", "NOTIFY_EMAIL_SMTP_PASSWORD", "p"), []string{"NOTIFY_EMAIL_SMTP_USERNAME: required when NOTIFY_EMAIL_SMTP_PASSWORD"}},

		{"sms unknown", required("NOTIFY_SMS_PROVIDER", "vonage"), []string{"NOTIFY_SMS_PROVIDER", "none, twilio"}},
		{"sms twilio empty", required("NOTIFY_SMS_PROVIDER", "twilio"), []string{"NOTIFY_SMS_ACCOUNT_SID: required", "NOTIFY_SMS_AUTH_TOKEN: required", "TWILIO_AUTH_TOKEN", "NOTIFY_SMS_FROM: required"}},
		{"sms bad base url", required("NOTIFY_SMS_PROVIDER", "twilio", "NOTIFY_SMS_ACCOUNT_SID", "AC1", "NOTIFY_SMS_AUTH_TOKEN", "t", "NOTIFY_SMS_FROM", "+1555", "NOTIFY_SMS_BASE_URL", "ftp://x"), []string{"NOTIFY_SMS_BASE_URL"}},
		{"sms base url with query", required("NOTIFY_SMS_PROVIDER", "twilio", "NOTIFY_SMS_ACCOUNT_SID", "AC1", "NOTIFY_SMS_AUTH_TOKEN", "t", "NOTIFY_SMS_FROM", "+1555", "NOTIFY_SMS_BASE_URL", "http://127.0.0.1:1/?a=b"), []string{"NOTIFY_SMS_BASE_URL"}},
		{"whatsapp twilio empty", required("NOTIFY_WHATSAPP_PROVIDER", "Twilio"), []string{"NOTIFY_WHATSAPP_ACCOUNT_SID: required", "NOTIFY_WHATSAPP_AUTH_TOKEN: required", "NOTIFY_WHATSAPP_FROM: required"}},

		{"webpush unknown", required("NOTIFY_WEBPUSH_PROVIDER", "fcm"), []string{"NOTIFY_WEBPUSH_PROVIDER", "none, vapid"}},
		{"vapid without keys", required("NOTIFY_WEBPUSH_PROVIDER", "vapid"), []string{"NOTIFY_WEBPUSH_VAPID_PUBLIC: required", "NOTIFY_WEBPUSH_VAPID_PRIVATE: required"}},
		{"vapid bad base64", required("NOTIFY_WEBPUSH_PROVIDER", "vapid", "NOTIFY_WEBPUSH_VAPID_PUBLIC", "!!!", "NOTIFY_WEBPUSH_VAPID_PRIVATE", "***"), []string{"NOTIFY_WEBPUSH_VAPID_PUBLIC: must be a base64url", "NOTIFY_WEBPUSH_VAPID_PRIVATE: must be a base64url"}},
		{"vapid short key", required("NOTIFY_WEBPUSH_PROVIDER", "vapid", "NOTIFY_WEBPUSH_VAPID_PUBLIC", "AAAA", "NOTIFY_WEBPUSH_VAPID_PRIVATE", k.VAPIDPriv), []string{"NOTIFY_WEBPUSH_VAPID_PUBLIC"}},
		{"vapid mismatched pair", required("NOTIFY_WEBPUSH_PROVIDER", "vapid", "NOTIFY_WEBPUSH_VAPID_PUBLIC", k.VAPIDPub, "NOTIFY_WEBPUSH_VAPID_PRIVATE", k.OtherVAPIDPriv), []string{"NOTIFY_WEBPUSH_VAPID_PRIVATE: does not belong"}},
		{"vapid bad contact", required("NOTIFY_WEBPUSH_PROVIDER", "vapid", "NOTIFY_WEBPUSH_VAPID_PUBLIC", k.VAPIDPub, "NOTIFY_WEBPUSH_VAPID_PRIVATE", k.VAPIDPriv, "NOTIFY_WEBPUSH_CONTACT_EMAIL", "ops team"), []string{"NOTIFY_WEBPUSH_CONTACT_EMAIL"}},
		{"vapid http contact", required("NOTIFY_WEBPUSH_PROVIDER", "vapid", "NOTIFY_WEBPUSH_VAPID_PUBLIC", k.VAPIDPub, "NOTIFY_WEBPUSH_VAPID_PRIVATE", k.VAPIDPriv, "NOTIFY_WEBPUSH_CONTACT_EMAIL", "http://example.com"), []string{"NOTIFY_WEBPUSH_CONTACT_EMAIL"}},

		{"mobile unknown", required("NOTIFY_MOBILEPUSH_PROVIDER", "fcm,hms"), []string{"NOTIFY_MOBILEPUSH_PROVIDER", "none, fcm, apns"}},
		{"mobile none combined", required("NOTIFY_MOBILEPUSH_PROVIDER", "none,fcm"), []string{"NOTIFY_MOBILEPUSH_PROVIDER"}},
		{"fcm without vars", required("NOTIFY_MOBILEPUSH_PROVIDER", "fcm"), []string{"NOTIFY_FCM_CREDENTIALS_JSON: required", "FCM_SERVICE_ACCOUNT_JSON", "NOTIFY_FCM_PROJECT_ID: required"}},
		{"fcm not json", required("NOTIFY_MOBILEPUSH_PROVIDER", "fcm", "NOTIFY_FCM_PROJECT_ID", "p", "NOTIFY_FCM_CREDENTIALS_JSON", `{ "type": "service_account", ... }`), []string{"NOTIFY_FCM_CREDENTIALS_JSON: must be the contents of a service-account JSON"}},
		{"fcm missing fields", required("NOTIFY_MOBILEPUSH_PROVIDER", "fcm", "NOTIFY_FCM_PROJECT_ID", "p", "NOTIFY_FCM_CREDENTIALS_JSON", `{"type":"service_account"}`), []string{"client_email and private_key"}},
		{"fcm bad key", required("NOTIFY_MOBILEPUSH_PROVIDER", "fcm", "NOTIFY_FCM_PROJECT_ID", "p", "NOTIFY_FCM_CREDENTIALS_JSON", `{"client_email":"a@b","private_key":"nope"}`), []string{"private_key is not PEM"}},
		{"fcm ec key", required("NOTIFY_MOBILEPUSH_PROVIDER", "fcm", "NOTIFY_FCM_PROJECT_ID", "p", "NOTIFY_FCM_CREDENTIALS_JSON", jsonString(t, map[string]string{"client_email": "a@b", "private_key": k.APNsP8})), []string{"not an RSA private key"}},
		{"fcm bad token url", required("NOTIFY_MOBILEPUSH_PROVIDER", "fcm", "NOTIFY_FCM_PROJECT_ID", "p", "NOTIFY_FCM_CREDENTIALS_JSON", k.FCMJSON, "NOTIFY_FCM_TOKEN_URL", "not a url"), []string{"NOTIFY_FCM_TOKEN_URL"}},
		{"apns without vars", required("NOTIFY_MOBILEPUSH_PROVIDER", "apns"), []string{"NOTIFY_APNS_KEY_P8: required", "NOTIFY_APNS_KEY_ID: required", "NOTIFY_APNS_TEAM_ID: required", "NOTIFY_APNS_TOPIC: required"}},
		{"apns bad key", required("NOTIFY_MOBILEPUSH_PROVIDER", "apns", "NOTIFY_APNS_KEY_P8", "garbage", "NOTIFY_APNS_KEY_ID", "K", "NOTIFY_APNS_TEAM_ID", "T", "NOTIFY_APNS_TOPIC", "com.x"), []string{"NOTIFY_APNS_KEY_P8: must be the contents of an APNs .p8 key"}},
		{"apns bad sandbox", required("NOTIFY_MOBILEPUSH_PROVIDER", "apns", "NOTIFY_APNS_KEY_P8", k.APNsP8, "NOTIFY_APNS_KEY_ID", "K", "NOTIFY_APNS_TEAM_ID", "T", "NOTIFY_APNS_TOPIC", "com.x", "NOTIFY_APNS_SANDBOX", "dev"), []string{"NOTIFY_APNS_SANDBOX=\"dev\""}},
	} {
		t.Run(tc.name, func(t *testing.T) { mustFail(t, tc.env, tc.want...) })
	}
}

func jsonString(t *testing.T, m map[string]string) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadConfigReportsEverythingAtOnce(t *testing.T) {
	msg := mustFail(t, map[string]string{
		"NOTIFY_CLIENT_PORT":             "x",
		"NOTIFY_LOG_LEVEL":               "loud",
		"NOTIFY_SHUTDOWN_TIMEOUT":        "0s",
		"NOTIFY_STORE_DRIVER":            "postgres",
		"NOTIFY_AUTH_DEV_MODE":           "maybe",
		"NOTIFY_AUTH_JWT_LEEWAY":         "-5s",
		"NOTIFY_ALLOWED_ORIGINS":         "https://ok.example.com, nonsense",
		"NOTIFY_LIVE_HEARTBEAT_INTERVAL": "fast",
		"NOTIFY_SEND_MAX_ATTEMPTS":       "100",
		"NOTIFY_EMAIL_PROVIDER":          "smtp",
		"NOTIFY_SMS_PROVIDER":            "twilio",
		"NOTIFY_WEBPUSH_PROVIDER":        "vapid",
		"NOTIFY_MOBILEPUSH_PROVIDER":     "fcm,apns",
	},
		"NOTIFY_CLIENT_PORT", "NOTIFY_LOG_LEVEL", "NOTIFY_SHUTDOWN_TIMEOUT", "NOTIFY_POSTGRES_DSN",
		"NOTIFY_AUTH_DEV_MODE", "NOTIFY_AUTH_JWT_SECRET", "NOTIFY_INTERNAL_TOKEN", "NOTIFY_AUTH_JWT_LEEWAY",
		"NOTIFY_ALLOWED_ORIGINS", "NOTIFY_LIVE_HEARTBEAT_INTERVAL", "NOTIFY_SEND_MAX_ATTEMPTS",
		"NOTIFY_EMAIL_FROM", "NOTIFY_EMAIL_SMTP_HOST", "NOTIFY_SMS_ACCOUNT_SID", "NOTIFY_SMS_AUTH_TOKEN",
		"NOTIFY_WEBPUSH_VAPID_PUBLIC", "NOTIFY_FCM_PROJECT_ID", "NOTIFY_APNS_TOPIC",
	)
	if !strings.HasPrefix(msg, "notifyd: invalid configuration:\n") {
		t.Errorf("message should start with a heading:\n%s", msg)
	}
	if strings.Contains(msg, "ok.example.com") {
		t.Errorf("only the bad origin should be reported:\n%s", msg)
	}
	if n := strings.Count(msg, "\n"); n < 18 {
		t.Errorf("want one line per problem, got %d lines:\n%s", n, msg)
	}
}

func TestLoadConfigStoreDrivers(t *testing.T) {
	for _, dsn := range []string{
		"postgres://notify:password@db.notify:5432/notify?sslmode=require",
		"postgresql:///notify?host=/var/run/postgresql",
		"POSTGRES://db/notify",
		"host=db dbname=notify",
		"host = db  port=5432 password='a b' sslmode=disable",
		`password='a b\' c' user=x`,
		"host=",
	} {
		c := mustLoad(t, required("NOTIFY_STORE_DRIVER", "postgres", "NOTIFY_POSTGRES_DSN", dsn))
		if c.Store.Driver != DriverPostgres || c.Store.PostgresDSN != dsn || !c.Store.PostgresAutoMigrate {
			t.Errorf("%q: %+v", dsn, c.Store)
		}
	}
	for _, dsn := range []string{"notify", "host", "=db", "host=db dbname", "password='open", `host=db\`, "mysql://x", "host=db =x"} {
		mustFail(t, required("NOTIFY_STORE_DRIVER", "postgres", "NOTIFY_POSTGRES_DSN", dsn), "NOTIFY_POSTGRES_DSN")
	}
	c := mustLoad(t, required("NOTIFY_STORE_DRIVER", "postgres", "NOTIFY_POSTGRES_DSN", "host=db", "NOTIFY_POSTGRES_AUTOMIGRATE", "false"))
	if c.Store.PostgresAutoMigrate {
		t.Error("automigrate=false ignored")
	}
	if c := mustLoad(t, required("NOTIFY_STORE_DRIVER", "SQLite")); c.Store != (StoreConfig{Driver: DriverSQLite, SQLitePath: "notify.db"}) {
		t.Errorf("sqlite default: %+v", c.Store)
	}
	if c := mustLoad(t, required("NOTIFY_STORE_DRIVER", "sqlite", "NOTIFY_SQLITE_PATH", "/data/n.db")); c.Store.SQLitePath != "/data/n.db" {
		t.Errorf("sqlite path: %+v", c.Store)
	}
}

// TestLoadConfigIgnoresUnselectedDrivers: variables of a driver or provider
// that is not selected are not read, so even garbage in them is harmless.
func TestLoadConfigIgnoresUnselectedDrivers(t *testing.T) {
	garbage := required(
		"NOTIFY_POSTGRES_DSN", "garbage", "NOTIFY_POSTGRES_AUTOMIGRATE", "garbage",
		"NOTIFY_ENTDB_ADDRESS", "garbage", "NOTIFY_SQLITE_PATH", "/garbage",
		"NOTIFY_EMAIL_FROM", "garbage", "NOTIFY_EMAIL_SMTP_PORT", "garbage", "NOTIFY_EMAIL_SMTP_TLS", "garbage",
		"NOTIFY_SMS_BASE_URL", "garbage", "NOTIFY_WHATSAPP_ACCOUNT_SID", "garbage",
		"NOTIFY_WEBPUSH_VAPID_PUBLIC", "garbage", "NOTIFY_FCM_CREDENTIALS_JSON", "garbage",
		"NOTIFY_APNS_SANDBOX", "garbage", "NOTIFY_APNS_KEY_P8", "garbage",
	)
	c := mustLoad(t, garbage)
	if c.Store.PostgresDSN != "" || c.Store.SQLitePath != "" || c.Email.From != "" || c.WebPush.PublicKey != "" {
		t.Errorf("unselected values leaked into the config: %+v", c)
	}
	// sqlite ignores the postgres variables and vice versa.
	garbage["NOTIFY_STORE_DRIVER"] = "sqlite"
	if c := mustLoad(t, garbage); c.Store.PostgresDSN != "" || c.Store.SQLitePath != "/garbage" {
		t.Errorf("sqlite: %+v", c.Store)
	}

	seen := map[string]bool{}
	lookup := func(name string) (string, bool) { seen[name] = true; return env.FromMap(required())(name) }
	if _, err := LoadConfig(lookup); err != nil {
		t.Fatal(err)
	}
	for name := range seen {
		for _, prefix := range []string{"NOTIFY_POSTGRES_", "NOTIFY_ENTDB_", "NOTIFY_SQLITE_", "NOTIFY_EMAIL_F", "NOTIFY_EMAIL_S", "NOTIFY_EMAIL_A", "NOTIFY_FCM_", "NOTIFY_APNS_", "TWILIO_", "FCM_", "NOTIFY_WEBPUSH_V", "NOTIFY_SMS_A"} {
			if strings.HasPrefix(name, prefix) {
				t.Errorf("default config read %s", name)
			}
		}
	}
}

func TestLoadConfigOrigins(t *testing.T) {
	c := mustLoad(t, required("NOTIFY_ALLOWED_ORIGINS", " https://App.Example.com/ ,, http://localhost:5173,https://x.example.com:443, http://[::1]:8080, http://[::1]:80,*,"))
	want := []string{"https://app.example.com", "http://localhost:5173", "https://x.example.com", "http://[::1]:8080", "http://[::1]", "*"}
	if !reflect.DeepEqual(c.AllowedOrigins, want) {
		t.Errorf("origins = %q, want %q", c.AllowedOrigins, want)
	}
	if c := mustLoad(t, required("NOTIFY_ALLOWED_ORIGINS", " , ")); c.AllowedOrigins != nil {
		t.Errorf("empty entries must be dropped: %q", c.AllowedOrigins)
	}
}

func TestLoadConfigProviders(t *testing.T) {
	k := testKeys()
	c := mustLoad(t, required(
		"NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_FROM", "QuikApp <noreply@example.com>",
		"NOTIFY_EMAIL_SMTP_HOST", "smtp.example.com", "NOTIFY_EMAIL_SMTP_USERNAME", "u", "NOTIFY_EMAIL_SMTP_PASSWORD", "p",
		"NOTIFY_EMAIL_SMTP_TLS", "Implicit", "NOTIFY_EMAIL_API_KEY", "k", "NOTIFY_EMAIL_REGION", "eu", "NOTIFY_EMAIL_ENDPOINT", "e",
		"NOTIFY_SMS_PROVIDER", "twilio", "NOTIFY_SMS_ACCOUNT_SID", "AC1", "NOTIFY_SMS_AUTH_TOKEN", "tok", "NOTIFY_SMS_MESSAGING_SERVICE_SID", "MG1",
		"NOTIFY_SMS_BASE_URL", "http://127.0.0.1:9999/twilio/",
		"NOTIFY_WHATSAPP_PROVIDER", "twilio", "NOTIFY_WHATSAPP_ACCOUNT_SID", "AC2", "NOTIFY_WHATSAPP_AUTH_TOKEN", "tok2", "NOTIFY_WHATSAPP_FROM", "+15555550001",
		"NOTIFY_WEBPUSH_PROVIDER", "VAPID", "NOTIFY_WEBPUSH_VAPID_PUBLIC", k.VAPIDPub+"=", "NOTIFY_WEBPUSH_VAPID_PRIVATE", k.VAPIDPriv,
		"NOTIFY_WEBPUSH_CONTACT_EMAIL", "ops@example.com",
		"NOTIFY_MOBILEPUSH_PROVIDER", " APNS , fcm, apns ", "NOTIFY_FCM_CREDENTIALS_JSON", k.FCMJSON, "NOTIFY_FCM_PROJECT_ID", "proj",
		"NOTIFY_FCM_BASE_URL", "http://127.0.0.1:1", "NOTIFY_APNS_KEY_P8", strings.ReplaceAll(k.APNsP8, "\n", `\n`),
		"NOTIFY_APNS_KEY_ID", "KEY1", "NOTIFY_APNS_TEAM_ID", "TEAM1", "NOTIFY_APNS_TOPIC", "com.quikapp", "NOTIFY_APNS_SANDBOX", "true",
	))
	if e := c.Email; e.Provider != ProviderSMTP || e.SMTP != (SMTPConfig{"smtp.example.com", 465, "u", "p", SMTPTLSImplicit}) ||
		e.APIKey != "k" || e.Region != "eu" || e.Endpoint != "e" || e.ServiceAddress != "" {
		t.Errorf("email %+v", e)
	}
	if want := (TwilioConfig{ProviderTwilio, "AC1", "tok", "MG1", "", "http://127.0.0.1:9999/twilio"}); c.SMS != want {
		t.Errorf("sms %+v", c.SMS)
	}
	if want := (TwilioConfig{ProviderTwilio, "AC2", "tok2", "", "+15555550001", "https://api.twilio.com"}); c.WhatsApp != want {
		t.Errorf("whatsapp %+v", c.WhatsApp)
	}
	if w := c.WebPush; w.PublicKey != k.VAPIDPub || w.PrivateKey == nil || w.Subject != "mailto:ops@example.com" {
		t.Errorf("webpush %+v", w)
	}
	m := c.MobilePush
	if !reflect.DeepEqual(m.Providers, []string{"apns", "fcm"}) || !m.Has(ProviderFCM) || !m.Has(ProviderAPNs) {
		t.Errorf("mobile providers %q", m.Providers)
	}
	if f := m.FCM; f.ProjectID != "proj" || f.ClientEmail != "notify@quikapp-test.iam.gserviceaccount.com" || f.PrivateKeyID != "kid-1" ||
		f.PrivateKey == nil || f.BaseURL != "http://127.0.0.1:1" || f.TokenURL != "https://oauth2.googleapis.com/token" {
		t.Errorf("fcm %+v", f)
	}
	if a := m.APNs; a.Key == nil || a.KeyID != "KEY1" || a.TeamID != "TEAM1" || a.Topic != "com.quikapp" || !a.Sandbox ||
		a.BaseURL != "https://api.sandbox.push.apple.com" {
		t.Errorf("apns %+v", a)
	}

	// Smaller variants: default smtp port and TLS, emailservice, https contact,
	// bare-base64 p8, production APNs.
	c = mustLoad(t, required("NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_FROM", "a@b.c", "NOTIFY_EMAIL_SMTP_HOST", "::1"))
	if c.Email.SMTP.Port != 587 || c.Email.SMTP.TLS != SMTPTLSAuto {
		t.Errorf("smtp defaults %+v", c.Email.SMTP)
	}
	c = mustLoad(t, required("NOTIFY_EMAIL_PROVIDER", "EmailService", "NOTIFY_EMAIL_FROM", "a@b.c", "NOTIFY_EMAIL_SERVICE_ADDRESS", "email:50053",
		"NOTIFY_EMAIL_SMTP_HOST", "ignored:25"))
	if c.Email.Provider != ProviderEmailService || c.Email.ServiceAddress != "email:50053" || c.Email.SMTP != (SMTPConfig{}) {
		t.Errorf("emailservice %+v", c.Email)
	}
	c = mustLoad(t, required("NOTIFY_WEBPUSH_PROVIDER", "vapid", "NOTIFY_WEBPUSH_VAPID_PUBLIC", k.VAPIDPub, "NOTIFY_WEBPUSH_VAPID_PRIVATE", k.VAPIDPriv,
		"NOTIFY_WEBPUSH_CONTACT_EMAIL", "https://example.com/contact"))
	if c.WebPush.Subject != "https://example.com/contact" {
		t.Errorf("subject %q", c.WebPush.Subject)
	}
	body := strings.Join(strings.Split(k.APNsP8, "\n")[1:len(strings.Split(k.APNsP8, "\n"))-2], "")
	c = mustLoad(t, required("NOTIFY_MOBILEPUSH_PROVIDER", "apns", "NOTIFY_APNS_KEY_P8", body,
		"NOTIFY_APNS_KEY_ID", "K", "NOTIFY_APNS_TEAM_ID", "T", "NOTIFY_APNS_TOPIC", "com.x"))
	if c.MobilePush.APNs.Key == nil || c.MobilePush.APNs.BaseURL != "https://api.push.apple.com" || c.MobilePush.Has(ProviderFCM) {
		t.Errorf("apns %+v", c.MobilePush)
	}
	if c := mustLoad(t, required("NOTIFY_MOBILEPUSH_PROVIDER", "None")); len(c.MobilePush.Providers) != 0 {
		t.Errorf("none: %q", c.MobilePush.Providers)
	}
}

func TestLoadConfigFallbacks(t *testing.T) {
	k := testKeys()
	twilio := func(kv ...string) map[string]string {
		return required(append([]string{
			"NOTIFY_SMS_PROVIDER", "twilio", "NOTIFY_SMS_ACCOUNT_SID", "AC1", "NOTIFY_SMS_FROM", "+15555550000",
			"NOTIFY_WHATSAPP_PROVIDER", "twilio", "NOTIFY_WHATSAPP_ACCOUNT_SID", "AC1", "NOTIFY_WHATSAPP_FROM", "+15555550000",
		}, kv...)...)
	}
	c := mustLoad(t, twilio("TWILIO_AUTH_TOKEN", "fallback"))
	if c.SMS.AuthToken != "fallback" || c.WhatsApp.AuthToken != "fallback" {
		t.Errorf("fallback not used: %q %q", c.SMS.AuthToken, c.WhatsApp.AuthToken)
	}
	c = mustLoad(t, twilio("TWILIO_AUTH_TOKEN", "fallback", "NOTIFY_SMS_AUTH_TOKEN", "primary", "NOTIFY_WHATSAPP_AUTH_TOKEN", ""))
	if c.SMS.AuthToken != "primary" || c.WhatsApp.AuthToken != "fallback" {
		t.Errorf("NOTIFY_ must win and empty means unset: %q %q", c.SMS.AuthToken, c.WhatsApp.AuthToken)
	}

	fcm := func(kv ...string) map[string]string {
		return required(append([]string{"NOTIFY_MOBILEPUSH_PROVIDER", "fcm", "NOTIFY_FCM_PROJECT_ID", "p"}, kv...)...)
	}
	if c := mustLoad(t, fcm("FCM_SERVICE_ACCOUNT_JSON", k.FCMJSON)); c.MobilePush.FCM.PrivateKey == nil {
		t.Error("FCM fallback not used")
	}
	if c := mustLoad(t, fcm("FCM_SERVICE_ACCOUNT_JSON", "not json", "NOTIFY_FCM_CREDENTIALS_JSON", k.FCMJSON)); c.MobilePush.FCM.PrivateKey == nil {
		t.Error("NOTIFY_FCM_CREDENTIALS_JSON must win over the fallback")
	}
	// A bad fallback is reported under the name that held it.
	msg := mustFail(t, fcm("FCM_SERVICE_ACCOUNT_JSON", "not json", "NOTIFY_FCM_CREDENTIALS_JSON", " "), "FCM_SERVICE_ACCOUNT_JSON: must be")
	if strings.Contains(msg, "NOTIFY_FCM_CREDENTIALS_JSON:") {
		t.Errorf("error names the wrong variable:\n%s", msg)
	}
}

// TestLoadConfigNeverEchoesSecrets: every secret variable is set to a bad
// value carrying a marker; no error may contain the marker.
func TestLoadConfigNeverEchoesSecrets(t *testing.T) {
	const marker = "S3CRET-MARKER"
	msg := mustFail(t, map[string]string{
		"NOTIFY_STORE_DRIVER":          "postgres",
		"NOTIFY_POSTGRES_DSN":          "mysql://" + marker + "@h/" + marker,
		"NOTIFY_AUTH_JWT_SECRET":       marker,
		"NOTIFY_INTERNAL_TOKEN":        marker,
		"NOTIFY_CLIENT_PORT":           "0",
		"NOTIFY_EMAIL_PROVIDER":        "smtp",
		"NOTIFY_EMAIL_SMTP_PASSWORD":   marker,
		"NOTIFY_EMAIL_API_KEY":         marker,
		"NOTIFY_SMS_PROVIDER":          "twilio",
		"NOTIFY_SMS_AUTH_TOKEN":        marker,
		"TWILIO_AUTH_TOKEN":            marker,
		"NOTIFY_WEBPUSH_PROVIDER":      "vapid",
		"NOTIFY_WEBPUSH_VAPID_PUBLIC":  marker,
		"NOTIFY_WEBPUSH_VAPID_PRIVATE": marker,
		"NOTIFY_MOBILEPUSH_PROVIDER":   "fcm,apns",
		"NOTIFY_FCM_CREDENTIALS_JSON":  `{"client_email":"` + marker + `","private_key":"` + marker + `"}`,
		"NOTIFY_APNS_KEY_P8":           "-----BEGIN PRIVATE KEY-----\n" + marker + "\n-----END PRIVATE KEY-----",
	}, "NOTIFY_POSTGRES_DSN", "NOTIFY_WEBPUSH_VAPID_PRIVATE", "NOTIFY_FCM_CREDENTIALS_JSON", "NOTIFY_APNS_KEY_P8", "NOTIFY_CLIENT_PORT")
	if strings.Contains(msg, marker) || strings.Contains(strings.ToLower(msg), strings.ToLower(marker)) {
		t.Fatalf("a secret was echoed:\n%s", msg)
	}
	msg = mustFail(t, map[string]string{"NOTIFY_MOBILEPUSH_PROVIDER": "fcm", "NOTIFY_FCM_CREDENTIALS_JSON": "{" + marker}, "NOTIFY_FCM_CREDENTIALS_JSON")
	if strings.Contains(msg, marker) {
		t.Fatalf("a secret was echoed:\n%s", msg)
	}
}

// TestLoadConfigSeedDeployment loads the environment of the Kubernetes seed
// (../seeds/notify-kubernetes-deployment.md): the Deployment's env list
// plus the notify-secrets Secret it pulls in with envFrom, placeholders
// filled in. Upstream refuses to boot with it; we must not.
func TestLoadConfigSeedDeployment(t *testing.T) {
	seed := map[string]string{
		// env:
		"NOTIFY_STORE_DRIVER":          "postgres",
		"NOTIFY_POSTGRES_AUTOMIGRATE":  "true",
		"NOTIFY_LOG_LEVEL":             "info",
		"NOTIFY_SHUTDOWN_TIMEOUT":      "30s",
		"NOTIFY_AUTH_JWT_ISSUER":       "https://identity.example.com",
		"NOTIFY_ALLOWED_ORIGINS":       "https://app.example.com",
		"NOTIFY_EMAIL_PROVIDER":        "emailservice",
		"NOTIFY_EMAIL_SERVICE_ADDRESS": "emailservice.email:50053",
		"NOTIFY_EMAIL_FROM":            "noreply@example.com",
		"NOTIFY_SMS_PROVIDER":          "twilio",
		"NOTIFY_SMS_ACCOUNT_SID":       "ACxxxx",
		"NOTIFY_SMS_FROM":              "+15555550000",
		// envFrom: secretRef notify-secrets
		"NOTIFY_AUTH_JWT_SECRET":   "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"NOTIFY_INTERNAL_TOKEN":    "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
		"NOTIFY_POSTGRES_DSN":      "postgres://notify:password@db.notify:5432/notify?sslmode=require",
		"TWILIO_AUTH_TOKEN":        "twilio-auth-token-placeholder",
		"FCM_SERVICE_ACCOUNT_JSON": testKeys().FCMJSON + "\n",
	}
	c := mustLoad(t, seed)
	if c.Store.Driver != DriverPostgres || c.Store.PostgresDSN != seed["NOTIFY_POSTGRES_DSN"] || !c.Store.PostgresAutoMigrate {
		t.Errorf("store %+v", c.Store)
	}
	if c.Auth.Issuer != "https://identity.example.com" || string(c.Auth.JWTSecret) != seed["NOTIFY_AUTH_JWT_SECRET"] || c.Auth.DevMode {
		t.Errorf("auth %+v", c.Auth)
	}
	if !reflect.DeepEqual(c.AllowedOrigins, []string{"https://app.example.com"}) {
		t.Errorf("origins %q", c.AllowedOrigins)
	}
	if c.Email.Provider != ProviderEmailService || c.Email.ServiceAddress != "emailservice.email:50053" || c.Email.From != "noreply@example.com" {
		t.Errorf("email %+v", c.Email)
	}
	if c.SMS.AuthToken != "twilio-auth-token-placeholder" || c.SMS.AccountSID != "ACxxxx" || c.SMS.From != "+15555550000" {
		t.Errorf("sms %+v", c.SMS)
	}
	// The seed sets no mobile push provider, so the FCM secret is not read.
	if c.WhatsApp.Enabled() || len(c.MobilePush.Providers) != 0 || c.ShutdownTimeout != 30*time.Second {
		t.Errorf("config %v", c)
	}
}

// fullEnv turns on every optional section, so every variable is read.
func fullEnv() map[string]string {
	k := testKeys()
	m := map[string]string{}
	for _, v := range Vars {
		m[v.Name] = ""
	}
	maps.Copy(m, required(
		"NOTIFY_EMAIL_PROVIDER", "smtp", "NOTIFY_EMAIL_FROM", "a@b.c", "NOTIFY_EMAIL_SMTP_HOST", "mail",
		"NOTIFY_EMAIL_SMTP_USERNAME", "user", "NOTIFY_EMAIL_SMTP_PASSWORD", "smtp-password-value", "NOTIFY_EMAIL_API_KEY", "email-api-key-value",
		"NOTIFY_SMS_PROVIDER", "twilio", "NOTIFY_SMS_ACCOUNT_SID", "AC1", "NOTIFY_SMS_AUTH_TOKEN", "sms-token-value", "NOTIFY_SMS_FROM", "+1",
		"NOTIFY_WHATSAPP_PROVIDER", "twilio", "NOTIFY_WHATSAPP_ACCOUNT_SID", "AC2", "NOTIFY_WHATSAPP_FROM", "+2",
		"TWILIO_AUTH_TOKEN", "twilio-token-value",
		"NOTIFY_WEBPUSH_PROVIDER", "vapid", "NOTIFY_WEBPUSH_VAPID_PUBLIC", k.VAPIDPub, "NOTIFY_WEBPUSH_VAPID_PRIVATE", k.VAPIDPriv,
		"NOTIFY_MOBILEPUSH_PROVIDER", "fcm,apns", "FCM_SERVICE_ACCOUNT_JSON", k.FCMJSON, "NOTIFY_FCM_PROJECT_ID", "p",
		"NOTIFY_APNS_KEY_P8", k.APNsP8, "NOTIFY_APNS_KEY_ID", "K", "NOTIFY_APNS_TEAM_ID", "T", "NOTIFY_APNS_TOPIC", "com.x",
		"NOTIFY_STORE_DRIVER", "postgres", "NOTIFY_POSTGRES_DSN", "postgres://u:db-password-value@db/notify",
	))
	return m
}

// TestVarsMatchLoadConfig keeps the Vars table honest: every variable
// LoadConfig reads is documented, and every documented variable is read by
// some configuration.
func TestVarsMatchLoadConfig(t *testing.T) {
	documented := map[string]bool{}
	for _, v := range Vars {
		if documented[v.Name] {
			t.Errorf("%s documented twice", v.Name)
		}
		documented[v.Name] = true
	}
	read := map[string]bool{}
	for _, variant := range []map[string]string{
		fullEnv(),
		required("NOTIFY_STORE_DRIVER", "sqlite", "NOTIFY_EMAIL_PROVIDER", "emailservice", "NOTIFY_EMAIL_FROM", "a@b.c", "NOTIFY_EMAIL_SERVICE_ADDRESS", "x:1"),
		required("NOTIFY_STORE_DRIVER", "entdb"),
	} {
		lookup := env.FromMap(variant)
		_, _ = LoadConfig(func(name string) (string, bool) { read[name] = true; return lookup(name) })
	}
	for name := range read {
		if !documented[name] {
			t.Errorf("LoadConfig reads %s, which Vars does not document", name)
		}
	}
	for name := range documented {
		if !read[name] {
			t.Errorf("Vars documents %s, which LoadConfig never reads", name)
		}
	}
	var b strings.Builder
	PrintVars(&b)
	if !strings.Contains(b.String(), "NOTIFY_SQLITE_PATH") || !strings.Contains(b.String(), "notify.db") {
		t.Errorf("PrintVars:\n%s", b.String())
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	m := fullEnv()
	c := mustLoad(t, m)
	red := c.Redacted()
	documented := map[string]bool{}
	for _, v := range Vars {
		documented[v.Name] = true
	}
	for k := range red {
		if !documented[k] {
			t.Errorf("Redacted has undocumented key %s", k)
		}
	}
	if red["NOTIFY_AUTH_JWT_SECRET"] != redacted || red["NOTIFY_POSTGRES_DSN"] != redacted || red["NOTIFY_SMS_AUTH_TOKEN"] != redacted ||
		red["NOTIFY_EMAIL_SMTP_PASSWORD"] != redacted || red["NOTIFY_STORE_DRIVER"] != "postgres" || red["NOTIFY_LOG_LEVEL"] != "info" ||
		red["NOTIFY_MOBILEPUSH_PROVIDER"] != "fcm,apns" || red["NOTIFY_FCM_CREDENTIALS_JSON"] != redacted {
		t.Errorf("Redacted = %v", red)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c)
	k := testKeys()
	for _, out := range []string{c.String(), c.GoString(), logged.String(), strings.Join(pairs(red), " ")} {
		for _, v := range Vars {
			if !v.Secret || m[v.Name] == "" {
				continue
			}
			for _, piece := range []string{m[v.Name], "password-value", k.VAPIDPriv, "BEGIN"} {
				if strings.Contains(out, piece) {
					t.Errorf("%s leaked (%q) in %s", v.Name, piece, out)
				}
			}
		}
	}
	if !strings.Contains(logged.String(), `"NOTIFY_CLIENT_PORT":"8080"`) {
		t.Errorf("slog output: %s", logged.String())
	}
	if red := mustLoad(t, required()).Redacted(); red["NOTIFY_MOBILEPUSH_PROVIDER"] != "none" || len(red) != 26 {
		t.Errorf("default Redacted (%d keys) = %v", len(red), red)
	}
}

func pairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}
