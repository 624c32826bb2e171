package server

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the validated configuration of a qazauth server. It is parsed
// once, at start; nothing below this package reads the environment.
type Config struct {
	Addr                string
	Issuer              string
	MongoURI            string
	MongoDB             string
	DataDir             string
	Secret              []byte
	SecretGenerated     bool // the dev secret was generated or read from DataDir
	SecretOld           [][]byte
	SeedFile            string
	AccessTokenTTL      time.Duration
	RefreshTokenTTL     time.Duration
	SessionMaxAge       time.Duration
	RefreshReuseGrace   time.Duration
	AccessTokenAudience string
	CORSOrigins         []string
	LogFormat           string
	LoginMaxFailures    int
	LoginWindow         time.Duration
	LoginLockout        time.Duration
	TrustedProxies      []netip.Prefix
	TLSCert             string
	TLSKey              string
	Dev                 bool
	KeyRotation         time.Duration
	JWKSMaxAge          time.Duration
	RSABits             int
	JanitorInterval     time.Duration
	RateLimit           float64 // requests per second per client IP and endpoint; 0 disables
	RateBurst           int
}

// ConfigError names the setting that is wrong; the command prints it as one
// line and exits with status 2.
type ConfigError struct {
	Env  string // QAZAUTH_…
	Flag string // --…
	Msg  string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s (--%s): %s", e.Env, e.Flag, e.Msg)
}

// setting describes one configuration variable and its `serve` flag.
type setting struct {
	env, flag, def, usage string
	apply                 func(c *Config, v string) error
}

func durationSetting(env, flagName, def, usage string, dst func(*Config) *time.Duration, allowZero bool) setting {
	return setting{env: env, flag: flagName, def: def, usage: usage, apply: func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid duration %q: want a Go duration such as 15m or 168h", v)
		}
		if d < 0 || (!allowZero && d == 0) {
			if allowZero {
				return fmt.Errorf("invalid duration %q: must not be negative", v)
			}
			return fmt.Errorf("invalid duration %q: must be positive", v)
		}
		*dst(c) = d
		return nil
	}}
}

func stringSetting(env, flagName, def, usage string, dst func(*Config) *string) setting {
	return setting{env: env, flag: flagName, def: def, usage: usage, apply: func(c *Config, v string) error {
		*dst(c) = v
		return nil
	}}
}

