// Package notifyd is the drop-in replacement for the notify service: its
// configuration, its authentication and (elsewhere) its server.
package notifyd

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/quikapp/quikapp/internal/notify"

	"github.com/quikapp/quikapp/internal/platform"
	"github.com/quikapp/quikapp/internal/platform/env"
)

// Provider and driver names, as they appear in the environment (lower case).
const (
	ProviderNone         = "none"
	ProviderSMTP         = "smtp"
	ProviderEmailService = "emailservice"
	ProviderTwilio       = "twilio"
	ProviderVAPID        = "vapid"
	ProviderFCM          = "fcm"
	ProviderAPNs         = "apns"

	DriverMemory   = "memory"
	DriverPostgres = "postgres"
	DriverSQLite   = "sqlite"
	DriverEntDB    = "entdb"
)

// Config is everything notifyd reads from its environment (contract §8 and
// our extensions). Secrets live here in the clear; log Redacted(), never the
// struct itself.
type Config struct {
	ClientPort      int // NOTIFY_CLIENT_PORT
	InternalPort    int // NOTIFY_INTERNAL_PORT
	MetricsPort     int // NOTIFY_METRICS_PORT
	LogLevel        slog.Level
	ShutdownTimeout time.Duration

	Store StoreConfig
	// Auth is ready for NewAuthenticator (Now is left nil: wall clock).
	Auth AuthConfig
	// AllowedOrigins are normalised origins ("https://app.example.com") or
	// "*"; empty means no CORS headers at all.
	AllowedOrigins []string
	Live           LiveConfig
	// SSEEnabled turns on GET /v1/events (contract §12).
	SSEEnabled bool
	// DeviceFallback sends to registered devices when a Notify call gives
	// no address for web or mobile push (contract §6). Off by default
	// because it changes the counters upstream clients see.
	DeviceFallback bool
	Send           SendConfig

	Email      EmailConfig
	SMS        TwilioConfig
	WhatsApp   TwilioConfig
	WebPush    WebPushConfig
	MobilePush MobilePushConfig
}

// StoreConfig selects and configures the store driver.
type StoreConfig struct {
	Driver              string // memory, postgres or sqlite (entdb is refused)
	PostgresDSN         string // secret; set only for postgres
	PostgresAutoMigrate bool   // postgres only
	SQLitePath          string // sqlite only
}

// LiveConfig is the live-connection (StreamEvents) behaviour.
type LiveConfig struct {
	Enabled           bool
	HeartbeatInterval time.Duration
	RetryMaxAttempts  int // 0 disables data-change retries
	RetryInterval     time.Duration
}

// SendConfig bounds provider retries on temporary failures.
type SendConfig struct {
	MaxAttempts  int           // total tries per message, 1..10
	RetryBackoff time.Duration // first wait between tries
}

// EmailConfig is the email channel. Provider is none, smtp or emailservice.
type EmailConfig struct {
	Provider       string
	From           string
	ServiceAddress string // emailservice only
	SMTP           SMTPConfig
	// APIKey (secret), Region and Endpoint are accepted because upstream
	// reads them; none of our transports uses them yet.
	APIKey, Region, Endpoint string
}

// Enabled reports whether an email provider is configured.
func (e EmailConfig) Enabled() bool { return e.Provider != ProviderNone }

// SMTP TLS modes (NOTIFY_EMAIL_SMTP_TLS).
const (
	SMTPTLSAuto     = "auto"     // implicit TLS on port 465, else STARTTLS when offered
	SMTPTLSStartTLS = "starttls" // STARTTLS required
	SMTPTLSImplicit = "implicit" // TLS from the first byte
	SMTPTLSNone     = "none"     // plain text, never upgraded
)

// SMTPConfig is the smtp email transport.
type SMTPConfig struct {
	Host     string
	Port     int // resolved: 465 for implicit TLS, 587 otherwise, unless set
	Username string
	Password string // secret
	TLS      string // one of the SMTPTLS* modes
}

// TwilioConfig is the SMS or WhatsApp channel. Provider is none or twilio.
type TwilioConfig struct {
	Provider            string
	AccountSID          string
	AuthToken           string // secret
	MessagingServiceSID string // used instead of From when set
	From                string
	// BaseURL replaces https://api.twilio.com (no trailing slash).
	BaseURL string
}

// Enabled reports whether the channel has a provider.
func (t TwilioConfig) Enabled() bool { return t.Provider != ProviderNone }

