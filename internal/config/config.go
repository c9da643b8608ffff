// Package config reads the server's configuration from flags and IDM_*
// environment variables (a flag wins over its variable).
package config

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"idm/internal/domain"
	"idm/internal/dsn"
	"idm/internal/secret"
)

// Config is the effective configuration.
type Config struct {
	Listen        string
	DatabaseURL   string
	DataDir       string
	TimeZone      string
	SecretKey     string // as given; never logged
	TLSCert       string
	TLSKey        string
	Instance      string
	LogLevel      string
	LogFormat     string
	Demo          bool
	DemoLDAPAddr  string
	SessionIdle   time.Duration
	SessionMax    time.Duration
	ShutdownGrace time.Duration
	// RunStaleAfter is how long another instance's running run may go
	// without a heartbeat before its process counts as frozen.
	RunStaleAfter time.Duration
	// MetricsListen is the address of /metrics, "" for none (DemoMetrics
	// in demo mode).
	MetricsListen string
	// PublicURL is the base URL people reach the pages at, for links sent
	// elsewhere (a run's page in a webhook notice); "" means the listen
	// address (see PublicBase).
	PublicURL string

	Location *time.Location
}

// DemoMetrics is the metrics address of demo mode when none is given: the
// port OpenTelemetry's Prometheus exporter uses, on loopback (a free
// loopback port when it is taken).
const DemoMetrics = "127.0.0.1:9464"

// Env reads one variable; tests pass their own.
type Env func(string) string

// Register declares the flags common to every subcommand that opens the
// database, with defaults taken from the environment.
func (c *Config) Register(fs *flag.FlagSet, getenv Env) {
	def := func(name, fallback string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return fallback
	}
	fs.StringVar(&c.DataDir, "data-dir", def("IDM_DATA_DIR", "./data"), "directory for the SQLite database and the generated secret key (IDM_DATA_DIR)")
	fs.Var(databaseURLFlag(&c.DatabaseURL, def("IDM_DATABASE_URL", "")), "database-url", "`URL` of the database, postgres://user:pass@host/db or sqlite://PATH; default: SQLite file idm.db in the data directory (IDM_DATABASE_URL)")
	fs.StringVar(&c.TimeZone, "timezone", def("IDM_TIMEZONE", "Local"), "time zone for schedules and displayed times, e.g. Europe/Stockholm (IDM_TIMEZONE)")
	fs.Var(secretFlag(&c.SecretKey, def("IDM_SECRET_KEY", "")), "secret-key", "32-byte `key` (64 hex digits or base64) that encrypts the LDAP bind password; default: generated into DATA_DIR/secret.key with mode 0600 (IDM_SECRET_KEY)")
	fs.StringVar(&c.LogLevel, "log-level", def("IDM_LOG_LEVEL", "info"), "debug, info, warn or error (IDM_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", def("IDM_LOG_FORMAT", "text"), "text or json (IDM_LOG_FORMAT)")
}

// RegisterServe declares the flags of the serve subcommand.
func (c *Config) RegisterServe(fs *flag.FlagSet, getenv Env) {
	def := func(name, fallback string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return fallback
	}
	host, _ := os.Hostname()
	fs.StringVar(&c.Listen, "listen", def("IDM_LISTEN", "127.0.0.1:8080"), "address to serve HTTP on (IDM_LISTEN)")
	fs.StringVar(&c.TLSCert, "tls-cert", def("IDM_TLS_CERT", ""), "certificate file to serve HTTPS; cookies are then Secure (IDM_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", def("IDM_TLS_KEY", ""), "private key file for --tls-cert (IDM_TLS_KEY)")
	fs.StringVar(&c.Instance, "instance", def("IDM_INSTANCE", host), "name of this instance in a cluster, recorded on runs (IDM_INSTANCE)")
	fs.BoolVar(&c.Demo, "demo", getenv("IDM_DEMO") == "true", "demo mode: a built-in sample directory, sample people and demo accounts (IDM_DEMO=true)")
	fs.StringVar(&c.DemoLDAPAddr, "demo-ldap-addr", def("IDM_DEMO_LDAP_ADDR", "127.0.0.1:0"), "loopback address of the demo directory (IDM_DEMO_LDAP_ADDR)")
	fs.DurationVar(&c.SessionIdle, "session-idle", 30*time.Minute, "a session ends after this long without a request")
	fs.DurationVar(&c.SessionMax, "session-max", 12*time.Hour, "a session ends this long after sign-in, however active")
	fs.StringVar(&c.MetricsListen, "metrics-listen", def("IDM_METRICS_LISTEN", ""), "address to serve Prometheus metrics on at /metrics, e.g. 127.0.0.1:9464; default: none (demo mode: "+DemoMetrics+") (IDM_METRICS_LISTEN)")
	fs.StringVar(&c.PublicURL, "public-url", def("IDM_PUBLIC_URL", ""), "base URL people reach this server at, for links in webhook notices, e.g. https://idm.example.com; default: the listen address (IDM_PUBLIC_URL)")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 30*time.Second, "on shutdown, how long a running job may take to finish before it is aborted")
	staleAfter := 2 * time.Minute
	if d, err := time.ParseDuration(getenv("IDM_RUN_STALE_AFTER")); err == nil {
		staleAfter = d
	}
	fs.DurationVar(&c.RunStaleAfter, "run-stale-after", staleAfter, "in a cluster, how long another instance's run may go without a heartbeat before that instance counts as frozen and its run is taken over; the same on every instance (IDM_RUN_STALE_AFTER)")
}

