package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qaznat/qazauth/resource"
	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

// fastRotation rotates every 4 s with a 2 s JWKS max age and 2 s tokens:
// a next key is published 3 s (max age + 2 reloads of 500 ms) before it
// signs, and a retired key stays 4 s (token TTL + max age).
func fastRotation(c *server.Config) {
	c.KeyRotation = 4 * time.Second
	c.JWKSMaxAge = 2 * time.Second
	c.AccessTokenTTL = 2 * time.Second
}

// jwksWatch is the resource server's HTTP transport: it records every JWKS
// response (when it arrived and which kids it held).
type jwksWatch struct {
	mu      sync.Mutex
	fetches []jwksFetch
}

type jwksFetch struct {
	at   time.Time
	kids []string
}

func (w *jwksWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/jwks.json") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	w.mu.Lock()
	w.fetches = append(w.fetches, jwksFetch{at: time.Now(), kids: kidsOf(body)})
	w.mu.Unlock()
	return resp, nil
}

func (w *jwksWatch) snapshot() []jwksFetch {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.fetches)
}

func kidsOf(jwks []byte) []string {
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	_ = json.Unmarshal(jwks, &set)
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	slices.Sort(kids)
	return kids
}

// validator returns a resource server's validator with a warm cache of the
// JWKS at jwksURL (issuer's discovery when empty).
func validator(t *testing.T, issuer, jwksURL string, w *jwksWatch) *resource.Validator {
	t.Helper()
	opts := []resource.Option{
		resource.Audience(servertest.Audience),
		resource.HTTPClient(&http.Client{Transport: w, Timeout: 10 * time.Second}),
		// Below the max age, so the validator refreshes whenever its
		// cache goes stale; an unknown kid could trigger one more.
		resource.MinRefetchInterval(time.Second),
	}
	if jwksURL != "" {
		opts = append(opts, resource.JWKSURL(jwksURL))
	}
	v, err := resource.New(t.Context(), issuer, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// issue gets a client-credentials access token and returns it with its kid
// and expiry.
func issue(t *testing.T, s *servertest.Server) (tok, kid string, exp time.Time) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"translate"}}
	code, tr, _ := postForm(t, s, "/oauth2/token", form, servertest.WorkerClient, servertest.WorkerSecret)
	if code != http.StatusOK {
		t.Fatalf("client credentials: %d %+v", code, tr)
	}
	parts := strings.Split(tr.AccessToken, ".")
	var h struct {
		Kid string `json:"kid"`
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil || h.Kid == "" || c.Exp == 0 {
		t.Fatalf("token without kid or exp: %s", tr.AccessToken)
	}
	return tr.AccessToken, h.Kid, time.Unix(c.Exp, 0)
}

// jwksPoll fetches the JWKS directly (no cache) and checks its headers.
type jwksPoll struct {
	t      *testing.T
	url    string
	maxAge string
	etags  map[string]string    // ETag → the key set it named
	seen   map[string]time.Time // kid → first seen published
	gone   map[string]time.Time // kid → first seen absent after being published
}

func newPoll(t *testing.T, jwksURL string, maxAge time.Duration) *jwksPoll {
	return &jwksPoll{t: t, url: jwksURL, maxAge: "public, max-age=" + strings.TrimSuffix(maxAge.String(), "s"),
		etags: map[string]string{}, seen: map[string]time.Time{}, gone: map[string]time.Time{}}
}

