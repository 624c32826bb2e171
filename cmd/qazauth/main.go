// Command qazauth is an OAuth 2.0 / OpenID Connect authorization server:
// short-lived RS256 JWT access tokens that APIs validate offline through
// JWKS, and rotating refresh tokens that apps renew silently.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/qaznat/qazauth/server"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

const usage = `qazauth is an OAuth 2.0 / OpenID Connect authorization server.

Usage:
  qazauth <command> [flags]

Commands:
  serve     run the server (embedded database under ./data unless QAZAUTH_MONGO_URI is set)
  keys      list, rotate or retire the signing keys ('qazauth keys --help')
  version   print the version

Run 'qazauth serve --help' for the server's flags. Every flag can also be set
through its QAZAUTH_* environment variable; a flag wins over the variable.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit status: 0 on
// success, 1 on a runtime failure, 2 on a usage or configuration error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "keys":
		return keysCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "qazauth %s\n", versionString())
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "qazauth: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func versionString() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if v == "" {
		v = "dev"
	}
	if ok {
		v += " (" + info.GoVersion + ")"
	}
	return v
}

func serve(args []string, stderr io.Writer) int {
	fs := server.FlagSet("serve", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: qazauth serve [flags]\n\nRuns the authorization server until SIGINT or SIGTERM, then finishes in-flight requests.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qazauth serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := server.LoadConfig(fs, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "qazauth: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogFormat, stderr)
	setMemoryLimit()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, log, server.Options{})
	if err != nil {
		var ce *server.ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "qazauth: %v\n", ce)
			return 2
		}
		log.Error("start", "err", err)
		return 1
	}
	defer srv.Close()
	if err := srv.Serve(ctx); err != nil {
		log.Error("serve", "err", err)
		return 1
	}
	return 0
}

// newLogger writes JSON logs, or text when asked or on a terminal.
func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// defaultMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT is
// not set. Each argon2id check allocates 19 MiB; under a login flood the
// default GC pacing lets the heap reach twice the in-flight hashes plus the
// rest, about 150 MiB on two cores. The soft limit makes the collector run
// earlier instead (measured: 138-157 MiB without it, 127-135 MiB with it;
// docs/BENCHMARKS.md). The server's live heap is far below it.
const defaultMemoryLimit = 112 << 20

func setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
