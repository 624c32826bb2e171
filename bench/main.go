// Command bench drives a running qazauth over HTTP on loopback and reports
// the rate of successful (HTTP 200) responses with p50/p99 latency.
//
//	go run ./bench -url http://127.0.0.1:18080 -load refresh -c 32 -d 10s -ceiling
//
// Loads: refresh (one refresh-token chain per worker, always presenting the
// newest token), client_credentials (HTTP Basic), password (argon2id-bound),
// jwks (GET /.well-known/jwks.json), validate (offline validation with the
// resource package, in process). Each worker has its own keep-alive
// connection; only 200 responses count, everything else is reported by
// status code or error. With -ceiling the in-process ceiling of the load
// (PERFORMANCE.md) is measured on the same cores, half just before and
// half just after the load (never during it), and the ratio printed. The
// tool refuses any target that is not a loopback address. See
// bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// Bounds on the flags: the tool must stop by itself and stay small.
const (
	maxDuration    = 5 * time.Minute
	maxWarmup      = time.Minute
	maxConcurrency = 1024
	setupTimeout   = 2 * time.Minute
	rssInterval    = 50 * time.Millisecond // VmRSS sampling during the load
)

// The loads, by -load name.
const (
	loadRefresh           = "refresh"
	loadClientCredentials = "client_credentials"
	loadPassword          = "password"
	loadJWKS              = "jwks"
	loadValidate          = "validate"
)

// config is the parsed and checked command line.
type config struct {
	load        string
	issuer      string
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	limit       int64
	timeout     time.Duration
	creds       credentials
	pid         int
	ceiling     bool
	json        bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exitInterrupted is the exit status after SIGINT or SIGTERM (128 +
// SIGINT, as shells report it), so that a calling script stops too.
const exitInterrupted = 130

// run executes the tool and returns its exit status: 0 on success; 1 if
// the run failed or no request succeeded; 2 on a usage error or a target
// that is not loopback; exitInterrupted after a signal.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	issuer, err := parseTarget(ctx, cfg.issuer, net.DefaultResolver)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	rep, err := execute(ctx, cfg, issuer, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return 1
	}
	if cfg.json {
		if err := json.NewEncoder(stdout).Encode(rep); err != nil {
			fmt.Fprintf(stderr, "bench: write result: %v\n", err)
			return 1
		}
	} else {
		printReport(stdout, rep)
	}
	switch {
	case rep.Interrupted:
		fmt.Fprintln(stderr, "bench: interrupted: the result covers only part of the run")
		return exitInterrupted
	case rep.OK == 0:
		fmt.Fprintln(stderr, "bench: no request succeeded")
		return 1
	}
	return 0
}

// parseConfig parses the flags, fills the per-load defaults and checks
// the bounds.
func parseConfig(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.load, "load", loadRefresh, "refresh | client_credentials | password | jwks | validate")
	fs.StringVar(&cfg.issuer, "url", "http://127.0.0.1:8080", "issuer URL of the running qazauth; must be loopback (for validate: exactly the server's issuer)")
	fs.IntVar(&cfg.concurrency, "c", 32, "concurrent workers, each with its own keep-alive connection")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration (at most 5m); also the ceiling's total duration")
	fs.Int64Var(&cfg.limit, "n", 0, "stop after this many measured requests (0 = only -d bounds the run)")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "warmup before the measured window, not counted")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "timeout of each request")
	fs.StringVar(&cfg.creds.client, "client", "", "client id (default qaznat-mobile; translation-worker for client_credentials)")
	fs.StringVar(&cfg.creds.secret, "secret", "", "client secret, sent with HTTP Basic; empty = public client (default change-me for client_credentials)")
	fs.StringVar(&cfg.creds.user, "user", "aigerim", "username for the password grant")
	fs.StringVar(&cfg.creds.password, "password", "correct horse", "password for the password grant")
	fs.StringVar(&cfg.creds.scope, "scope", "", `requested scope (default "offline_access translate"; "translate" for client_credentials)`)
	fs.StringVar(&cfg.creds.audience, "audience", "qaznat-api", "audience the validate load requires")
	fs.IntVar(&cfg.pid, "pid", 0, "server process id: report its VmRSS/VmHWM before and after the load, and the largest VmRSS sampled in the measured window")
	fs.BoolVar(&cfg.ceiling, "ceiling", false, "measure the load's in-process ceiling for -d (half before, half after the load) and print the ratio")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON result line instead of the text report")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./bench [flags]\n\nDrives a running qazauth on loopback; see bench/README.md.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	applyDefaults(&cfg, set)
	return cfg, checkConfig(cfg)
}

