// Package server wires qazauth together: configuration, the store, signing
// keys, fosite, the HTTP handlers and middleware, and the HTTP server's
// lifecycle (graceful shutdown, background jobs).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qaznat/qazauth/handlers"
	"github.com/qaznat/qazauth/keys"
	"github.com/qaznat/qazauth/passwords"
	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/storage/sqlite"
	"github.com/qaznat/qazauth/templates"
	"github.com/qaznat/qazauth/tokens"
)

// Server is a running qazauth instance.
type Server struct {
	cfg     *Config
	log     *slog.Logger
	store   storage.Store
	Storage *storage.Fosite
	Keys    *keys.Manager
	Hasher  *passwords.Hasher
	handler http.Handler
	where   string // where data lives, for the start-up log line

	mu       sync.Mutex
	listener net.Listener
}

// Options adjust a server for tests and tools.
type Options struct {
	// PasswordParams overrides the argon2id cost (tests use a cheap one).
	PasswordParams *passwords.Params
	// WrapStore, when set, wraps the opened store (benchmarks count store
	// round trips through it).
	WrapStore func(storage.Store) storage.Store
	// Listener, when set, is the socket to serve on instead of binding
	// QAZAUTH_ADDR (tests bind port 0 first, to name it in the issuer).
	Listener net.Listener
}

// New opens the store, applies the seed file, loads or creates the signing
// key and builds the HTTP handler. Close releases the store.
func New(ctx context.Context, cfg *Config, log *slog.Logger, opts Options) (*Server, error) {
	st, where, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if opts.WrapStore != nil {
		st = opts.WrapStore(st)
	}
	s, err := build(ctx, cfg, log, st, opts)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.where = where
	s.listener = opts.Listener
	return s, nil
}

// OpenStore opens the configured backend: MongoDB when QAZAUTH_MONGO_URI is
// set, else the embedded SQLite database (generating the dev secret).
func OpenStore(ctx context.Context, cfg *Config) (storage.Store, string, error) {
	if cfg.MongoURI != "" {
		st, err := openMongo(ctx, cfg)
		if err != nil {
			return nil, "", err
		}
		return st, "MongoDB database " + cfg.MongoDB, nil
	}
	if err := cfg.LoadOrCreateDevSecret(); err != nil {
		return nil, "", err
	}
	path := filepath.Join(cfg.DataDir, "qazauth.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, "", err
	}
	abs, _ := filepath.Abs(path)
	return st, abs, nil
}

// KeyPolicy is the signing-key schedule of cfg, shared by `serve` and
// `qazauth keys`. A retired key stays published for the longest lifetime of
// a token it may have signed: the access-token TTL (which ID tokens share)
// or a longer per-client override in the seed file.
func KeyPolicy(cfg *Config) (keys.Policy, error) {
	ttl := cfg.AccessTokenTTL
	if cfg.SeedFile != "" {
		seed, err := LoadSeed(cfg.SeedFile)
		if err != nil {
			return keys.Policy{}, err
		}
		for _, c := range seed.Clients {
			ttl = max(ttl, parseTTL(c.AccessTokenTTL))
		}
	}
	return keys.NewPolicy(cfg.KeyRotation, cfg.JWKSMaxAge, ttl), nil
}

