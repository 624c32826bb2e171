package resource

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// RSA key sizes accepted from the key set. RFC 7518 §3.3 requires at least
// 2048 bits; the upper bound keeps a hostile or broken key set from making
// every verification needlessly expensive.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// maxBodySize caps discovery and JWKS responses.
const maxBodySize = 1 << 20

// publicKey is a verification key from the key set, parsed once per fetch
// so that validation only looks it up.
type publicKey struct {
	key *rsa.PublicKey
	alg string // the JWK "alg", or "" if the issuer did not pin one
}

// keySnapshot is an immutable view of one successful key-set fetch.
type keySnapshot struct {
	keys    map[string]publicKey // by kid
	expires time.Time            // when the issuer's max-age runs out
}

// keySet caches an issuer's JWKS (RFC 7517 §5).
//
// Reads are lock-free: the current snapshot sits behind an atomic pointer
// and is replaced wholesale after each successful fetch; a failed fetch
// leaves it alone, so the last good keys keep working. All fetches after the
// first go through one singleflight key, so concurrent triggers share a
// request, and each fetch first checks that at least minInterval passed
// since the previous attempt.
type keySet struct {
	url         string
	client      *http.Client
	now         func() time.Time
	minInterval time.Duration

	current     atomic.Pointer[keySnapshot]
	lastAttempt atomic.Int64 // start of the last fetch, Unix nanoseconds
	fetching    atomic.Bool  // a fetch is in flight
	refreshing  atomic.Bool  // a background refresh goroutine is running
	group       singleflight.Group
}

func newKeySet(url string, client *http.Client, now func() time.Time, minInterval time.Duration) *keySet {
	return &keySet{url: url, client: client, now: now, minInterval: minInterval}
}

// errThrottled is returned by refetch when the minimum interval has not yet
// passed since the previous fetch.
var errThrottled = errors.New("key set was fetched too recently to refetch")

// init performs the first fetch, synchronously and with the caller's
// context, so that New fails early on a misconfigured issuer.
func (s *keySet) init(ctx context.Context) error {
	s.lastAttempt.Store(s.now().UnixNano())
	snap, err := s.fetch(ctx)
	if err != nil {
		return err
	}
	s.current.Store(snap)
	return nil
}

// throttled reports whether the last fetch started less than minInterval
// before now. If the wall clock was set back, it is not: a clock change must
// not lock out refetches.
func (s *keySet) throttled(now time.Time) bool {
	elapsed := now.Sub(time.Unix(0, s.lastAttempt.Load()))
	return elapsed >= 0 && elapsed < s.minInterval
}

// lookup returns the key named kid. A cached key is returned at once; if the
// cache has gone stale a background refresh is started. An unknown kid
// triggers a (shared, rate-limited) refetch that the caller waits for until
// ctx is done.
func (s *keySet) lookup(ctx context.Context, kid string) (publicKey, error) {
	snap := s.current.Load()
	if k, ok := snap.keys[kid]; ok {
		if !s.now().Before(snap.expires) {
			s.refreshInBackground()
		}
		return k, nil
	}

	// Fast path for floods of made-up kids: too soon to fetch, and no
	// fetch to join. The order of the loads matters: refetch sets fetching
	// before lastAttempt, so seeing a throttling lastAttempt first and then
	// fetching false means that fetch has completed and stored its keys.
	if s.throttled(s.now()) && !s.fetching.Load() {
		if k, ok := s.current.Load().keys[kid]; ok {
			return k, nil
		}
		return publicKey{}, newError(ErrUnknownKey, "kid "+quoteDetail(kid)+" not in key set")
	}

	select {
	case res := <-s.group.DoChan("jwks", s.refetch):
		if res.Err != nil && !errors.Is(res.Err, errThrottled) {
			return publicKey{}, wrapError(ErrUnknownKey, "kid "+quoteDetail(kid)+" not found and key set refresh failed", res.Err)
		}
		if k, ok := res.Val.(*keySnapshot).keys[kid]; ok {
			return k, nil
		}
		return publicKey{}, newError(ErrUnknownKey, "kid "+quoteDetail(kid)+" not in key set")
	case <-ctx.Done():
		return publicKey{}, wrapError(ErrUnknownKey, "kid "+quoteDetail(kid)+" not found before context ended", ctx.Err())
	}
}

// refreshInBackground starts a refresh goroutine unless one is running or
// the last fetch was too recent.
func (s *keySet) refreshInBackground() {
	if s.fetching.Load() || s.throttled(s.now()) || !s.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.refreshing.Store(false)
		// Errors are deliberately dropped: the stale keys stay in use and
		// the next validation after minInterval tries again.
		_, _, _ = s.group.Do("jwks", s.refetch)
	}()
}

// refetch fetches the key set unless the previous attempt was less than
// minInterval ago. It always returns the snapshot in force afterwards. It
// runs only under the singleflight key, so never concurrently with itself,
// and detached from any request context: waiters that give up must not
// cancel the fetch for the others.
func (s *keySet) refetch() (any, error) {
	now := s.now()
	if s.throttled(now) {
		return s.current.Load(), errThrottled
	}
	s.fetching.Store(true)
	defer s.fetching.Store(false)
	s.lastAttempt.Store(now.UnixNano())

	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	snap, err := s.fetch(ctx)
	if err != nil {
		return s.current.Load(), err
	}
	s.current.Store(snap)
	return snap, nil
}