// applyDefaults fills the flags whose default depends on the load.
func applyDefaults(cfg *config, set map[string]bool) {
	cc := cfg.load == loadClientCredentials
	if !set["client"] {
		cfg.creds.client = "qaznat-mobile"
		if cc {
			cfg.creds.client = "translation-worker"
		}
	}
	if !set["secret"] && cc {
		cfg.creds.secret = "change-me"
	}
	if !set["scope"] {
		cfg.creds.scope = "offline_access translate"
		if cc {
			cfg.creds.scope = "translate"
		}
	}
}

// checkConfig enforces the bounds that keep a run finite.
func checkConfig(cfg config) error {
	switch cfg.load {
	case loadRefresh, loadClientCredentials, loadPassword, loadJWKS, loadValidate:
	default:
		return fmt.Errorf("-load %q: want refresh, client_credentials, password, jwks or validate", cfg.load)
	}
	switch {
	case cfg.concurrency < 1 || cfg.concurrency > maxConcurrency:
		return fmt.Errorf("-c %d: want 1..%d", cfg.concurrency, maxConcurrency)
	case cfg.duration <= 0 || cfg.duration > maxDuration:
		return fmt.Errorf("-d %s: want more than 0 and at most %s", cfg.duration, maxDuration)
	case cfg.warmup < 0 || cfg.warmup > maxWarmup:
		return fmt.Errorf("-warmup %s: want 0..%s", cfg.warmup, maxWarmup)
	case cfg.timeout <= 0 || cfg.timeout > maxDuration:
		return fmt.Errorf("-timeout %s: want more than 0 and at most %s", cfg.timeout, maxDuration)
	case cfg.limit < 0:
		return fmt.Errorf("-n %d: want 0 (no limit) or more", cfg.limit)
	case cfg.pid < 0:
		return fmt.Errorf("-pid %d: want a process id", cfg.pid)
	case cfg.load == loadClientCredentials && cfg.creds.secret == "":
		return errors.New("-load client_credentials needs -secret (a confidential client)")
	}
	return nil
}

// report is the result of one invocation; it is also the -json line.
type report struct {
	Load        string           `json:"load"`
	URL         string           `json:"url"`
	Concurrency int              `json:"concurrency"`
	GOMAXPROCS  int              `json:"gomaxprocs"`
	WarmupS     float64          `json:"warmup_s"`
	Seconds     float64          `json:"seconds"` // length of the measured window
	OK          int64            `json:"ok"`      // HTTP 200 responses in the window
	RPS         float64          `json:"rps"`
	P50ms       float64          `json:"p50_ms"`
	P99ms       float64          `json:"p99_ms"`
	MinMs       float64          `json:"min_ms"`
	MeanMs      float64          `json:"mean_ms"`
	MaxMs       float64          `json:"max_ms"`
	Non200      map[int]int64    `json:"non_200"`
	Errors      map[string]int64 `json:"errors"`
	Failed      int64            `json:"failed"` // sum of non_200 and errors
	Late        int64            `json:"late"`   // completed after the window closed: not counted
	Interrupted bool             `json:"interrupted"`

	PID          int   `json:"pid,omitempty"`
	RSSPeakKiB   int64 `json:"rss_peak_kib,omitempty"` // largest VmRSS sampled during the measured window
	RSSBeforeKiB int64 `json:"rss_before_kib,omitempty"`
	RSSAfterKiB  int64 `json:"rss_after_kib,omitempty"`
	HWMBeforeKiB int64 `json:"hwm_before_kib,omitempty"`
	HWMAfterKiB  int64 `json:"hwm_after_kib,omitempty"`

	Ceiling           string  `json:"ceiling,omitempty"`
	CeilingProcs      int     `json:"ceiling_goroutines,omitempty"`
	CeilingPerS       float64 `json:"ceiling_per_s,omitempty"`        // both halves together
	CeilingBeforePerS float64 `json:"ceiling_before_per_s,omitempty"` // the half measured before the load
	CeilingAfterPerS  float64 `json:"ceiling_after_per_s,omitempty"`  // the half measured after it
	CeilingDrift      float64 `json:"ceiling_drift,omitempty"`        // |before − after| / max(before, after)
	Ratio             float64 `json:"ratio,omitempty"`                // rps / ceiling_per_s
}

