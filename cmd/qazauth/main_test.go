package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRun_ConfigErrorIsOneLineAndExit2(t *testing.T) {
	cases := map[string]string{
		"QAZAUTH_ACCESS_TOKEN_TTL": "fifteen",
		"QAZAUTH_SECRET":           "too-short",
		"QAZAUTH_MONGO_URI":        "mongodb://127.0.0.1:1/?replicaSet=rs0",
	}
	for env, val := range cases {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			var out, errb bytes.Buffer
			code := run([]string{"serve", "--data-dir", t.TempDir()}, &out, &errb)
			msg := errb.String()
			if code != 2 || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "qazauth: QAZAUTH_") {
				t.Fatalf("exit %d, stderr %q; want 2 and one line naming the setting", code, msg)
			}
			if env != "QAZAUTH_MONGO_URI" && !strings.Contains(msg, env) {
				t.Fatalf("stderr %q does not name %s", msg, env)
			}
		})
	}
}

func TestRun_HelpAndVersion(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "qazauth ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "serve") {
		t.Fatalf("help: %d %q", code, out.String())
	}
	errb.Reset()
	if code := run([]string{"serve", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("serve --help: %d", code)
	}
	for _, env := range []string{"QAZAUTH_ADDR", "QAZAUTH_ISSUER", "QAZAUTH_ACCESS_TOKEN_TTL", "QAZAUTH_SECRET_OLD", "QAZAUTH_RSA_BITS"} {
		if !strings.Contains(errb.String(), env) {
			t.Fatalf("serve --help does not mention %s:\n%s", env, errb.String())
		}
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
}

// TestServe_ProcessLifecycle runs the real binary: it starts on an empty
// data dir, serves, and on SIGTERM finishes an in-flight request before it
// exits 0.
func TestServe_ProcessLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "qazauth")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", "--addr", addr, "--issuer", "http://"+addr, "--log-format", "json")
	cmd.Dir = dir // ./data is created here
	cmd.Env = append(os.Environ(), "QAZAUTH_SEED_FILE=")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready in 30s; logs:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, f := range []string{"data/qazauth.db", "data/secret"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("%s not created: %v", f, err)
		}
	}

	// An in-flight request: headers and half the body sent.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := url.Values{"grant_type": {"password"}, "client_id": {"nobody"}, "username": {"x"}, "password": {"y"}}.Encode()
	fmt.Fprintf(conn, "POST /oauth2/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body[:5])
	time.Sleep(200 * time.Millisecond)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	fmt.Fprint(conn, body[5:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost at shutdown: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("in-flight request: status %d, want 401 invalid_client", resp.StatusCode)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	for _, want := range []string{`"issuer":"http://` + addr, `openid-configuration`, `qazauth.db`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}
