// Command translation-api is an example resource server for qazauth: a
// video-translation API whose jobs run for minutes, far longer than one
// access token lives.
//
// It validates qazauth's RS256 access tokens offline (package resource:
// JWKS fetched once and cached), requires the "translate" scope on every
// endpoint, and keeps jobs in memory, per user ("sub"). Clients keep
// working through a long job by refreshing their access token whenever
// the API answers 401 with "Token-Expired: true" (or before expiry, as
// golang.org/x/oauth2 does); nothing on the server side expires mid-job.
//
// Usage:
//
//	go run ./examples/translation-api [-issuer URL] [-addr host:port] [-audience aud] [-segment-time 1s]
//
// Each flag can also be set through its environment variable
// (TRANSLATION_API_ISSUER, TRANSLATION_API_ADDR, TRANSLATION_API_AUDIENCE,
// TRANSLATION_API_SEGMENT_TIME); a flag wins over the variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qaznat/qazauth/resource"
)

// Timeouts of the service.
const (
	// startupTimeout bounds how long the service waits at start for the
	// issuer's discovery document and key set (qazauth may start later).
	startupTimeout = 30 * time.Second
	// shutdownTimeout bounds the graceful shutdown.
	shutdownTimeout = 15 * time.Second
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stderr, nil))
}

// config is the service's configuration.
type config struct {
	Issuer      string
	Addr        string
	Audience    string
	SegmentTime time.Duration
}

// parseConfig reads the flags in args, with defaults taken from the
// TRANSLATION_API_* variables of getenv. A returned error names the flag
// and the variable; flag.ErrHelp means -h was given.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("translation-api", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, "Usage: translation-api [flags]\n\n"+
			"An example resource server for qazauth: long translation jobs behind\n"+
			"offline-validated access tokens. Every flag can also be set through its\n"+
			"TRANSLATION_API_* environment variable; a flag wins over the variable.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	envOr := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Issuer, "issuer", envOr("TRANSLATION_API_ISSUER", "http://localhost:8080"), "qazauth issuer URL (TRANSLATION_API_ISSUER)")
	fs.StringVar(&c.Addr, "addr", envOr("TRANSLATION_API_ADDR", "localhost:8090"), "listen address (TRANSLATION_API_ADDR)")
	fs.StringVar(&c.Audience, "audience", envOr("TRANSLATION_API_AUDIENCE", "qaznat-api"), "audience tokens must carry in aud (TRANSLATION_API_AUDIENCE)")
	segDefault := time.Second
	if v := getenv("TRANSLATION_API_SEGMENT_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("TRANSLATION_API_SEGMENT_TIME: invalid duration %q: want a Go duration such as 1s or 250ms", v)
		}
		segDefault = d
	}
	fs.DurationVar(&c.SegmentTime, "segment-time", segDefault, "time one segment takes to translate (TRANSLATION_API_SEGMENT_TIME)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case c.Issuer == "":
		return c, errors.New("-issuer (TRANSLATION_API_ISSUER): must not be empty")
	case c.Addr == "":
		return c, errors.New("-addr (TRANSLATION_API_ADDR): must not be empty")
	case c.Audience == "":
		return c, errors.New("-audience (TRANSLATION_API_AUDIENCE): must not be empty")
	case c.SegmentTime < 0:
		return c, fmt.Errorf("-segment-time (TRANSLATION_API_SEGMENT_TIME): %v must not be negative", c.SegmentTime)
	}
	return c, nil
}

// run runs the service until ctx ends or SIGINT/SIGTERM arrives and
// returns the exit status: 0 after a clean shutdown, 1 on a runtime
// failure, 2 on a configuration error. ready, if not nil, receives the
// listening address once requests are being served.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "translation-api: %v\n", err)
		return 2
	}
	log := newLogger(stderr)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	v, err := newValidator(ctx, cfg, log)
	if err != nil {
		log.Error("cannot validate tokens", "issuer", cfg.Issuer, "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Error("listen", "addr", cfg.Addr, "err", err)
		return 1
	}

	jobs := newJobStore(jobStoreConfig{SegmentTime: cfg.SegmentTime}, log)
	srv := newHTTPServer(newAPI(v, cfg.SegmentTime, jobs, log), log)
	// Shutdown closes the listener first, then waits for requests in
	// flight; cancelling the work lets long synchronous translations end
	// (with 503) instead of holding the shutdown up.
	srv.RegisterOnShutdown(jobs.stop)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("translation API listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer,
		"audience", cfg.Audience, "segment_time", cfg.SegmentTime.String())
	if ready != nil {
		ready <- ln.Addr().String()
	}

	status := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		log.Error("serve", "err", err)
		status = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		status = 1
	}
	if err := jobs.close(sctx); err != nil {
		log.Error("jobs did not stop", "err", err)
		status = 1
	}
	log.Info("stopped")
	return status
}

// newValidator creates the token validator, retrying while the issuer is
// unreachable, for at most startupTimeout.
func newValidator(ctx context.Context, cfg config, log *slog.Logger) (*resource.Validator, error) {
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	for {
		v, err := resource.New(ctx, cfg.Issuer, resource.Audience(cfg.Audience), resource.Realm("translation-api"))
		if err == nil {
			return v, nil
		}
		log.Warn("issuer not reachable yet; retrying", "issuer", cfg.Issuer, "err", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Second):
		}
	}
}

// newHTTPServer returns the http.Server with this service's timeouts.
// WriteTimeout suits every endpoint but the synchronous translation, which
// extends its own deadline by the time its segments take.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// newLogger logs text on a terminal and JSON otherwise, like qazauth.
func newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, opts))
		}
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
