package resource

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"
)

// validateAll validates tokens concurrently and returns the errors.
func validateAll(v *Validator, tokens []string) []error {
	errs := make([]error, len(tokens))
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = v.Validate(context.Background(), tok)
		}()
	}
	wg.Wait()
	return errs
}

// TestKeyRotation rotates the issuer's key while the validator runs: the
// new kid is picked up on first use, concurrent first uses share one fetch,
// and a withdrawn key stops working once the cache is refreshed.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	clock := newFakeClock()
	v := newTestValidator(t, iss, clock)
	if got := iss.jwksHits.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times by New, want 1", got)
	}

	// The issuer publishes key B beside A and starts signing with it a
	// minute later.
	clock.Advance(time.Minute)
	iss.publish(jwk("a", &keyA().PublicKey), jwk("b", &keyB().PublicKey))
	iss.set(func(iss *testIssuer) { iss.delay = 20 * time.Millisecond })
	tokens := make([]string, 20)
	for i := range tokens {
		tokens[i] = signRS256(t, keyB(), header("b"), claims(iss.URL, clock.Now()))
	}
	for i, err := range validateAll(v, tokens) {
		if err != nil {
			t.Errorf("token %d with the new key: %v", i, err)
		}
	}
	if got := iss.jwksHits.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times after rotation, want 2", got)
	}

	// Key A is withdrawn. Once the cached set is stale (no max-age: the
	// default TTL), the next validation refreshes it in the background.
	iss.set(func(iss *testIssuer) { iss.delay = 0 })
	iss.publish(jwk("b", &keyB().PublicKey))
	clock.Advance(defaultKeyTTL)
	oldTok := signRS256(t, keyA(), header("a"), claims(iss.URL, clock.Now()))
	if _, err := v.Validate(context.Background(), oldTok); err != nil {
		t.Fatalf("old key while the cache is stale: %v", err)
	}
	waitFor(t, "background refresh", func() bool { return iss.jwksHits.Load() == 3 && !v.keys.refreshing.Load() })
	if _, err := v.Validate(context.Background(), oldTok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("withdrawn key after refresh: error = %v, want ErrUnknownKey", err)
	}
	newTok := signRS256(t, keyB(), header("b"), claims(iss.URL, clock.Now()))
	if _, err := v.Validate(context.Background(), newTok); err != nil {
		t.Errorf("new key after refresh: %v", err)
	}
	if got := iss.jwksHits.Load(); got != 3 {
		t.Errorf("JWKS fetched %d times in total, want 3", got)
	}
}

// TestKeySetFailureKeepsKeys breaks the JWKS endpoint in several ways: the
// cached keys keep working, stale or not, and unknown kids fail cleanly.
func TestKeySetFailureKeepsKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault func(*testIssuer)
	}{
		{"status 500", func(iss *testIssuer) { iss.status = http.StatusInternalServerError }},
		{"status 404", func(iss *testIssuer) { iss.status = http.StatusNotFound }},
		{"bad JSON", func(iss *testIssuer) { iss.jwks = []byte(`{"keys":[`) }},
		{"not a JWKS", func(iss *testIssuer) { iss.jwks = []byte(`[1,2,3]`) }},
		{"empty set", func(iss *testIssuer) { iss.jwks = []byte(`{"keys":[]}`) }},
		{"only unusable keys", func(iss *testIssuer) {
			iss.jwks = []byte(`{"keys":[{"kty":"oct","kid":"a","k":"c2VjcmV0"}]}`)
		}},
		{"hang-up", func(iss *testIssuer) { iss.hangup = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			iss := newTestIssuer(t)
			clock := newFakeClock()
			v := newTestValidator(t, iss, clock)
			iss.set(tt.fault)

			// Stale cache: validation succeeds and triggers a failing
			// background refresh.
			clock.Advance(defaultKeyTTL + time.Second)
			tok := signRS256(t, keyA(), header("a"), claims(iss.URL, clock.Now()))
			if _, err := v.Validate(context.Background(), tok); err != nil {
				t.Fatalf("cached key with stale cache: %v", err)
			}
			// (The transport may retry a hung-up GET once, hence >=.)
			waitFor(t, "background refresh", func() bool { return iss.jwksHits.Load() >= 2 && !v.keys.refreshing.Load() })
			if _, err := v.Validate(context.Background(), tok); err != nil {
				t.Fatalf("cached key after failed refresh: %v", err)
			}

			// Unknown kid: the refetch fails too, and the error says so.
			clock.Advance(DefaultMinRefetchInterval)
			unknown := signRS256(t, keyB(), header("b"), claims(iss.URL, clock.Now()))
			_, err := v.Validate(context.Background(), unknown)
			if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("unknown kid with broken JWKS: error = %v, want ErrUnknownKey", err)
			}
			checkErrorShape(t, err)
			if _, err := v.Validate(context.Background(), tok); err != nil {
				t.Errorf("cached key after failed refetch: %v", err)
			}

			// The endpoint recovers and publishes B.
			iss.set(func(iss *testIssuer) {
				iss.status, iss.hangup = http.StatusOK, false
			})
			iss.publish(jwk("a", &keyA().PublicKey), jwk("b", &keyB().PublicKey))
			clock.Advance(DefaultMinRefetchInterval)
			if _, err := v.Validate(context.Background(), unknown); err != nil {
				t.Errorf("new key after recovery: %v", err)
			}
		})
	}
}