// execute prepares the workers against the checked issuer URL and runs
// the load. With -ceiling, the load's ceiling is measured for -d in two
// halves, one just before the load and one just after it (never during
// it), so that a drift of the machine's speed shows.
func execute(ctx context.Context, cfg config, issuer *url.URL, log io.Writer) (*report, error) {
	if cfg.pid > 0 {
		if _, err := readMemory(cfg.pid); err != nil {
			return nil, fmt.Errorf("-pid: %w", err)
		}
	}
	hc := newHTTPClient(cfg.concurrency)
	defer hc.CloseIdleConnections()
	ep := newEndpoints(issuer)
	ops, task, err := setUp(ctx, cfg, &tokenClient{hc: hc, ep: ep, creds: cfg.creds}, log)
	if err != nil {
		return nil, err
	}
	rep := &report{Load: cfg.load, URL: ep.issuer, GOMAXPROCS: runtime.GOMAXPROCS(0), WarmupS: cfg.warmup.Seconds(), PID: cfg.pid}

	var first *ceiling
	if task != nil {
		if first, err = runCeiling(ctx, task, cfg, "before the load", log); err != nil {
			return nil, err
		}
	}
	var before memory
	if cfg.pid > 0 {
		if before, err = readMemory(cfg.pid); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(log, "bench: %s: warmup %s, then %s measured\n", cfg.load, cfg.warmup, cfg.duration)
	runCtx, cancelRun := context.WithTimeout(ctx, cfg.warmup+cfg.duration+cfg.timeout+5*time.Second)
	var peak <-chan int64
	if cfg.pid > 0 {
		peak = sampleRSS(runCtx, cfg.pid, rssInterval, time.Now().Add(cfg.warmup))
	}
	res := drive(runCtx, cfg.load, plan{warmup: cfg.warmup, duration: cfg.duration, limit: cfg.limit, timeout: cfg.timeout}, ops)
	cancelRun()
	fillResult(rep, res)
	if cfg.pid > 0 {
		rep.RSSPeakKiB = <-peak
		after, err := readMemory(cfg.pid)
		if err != nil {
			return nil, fmt.Errorf("after the load: %w", err)
		}
		rep.RSSBeforeKiB, rep.HWMBeforeKiB, rep.RSSAfterKiB, rep.HWMAfterKiB = before.rss, before.hwm, after.rss, after.hwm
	}
	if task == nil || res.Interrupted {
		return rep, nil
	}
	second, err := runCeiling(ctx, task, cfg, "after the load", log)
	if err != nil {
		return nil, err
	}
	fillCeiling(rep, first, second)
	return rep, nil
}

// setUp checks that the server is ready, builds the load and its workers
// (logins included) and, with -ceiling, the ceiling's task; all within
// setupTimeout.
func setUp(ctx context.Context, cfg config, tc *tokenClient, log io.Writer) ([]op, *ceilingTask, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	began := time.Now()
	if err := checkReady(ctx, tc.hc, tc.ep); err != nil {
		return nil, nil, err
	}
	l, err := newLoad(ctx, cfg.load, tc)
	if err != nil {
		return nil, nil, err
	}
	ops, err := prepare(ctx, l, cfg.concurrency)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(log, "bench: %s: %d workers ready in %s\n", cfg.load, len(ops), time.Since(began).Round(time.Millisecond))
	if !cfg.ceiling {
		return ops, nil, nil
	}
	task, err := l.ceiling(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("prepare ceiling: %w", err)
	}
	if task == nil {
		fmt.Fprintf(log, "bench: %s has no ceiling (PERFORMANCE.md sets an absolute target)\n", cfg.load)
	}
	return ops, task, nil
}

// runCeiling measures one half of the ceiling: -d/2 after a short warmup.
func runCeiling(ctx context.Context, task *ceilingTask, cfg config, when string, log io.Writer) (*ceiling, error) {
	warmup, d := min(cfg.warmup, time.Second), cfg.duration/2
	fmt.Fprintf(log, "bench: ceiling %s: %s/s, %d goroutines, %s after %s warmup\n", when, task.name, runtime.GOMAXPROCS(0), d, warmup)
	c, err := measureCeiling(ctx, task, warmup, d)
	if err != nil {
		return nil, fmt.Errorf("ceiling %s: %w", when, err)
	}
	return c, nil
}

// noisyDrift is the change of the ceiling between its two halves above
// which the report warns that the machine's speed moved during the run.
const noisyDrift = 0.10

// fillCeiling reports the two halves of the ceiling and the load's ratio
// to their combined rate.
func fillCeiling(rep *report, first, second *ceiling) {
	both := &ceiling{name: first.name, procs: first.procs, ops: first.ops + second.ops, elapsed: first.elapsed + second.elapsed}
	rep.Ceiling, rep.CeilingProcs = both.name+"/s", both.procs
	rep.CeilingPerS, rep.CeilingBeforePerS, rep.CeilingAfterPerS = both.perSecond(), first.perSecond(), second.perSecond()
	if hi := max(rep.CeilingBeforePerS, rep.CeilingAfterPerS); hi > 0 {
		rep.CeilingDrift = math.Abs(rep.CeilingBeforePerS-rep.CeilingAfterPerS) / hi
	}
	if rep.CeilingPerS > 0 {
		rep.Ratio = rep.RPS / rep.CeilingPerS
	}
}

// newLoad builds the load named by -load and checks once that its request
// succeeds.
func newLoad(ctx context.Context, name string, tc *tokenClient) (load, error) {
	switch name {
	case loadRefresh:
		return &refreshLoad{tc: tc}, nil
	case loadClientCredentials:
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {tc.creds.scope}}
		return newFormLoad(ctx, tc, form, func(context.Context) (*ceilingTask, error) { return signTask() })
	case loadPassword:
		return newFormLoad(ctx, tc, tc.passwordForm(), argon2Task)
	case loadJWKS:
		return newJWKSLoad(ctx, tc.hc, tc.ep)
	case loadValidate:
		return newValidateLoad(ctx, tc)
	}
	return nil, fmt.Errorf("unknown load %q", name)
}