// WebPushConfig is the web push channel. Provider is none or vapid.
type WebPushConfig struct {
	Provider string
	// PublicKey is the VAPID public key, unpadded base64url (the k= of the
	// Authorization header).
	PublicKey  string
	PrivateKey *ecdsa.PrivateKey // P-256, matches PublicKey
	// Subject is the VAPID sub claim: "mailto:…" or "https://…", or empty.
	Subject string
}

// Enabled reports whether web push has a provider.
func (w WebPushConfig) Enabled() bool { return w.Provider != ProviderNone }

// MobilePushConfig is the mobile push channel: FCM, APNs or both (android
// tokens go to FCM, ios tokens to APNs).
type MobilePushConfig struct {
	Providers []string // subset of fcm, apns in the order given; empty: none
	FCM       FCMConfig
	APNs      APNsConfig
}

// Has reports whether provider (fcm or apns) is enabled.
func (m MobilePushConfig) Has(provider string) bool {
	for _, p := range m.Providers {
		if p == provider {
			return true
		}
	}
	return false
}

// FCMConfig is Firebase Cloud Messaging HTTP v1 with a service account.
type FCMConfig struct {
	ProjectID    string
	ClientEmail  string
	PrivateKeyID string
	PrivateKey   *rsa.PrivateKey
	BaseURL      string // replaces https://fcm.googleapis.com
	TokenURL     string // OAuth2 token endpoint
}

// APNsConfig is Apple Push Notification service with a token (.p8) key.
type APNsConfig struct {
	Key     *ecdsa.PrivateKey // P-256 from NOTIFY_APNS_KEY_P8
	KeyID   string
	TeamID  string
	Topic   string
	Sandbox bool
	BaseURL string // resolved from Sandbox unless overridden
}

// Providers are the delivery providers' settings alone (email, SMS,
// WhatsApp, web push, mobile push), from the same NOTIFY_* variables;
// QuikApp's in-process notification delivery reads them too, so one set
// of variables configures both.
type Providers struct {
	Email         EmailConfig
	SMS, WhatsApp TwilioConfig
	WebPush       WebPushConfig
	MobilePush    MobilePushConfig
}

// LoadProviders reads the provider settings, reporting bad ones on r.
func LoadProviders(r *env.Reader) Providers {
	return Providers{
		Email:      loadEmail(r),
		SMS:        loadTwilio(r, "NOTIFY_SMS_"),
		WhatsApp:   loadTwilio(r, "NOTIFY_WHATSAPP_"),
		WebPush:    loadWebPush(r),
		MobilePush: loadMobilePush(r),
	}
}

// Senders builds one sender per configured provider channel.
func (p Providers) Senders() (map[string]notify.Sender, error) {
	return buildSenders(Config{Email: p.Email, SMS: p.SMS, WhatsApp: p.WhatsApp, WebPush: p.WebPush, MobilePush: p.MobilePush})
}

// LoadConfig reads and validates the configuration from lookup (nil: the
// process environment), reporting every bad variable at once. Variables of
// a driver or provider that is not selected are not read at all.
func LoadConfig(lookup env.LookupFunc) (Config, error) {
	r := env.New(lookup)
	c := Config{
		ClientPort:      r.Port("NOTIFY_CLIENT_PORT", 8080),
		InternalPort:    r.Port("NOTIFY_INTERNAL_PORT", 8081),
		MetricsPort:     r.Port("NOTIFY_METRICS_PORT", 9090),
		LogLevel:        platform.ParseLevel(r.Enum("NOTIFY_LOG_LEVEL", "info", "debug", "info", "warn", "warning", "error")),
		ShutdownTimeout: r.PositiveDuration("NOTIFY_SHUTDOWN_TIMEOUT", 30*time.Second),
		Store:           loadStore(r),
		Auth:            loadAuth(r),
		AllowedOrigins:  loadOrigins(r),
		Live: LiveConfig{
			Enabled:           r.Bool("NOTIFY_LIVE_CONNECTIONS_ENABLED", true),
			HeartbeatInterval: r.PositiveDuration("NOTIFY_LIVE_HEARTBEAT_INTERVAL", 30*time.Second),
			RetryMaxAttempts:  r.Int("NOTIFY_LIVE_RETRY_MAX_ATTEMPTS", 3, 0, math.MaxInt32),
			RetryInterval:     r.PositiveDuration("NOTIFY_LIVE_RETRY_INTERVAL", 5*time.Second),
		},
		SSEEnabled:     r.Bool("NOTIFY_SSE_ENABLED", true),
		DeviceFallback: r.Bool("NOTIFY_DEVICE_FALLBACK", false),
		Send: SendConfig{
			MaxAttempts:  r.Int("NOTIFY_SEND_MAX_ATTEMPTS", 3, 1, 10),
			RetryBackoff: r.PositiveDuration("NOTIFY_SEND_RETRY_BACKOFF", 500*time.Millisecond),
		},
	}
	p := LoadProviders(r)
	c.Email, c.SMS, c.WhatsApp, c.WebPush, c.MobilePush = p.Email, p.SMS, p.WhatsApp, p.WebPush, p.MobilePush
	checkPortsDistinct(r, c)
	if err := r.Err(); err != nil {
		return Config{}, fmt.Errorf("notifyd: invalid configuration:\n%w", err)
	}
	return c, nil
}