// settings lists every variable of DESIGN.md, in the order of --help.
func settings() []setting {
	return []setting{
		stringSetting("QAZAUTH_ADDR", "addr", "localhost:8080", "listen address", func(c *Config) *string { return &c.Addr }),
		{env: "QAZAUTH_ISSUER", flag: "issuer", def: "http://localhost:8080", usage: "issuer URL (iss, discovery)", apply: applyIssuer},
		stringSetting("QAZAUTH_MONGO_URI", "mongo-uri", "", "MongoDB connection string; empty = embedded SQLite", func(c *Config) *string { return &c.MongoURI }),
		stringSetting("QAZAUTH_MONGO_DB", "mongo-db", "qazauth", "MongoDB database name", func(c *Config) *string { return &c.MongoDB }),
		stringSetting("QAZAUTH_DATA_DIR", "data-dir", "./data", "embedded database and generated dev secret", func(c *Config) *string { return &c.DataDir }),
		{env: "QAZAUTH_SECRET", flag: "secret", def: "", usage: "at least 32 bytes: token HMAC and key encryption; generated in dev, required with MongoDB", apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if len(v) < 32 {
				return fmt.Errorf("secret is %d bytes, want at least 32", len(v))
			}
			c.Secret = []byte(v)
			return nil
		}},
		stringSetting("QAZAUTH_SEED_FILE", "seed-file", "", "YAML file of clients and users, upserted at start", func(c *Config) *string { return &c.SeedFile }),
		durationSetting("QAZAUTH_ACCESS_TOKEN_TTL", "access-token-ttl", "15m", "access-token lifetime", func(c *Config) *time.Duration { return &c.AccessTokenTTL }, false),
		durationSetting("QAZAUTH_REFRESH_TOKEN_TTL", "refresh-token-ttl", "168h", "idle lifetime of a refresh token (each rotation starts a new one)", func(c *Config) *time.Duration { return &c.RefreshTokenTTL }, false),
		durationSetting("QAZAUTH_SESSION_MAX_AGE", "session-max-age", "720h", "absolute lifetime of a login: no refresh extends it", func(c *Config) *time.Duration { return &c.SessionMaxAge }, false),
		durationSetting("QAZAUTH_REFRESH_REUSE_GRACE", "refresh-reuse-grace", "10s", "window in which a just-rotated refresh token returns the same successor; 0 disables", func(c *Config) *time.Duration { return &c.RefreshReuseGrace }, true),
		stringSetting("QAZAUTH_ACCESS_TOKEN_AUDIENCE", "access-token-audience", "", "audience used when a request and its client name none", func(c *Config) *string { return &c.AccessTokenAudience }),
		{env: "QAZAUTH_CORS_ORIGINS", flag: "cors-origins", def: "", usage: "comma-separated allowed browser origins", apply: applyCORS},
		{env: "QAZAUTH_LOG_FORMAT", flag: "log-format", def: "", usage: "text or json (default: text on a terminal, else json)", apply: func(c *Config, v string) error {
			switch v {
			case "", "text", "json":
				c.LogFormat = v
				return nil
			}
			return fmt.Errorf("invalid log format %q: want text or json", v)
		}},
		{env: "QAZAUTH_LOGIN_MAX_FAILURES", flag: "login-max-failures", def: "5", usage: "failed logins per username and per IP before lockout", apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return fmt.Errorf("invalid number %q: want an integer from 1 to 1000", v)
			}
			c.LoginMaxFailures = n
			return nil
		}},
		durationSetting("QAZAUTH_LOGIN_WINDOW", "login-window", "15m", "window in which failed logins are counted", func(c *Config) *time.Duration { return &c.LoginWindow }, false),
		durationSetting("QAZAUTH_LOGIN_LOCKOUT", "login-lockout", "15m", "lockout after too many failed logins", func(c *Config) *time.Duration { return &c.LoginLockout }, false),
		{env: "QAZAUTH_TRUSTED_PROXIES", flag: "trusted-proxies", def: "", usage: "comma-separated CIDRs whose X-Forwarded-For is believed", apply: applyProxies},
		stringSetting("QAZAUTH_TLS_CERT", "tls-cert", "", "PEM certificate file: serve HTTPS directly", func(c *Config) *string { return &c.TLSCert }),
		stringSetting("QAZAUTH_TLS_KEY", "tls-key", "", "PEM private key file for --tls-cert", func(c *Config) *string { return &c.TLSKey }),
		{env: "QAZAUTH_DEV", flag: "dev", def: "false", usage: "development mode: allows a plain-http issuer on a non-loopback host", apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid boolean %q: want true or false", v)
			}
			c.Dev = b
			return nil
		}},
		durationSetting("QAZAUTH_KEY_ROTATION", "key-rotation", "720h", "automatic signing-key rotation period; 0 = manual", func(c *Config) *time.Duration { return &c.KeyRotation }, true),
		durationSetting("QAZAUTH_JWKS_MAX_AGE", "jwks-max-age", "15m", "JWKS Cache-Control max-age", func(c *Config) *time.Duration { return &c.JWKSMaxAge }, false),
		{env: "QAZAUTH_RSA_BITS", flag: "rsa-bits", def: "2048", usage: "RSA key size: 2048, 3072 or 4096", apply: func(c *Config, v string) error {
			switch v {
			case "2048", "3072", "4096":
				c.RSABits, _ = strconv.Atoi(v)
				return nil
			}
			return fmt.Errorf("invalid key size %q: want 2048, 3072 or 4096", v)
		}},
		durationSetting("QAZAUTH_JANITOR_INTERVAL", "janitor-interval", "10m", "how often expired tokens, codes and login budgets are deleted (safe on every instance at once)", func(c *Config) *time.Duration { return &c.JanitorInterval }, false),
		{env: "QAZAUTH_RATE_LIMIT", flag: "rate-limit", def: "50", usage: "requests per second per client IP on the token, authorize, revoke and introspect endpoints; 0 disables", apply: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1e6 {
				return fmt.Errorf("invalid rate %q: want a number of requests per second, 0 to disable", v)
			}
			c.RateLimit = f
			return nil
		}},
		{env: "QAZAUTH_RATE_BURST", flag: "rate-burst", def: "100", usage: "requests a client IP may send at once before the rate limit applies", apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1e6 {
				return fmt.Errorf("invalid burst %q: want a positive integer", v)
			}
			c.RateBurst = n
			return nil
		}},
		{env: "QAZAUTH_SECRET_OLD", flag: "secret-old", def: "", usage: "comma-separated previous secrets, for rotating the secret", apply: func(c *Config, v string) error {
			for _, s := range splitList(v) {
				if len(s) < 32 {
					return fmt.Errorf("an old secret is %d bytes, want at least 32", len(s))
				}
				c.SecretOld = append(c.SecretOld, []byte(s))
			}
			return nil
		}},
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func applyIssuer(c *Config, v string) error {
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("invalid issuer %q: want an absolute http(s) URL such as https://auth.example.kz", v)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("invalid issuer %q: scheme must be https (or http in development)", v)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("invalid issuer %q: must not have a query, fragment or user info (OIDC Discovery §3)", v)
	}
	c.Issuer = strings.TrimSuffix(u.String(), "/")
	return nil
}