// fetch downloads and parses the key set. It fails on transport errors,
// non-200 responses, invalid JSON and sets without a usable key.
func (s *keySet) fetch(ctx context.Context) (*keySnapshot, error) {
	body, header, err := get(ctx, s.client, s.url)
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS: %w", err)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("parsing JWKS from %s: %w", s.url, err)
	}
	return &keySnapshot{keys: keys, expires: s.now().Add(cacheTTL(header))}, nil
}

// get performs a GET that must answer 200 and returns at most maxBodySize
// bytes of the body.
func get(ctx context.Context, client *http.Client, url string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, &statusError{url: url, code: resp.StatusCode}
	}
	if len(body) > maxBodySize {
		return nil, nil, fmt.Errorf("%s: response larger than %d bytes", url, maxBodySize)
	}
	return body, resp.Header, nil
}

// statusError reports a non-200 response.
type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: unexpected status %d %s", e.url, e.code, http.StatusText(e.code))
}

// rawJWK holds the members of a JWK (RFC 7517 §4, RFC 7518 §6.3) that
// matter for verification. Private members ("d", "p", ...) are not even
// decoded: only public material is ever used.
type rawJWK struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Kid    string   `json:"kid"`
	N      string   `json:"n"`
	E      string   `json:"e"`
}

// parseJWKS returns the usable keys of a JWK Set by kid. Keys that are not
// RSA, are not for signatures, lack a kid, or fail to parse are skipped, so
// that the issuer can publish other keys (or keys of future types) beside
// ours. Of two usable keys with the same kid the first wins. A set without
// any usable key is an error.
func parseJWKS(body []byte) (map[string]publicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, err
	}
	keys := make(map[string]publicKey, len(set.Keys))
	for _, raw := range set.Keys {
		var k rawJWK
		if err := json.Unmarshal(raw, &k); err != nil {
			continue
		}
		if k.Kid == "" || k.Kty != "RSA" || !usableForVerify(k) {
			continue
		}
		// A key pinned to another algorithm (RFC 7517 §4.4) is not ours.
		if k.Alg != "" && !slices.Contains(supportedAlgorithms, jose.SignatureAlgorithm(k.Alg)) {
			continue
		}
		if _, dup := keys[k.Kid]; dup {
			continue
		}
		pub, err := rsaPublicKey(k.N, k.E)
		if err != nil {
			continue
		}
		keys[k.Kid] = publicKey{key: pub, alg: k.Alg}
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable RSA signing key")
	}
	return keys, nil
}

// usableForVerify applies RFC 7517 §4.2 ("use") and §4.3 ("key_ops").
func usableForVerify(k rawJWK) bool {
	if k.Use != "" && k.Use != "sig" {
		return false
	}
	return k.KeyOps == nil || slices.Contains(k.KeyOps, "verify")
}

// rsaPublicKey decodes the base64url "n" and "e" members (RFC 7518 §6.3.1).
func rsaPublicKey(n64, e64 string) (*rsa.PublicKey, error) {
	nb, err := base64.RawURLEncoding.DecodeString(n64)
	if err != nil {
		return nil, fmt.Errorf("modulus: %w", err)
	}
	eb, err := base64.RawURLEncoding.DecodeString(e64)
	if err != nil {
		return nil, fmt.Errorf("exponent: %w", err)
	}
	n := new(big.Int).SetBytes(nb)
	if bits := n.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("modulus of %d bits", bits)
	}
	if n.Bit(0) == 0 {
		return nil, errors.New("even modulus")
	}
	if len(eb) == 0 || len(eb) > 4 {
		return nil, errors.New("exponent out of range")
	}
	var e int64
	for _, b := range eb {
		e = e<<8 | int64(b)
	}
	// crypto/rsa accepts odd exponents in [3, 2^31-1].
	if e < 3 || e > 1<<31-1 || e%2 == 0 {
		return nil, fmt.Errorf("exponent %d out of range", e)
	}
	return &rsa.PublicKey{N: n, E: int(e)}, nil
}

// cacheTTL derives the key set's freshness lifetime from the response's
// Cache-Control (RFC 9111 §5.2.2.1 max-age, minus §5.1 Age).
// "no-store" and "no-cache" mean the keys are stale at once, which in
// practice means a refetch at most every minInterval. Without max-age
// defaultKeyTTL applies; every value is capped at maxKeyTTL.
func cacheTTL(h http.Header) time.Duration {
	maxAge := -1
	for _, line := range h.Values("Cache-Control") {
		for _, directive := range strings.Split(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				v, err := strconv.Atoi(strings.Trim(strings.TrimSpace(value), `"`))
				if err != nil || v < 0 {
					continue
				}
				maxAge = v
			}
		}
	}
	if maxAge < 0 {
		return defaultKeyTTL
	}
	if age, err := strconv.Atoi(h.Get("Age")); err == nil && age > 0 {
		maxAge -= age
		if maxAge < 0 {
			maxAge = 0
		}
	}
	if maxAge > int(maxKeyTTL/time.Second) {
		return maxKeyTTL
	}
	return time.Duration(maxAge) * time.Second
}
