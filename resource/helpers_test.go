package resource

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testAudience is the audience every test validator requires.
const testAudience = "video-api"

// baseTime is the fake clock's starting point.
var baseTime = time.Unix(1_760_000_000, 0)

// testKeys returns RSA keys generated once per test binary: generating
// 2048-bit keys is slow, especially under the race detector.
var testKeys = sync.OnceValue(func() [3]*rsa.PrivateKey {
	var keys [3]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err) // test set-up only; crypto/rand does not fail
		}
		keys[i] = k
	}
	return keys
})

// Named test keys: the issuer's current key, the key it rotates to, and a
// key the issuer never published.
func keyA() *rsa.PrivateKey        { return testKeys()[0] }
func keyB() *rsa.PrivateKey        { return testKeys()[1] }
func attackerKey() *rsa.PrivateKey { return testKeys()[2] }

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(baseTime.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testIssuer serves discovery and a JWKS on 127.0.0.1 and counts key-set
// requests.
type testIssuer struct {
	srv      *httptest.Server
	URL      string
	jwksHits atomic.Int64

	mu           sync.Mutex
	jwks         []byte        // served body
	status       int           // served status
	cacheControl string        // served Cache-Control, if any
	hangup       bool          // close the connection instead of answering
	delay        time.Duration // delay before answering
}

func newTestIssuer(tb testing.TB) *testIssuer {
	tb.Helper()
	iss := &testIssuer{status: http.StatusOK}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, iss.URL, iss.URL+"/jwks")
	})
	mux.HandleFunc("/jwks", iss.serveJWKS)
	// Set URL before the server starts so that handlers read it race-free.
	iss.srv = httptest.NewUnstartedServer(mux)
	iss.URL = "http://" + iss.srv.Listener.Addr().String()
	iss.srv.Start()
	tb.Cleanup(iss.srv.Close)
	iss.publish(jwk("a", &keyA().PublicKey))
	return iss
}

func (iss *testIssuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	iss.jwksHits.Add(1)
	iss.mu.Lock()
	body, status, cc, hangup, delay := iss.jwks, iss.status, iss.cacheControl, iss.hangup, iss.delay
	iss.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if hangup {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.WriteHeader(status)
	w.Write(body)
}

// publish replaces the served key set with the given JWKs.
func (iss *testIssuer) publish(keys ...map[string]any) {
	body, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	iss.setBody(body)
}

func (iss *testIssuer) setBody(body []byte) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.jwks = body
}

func (iss *testIssuer) set(f func(iss *testIssuer)) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	f(iss)
}

// httptestServer starts h on 127.0.0.1 for the duration of the test.
func httptestServer(tb testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwk renders an RSA public key as a signing JWK.
func jwk(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{
		"kty": "RSA",
		"kid": kid,
		"use": "sig",
		"alg": "RS256",
		"n":   b64(pub.N.Bytes()),
		"e":   b64(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// header returns the header qazauth puts on its tokens.
func header(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": kid}
}

// claims returns the claims of a typical user token issued at now.
func claims(iss string, now time.Time) map[string]any {
	return map[string]any{
		"iss":                iss,
		"sub":                "user-42",
		"aud":                testAudience,
		"exp":                now.Add(5 * time.Minute).Unix(),
		"iat":                now.Unix(),
		"jti":                "jti-1",
		"client_id":          "flutter-app",
		"scope":              "openid video:translate video:read",
		"preferred_username": "aida",
		"email":              "aida@example.kz",
		"roles":              []string{"user", "translator"},
		"sid":                "session-7",
	}
}

// signingInput is the JWS signing input of RFC 7515 §5.1.
func signingInput(tb testing.TB, hdr, cl any) string {
	tb.Helper()
	h, err := json.Marshal(hdr)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(cl)
	if err != nil {
		tb.Fatal(err)
	}
	return b64(h) + "." + b64(c)
}

// signRS256 returns a compact JWS over hdr and cl signed with key.
func signRS256(tb testing.TB, key *rsa.PrivateKey, hdr, cl any) string {
	tb.Helper()
	input := signingInput(tb, hdr, cl)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + b64(sig)
}

// newTestValidator returns a Validator for iss with the test audience and a
// fake clock; opts come last so they can override those.
func newTestValidator(tb testing.TB, iss *testIssuer, clock *fakeClock, opts ...Option) *Validator {
	tb.Helper()
	all := append([]Option{Audience(testAudience), Clock(clock.Now)}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := New(ctx, iss.URL, all...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return v
}

// sentinels are all errors Validate may match.
var sentinels = []error{
	ErrMalformed, ErrAlgorithm, ErrType, ErrInvalidSignature, ErrIssuer,
	ErrAudience, ErrNotYetValid, ErrExpired,
}

// checkErrorShape asserts what every Validate error promises: it matches
// exactly one primary sentinel, and its text fits an error_description.
func checkErrorShape(tb testing.TB, err error) {
	tb.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		tb.Errorf("error %q matches %d sentinels, want 1", err, n)
	}
	if msg := err.Error(); !isSafe(msg) || len(msg) > maxDescriptionLen {
		tb.Errorf("error text %q is not safe for a header", msg)
	}
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