// Resolve fills derived values and checks the configuration.
func (c *Config) Resolve() error {
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.Join(c.DataDir, "idm.db")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return fmt.Errorf("config: time zone %q: %w", c.TimeZone, err)
	}
	c.Location = loc
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("config: listen address %q: %w", c.Listen, err)
		}
	}
	if c.RunStaleAfter < 0 || c.RunStaleAfter > 0 && c.RunStaleAfter < time.Second {
		return fmt.Errorf("config: --run-stale-after %s: use at least 1s (the default is 2m)", c.RunStaleAfter)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return fmt.Errorf("config: metrics listen address %q: %w", c.MetricsListen, err)
		}
	}
	if c.PublicURL != "" {
		u, err := domain.ParseHTTPURL(c.PublicURL, "public URL", 1024)
		if err == nil && (u.RawQuery != "" || u.ForceQuery) {
			err = domain.Errorf(domain.EINVALID, "The public URL must not have a query (?…)")
		}
		if err != nil {
			return fmt.Errorf("config: --public-url %q: %s", c.PublicURL, domain.ErrorMessage(err))
		}
		c.PublicURL = strings.TrimSuffix(u.String(), "/")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("config: --tls-cert and --tls-key go together")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("config: log format %q: use text or json", c.LogFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("config: log level %q: use debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// SecretBox returns the box that encrypts secrets at rest, from the given key
// or from the key file in the data directory (created when missing).
func (c *Config) SecretBox() (*secret.Box, error) {
	var key []byte
	if c.SecretKey != "" {
		k, err := secret.ParseKey(c.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("config: IDM_SECRET_KEY: %w", err)
		}
		key = k
	} else {
		path := filepath.Join(c.DataDir, "secret.key")
		k, created, err := secret.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, err
		}
		if created {
			slog.Info("generated a new secret key", "file", path)
		}
		key = k
	}
	return secret.New(key)
}

// Logger builds the structured logger the configuration asks for.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// LogAttrs describes the effective configuration, without secrets.
func (c *Config) LogAttrs() []any {
	key := "generated file in data directory"
	if c.SecretKey != "" {
		key = "given (hidden)"
	}
	metrics := c.MetricsListen
	switch {
	case metrics == "" && c.Demo:
		metrics = DemoMetrics + " (demo default)"
	case metrics == "":
		metrics = "off"
	}
	return []any{
		"listen", c.Listen, "database", dsn.Redact(c.DatabaseURL), "data_dir", c.DataDir,
		"timezone", c.Location.String(), "secret_key", key, "tls", c.TLSCert != "",
		"instance", c.Instance, "demo", c.Demo, "metrics_listen", metrics, "public_url", c.PublicURL, "session_idle", c.SessionIdle, "session_max", c.SessionMax,
		"run_stale_after", c.RunStaleAfter,
	}
}

// PublicBase is the base URL of links to the pages: PublicURL, or the
// scheme and the address the server listens on (addr, once bound).
func (c *Config) PublicBase(addr string) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + addr
}
