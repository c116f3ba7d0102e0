package notifyd

import (
	"io"

	"github.com/quikapp/quikapp/internal/platform/env"
)

// Var documents one environment variable notifyd reads.
type Var = env.Var

// Vars is every variable LoadConfig may read, in the order of contract §8
// followed by our extensions ([EXT]). A test keeps it in step with LoadConfig.
var Vars = []Var{
	{Name: "NOTIFY_CLIENT_PORT", Default: "8080", Help: "client API port (1..65535)"},
	{Name: "NOTIFY_INTERNAL_PORT", Default: "8081", Help: "internal API port (1..65535)"},
	{Name: "NOTIFY_METRICS_PORT", Default: "9090", Help: "health and metrics port (1..65535)"},
	{Name: "NOTIFY_LOG_LEVEL", Default: "info", Help: "debug, info, warn, warning or error"},
	{Name: "NOTIFY_SHUTDOWN_TIMEOUT", Default: "30s", Help: "how long the drain may take (> 0)"},
	{Name: "NOTIFY_STORE_DRIVER", Default: "memory", Help: "memory, postgres or sqlite [EXT]; entdb is refused as not supported"},
	{Name: "NOTIFY_POSTGRES_DSN", Help: "postgres only, required: postgres:// URL or key=value DSN", Secret: true},
	{Name: "NOTIFY_POSTGRES_AUTOMIGRATE", Default: "true", Help: "postgres only: apply migrations at start"},
	{Name: "NOTIFY_ENTDB_ADDRESS", Help: "entdb only; checked, then entdb is refused"},
	{Name: "NOTIFY_ENTDB_TENANT_ID", Help: "entdb only; checked, then entdb is refused"},
	{Name: "NOTIFY_AUTH_DEV_MODE", Default: "false", Help: "secrets may be empty; dev:<user>:<tenant>[:<email>] tokens work when no JWT secret is set"},
	{Name: "NOTIFY_AUTH_JWT_SECRET", Help: "HS256 key for client tokens; required unless dev mode", Secret: true},
	{Name: "NOTIFY_AUTH_JWT_ISSUER", Help: "when set, iss must equal it"},
	{Name: "NOTIFY_AUTH_JWT_AUDIENCE", Help: "when set, aud must contain it"},
	{Name: "NOTIFY_AUTH_JWT_LEEWAY", Default: "30s", Help: "clock slack for exp and nbf (>= 0)"},
	{Name: "NOTIFY_INTERNAL_TOKEN", Help: "X-Notify-Internal-Token of the internal port; required unless dev mode", Secret: true},
	{Name: "NOTIFY_ALLOWED_ORIGINS", Help: "CORS origins, comma list of scheme://host[:port] or *; empty: no CORS headers"},
	{Name: "NOTIFY_LIVE_CONNECTIONS_ENABLED", Default: "true", Help: "off: StreamEvents is unimplemented and there is no in-app provider"},
	{Name: "NOTIFY_LIVE_HEARTBEAT_INTERVAL", Default: "30s", Help: "heartbeat period of live streams (> 0)"},
	{Name: "NOTIFY_LIVE_RETRY_MAX_ATTEMPTS", Default: "3", Help: "data-change re-sends per session (integer >= 0; 0 disables)"},
	{Name: "NOTIFY_LIVE_RETRY_INTERVAL", Default: "5s", Help: "data-change re-send period (> 0)"},
	{Name: "NOTIFY_EMAIL_PROVIDER", Default: "none", Help: "none, smtp [EXT] or emailservice"},
	{Name: "NOTIFY_EMAIL_FROM", Help: "sender address; required unless the provider is none"},
	{Name: "NOTIFY_EMAIL_SERVICE_ADDRESS", Help: "emailservice only, required: the service's address"},
	{Name: "NOTIFY_EMAIL_SMTP_HOST", Help: "smtp only, required: server host name (no port)"},
	{Name: "NOTIFY_EMAIL_SMTP_PORT", Default: "587 (465 with implicit TLS)", Help: "smtp only: server port (1..65535)"},
	{Name: "NOTIFY_EMAIL_SMTP_USERNAME", Help: "smtp only: login; needs the password"},
	{Name: "NOTIFY_EMAIL_SMTP_PASSWORD", Help: "smtp only: password; needs the username", Secret: true},
	{Name: "NOTIFY_EMAIL_SMTP_TLS", Default: "auto", Help: "[EXT] smtp only: auto (implicit on 465, else STARTTLS when offered), starttls (required), implicit or none"},
	{Name: "NOTIFY_EMAIL_API_KEY", Help: "read when a provider is set; unused by our transports", Secret: true},
	{Name: "NOTIFY_EMAIL_REGION", Help: "read when a provider is set; unused by our transports"},
	{Name: "NOTIFY_EMAIL_ENDPOINT", Help: "read when a provider is set; unused by our transports"},
	{Name: "NOTIFY_SMS_PROVIDER", Default: "none", Help: "none or twilio"},
	{Name: "NOTIFY_SMS_ACCOUNT_SID", Help: "twilio only, required: account SID"},
	{Name: "NOTIFY_SMS_AUTH_TOKEN", Default: "$TWILIO_AUTH_TOKEN", Help: "twilio only, required: auth token", Secret: true},
	{Name: "NOTIFY_SMS_MESSAGING_SERVICE_SID", Help: "twilio only: send through this messaging service instead of From"},
	{Name: "NOTIFY_SMS_FROM", Help: "twilio only: sender number; required without a messaging service"},
	{Name: "NOTIFY_WHATSAPP_PROVIDER", Default: "none", Help: "none or twilio"},
	{Name: "NOTIFY_WHATSAPP_ACCOUNT_SID", Help: "twilio only, required: account SID"},
	{Name: "NOTIFY_WHATSAPP_AUTH_TOKEN", Default: "$TWILIO_AUTH_TOKEN", Help: "twilio only, required: auth token", Secret: true},
	{Name: "NOTIFY_WHATSAPP_MESSAGING_SERVICE_SID", Help: "twilio only: send through this messaging service instead of From"},
	{Name: "NOTIFY_WHATSAPP_FROM", Help: "twilio only: sender number (whatsapp: is added); required without a messaging service"},
	{Name: "TWILIO_AUTH_TOKEN", Help: "[EXT] fallback for NOTIFY_SMS_AUTH_TOKEN and NOTIFY_WHATSAPP_AUTH_TOKEN when those are empty", Secret: true},
	{Name: "NOTIFY_WEBPUSH_PROVIDER", Default: "none", Help: "none or vapid"},
	{Name: "NOTIFY_WEBPUSH_VAPID_PUBLIC", Help: "vapid only, required: base64url P-256 public key"},
	{Name: "NOTIFY_WEBPUSH_VAPID_PRIVATE", Help: "vapid only, required: base64url P-256 private key of that public key", Secret: true},
	{Name: "NOTIFY_WEBPUSH_CONTACT_EMAIL", Help: "vapid only: contact (user@host, mailto: or https:) sent as the VAPID subject"},
	{Name: "NOTIFY_MOBILEPUSH_PROVIDER", Default: "none", Help: "none, fcm, apns [EXT] or fcm,apns [EXT] (android tokens to FCM, ios to APNs)"},
	{Name: "NOTIFY_FCM_CREDENTIALS_JSON", Default: "$FCM_SERVICE_ACCOUNT_JSON", Help: "fcm only, required: service-account JSON contents", Secret: true},
	{Name: "FCM_SERVICE_ACCOUNT_JSON", Help: "[EXT] fallback for NOTIFY_FCM_CREDENTIALS_JSON when that is empty", Secret: true},
	{Name: "NOTIFY_FCM_PROJECT_ID", Help: "fcm only, required: Firebase project id"},
	{Name: "NOTIFY_APNS_KEY_P8", Help: "apns only, required: .p8 token key contents (PEM)", Secret: true},
	{Name: "NOTIFY_APNS_KEY_ID", Help: "apns only, required: key id"},
	{Name: "NOTIFY_APNS_TEAM_ID", Help: "apns only, required: team id"},
	{Name: "NOTIFY_APNS_TOPIC", Help: "apns only, required: app bundle id"},
	{Name: "NOTIFY_APNS_SANDBOX", Default: "false", Help: "apns only: use the development environment"},
	{Name: "NOTIFY_SQLITE_PATH", Default: defaultSQLitePath, Help: "[EXT] sqlite only: database file (relative to the working directory)"},
	{Name: "NOTIFY_SSE_ENABLED", Default: "true", Help: "[EXT] serve GET /v1/events (text/event-stream)"},
	{Name: "NOTIFY_DEVICE_FALLBACK", Default: "false", Help: "[EXT] push to registered devices when Notify gives no address (changes counters)"},
	{Name: "NOTIFY_SEND_MAX_ATTEMPTS", Default: "3", Help: "[EXT] tries per message on temporary provider failures (1..10)"},
	{Name: "NOTIFY_SEND_RETRY_BACKOFF", Default: "500ms", Help: "[EXT] first wait between provider tries (> 0)"},
	{Name: "NOTIFY_SMS_BASE_URL", Default: "https://api.twilio.com", Help: "[EXT] twilio only: API base URL (tests, proxies)"},
	{Name: "NOTIFY_WHATSAPP_BASE_URL", Default: "https://api.twilio.com", Help: "[EXT] twilio only: API base URL (tests, proxies)"},
	{Name: "NOTIFY_FCM_BASE_URL", Default: "https://fcm.googleapis.com", Help: "[EXT] fcm only: API base URL (tests, proxies)"},
	{Name: "NOTIFY_FCM_TOKEN_URL", Default: "token_uri of the JSON, else https://oauth2.googleapis.com/token", Help: "[EXT] fcm only: OAuth2 token endpoint"},
	{Name: "NOTIFY_APNS_BASE_URL", Default: "https://api.push.apple.com (sandbox: https://api.sandbox.push.apple.com)", Help: "[EXT] apns only: API base URL"},
}

// PrintVars writes the configuration table (for a `config` help command).
func PrintVars(w io.Writer) { env.PrintVars(w, Vars) }