// poll returns the published kids; start is taken before the request.
func (p *jwksPoll) poll() (start time.Time, kids []string) {
	p.t.Helper()
	start = time.Now()
	resp, err := http.Get(p.url)
	if err != nil {
		p.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != p.maxAge {
		p.t.Fatalf("JWKS Cache-Control %q, want %q", cc, p.maxAge)
	}
	kids = kidsOf(body)
	set := strings.Join(kids, " ")
	etag := resp.Header.Get("ETag")
	if prev, ok := p.etags[etag]; ok && prev != set {
		p.t.Fatalf("ETag %s named two key sets: %q and %q", etag, prev, set)
	}
	for e, s := range p.etags {
		if s == set && e != etag {
			p.t.Fatalf("one key set %q under two ETags %s and %s", set, e, etag)
		}
	}
	p.etags[etag] = set
	for _, k := range kids {
		if _, ok := p.seen[k]; !ok {
			p.seen[k] = start
		}
	}
	for k := range p.seen {
		if _, ok := p.gone[k]; !ok && !slices.Contains(kids, k) {
			p.gone[k] = time.Now()
		}
	}
	return start, kids
}

// TestKeyRotation_WarmCacheNeverFails streams freshly issued tokens into a
// resource server with a warm JWKS cache across two automatic rotations:
// no validation fails, no token carries a kid the cache had not already
// fetched, the cache refetches only when its max age runs out, and a
// retired key leaves the JWKS only after its last token expired.
func TestKeyRotation_WarmCacheNeverFails(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, fastRotation)
	watch := &jwksWatch{}
	v := validator(t, s.URL, "", watch)
	poll := newPoll(t, s.URL+"/.well-known/jwks.json", 2*time.Second)

	start := time.Now()
	var signers []string               // kids in the order they first signed
	firstUse := map[string]time.Time{} // kid → first token validated
	lastExp := map[string]time.Time{}  // kid → latest expiry of its tokens
	failures, lastPoll := 0, time.Time{}
	deadline := time.Now().Add(2 * time.Minute)
	for len(signers) < 3 || len(poll.gone) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no two rotations and one removal within 2 minutes: signers %v", signers)
		}
		tok, kid, exp := issue(t, s)
		if _, ok := firstUse[kid]; !ok {
			firstUse[kid] = time.Now()
			signers = append(signers, kid)
		}
		lastExp[kid] = exp
		if _, err := v.Validate(context.Background(), tok); err != nil {
			failures++
			t.Errorf("validation failed (kid %s, signer #%d): %v", kid, len(signers), err)
		}
		if time.Since(lastPoll) >= 100*time.Millisecond {
			at, kids := poll.poll()
			lastPoll = at
			for k, e := range lastExp {
				if !slices.Contains(kids, k) && e.After(at) {
					t.Fatalf("key %s left the JWKS at %v while its token is valid until %v", k, at, e)
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if failures > 0 {
		t.Fatalf("%d validations failed", failures)
	}

	fetches := watch.snapshot()
	// Every new key was in a JWKS response the cache had received before
	// the first token signed with it: pre-publication, not refetch on an
	// unknown kid.
	for _, kid := range signers[1:] {
		known := slices.ContainsFunc(fetches, func(f jwksFetch) bool {
			return f.at.Before(firstUse[kid]) && slices.Contains(f.kids, kid)
		})
		if !known {
			t.Errorf("key %s signed before the warm cache had fetched it", kid)
		}
	}
	// One fetch at start and one per max age; an unknown kid would add more.
	if limit := 2 + int(elapsed/(2*time.Second)); len(fetches) > limit {
		t.Errorf("%d JWKS fetches in %v, want at most %d (one per max age)", len(fetches), elapsed.Round(time.Millisecond), limit)
	}
	t.Logf("%d keys signed, %d JWKS fetches in %v", len(signers), len(fetches), elapsed.Round(time.Millisecond))
}

// TestKeyRotation_TwoInstancesOneStore: two instances behind one issuer
// share a store through two rotations. Exactly one key becomes current per
// rotation, both sign with the same keys in the same order, and a token
// from either verifies with a cache of either's JWKS.
func TestKeyRotation_TwoInstancesOneStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const issuer = "http://qazauth.test"
	opt := func(c *server.Config) { fastRotation(c); c.Issuer = issuer }
	inst := []*servertest.Server{servertest.StartIn(t, dir, opt), servertest.StartIn(t, dir, opt)}
	var vals []*resource.Validator
	for _, s := range inst {
		vals = append(vals, validator(t, issuer, s.URL+"/.well-known/jwks.json", &jwksWatch{}))
	}
	signers := [2][]string{}
	published := map[string]bool{}
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; len(signers[0]) < 3 || len(signers[1]) < 3; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no two rotations within 2 minutes: %v", signers)
		}
		s := i % 2
		tok, kid, _ := issue(t, inst[s])
		if !slices.Contains(signers[s], kid) {
			signers[s] = append(signers[s], kid)
		}
		for j, v := range vals {
			if _, err := v.Validate(context.Background(), tok); err != nil {
				t.Fatalf("token of instance %d (kid %s) with the JWKS of instance %d: %v", s, kid, j, err)
			}
		}
		if i%10 == 0 {
			for _, k := range newPoll(t, inst[s].URL+"/.well-known/jwks.json", 2*time.Second).kids() {
				published[k] = true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := min(len(signers[0]), len(signers[1]))
	if !slices.Equal(signers[0][:n], signers[1][:n]) {
		t.Fatalf("the instances signed with different keys: %v and %v", signers[0], signers[1])
	}
	// Besides the keys that signed, at most one more (the next key) was
	// ever published: no rotation made two keys.
	if signed := max(len(signers[0]), len(signers[1])); len(published) > signed+1 {
		t.Fatalf("%d keys published, %d signed: a rotation created more than one key", len(published), signed)
	}
	recs, err := inst[0].Server.Store().ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	gens := map[int64]bool{}
	for _, r := range recs {
		if gens[r.Generation] {
			t.Fatalf("two stored keys of generation %d", r.Generation)
		}
		gens[r.Generation] = true
	}
}

func (p *jwksPoll) kids() []string {
	_, kids := p.poll()
	return kids
}