func applyCORS(c *Config, v string) error {
	for _, o := range splitList(v) {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("invalid origin %q: want scheme://host[:port], e.g. https://app.example.kz", o)
		}
		if o == "*" {
			return errors.New("a wildcard origin is not allowed")
		}
		c.CORSOrigins = append(c.CORSOrigins, u.Scheme+"://"+u.Host)
	}
	return nil
}

func applyProxies(c *Config, v string) error {
	for _, p := range splitList(v) {
		pref, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return fmt.Errorf("invalid CIDR %q: want e.g. 10.0.0.0/8", p)
			}
			pref = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, pref.Masked())
	}
	return nil
}

// FlagSet returns the `serve` flag set; every flag names its variable and
// default in its usage text.
func FlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	for _, s := range settings() {
		def := s.def
		if def == "" {
			def = "none"
		}
		fs.String(s.flag, "", fmt.Sprintf("%s\n(env %s, default %s)", s.usage, s.env, def))
	}
	return fs
}

// LoadConfig resolves every setting from the parsed flag set (highest
// precedence), then the environment, then the default, and validates the
// result. getenv is os.Getenv outside tests.
func LoadConfig(fs *flag.FlagSet, getenv func(string) string) (*Config, error) {
	set := map[string]string{}
	if fs != nil {
		fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
	}
	c := &Config{}
	for _, s := range settings() {
		v, ok := set[s.flag]
		if !ok {
			v = getenv(s.env)
		}
		if v == "" {
			v = s.def
		}
		if err := s.apply(c, v); err != nil {
			return nil, &ConfigError{Env: s.env, Flag: s.flag, Msg: err.Error()}
		}
	}
	return c, c.validate()
}

// validate checks rules that involve more than one setting.
func (c *Config) validate() error {
	if c.MongoURI != "" && c.Secret == nil {
		return &ConfigError{Env: "QAZAUTH_SECRET", Flag: "secret", Msg: "required with QAZAUTH_MONGO_URI: every instance must share one secret of at least 32 bytes"}
	}
	if c.MongoURI != "" && !strings.HasPrefix(c.MongoURI, "mongodb://") && !strings.HasPrefix(c.MongoURI, "mongodb+srv://") {
		return &ConfigError{Env: "QAZAUTH_MONGO_URI", Flag: "mongo-uri", Msg: "want a mongodb:// or mongodb+srv:// connection string"}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return &ConfigError{Env: "QAZAUTH_TLS_KEY", Flag: "tls-key", Msg: "QAZAUTH_TLS_CERT and QAZAUTH_TLS_KEY must be set together"}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return &ConfigError{Env: "QAZAUTH_ADDR", Flag: "addr", Msg: fmt.Sprintf("invalid listen address %q: want host:port", c.Addr)}
	}
	if u, _ := url.Parse(c.Issuer); u.Scheme == "http" && !c.Dev && !isLoopbackHost(u.Hostname()) {
		return &ConfigError{Env: "QAZAUTH_ISSUER", Flag: "issuer", Msg: fmt.Sprintf("plain-http issuer %q on a non-loopback host: use https, or set QAZAUTH_DEV=true for development", c.Issuer)}
	}
	if c.SessionMaxAge < c.AccessTokenTTL {
		return &ConfigError{Env: "QAZAUTH_SESSION_MAX_AGE", Flag: "session-max-age", Msg: "must not be shorter than QAZAUTH_ACCESS_TOKEN_TTL"}
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// LoadOrCreateDevSecret sets c.Secret from DataDir/secret, generating it on
// first start. Only the embedded store uses it: a shared store needs one
// secret configured on every instance.
func (c *Config) LoadOrCreateDevSecret() error {
	if c.Secret != nil {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		s, derr := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(s) < 32 {
			return &ConfigError{Env: "QAZAUTH_SECRET", Flag: "secret", Msg: fmt.Sprintf("generated secret file %s is corrupt; restore it or set QAZAUTH_SECRET", path)}
		}
		c.Secret, c.SecretGenerated = s, true
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("read dev secret: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	s := make([]byte, 32)
	if _, err := rand.Read(s); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write dev secret: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.RawURLEncoding.EncodeToString(s) + "\n"); err != nil {
		return fmt.Errorf("write dev secret: %w", err)
	}
	c.Secret, c.SecretGenerated = s, true
	return nil
}
