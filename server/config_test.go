package server

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfig_Defaults(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "localhost:8080" || c.Issuer != "http://localhost:8080" || c.DataDir != "./data" || c.MongoDB != "qazauth" {
		t.Fatalf("defaults = %+v", c)
	}
	if c.AccessTokenTTL != 15*time.Minute || c.RefreshTokenTTL != 168*time.Hour || c.SessionMaxAge != 720*time.Hour ||
		c.RefreshReuseGrace != 10*time.Second || c.KeyRotation != 720*time.Hour || c.JWKSMaxAge != 15*time.Minute ||
		c.RSABits != 2048 || c.LoginMaxFailures != 5 || c.LoginWindow != 15*time.Minute || c.LoginLockout != 15*time.Minute {
		t.Fatalf("default durations = %+v", c)
	}
}

func TestLoadConfig_FlagBeatsEnv(t *testing.T) {
	t.Parallel()
	fs := FlagSet("serve", io.Discard)
	if err := fs.Parse([]string{"--access-token-ttl", "2m"}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(fs, envOf(map[string]string{"QAZAUTH_ACCESS_TOKEN_TTL": "5m", "QAZAUTH_REFRESH_TOKEN_TTL": "1h"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessTokenTTL != 2*time.Minute || c.RefreshTokenTTL != time.Hour {
		t.Fatalf("access %v refresh %v", c.AccessTokenTTL, c.RefreshTokenTTL)
	}
}

func TestLoadConfig_Errors(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", 32)
	cases := []struct {
		name string
		env  map[string]string
		want string // the variable the error must name
	}{
		{"bad duration", map[string]string{"QAZAUTH_ACCESS_TOKEN_TTL": "fifteen"}, "QAZAUTH_ACCESS_TOKEN_TTL"},
		{"zero ttl", map[string]string{"QAZAUTH_REFRESH_TOKEN_TTL": "0"}, "QAZAUTH_REFRESH_TOKEN_TTL"},
		{"negative grace", map[string]string{"QAZAUTH_REFRESH_REUSE_GRACE": "-1s"}, "QAZAUTH_REFRESH_REUSE_GRACE"},
		{"short secret", map[string]string{"QAZAUTH_SECRET": "short"}, "QAZAUTH_SECRET"},
		{"mongo without secret", map[string]string{"QAZAUTH_MONGO_URI": "mongodb://localhost/?replicaSet=rs0"}, "QAZAUTH_SECRET"},
		{"mongo bad uri", map[string]string{"QAZAUTH_MONGO_URI": "postgres://x", "QAZAUTH_SECRET": secret}, "QAZAUTH_MONGO_URI"},
		{"bad issuer", map[string]string{"QAZAUTH_ISSUER": "auth.example.kz"}, "QAZAUTH_ISSUER"},
		{"issuer with query", map[string]string{"QAZAUTH_ISSUER": "https://a.kz/?x=1"}, "QAZAUTH_ISSUER"},
		{"http public issuer", map[string]string{"QAZAUTH_ISSUER": "http://auth.example.kz"}, "QAZAUTH_ISSUER"},
		{"bad rsa bits", map[string]string{"QAZAUTH_RSA_BITS": "1024"}, "QAZAUTH_RSA_BITS"},
		{"bad bool", map[string]string{"QAZAUTH_DEV": "yes please"}, "QAZAUTH_DEV"},
		{"bad cidr", map[string]string{"QAZAUTH_TRUSTED_PROXIES": "10.0.0.0/99"}, "QAZAUTH_TRUSTED_PROXIES"},
		{"bad origin", map[string]string{"QAZAUTH_CORS_ORIGINS": "app.example.kz"}, "QAZAUTH_CORS_ORIGINS"},
		{"tls cert without key", map[string]string{"QAZAUTH_TLS_CERT": "c.pem"}, "QAZAUTH_TLS_KEY"},
		{"bad log format", map[string]string{"QAZAUTH_LOG_FORMAT": "xml"}, "QAZAUTH_LOG_FORMAT"},
		{"bad failures", map[string]string{"QAZAUTH_LOGIN_MAX_FAILURES": "0"}, "QAZAUTH_LOGIN_MAX_FAILURES"},
		{"short old secret", map[string]string{"QAZAUTH_SECRET_OLD": "a,b"}, "QAZAUTH_SECRET_OLD"},
		{"bad addr", map[string]string{"QAZAUTH_ADDR": "8080"}, "QAZAUTH_ADDR"},
		{"zero janitor", map[string]string{"QAZAUTH_JANITOR_INTERVAL": "0s"}, "QAZAUTH_JANITOR_INTERVAL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadConfig(nil, envOf(tc.env))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			msg := err.Error()
			if ce.Env != tc.want || !strings.HasPrefix(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q does not name %s on one line", msg, tc.want)
			}
		})
	}
}

func TestLoadConfig_DevAllowsHTTPIssuer(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(nil, envOf(map[string]string{"QAZAUTH_ISSUER": "http://auth.lan:8080/", "QAZAUTH_DEV": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "http://auth.lan:8080" {
		t.Fatalf("issuer = %q (trailing slash kept?)", c.Issuer)
	}
}

func TestDevSecret_GeneratedOnceAndReused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c1 := &Config{DataDir: dir}
	if err := c1.LoadOrCreateDevSecret(); err != nil {
		t.Fatal(err)
	}
	c2 := &Config{DataDir: dir}
	if err := c2.LoadOrCreateDevSecret(); err != nil {
		t.Fatal(err)
	}
	if len(c1.Secret) < 32 || string(c1.Secret) != string(c2.Secret) || !c2.SecretGenerated {
		t.Fatal("dev secret not reused")
	}
}

func TestLoadConfig_TrustedProxiesAndRate(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(nil, envOf(map[string]string{"QAZAUTH_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7", "QAZAUTH_RATE_LIMIT": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].Bits() != 32 || c.RateLimit != 0 {
		t.Fatalf("%+v", c)
	}
}