// fillResult copies a run's result into the report.
func fillResult(rep *report, r *result) {
	rep.Concurrency = r.Concurrency
	rep.Seconds = r.Elapsed.Seconds()
	rep.OK = r.OK()
	rep.RPS = r.RPS()
	rep.P50ms, rep.P99ms = ms(r.Lat.quantile(0.50)), ms(r.Lat.quantile(0.99))
	rep.MinMs, rep.MeanMs, rep.MaxMs = ms(time.Duration(r.Lat.min)), ms(r.Lat.mean()), ms(time.Duration(r.Lat.max))
	rep.Non200, rep.Errors = r.Statuses, r.Errors
	for _, n := range r.Statuses {
		rep.Failed += n
	}
	for _, n := range r.Errors {
		rep.Failed += n
	}
	rep.Late, rep.Interrupted = r.Late, r.Interrupted
}

// printReport writes the human-readable report.
func printReport(w io.Writer, rep *report) {
	d := func(msv float64) string { return formatDuration(time.Duration(msv * float64(time.Millisecond))) }
	fmt.Fprintf(w, "load       %s  (%s, c=%d, GOMAXPROCS=%d)\n", rep.Load, rep.URL, rep.Concurrency, rep.GOMAXPROCS)
	window := fmt.Sprintf("%.2fs after %gs warmup", rep.Seconds, rep.WarmupS)
	if rep.Interrupted {
		window += " (interrupted)"
	}
	fmt.Fprintf(w, "window     %s\n", window)
	fmt.Fprintf(w, "ok (200)   %d  = %.1f/s\n", rep.OK, rep.RPS)
	fmt.Fprintf(w, "latency    p50 %s  p99 %s  (min %s, mean %s, max %s; 200s only)\n",
		d(rep.P50ms), d(rep.P99ms), d(rep.MinMs), d(rep.MeanMs), d(rep.MaxMs))
	fmt.Fprintf(w, "non-200    %s\n", formatStatuses(rep.Non200))
	fmt.Fprintf(w, "errors     %s\n", formatErrors(rep.Errors))
	if rep.Late > 0 {
		fmt.Fprintf(w, "late       %d (completed after the window closed; not counted)\n", rep.Late)
	}
	if rep.PID > 0 {
		fmt.Fprintf(w, "server     pid %d: VmRSS %s → %s (largest sampled in the window %s), VmHWM %s → %s\n", rep.PID,
			mib(rep.RSSBeforeKiB), mib(rep.RSSAfterKiB), mib(rep.RSSPeakKiB), mib(rep.HWMBeforeKiB), mib(rep.HWMAfterKiB))
	}
	if rep.Ceiling != "" {
		fmt.Fprintf(w, "ceiling    %s, %d goroutines: %.1f/s (before the load %.1f, after %.1f)\n",
			rep.Ceiling, rep.CeilingProcs, rep.CeilingPerS, rep.CeilingBeforePerS, rep.CeilingAfterPerS)
		fmt.Fprintf(w, "ratio      %.1f %% of the ceiling\n", 100*rep.Ratio)
		if rep.CeilingDrift > noisyDrift {
			fmt.Fprintf(w, "warning    the ceiling moved %.0f %% between before and after the load: the machine is noisy; repeat the run\n", 100*rep.CeilingDrift)
		}
	}
}
