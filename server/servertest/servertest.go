// Package servertest starts real qazauth servers on 127.0.0.1 for tests:
// a temporary data directory, a seeded client and user set, a random port,
// and cleanup when the test ends.
package servertest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qaznat/qazauth/passwords"
	"github.com/qaznat/qazauth/server"
)

// Seed is the seed file every test server starts with.
const Seed = `clients:
  - client_id: qaznat-mobile
    public: true
    first_party: true
    grant_types: [password, refresh_token, authorization_code]
    redirect_uris: ["kz.qaznat.app:/oauth2redirect", "http://127.0.0.1/callback"]
    post_logout_redirect_uris: ["http://127.0.0.1/signed-out"]
    scopes: [openid, profile, email, offline_access, translate, roles]
    audience: [qaznat-api]
  - client_id: partner-app
    public: true
    grant_types: [authorization_code, refresh_token]
    redirect_uris: ["http://127.0.0.1/partner"]
    scopes: [openid, profile, offline_access]
  - client_id: web-backend
    client_secret: "web-secret"
    first_party: true
    grant_types: [authorization_code, refresh_token]
    redirect_uris: ["https://app.example.kz/callback"]
    scopes: [openid, email]
  - client_id: translation-worker
    client_secret: "change-me"
    grant_types: [client_credentials]
    scopes: [translate]
    audience: [qaznat-api]
  - client_id: translation-api
    client_secret: "introspect-secret"
    grant_types: [client_credentials]
    scopes: []
  - client_id: no-refresh-app
    public: true
    grant_types: [password]
    scopes: [openid, offline_access, translate]
    audience: [qaznat-api]
users:
  - username: aigerim
    password: "correct horse"
    email: aigerim@example.kz
    roles: [translator]
  - username: nurlan
    password: "battery staple"
    email: nurlan@example.kz
    roles: [translator, admin]
`

// Passwords of the seeded users and clients.
const (
	MobileClient      = "qaznat-mobile"
	WorkerClient      = "translation-worker"
	WorkerSecret      = "change-me"
	IntrospectClient  = "translation-api"
	IntrospectSecret  = "introspect-secret"
	User              = "aigerim"
	UserPassword      = "correct horse"
	OtherUser         = "nurlan"
	OtherUserPassword = "battery staple"
	Audience          = "qaznat-api"
)

// FastPasswords are cheap argon2id parameters so tests do not spend seconds
// hashing; the code path is the production one.
var FastPasswords = passwords.Params{Memory: 256, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Server is a running test server.
type Server struct {
	URL     string
	Config  *server.Config
	Server  *server.Server
	DataDir string
	// Logs holds everything the server logged.
	Logs *SyncBuffer
	stop context.CancelFunc
	done chan error
}

// Option adjusts the configuration before start.
type Option func(*server.Config)

// Start starts a server on a random 127.0.0.1 port with a fresh data
// directory and the standard seed; it stops when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	dir := t.TempDir()
	return StartIn(t, dir, opts...)
}

// StartIn starts a server on dataDir (reused across restarts).
func StartIn(t testing.TB, dataDir string, opts ...Option) *Server {
	t.Helper()
	seed := filepath.Join(dataDir, "seed.yaml")
	if _, err := os.Stat(seed); err != nil {
		if err := os.WriteFile(seed, []byte(Seed), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := server.LoadConfig(nil, func(k string) string {
		switch k {
		case "QAZAUTH_DATA_DIR":
			return dataDir
		case "QAZAUTH_SEED_FILE":
			return seed
		case "QAZAUTH_ADDR":
			return "127.0.0.1:0"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	// Tests send bursts from one address; those that test rate limiting
	// turn it on.
	cfg.RateLimit = 0
	cfg.LoginMaxFailures = 1000
	for _, o := range opts {
		o(cfg)
	}
	logs := &SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()

	// The issuer must name the port, which is known only after Listen:
	// listen first on a reserved port, then configure the issuer.
	srv, url := startListening(t, ctx, cfg, log)
	s := &Server{URL: url, Config: cfg, Server: srv, DataDir: dataDir, Logs: logs, done: make(chan error, 1)}
	sctx, cancel := context.WithCancel(ctx)
	s.stop = cancel
	go func() { s.done <- srv.Serve(sctx) }()
	t.Cleanup(func() { s.Stop(t) })
	return s
}

func startListening(t testing.TB, ctx context.Context, cfg *server.Config, log *slog.Logger) (*server.Server, string) {
	t.Helper()
	opts := server.Options{PasswordParams: &FastPasswords}
	if cfg.Issuer == "http://localhost:8080" {
		// Bind a port first so the issuer can name it.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Addr = l.Addr().String()
		cfg.Issuer = "http://" + cfg.Addr
		opts.Listener = l
	}
	srv, err := server.New(ctx, cfg, log, opts)
	if err != nil {
		if opts.Listener != nil {
			opts.Listener.Close()
		}
		t.Fatal(err)
	}
	if opts.Listener == nil {
		if err := srv.Listen(); err != nil {
			srv.Close()
			t.Fatal(err)
		}
	}
	return srv, "http://" + srv.Addr()
}

// Stop shuts the server down and waits for it (idempotent).
func (s *Server) Stop(t testing.TB) {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("server did not stop within 30s")
	}
	s.Server.Close()
}

// RandomSecret returns a 32-byte secret for QAZAUTH_SECRET.
func RandomSecret() []byte {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return []byte(base64.RawURLEncoding.EncodeToString(b))
}

var _ io.Writer = (*SyncBuffer)(nil)
