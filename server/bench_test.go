package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/qaznat/qazauth/passwords"
	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/storage/storecount"
)

// benchServer builds a server on a temporary SQLite store and returns its
// handler (requests go through the full middleware stack, in process) and
// the store-call counter.
func benchServer(b *testing.B, grace time.Duration, pw passwords.Params) (http.Handler, *storecount.Store) {
	return benchServerTB(b, grace, pw)
}

func benchServerTB(b testing.TB, grace time.Duration, pw passwords.Params) (http.Handler, *storecount.Store) {
	b.Helper()
	dir := b.TempDir()
	seed := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seed, []byte(servertest.Seed), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := server.LoadConfig(nil, func(k string) string {
		return map[string]string{"QAZAUTH_DATA_DIR": dir, "QAZAUTH_SEED_FILE": seed}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	cfg.RefreshReuseGrace = grace
	cfg.RateLimit = 0 // one client address drives the whole load
	cfg.LoginMaxFailures = 1000
	var counter *storecount.Store
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler), server.Options{
		PasswordParams: &pw,
		WrapStore: func(s storage.Store) storage.Store {
			counter = storecount.New(s)
			return counter
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv.Handler(), counter
}

func do(h http.Handler, form url.Values, basic ...string) (int, map[string]any) {
	req := httptest.NewRequest(http.MethodPost, "http://localhost:8080/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Code, m
}

// loginScope starts a chain. The refresh benchmarks use the translation
// app's scope without openid: with it, every refresh also signs an ID
// token, two RSA signatures instead of one (BenchmarkRefreshGrantOpenID).
func loginScope(b testing.TB, h http.Handler, scope string) string {
	code, m := do(h, url.Values{"grant_type": {"password"}, "client_id": {servertest.MobileClient},
		"username": {servertest.User}, "password": {servertest.UserPassword}, "scope": {scope}})
	if code != 200 {
		b.Fatalf("login: %d %v", code, m)
	}
	return m["refresh_token"].(string)
}

// BenchmarkCeilingRS256Sign is the ceiling of PERFORMANCE.md: go-jose RS256
// compact signatures per second, in parallel.
func BenchmarkCeilingRS256Sign(b *testing.B) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"iss":"http://localhost:8080","sub":"JNRRK6LMLL73R2KQZV7L2ARFJE","aud":"qaznat-api","exp":1796306946,"iat":1796306046,"jti":"QNNLRRQNZ635GCHIZLHHRNP6DS","client_id":"qaznat-mobile","scope":"openid offline_access translate"}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			jws, err := signer.Sign(payload)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := jws.CompactSerialize(); err != nil {
				b.Error(err)
			}
		}
	})
}

// benchRefresh runs the refresh grant end to end through the HTTP handler
// with 16 goroutines per CPU (c=32 on two cores): each goroutine keeps one
// chain and always presents its newest token.
func benchRefresh(b *testing.B, grace time.Duration, scope string) {
	h, counter := benchServer(b, grace, servertest.FastPasswords)
	const parallelism = 16
	chains := make(chan string, parallelism*runtime.GOMAXPROCS(0))
	for range cap(chains) {
		chains <- loginScope(b, h, scope)
	}
	start := counter.Calls()
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rt := <-chains
		for pb.Next() {
			code, m := do(h, url.Values{"grant_type": {"refresh_token"}, "client_id": {servertest.MobileClient}, "refresh_token": {rt}})
			if code != 200 {
				b.Errorf("refresh: %d %v", code, m)
				return
			}
			rt = m["refresh_token"].(string)
		}
	})
	b.ReportMetric(float64(counter.Calls()-start)/float64(b.N), "roundtrips/op")
}

// BenchmarkRefreshGrant measures the refresh grant with the default grace
// window (10s).
func BenchmarkRefreshGrant(b *testing.B) { benchRefresh(b, 10*time.Second, "offline_access translate") }

// BenchmarkRefreshGrantOpenID refreshes a chain with scope openid: each
// refresh also returns a new ID token (OIDC Core §12.2), a second RSA
// signature.
func BenchmarkRefreshGrantOpenID(b *testing.B) {
	benchRefresh(b, 10*time.Second, "openid offline_access translate")
}

// BenchmarkRefreshGrantNoGrace measures the refresh grant with grace 0: the
// grace bookkeeping must cost nothing on the common path.
func BenchmarkRefreshGrantNoGrace(b *testing.B) { benchRefresh(b, 0, "offline_access translate") }

// BenchmarkClientCredentials measures client_credentials with HTTP Basic
// (the verified-secret cache keeps argon2id off the hot path).
func BenchmarkClientCredentials(b *testing.B) {
	h, counter := benchServer(b, 0, passwords.DefaultParams)
	start := counter.Calls()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code, m := do(h, url.Values{"grant_type": {"client_credentials"}, "scope": {"translate"}}, servertest.WorkerClient, servertest.WorkerSecret)
			if code != 200 {
				b.Errorf("client_credentials: %d %v", code, m)
				return
			}
		}
	})
	b.ReportMetric(float64(counter.Calls()-start)/float64(b.N), "roundtrips/op")
}

// BenchmarkPasswordGrant measures the password grant with production
// argon2id parameters; compare with passwords.BenchmarkArgon2id.
func BenchmarkPasswordGrant(b *testing.B) {
	h, counter := benchServer(b, 0, passwords.DefaultParams)
	start := counter.Calls()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code, m := do(h, url.Values{"grant_type": {"password"}, "client_id": {servertest.MobileClient},
				"username": {servertest.User}, "password": {servertest.UserPassword}, "scope": {"offline_access translate"}})
			if code != 200 {
				b.Errorf("password: %d %v", code, m)
				return
			}
		}
	})
	b.ReportMetric(float64(counter.Calls()-start)/float64(b.N), "roundtrips/op")
}
