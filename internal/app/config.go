package app

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/auth/oidc"
	"github.com/quikapp/quikapp/internal/file"
	"github.com/quikapp/quikapp/internal/notifyd"
	"github.com/quikapp/quikapp/internal/platform/env"
)

// Config is everything a QuikApp process reads from its environment.
type Config struct {
	HTTPAddr        string
	DataDir         string
	DatabaseURL     string // empty: SQLite file in DataDir
	NATSURL         string // empty: in-process bus
	NATSPrefix      string // subjects and stream names on NATS
	Services        []string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	ShutdownDelay   time.Duration
	Identity        IdentityConfig
	// DigestDelay is how long a notification waits unread, its person
	// away, before it goes out by email.
	DigestDelay time.Duration
	// MaxUpload and MaxWorkspaceStorage bound files (bytes).
	MaxUpload, MaxWorkspaceStorage int64
	// S3 is where files are kept; empty Endpoint: DataDir/files.
	S3 file.S3Config
	// Notify are the delivery providers (push, email, SMS) QuikApp's
	// notifications go out through, read from notifyd's NOTIFY_*
	// provider variables so one configuration serves both.
	Notify notifyd.Providers
	// set holds the variables that were set, as given (for the admin
	// configuration page, which redacts secrets).
	set map[string]string
}

// IdentityConfig configures accounts, tokens, rate limits and mail.
type IdentityConfig struct {
	PublicURL string
	// JWTPrivateKey is the PEM of the signing key; empty: a key kept in
	// DataDir/keys, made on first start.
	JWTPrivateKey []byte
	// JWTRetiredKeys are PEM public keys whose tokens still verify.
	JWTRetiredKeys           []byte
	RequireEmailVerification bool
	TrustedProxies           []netip.Prefix
	RateLimitStore           string // memory or database
	AuthRate, UserRate       RateSpec
	SMTP                     SMTPConfig
	Twilio                   TwilioConfig
	OIDC                     []oidc.Config
}

// TwilioConfig sends sign-in codes by SMS; empty AccountSID: texts are
// written to DataDir/sms and the log instead.
type TwilioConfig struct {
	AccountSID, AuthToken, From, MessagingServiceSID, BaseURL string
}

// RateSpec is "N per window".
type RateSpec struct {
	Limit  int
	Window time.Duration
}

// SMTPConfig is the outgoing mail server; empty Host: mail goes to
// DataDir/mail and the log.
type SMTPConfig struct {
	Host, Username, Password, From, TLS string
	Port                                int
}

// Var documents one environment variable.
// Var documents one variable.
type Var = env.Var

