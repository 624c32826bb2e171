package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qaznat/qazauth/server/servertest"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name    string
		args    []string
		getenv  func(string) string
		want    config
		wantErr string
	}{
		{name: "defaults", getenv: env(),
			want: config{Issuer: "http://localhost:8080", Addr: "localhost:8090", Audience: "qaznat-api", SegmentTime: time.Second}},
		{name: "environment", getenv: env(
			"TRANSLATION_API_ISSUER", "https://auth.example", "TRANSLATION_API_ADDR", ":9000",
			"TRANSLATION_API_AUDIENCE", "video-api", "TRANSLATION_API_SEGMENT_TIME", "250ms"),
			want: config{Issuer: "https://auth.example", Addr: ":9000", Audience: "video-api", SegmentTime: 250 * time.Millisecond}},
		{name: "flags win", args: []string{"-issuer", "http://127.0.0.1:1", "-segment-time", "2s"},
			getenv: env("TRANSLATION_API_ISSUER", "https://auth.example", "TRANSLATION_API_SEGMENT_TIME", "3s"),
			want:   config{Issuer: "http://127.0.0.1:1", Addr: "localhost:8090", Audience: "qaznat-api", SegmentTime: 2 * time.Second}},
		{name: "bad variable under a flag", args: []string{"-segment-time", "2s"},
			getenv: env("TRANSLATION_API_SEGMENT_TIME", "bad"), wantErr: "TRANSLATION_API_SEGMENT_TIME"},
		{name: "flags", args: []string{"-issuer", "http://127.0.0.1:1", "-addr", "127.0.0.1:0", "-audience", "a", "-segment-time", "0"}, getenv: env(),
			want: config{Issuer: "http://127.0.0.1:1", Addr: "127.0.0.1:0", Audience: "a", SegmentTime: 0}},
		{name: "bad env duration", getenv: env("TRANSLATION_API_SEGMENT_TIME", "soon"), wantErr: "TRANSLATION_API_SEGMENT_TIME"},
		{name: "negative segment time", args: []string{"-segment-time", "-1s"}, getenv: env(), wantErr: "-segment-time"},
		{name: "empty audience", args: []string{"-audience", ""}, getenv: env(), wantErr: "-audience"},
		{name: "extra argument", args: []string{"serve"}, getenv: env(), wantErr: "unexpected argument"},
		{name: "unknown flag", args: []string{"-port", "1"}, getenv: env(), wantErr: "flag provided but not defined"},
	}
	for _, c := range cases {
		got, err := parseConfig(c.args, c.getenv, io.Discard)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case got != c.want:
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if _, err := parseConfig([]string{"-h"}, env(), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// TestRunGracefulShutdown runs the real main loop against a real qazauth:
// it serves, and on shutdown (the signal context ending) it stops
// accepting, cancels a long synchronous translation in flight with 503
// instead of waiting for it, and exits 0.
func TestRunGracefulShutdown(t *testing.T) {
	t.Parallel()
	auth := startAuth(t)
	tok := passwordGrant(t, auth.URL+"/oauth2/token", servertest.User, servertest.UserPassword, scopesWithTranslate)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	exit := make(chan int, 1)
	logs := &syncBuffer{}
	go func() {
		exit <- run(ctx, []string{"-issuer", auth.URL, "-addr", "127.0.0.1:0", "-segment-time", "1h"},
			func(string) string { return "" }, logs, ready)
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case code := <-exit:
		t.Fatalf("run exited with %d before serving:\n%s", code, logs)
	case <-time.After(30 * time.Second):
		t.Fatal("not serving after 30s")
	}

	if r := do(t, nil, http.MethodGet, base+"/healthz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("healthz: %d", r.Status)
	}
	if r := do(t, nil, http.MethodPost, base+"/api/translation/jobs", tok.AccessToken, segmentsBody("x", 2)); r.Status != http.StatusAccepted {
		t.Fatalf("POST jobs: %d %s", r.Status, r.Body)
	}
	// A synchronous translation that would take an hour.
	inFlight := make(chan apiResponse, 1)
	go func() {
		r, err := doErr(nil, http.MethodPost, base+"/api/translation/translate-segments", tok.AccessToken, segmentsBody("x", 1))
		if err != nil {
			r.Status = -1
			r.Body = []byte(err.Error())
		}
		inFlight <- r
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "synchronous translation started") {
		if time.Now().After(deadline) {
			t.Fatalf("the synchronous request did not start:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}

	start := time.Now()
	cancel() // what SIGINT/SIGTERM does through signal.NotifyContext
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit status %d:\n%s", code, logs)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after shutdown")
	}
	r := <-inFlight
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("in-flight synchronous translation: %d %s, want 503", r.Status, r.Body)
	}
	t.Logf("shutdown took %v with a job and an hour-long synchronous request in flight", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(logs.String(), "job cancelled") || !strings.Contains(logs.String(), "stopped") {
		t.Errorf("logs lack the shutdown:\n%s", logs)
	}
	checkNoTokensLogged(t, logs.String(), tok.AccessToken, tok.RefreshToken)
}