func build(ctx context.Context, cfg *Config, log *slog.Logger, st storage.Store, opts Options) (*Server, error) {
	params := passwords.DefaultParams
	if opts.PasswordParams != nil {
		params = *opts.PasswordParams
	}
	hasher := passwords.New(params, 0)
	if cfg.SeedFile != "" {
		seed, err := LoadSeed(cfg.SeedFile)
		if err != nil {
			return nil, err
		}
		n, err := ApplySeed(ctx, st, hasher, seed)
		if err != nil {
			return nil, fmt.Errorf("apply seed file: %w", err)
		}
		log.Info("seed file applied", "file", cfg.SeedFile, "clients", len(seed.Clients), "users", len(seed.Users), "changed", n)
	}

	sealer, err := keys.NewSealer(cfg.Secret, cfg.SecretOld...)
	if err != nil {
		return nil, err
	}
	policy, err := KeyPolicy(cfg)
	if err != nil {
		return nil, err
	}
	km := keys.NewManager(st, sealer, cfg.RSABits, log, keys.WithPolicy(policy))
	if err := km.Init(ctx); err != nil {
		return nil, err
	}
	opaque, err := tokens.NewOpaque(cfg.Secret, cfg.SecretOld...)
	if err != nil {
		return nil, err
	}
	jwt := &tokens.JWT{Issuer: cfg.Issuer, Keys: km}
	fs := storage.NewFosite(st, hasher, cfg.RefreshReuseGrace, 10*time.Second)
	lockouts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qazauth_login_lockouts_total", Help: "Logins refused because a login budget was spent, by budget (username or ip).",
	}, []string{"budget"})
	fs.Budget = &storage.LoginBudget{
		Max:     cfg.LoginMaxFailures,
		Window:  cfg.LoginWindow,
		Lockout: cfg.LoginLockout,
		OnLockout: func(ctx context.Context, kind, username, ip string) {
			lockouts.WithLabelValues(kind).Inc()
			log.WarnContext(ctx, "login refused: budget spent", "budget", kind, "username", username, "ip", ip)
		},
	}
	provider := newProvider(cfg, fs, strategy{JWT: jwt, Opaque: opaque}, passwords.NewClientSecrets(hasher, time.Minute), km)

	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	if err := reg.Register(lockouts); err != nil {
		return nil, err
	}
	hm, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	tm, err := handlers.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	pages, err := templates.New()
	if err != nil {
		return nil, err
	}
	ip := clientIP(cfg.TrustedProxies)
	api := handlers.New(handlers.Deps{
		Issuer:          cfg.Issuer,
		Provider:        provider,
		Storage:         fs,
		Keys:            km,
		AccessTokens:    jwt,
		DefaultAudience: cfg.AccessTokenAudience,
		SessionMaxAge:   cfg.SessionMaxAge,
		AccessTokenTTL:  cfg.AccessTokenTTL,
		JWKSMaxAge:      cfg.JWKSMaxAge,
		GrantTypes:      grantTypes,
		Scopes:          scopes,
		Log:             log,
		Metrics:         tm,
		Pages:           pages,
		ClientIP:        ip,
	}, func(r *http.Request) error { return st.Ping(r.Context()) })

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", api)
	var rl *limiter
	if cfg.RateLimit > 0 {
		rl = newLimiter(cfg.RateLimit, cfg.RateBurst)
	}
	chain := observe(cors(rateLimit(mux, rl, ip), cfg.CORSOrigins), log, hm, ip)
	return &Server{
		cfg: cfg, log: log, store: st, Storage: fs, Keys: km, Hasher: hasher,
		handler: securityHeaders(chain, cfg.TLSCert != ""),
	}, nil
}

// Handler returns the HTTP handler (for in-process tests and benchmarks).
func (s *Server) Handler() http.Handler { return s.handler }

// Store returns the storage backend.
func (s *Server) Store() storage.Store { return s.store }

// Close releases the store.
func (s *Server) Close() error { return s.store.Close() }

// Listen binds the configured address; Addr then reports it (useful with
// port 0).
func (s *Server) Listen() error {
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (QAZAUTH_ADDR): %w", s.cfg.Addr, err)
	}
	s.mu.Lock()
	s.listener = l
	s.mu.Unlock()
	return nil
}

// Addr is the bound address after Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Serve serves until ctx ends, then shuts down gracefully: the listener
// closes at once, in-flight requests get up to shutdownTimeout to finish.
func (s *Server) Serve(ctx context.Context) error {
	if s.Addr() == "" {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if s.cfg.TLSCert != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}

	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	go s.Keys.Run(bg)
	go s.janitor(bg, s.cfg.JanitorInterval)

	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	s.log.Info("qazauth listening",
		"addr", scheme+"://"+s.Addr(),
		"issuer", s.cfg.Issuer,
		"discovery", s.cfg.Issuer+handlers.PathDiscovery,
		"data", s.where,
		"kid", s.Keys.CurrentKey().ID)
	if s.cfg.SecretGenerated {
		s.log.Warn("using a generated development secret from the data directory; set QAZAUTH_SECRET in production")
	}

	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(s.listener, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(s.listener)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("stopped")
	return nil
}

const shutdownTimeout = 20 * time.Second

// janitor deletes expired records every interval. Several instances may run
// it at once: deleting what has expired is idempotent.
func (s *Server) janitor(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.store.DeleteExpired(ctx, time.Now())
			if err != nil && ctx.Err() == nil {
				s.log.Warn("janitor", "err", err)
			} else if n > 0 {
				s.log.Debug("janitor removed expired records", "count", n)
			}
		}
	}
}