// natsPrefixRE: a NATS subject token that also names streams.
var natsPrefixRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Vars is the documented configuration; `quikapp config` prints it and the
// README's table is kept in step with it by a test.
var Vars = []Var{
	{Name: "QUIKAPP_HTTP_ADDR", Default: ":3000", Help: "address the HTTP listener binds (host:port; port 0 picks a free port)"},
	{Name: "QUIKAPP_DATA_DIR", Default: "./data", Help: "directory for the SQLite database and local files"},
	{Name: "QUIKAPP_DATABASE_URL", Default: "", Help: "empty: SQLite in the data dir; postgres://… : PostgreSQL"},
	{Name: "QUIKAPP_NATS_URL", Default: "", Help: "empty: in-process event bus; nats://host:4222 : NATS with JetStream"},
	{Name: "QUIKAPP_NATS_PREFIX", Default: "quikapp", Help: "prefix of our subjects and streams on NATS (lower-case letters, digits, _): installs sharing a server use different ones"},
	{Name: "QUIKAPP_SERVICES", Default: "all", Help: "comma list of services to run in this process (see `quikapp services`)"},
	{Name: "QUIKAPP_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error"},
	{Name: "QUIKAPP_LOG_FORMAT", Default: "json", Help: "json or text"},
	{Name: "QUIKAPP_SHUTDOWN_TIMEOUT", Default: "30s", Help: "how long a graceful shutdown may take before connections are cut"},
	{Name: "QUIKAPP_SHUTDOWN_DELAY", Default: "0s", Help: "after SIGTERM, keep answering (not ready) this long before closing the listener; 5s behind a load balancer"},
	{Name: "QUIKAPP_DIGEST_DELAY", Default: "30m", Help: "unread notifications of people away this long are emailed to them (their settings allowing)"},
	{Name: "QUIKAPP_MAX_UPLOAD_MB", Default: "100", Help: "largest file one may upload, in MiB"},
	{Name: "QUIKAPP_WORKSPACE_STORAGE_MB", Default: "10240", Help: "file storage per workspace, in MiB"},
	{Name: "QUIKAPP_S3_ENDPOINT", Default: "", Help: "S3-compatible store for files (AWS S3, MinIO), host or host:port without a scheme; empty: files on local disk in the data dir"},
	{Name: "QUIKAPP_S3_BUCKET", Default: "quikapp", Help: "bucket for files, made at start if missing"},
	{Name: "QUIKAPP_S3_ACCESS_KEY", Default: "", Help: "S3 access key ID (required with an endpoint)"},
	{Name: "QUIKAPP_S3_SECRET_KEY", Default: "", Help: "S3 secret key (secret; required with an endpoint)"},
	{Name: "QUIKAPP_S3_REGION", Default: "us-east-1", Help: "S3 region of the bucket"},
	{Name: "QUIKAPP_S3_TLS", Default: "true", Help: "false: plain HTTP to the S3 endpoint (a MinIO on a private network)"},
	{Name: "QUIKAPP_PUBLIC_URL", Default: "http://localhost:3000", Help: "the address users reach QuikApp at; links in emails point here"},
	{Name: "QUIKAPP_JWT_PRIVATE_KEY_FILE", Default: "", Help: "PEM file of the Ed25519 or RSA key that signs access tokens; empty: a key kept in the data dir (single node only)"},
	{Name: "QUIKAPP_JWT_PRIVATE_KEY", Default: "", Help: "the same key as PEM text (secret); the file wins when both are set"},
	{Name: "QUIKAPP_JWT_RETIRED_KEYS_FILE", Default: "", Help: "PEM public keys of retired signing keys, whose tokens still verify during a rotation"},
	{Name: "QUIKAPP_REQUIRE_EMAIL_VERIFICATION", Default: "false", Help: "true: accounts cannot sign in until their email address is verified"},
	{Name: "QUIKAPP_TRUSTED_PROXIES", Default: "", Help: "comma list of CIDRs (load balancers) whose X-Forwarded-For is believed"},
	{Name: "QUIKAPP_RATE_LIMIT_STORE", Default: "memory", Help: "memory (per process) or database (shared by every node)"},
	{Name: "QUIKAPP_RATE_LIMIT_AUTH", Default: "30/1m", Help: "requests per window per client address on sign-in, sign-up and reset routes"},
	{Name: "QUIKAPP_RATE_LIMIT_USER", Default: "1200/1m", Help: "requests per window per signed-in user on the API"},
	{Name: "QUIKAPP_SMTP_HOST", Default: "", Help: "SMTP server for account email; empty: mail is written to the data dir's mail folder and the log"},
	{Name: "QUIKAPP_SMTP_PORT", Default: "587", Help: "SMTP port (465 for implicit TLS)"},
	{Name: "QUIKAPP_SMTP_USERNAME", Default: "", Help: "SMTP user name"},
	{Name: "QUIKAPP_SMTP_PASSWORD", Default: "", Help: "SMTP password (secret)"},
	{Name: "QUIKAPP_SMTP_FROM", Default: "QuikApp <no-reply@localhost>", Help: "From address of account email"},
	{Name: "QUIKAPP_SMTP_TLS", Default: "auto", Help: "auto, starttls, implicit or none"},
	{Name: "QUIKAPP_OIDC_PROVIDERS", Default: "", Help: "comma list of external sign-in providers (google, microsoft, github or a name of your own); each reads QUIKAPP_OIDC_<NAME>_CLIENT_ID, _CLIENT_SECRET and, for your own, _ISSUER"},
	{Name: "QUIKAPP_TWILIO_ACCOUNT_SID", Default: "", Help: "Twilio account for sign-in codes by SMS; empty: texts are written to the data dir's sms folder and the log"},
	{Name: "QUIKAPP_TWILIO_AUTH_TOKEN", Default: "", Help: "Twilio auth token (secret)"},
	{Name: "QUIKAPP_TWILIO_FROM", Default: "", Help: "sending number (E.164), unless a messaging service is set"},
	{Name: "QUIKAPP_TWILIO_MESSAGING_SERVICE_SID", Default: "", Help: "Twilio messaging service to send from instead of a number"},
	{Name: "QUIKAPP_TWILIO_BASE_URL", Default: "https://api.twilio.com", Help: "Twilio API address (for a regional edge or a test server)"},
}