// TestUnknownKidFlood sends 200 tokens with random kids in parallel: the
// JWKS endpoint sees at most one request per MinRefetchInterval.
func TestUnknownKidFlood(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	iss.set(func(iss *testIssuer) { iss.delay = 20 * time.Millisecond })
	clock := newFakeClock()
	v := newTestValidator(t, iss, clock)

	flood := func() {
		t.Helper()
		tokens := make([]string, 200)
		for i := range tokens {
			kid := fmt.Sprintf("random-%x", must(rand.Int(rand.Reader, big.NewInt(1<<62))))
			tokens[i] = signRS256(t, attackerKey(), header(kid), claims(iss.URL, clock.Now()))
		}
		for i, err := range validateAll(v, tokens) {
			if !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("token %d: error = %v, want ErrUnknownKey", i, err)
			}
		}
	}

	// Right after New: within the interval, no fetch at all.
	flood()
	if got := iss.jwksHits.Load(); got != 1 {
		t.Errorf("JWKS fetched %d times after a flood right after New, want 1", got)
	}
	// After the interval: one shared fetch, then none until the next one.
	clock.Advance(DefaultMinRefetchInterval)
	flood()
	clock.Advance(DefaultMinRefetchInterval / 2)
	flood()
	if got := iss.jwksHits.Load(); got > 2 {
		t.Errorf("JWKS fetched %d times within one interval, want at most 2", got)
	}
	// The flood does not break legitimate tokens.
	tok := signRS256(t, keyA(), header("a"), claims(iss.URL, clock.Now()))
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Errorf("legitimate token during flood: %v", err)
	}
}

// TestCacheControlMaxAge checks that the key set is considered fresh for
// max-age and refreshed after it.
func TestCacheControlMaxAge(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	iss.set(func(iss *testIssuer) { iss.cacheControl = "public, max-age=60" })
	clock := newFakeClock()
	v := newTestValidator(t, iss, clock)
	validate := func() {
		t.Helper()
		tok := signRS256(t, keyA(), header("a"), claims(iss.URL, clock.Now()))
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	}

	clock.Advance(59 * time.Second)
	validate()
	if v.keys.refreshing.Load() || iss.jwksHits.Load() != 1 {
		t.Fatalf("refresh started before max-age ran out")
	}

	iss.set(func(iss *testIssuer) { iss.cacheControl = "max-age=600" })
	clock.Advance(time.Second)
	validate()
	waitFor(t, "refresh after max-age", func() bool { return iss.jwksHits.Load() == 2 && !v.keys.refreshing.Load() })

	// The new response's max-age of 600 s now applies.
	clock.Advance(599 * time.Second)
	validate()
	if v.keys.refreshing.Load() || iss.jwksHits.Load() != 2 {
		t.Fatalf("refresh started before the new max-age ran out")
	}
	clock.Advance(time.Second)
	validate()
	waitFor(t, "second refresh", func() bool { return iss.jwksHits.Load() == 3 && !v.keys.refreshing.Load() })
}

func TestCacheTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header map[string]string
		want   time.Duration
	}{
		{nil, defaultKeyTTL},
		{map[string]string{"Cache-Control": "max-age=300"}, 300 * time.Second},
		{map[string]string{"Cache-Control": "public, MAX-AGE=300, must-revalidate"}, 300 * time.Second},
		{map[string]string{"Cache-Control": `max-age="120"`}, 120 * time.Second},
		{map[string]string{"Cache-Control": "max-age=300", "Age": "100"}, 200 * time.Second},
		{map[string]string{"Cache-Control": "max-age=300", "Age": "400"}, 0},
		{map[string]string{"Cache-Control": "max-age=0"}, 0},
		{map[string]string{"Cache-Control": "no-cache"}, 0},
		{map[string]string{"Cache-Control": "max-age=300, no-store"}, 0},
		{map[string]string{"Cache-Control": "max-age=abc"}, defaultKeyTTL},
		{map[string]string{"Cache-Control": "max-age=-5"}, defaultKeyTTL},
		{map[string]string{"Cache-Control": "max-age=99999999999999999"}, maxKeyTTL},
		{map[string]string{"Cache-Control": "max-age=99999999999999999999999"}, defaultKeyTTL},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		if got := cacheTTL(h); got != tt.want {
			t.Errorf("cacheTTL(%v) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	withPrivate := jwk("private", &keyA().PublicKey)
	withPrivate["d"] = b64(keyA().D.Bytes())
	withPrivate["p"] = b64(keyA().Primes[0].Bytes())
	withPrivate["q"] = "not even base64!"
	with := func(kid, member string, value any) map[string]any {
		k := jwk(kid, &keyA().PublicKey)
		if value == nil {
			delete(k, member)
		} else {
			k[member] = value
		}
		return k
	}
	keys := []map[string]any{
		withPrivate,
		with("no-use", "use", nil),
		with("no-alg", "alg", nil),
		with("verify-op", "key_ops", []string{"verify"}),
		with("enc", "use", "enc"),
		with("sign-op", "key_ops", []string{"sign"}),
		with("oaep", "alg", "RSA-OAEP"),
		with("hs", "alg", "HS256"),
		with("", "kid", nil),
		with("bad-n", "n", "!!"),
		with("even-e", "e", b64([]byte{2})),
		with("big-e", "e", b64([]byte{1, 0, 0, 0, 1})),
		with("use-number", "use", 1),
		jwk("small", &small.PublicKey),
		{"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
		{"kty": "oct", "kid": "oct", "k": "c2VjcmV0"},
		with("private", "n", b64(keyB().N.Bytes())), // duplicate kid: first wins
	}
	body := must(jsonMarshal(map[string]any{"keys": keys}))
	got, err := parseJWKS(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"private", "no-use", "no-alg", "verify-op"}
	if len(got) != len(want) {
		t.Errorf("parsed keys %v, want %v", keysOf(got), want)
	}
	for _, kid := range want {
		k, ok := got[kid]
		if !ok {
			t.Errorf("key %q missing", kid)
			continue
		}
		if !k.key.Equal(&keyA().PublicKey) {
			t.Errorf("key %q is not key A's public key", kid)
		}
	}
}

func keysOf(m map[string]publicKey) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestClockSetBack(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	clock := newFakeClock()
	v := newTestValidator(t, iss, clock)
	iss.publish(jwk("a", &keyA().PublicKey), jwk("b", &keyB().PublicKey))
	clock.Advance(-time.Hour)
	tok := signRS256(t, keyB(), header("b"), claims(iss.URL, clock.Now()))
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Errorf("new key after the clock was set back: %v", err)
	}
}

func TestLookupHonoursContext(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	clock := newFakeClock()
	v := newTestValidator(t, iss, clock)
	iss.set(func(iss *testIssuer) { iss.delay = 300 * time.Millisecond })
	clock.Advance(DefaultMinRefetchInterval)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	tok := signRS256(t, keyB(), header("b"), claims(iss.URL, clock.Now()))
	start := time.Now()
	_, err := v.Validate(ctx, tok)
	if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want ErrUnknownKey wrapping the deadline", err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("Validate waited %v for the key set despite the context", d)
	}
	// The abandoned fetch still completes for everyone else.
	waitFor(t, "abandoned fetch", func() bool { return iss.jwksHits.Load() == 2 })
}
