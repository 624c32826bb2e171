package main

import (
	"context"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseConfig_PerLoadDefaults(t *testing.T) {
	tests := []struct {
		args                  []string
		client, secret, scope string
	}{
		{[]string{"-load", "refresh"}, "qaznat-mobile", "", "offline_access translate"},
		{[]string{"-load", "password"}, "qaznat-mobile", "", "offline_access translate"},
		{[]string{"-load", "client_credentials"}, "translation-worker", "change-me", "translate"},
		{[]string{"-load", "client_credentials", "-client", "c2", "-secret", "s2", "-scope", "a b"}, "c2", "s2", "a b"},
		{[]string{"-load", "refresh", "-client", "web", "-secret", "x", "-scope", "openid offline_access"}, "web", "x", "openid offline_access"},
	}
	for _, tt := range tests {
		cfg, err := parseConfig(tt.args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if cfg.creds.client != tt.client || cfg.creds.secret != tt.secret || cfg.creds.scope != tt.scope {
			t.Errorf("%v: client %q secret %q scope %q", tt.args, cfg.creds.client, cfg.creds.secret, cfg.creds.scope)
		}
	}
}

func TestParseConfig_RefusesUnboundedRuns(t *testing.T) {
	for _, args := range [][]string{
		{"-d", "6m"}, {"-d", "0s"}, {"-c", "0"}, {"-c", "100000"}, {"-n", "-1"},
		{"-warmup", "-1s"}, {"-load", "nope"}, {"-load", "client_credentials", "-secret", ""},
		{"-timeout", "0s"}, {"extra"},
	} {
		if _, err := parseConfig(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestRun_RefusesNonLoopbackBeforeAnyRequest(t *testing.T) {
	var stderr strings.Builder
	code := run([]string{"-url", "http://192.0.2.1:8080", "-load", "jwks", "-d", "1s"}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "not a loopback address") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestDrive_StopsAtTheRequestLimit(t *testing.T) {
	var calls atomic.Int64
	o := func(context.Context) outcome {
		calls.Add(1)
		time.Sleep(100 * time.Microsecond)
		return outcome{status: 200}
	}
	r := drive(context.Background(), "t", plan{duration: 5 * time.Second, limit: 100, timeout: time.Second}, []op{o, o, o, o})
	if r.OK() != 100 || calls.Load() != 100 {
		t.Fatalf("ok = %d, calls = %d; want 100 each", r.OK(), calls.Load())
	}
	if r.Elapsed <= 0 || r.Elapsed > time.Second {
		t.Fatalf("elapsed = %v: the window must close with the last request", r.Elapsed)
	}
}

func TestDrive_WarmupIsNotCountedAndWindowIsBounded(t *testing.T) {
	var calls atomic.Int64
	o := func(context.Context) outcome {
		n := calls.Add(1)
		time.Sleep(time.Millisecond)
		if n%2 == 0 {
			return outcome{status: 503}
		}
		return outcome{status: 200}
	}
	start := time.Now()
	r := drive(context.Background(), "t", plan{warmup: 50 * time.Millisecond, duration: 100 * time.Millisecond, timeout: time.Second}, []op{o, o})
	if took := time.Since(start); took > time.Second {
		t.Fatalf("run took %v", took)
	}
	counted := r.OK() + r.Statuses[503] + r.Late
	if counted >= calls.Load() || r.OK() == 0 || r.Statuses[503] == 0 {
		t.Fatalf("ok %d, 503 %d, late %d of %d calls: warmup calls must not count", r.OK(), r.Statuses[503], r.Late, calls.Load())
	}
	if r.Elapsed != 100*time.Millisecond {
		t.Fatalf("elapsed = %v, want the full window", r.Elapsed)
	}
}

func TestDrive_CancelEndsTheRunEarly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	o := func(ctx context.Context) outcome {
		if !pause(ctx, time.Millisecond) {
			return outcome{err: ctx.Err()}
		}
		return outcome{status: 200}
	}
	r := drive(ctx, "t", plan{duration: time.Minute, timeout: time.Second}, []op{o})
	if !r.Interrupted || r.Elapsed > time.Second || len(r.Errors) != 0 {
		t.Fatalf("interrupted %v, elapsed %v, errors %v", r.Interrupted, r.Elapsed, r.Errors)
	}
}

func TestParseStatus(t *testing.T) {
	const status = "Name:\tqazauth\nVmPeak:\t 1300000 kB\nVmHWM:\t   48312 kB\nVmRSS:\t   41020 kB\nThreads:\t9\n"
	m, err := parseStatus(strings.NewReader(status))
	if err != nil || m.rss != 41020 || m.hwm != 48312 {
		t.Fatalf("parseStatus = %+v, %v", m, err)
	}
	if _, err := parseStatus(strings.NewReader("Name:\tkthreadd\n")); err == nil {
		t.Fatal("missing lines accepted")
	}
}

func TestSampleRSS_OwnProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if peak := <-sampleRSS(ctx, os.Getpid(), 5*time.Millisecond, time.Now().Add(10*time.Millisecond)); peak <= 0 {
		t.Fatalf("peak VmRSS of this process = %d KiB", peak)
	}
}