// checkPortsDistinct reports two listeners on one port now rather than as
// a bind error after the first listener is already up.
func checkPortsDistinct(r *env.Reader, c Config) {
	if c.InternalPort == c.ClientPort {
		r.Fail("NOTIFY_INTERNAL_PORT", "must differ from NOTIFY_CLIENT_PORT")
	}
	if c.MetricsPort == c.ClientPort {
		r.Fail("NOTIFY_METRICS_PORT", "must differ from NOTIFY_CLIENT_PORT")
	} else if c.MetricsPort == c.InternalPort {
		r.Fail("NOTIFY_METRICS_PORT", "must differ from NOTIFY_INTERNAL_PORT")
	}
}

func loadStore(r *env.Reader) StoreConfig {
	s := StoreConfig{Driver: r.Enum("NOTIFY_STORE_DRIVER", DriverMemory, DriverMemory, DriverPostgres, DriverSQLite, DriverEntDB)}
	switch s.Driver {
	case DriverPostgres:
		s.PostgresDSN = r.Secret("NOTIFY_POSTGRES_DSN")
		if s.PostgresDSN == "" {
			r.Fail("NOTIFY_POSTGRES_DSN", "required when NOTIFY_STORE_DRIVER=postgres")
		} else if !validPostgresDSN(s.PostgresDSN) {
			r.Fail("NOTIFY_POSTGRES_DSN", "must be a postgres:// or postgresql:// URL or a key=value DSN such as \"host=db dbname=notify\"")
		}
		s.PostgresAutoMigrate = r.Bool("NOTIFY_POSTGRES_AUTOMIGRATE", true)
	case DriverSQLite:
		s.SQLitePath = r.String("NOTIFY_SQLITE_PATH", defaultSQLitePath)
	case DriverEntDB:
		// Name what entdb would need first, so the message is complete
		// even though the driver is refused either way.
		for _, name := range []string{"NOTIFY_ENTDB_ADDRESS", "NOTIFY_ENTDB_TENANT_ID"} {
			if _, ok := r.Raw(name); !ok {
				r.Fail(name, "required when NOTIFY_STORE_DRIVER=entdb")
			}
		}
		r.Fail("NOTIFY_STORE_DRIVER", "entdb is not supported by notifyd; use memory, postgres or sqlite")
	}
	return s
}

// defaultSQLitePath is relative to the working directory: good for a local
// run; a container mounts a volume and points NOTIFY_SQLITE_PATH into it.
const defaultSQLitePath = "notify.db"

func loadAuth(r *env.Reader) AuthConfig {
	a := AuthConfig{
		DevMode:       r.Bool("NOTIFY_AUTH_DEV_MODE", false),
		Issuer:        r.String("NOTIFY_AUTH_JWT_ISSUER", ""),
		Audience:      r.String("NOTIFY_AUTH_JWT_AUDIENCE", ""),
		Leeway:        r.Duration("NOTIFY_AUTH_JWT_LEEWAY", 30*time.Second, 0),
		InternalToken: r.Secret("NOTIFY_INTERNAL_TOKEN"),
	}
	if s := r.Secret("NOTIFY_AUTH_JWT_SECRET"); s != "" {
		a.JWTSecret = []byte(s)
	} else if !a.DevMode {
		r.Fail("NOTIFY_AUTH_JWT_SECRET", "required unless NOTIFY_AUTH_DEV_MODE=true")
	}
	if a.InternalToken == "" && !a.DevMode {
		r.Fail("NOTIFY_INTERNAL_TOKEN", "required unless NOTIFY_AUTH_DEV_MODE=true")
	}
	return a
}

func loadOrigins(r *env.Reader) []string {
	var out []string
	for _, o := range r.List("NOTIFY_ALLOWED_ORIGINS") {
		n, reason := normalizeOrigin(o)
		if reason != "" {
			r.Fail("NOTIFY_ALLOWED_ORIGINS", fmt.Sprintf("%q %s; use scheme://host[:port] with http or https, or *", truncate(o), reason))
			continue
		}
		out = append(out, n)
	}
	return out
}