// LoadConfig reads and validates the configuration, reporting every bad
// variable at once.
func LoadConfig(lookup env.LookupFunc) (Config, error) {
	r := env.New(lookup)
	cfg := Config{
		HTTPAddr:        r.String("QUIKAPP_HTTP_ADDR", ":3000"),
		DataDir:         r.String("QUIKAPP_DATA_DIR", "./data"),
		LogLevel:        r.Enum("QUIKAPP_LOG_LEVEL", "info", "debug", "info", "warn", "warning", "error"),
		LogFormat:       r.Enum("QUIKAPP_LOG_FORMAT", "json", "json", "text"),
		ShutdownTimeout: r.PositiveDuration("QUIKAPP_SHUTDOWN_TIMEOUT", 30*time.Second),
		ShutdownDelay:   r.Duration("QUIKAPP_SHUTDOWN_DELAY", 0, 0),
	}
	if cfg.ShutdownDelay >= cfg.ShutdownTimeout {
		r.Fail("QUIKAPP_SHUTDOWN_DELAY", "must be shorter than QUIKAPP_SHUTDOWN_TIMEOUT")
	}
	if _, port, err := net.SplitHostPort(cfg.HTTPAddr); err != nil {
		r.Fail("QUIKAPP_HTTP_ADDR", "must be host:port, e.g. :3000 or 127.0.0.1:3000")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		r.Fail("QUIKAPP_HTTP_ADDR", "port must be a number from 0 to 65535")
	}
	if u := r.URL("QUIKAPP_DATABASE_URL", "postgres", "postgresql"); u != nil {
		cfg.DatabaseURL = u.String()
	}
	cfg.NATSPrefix = r.String("QUIKAPP_NATS_PREFIX", "quikapp")
	if !natsPrefixRE.MatchString(cfg.NATSPrefix) {
		r.Fail("QUIKAPP_NATS_PREFIX", "must be 1 to 32 lower-case letters, digits or _, starting with a letter")
	}
	if u := r.URL("QUIKAPP_NATS_URL", "nats", "tls"); u != nil {
		cfg.NATSURL = u.String()
	}
	cfg.Identity = loadIdentity(r)
	cfg.DigestDelay = r.Duration("QUIKAPP_DIGEST_DELAY", 30*time.Minute, time.Minute)
	cfg.Notify = notifyd.LoadProviders(r)
	cfg.MaxUpload = int64(r.Int("QUIKAPP_MAX_UPLOAD_MB", 100, 1, 10240)) << 20
	cfg.MaxWorkspaceStorage = int64(r.Int("QUIKAPP_WORKSPACE_STORAGE_MB", 10240, 1, 1<<30)) << 20
	cfg.S3 = loadS3(r)
	services, err := resolveServices(r.List("QUIKAPP_SERVICES"))
	if err != nil {
		r.Fail("QUIKAPP_SERVICES", err.Error())
	}
	cfg.Services = services
	if err := r.Err(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	cfg.set = map[string]string{}
	for _, v := range Vars {
		if val, ok := lookup(v.Name); ok {
			cfg.set[v.Name] = val
		}
	}
	return cfg, nil
}

var s3RegionRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// loadS3 reads the S3 storage settings. Without an endpoint files stay on
// local disk, and a bucket or credentials set anyway are a mistake worth
// stopping for.
func loadS3(r *env.Reader) file.S3Config {
	c := file.S3Config{
		Endpoint:  r.String("QUIKAPP_S3_ENDPOINT", ""),
		Bucket:    r.String("QUIKAPP_S3_BUCKET", "quikapp"),
		AccessKey: r.String("QUIKAPP_S3_ACCESS_KEY", ""),
		SecretKey: r.Secret("QUIKAPP_S3_SECRET_KEY"),
		Region:    r.String("QUIKAPP_S3_REGION", "us-east-1"),
		TLS:       r.Bool("QUIKAPP_S3_TLS", true),
	}
	if c.Endpoint == "" {
		for _, name := range []string{"QUIKAPP_S3_BUCKET", "QUIKAPP_S3_ACCESS_KEY", "QUIKAPP_S3_SECRET_KEY"} {
			if _, set := r.Raw(name); set {
				r.Fail(name, "is set but QUIKAPP_S3_ENDPOINT is empty, so files are kept on local disk; set the endpoint or unset this")
			}
		}
		return file.S3Config{}
	}
	ok := true
	fail := func(name, reason string) { r.Fail(name, reason); ok = false }
	host, port := c.Endpoint, ""
	if h, p, err := net.SplitHostPort(c.Endpoint); err == nil {
		host, port = h, p
	}
	switch {
	case strings.Contains(c.Endpoint, "://"):
		fail("QUIKAPP_S3_ENDPOINT", "must be host or host:port without a scheme, e.g. s3.eu-west-1.amazonaws.com or 127.0.0.1:9000 (QUIKAPP_S3_TLS chooses https)")
	case host == "" || strings.ContainsAny(c.Endpoint, "/?#@ "):
		fail("QUIKAPP_S3_ENDPOINT", "must be host or host:port, e.g. s3.eu-west-1.amazonaws.com or 127.0.0.1:9000")
	case port != "":
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			fail("QUIKAPP_S3_ENDPOINT", "port must be a number from 1 to 65535")
		}
	}
	if err := file.CheckBucketName(c.Bucket); err != nil {
		fail("QUIKAPP_S3_BUCKET", "must be a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit")
	}
	if c.AccessKey == "" {
		fail("QUIKAPP_S3_ACCESS_KEY", "is required with QUIKAPP_S3_ENDPOINT")
	}
	if c.SecretKey == "" {
		fail("QUIKAPP_S3_SECRET_KEY", "is required with QUIKAPP_S3_ENDPOINT")
	}
	if !s3RegionRE.MatchString(c.Region) {
		fail("QUIKAPP_S3_REGION", "must be a region name such as us-east-1")
	}
	if ok { // what the driver itself would refuse, so start-up cannot
		if _, err := file.NewS3(c); err != nil {
			r.Fail("QUIKAPP_S3_ENDPOINT", err.Error())
		}
	}
	return c
}

// SQLitePath is where the embedded database lives.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "quikapp.db") }

// PrintVars writes the configuration table.
func PrintVars(w io.Writer) { env.PrintVars(w, Vars) }

// resolveServices validates a QUIKAPP_SERVICES list: empty or "all" means
// every service; otherwise each name must be known.
func resolveServices(names []string) ([]string, error) {
	if len(names) == 0 || (len(names) == 1 && strings.EqualFold(names[0], "all")) {
		return []string{"all"}, nil
	}
	var unknown []string
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.ToLower(n)
		if _, ok := serviceByName(n); !ok {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, n)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown service(s) %s; use all or names from `quikapp services`", strings.Join(unknown, ", "))
	}
	return out, nil
}
