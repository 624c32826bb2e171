package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qaznat/qazauth/resource"
	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

// Scopes requested by the tests' password grants.
const (
	scopesWithTranslate    = "openid offline_access translate"
	scopesWithoutTranslate = "openid offline_access"
)

// testEnv is a real qazauth and a translation API validating its tokens,
// both on 127.0.0.1.
type testEnv struct {
	auth *servertest.Server
	api  *httptest.Server
	jobs *jobStore
	logs *syncBuffer // the API's logs
}

func (e *testEnv) tokenURL() string { return e.auth.URL + "/oauth2/token" }

// jobsURL is the collection URL; jobURL one job's.
func (e *testEnv) jobsURL() string           { return e.api.URL + "/api/translation/jobs" }
func (e *testEnv) jobURL(id string) string   { return e.jobsURL() + "/" + id }
func (e *testEnv) syncURL() string           { return e.api.URL + "/api/translation/translate-segments" }
func (e *testEnv) apiURL(path string) string { return e.api.URL + path }

// withTokenTTLs sets the access-token lifetime and the refresh grace window.
func withTokenTTLs(access, grace time.Duration) servertest.Option {
	return func(c *server.Config) {
		c.AccessTokenTTL = access
		c.RefreshReuseGrace = grace
	}
}

// startAuth starts a real qazauth.
func startAuth(t *testing.T, opts ...servertest.Option) *servertest.Server {
	t.Helper()
	return servertest.Start(t, opts...)
}

// startAPI starts the translation API against auth, served by the same
// http.Server configuration as the real binary.
func startAPI(t *testing.T, auth *servertest.Server, cfg jobStoreConfig) *testEnv {
	t.Helper()
	return startAPIWith(t, auth, cfg, nil)
}

// startAPIWith is startAPI with a chance to adjust the http.Server (its
// timeouts) before it starts.
func startAPIWith(t *testing.T, auth *servertest.Server, cfg jobStoreConfig, adjust func(*http.Server)) *testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := resource.New(ctx, auth.URL, resource.Audience(servertest.Audience), resource.Realm("translation-api"))
	if err != nil {
		t.Fatalf("resource.New: %v", err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	jobs := newJobStore(cfg, log)
	h := newAPI(v, cfg.SegmentTime, jobs, log)
	ts := httptest.NewUnstartedServer(h)
	ts.Config = newHTTPServer(h, log)
	if adjust != nil {
		adjust(ts.Config)
	}
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := jobs.close(ctx); err != nil {
			t.Errorf("jobs.close: %v", err)
		}
	})
	return &testEnv{auth: auth, api: ts, jobs: jobs, logs: logs}
}

// tokenResponse is a token endpoint answer (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
}

// tokenError is an error answer of the token endpoint, kept whole for
// reporting.
type tokenError struct {
	Status int
	Body   string
}

func (e *tokenError) Error() string {
	return "token endpoint: " + http.StatusText(e.Status) + ": " + e.Body
}

// postToken posts form to the token endpoint.
func postToken(ctx context.Context, tokenURL string, form url.Values, basicUser, basicPass string) (*tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &tokenError{Status: resp.StatusCode, Body: string(body)}
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, err
	}
	return &tr, nil
}

// passwordGrant logs user in with the qaznat-mobile client.
func passwordGrant(t *testing.T, tokenURL, user, password, scope string) *tokenResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tr, err := postToken(ctx, tokenURL, url.Values{
		"grant_type": {"password"},
		"client_id":  {servertest.MobileClient},
		"username":   {user},
		"password":   {password},
		"scope":      {scope},
	}, "", "")
	if err != nil {
		t.Fatalf("password grant for %s: %v", user, err)
	}
	if tr.AccessToken == "" {
		t.Fatalf("password grant for %s: no access token", user)
	}
	return tr
}

// refreshGrant redeems a refresh token of the qaznat-mobile client.
func refreshGrant(ctx context.Context, tokenURL, refreshToken string) (*tokenResponse, error) {
	return postToken(ctx, tokenURL, url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {servertest.MobileClient},
		"refresh_token": {refreshToken},
	}, "", "")
}

// clientCredentials gets a token for the confidential translation-worker.
func clientCredentials(t *testing.T, tokenURL string) *tokenResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tr, err := postToken(ctx, tokenURL, url.Values{
		"grant_type": {"client_credentials"},
		"scope":      {"translate"},
	}, servertest.WorkerClient, servertest.WorkerSecret)
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	return tr
}

// apiResponse is one API answer, read whole.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request with an optional bearer token and JSON body.
func do(t *testing.T, client *http.Client, method, url, token string, body any) apiResponse {
	t.Helper()
	resp, err := doErr(client, method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

func doErr(client *http.Client, method, url, token string, body any) (apiResponse, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return apiResponse{}, err
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return apiResponse{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return apiResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiResponse{}, err
	}
	return apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// decode unmarshals a response body, failing the test on error.
func decode[T any](t *testing.T, r apiResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %T from %d %q: %v", v, r.Status, r.Body, err)
	}
	return v
}

// segmentsBody is a request body of n numbered segments.
func segmentsBody(prefix string, n int) segmentsRequest {
	s := make([]string, n)
	for i := range s {
		s[i] = prefix + " segment " + string(rune('A'+i%26))
	}
	return segmentsRequest{Segments: s}
}

// translated is what the fake translator makes of segments.
func translated(segments []string) []string {
	out := make([]string, len(segments))
	for i, s := range segments {
		out[i] = translate(s)
	}
	return out
}

// pollDone polls a job with get until it is done, at most until deadline,
// checking that progress never goes backwards and that the partial result
// is always a prefix of the final one. It must run on the test's goroutine.
func pollDone(t *testing.T, deadline time.Time, interval time.Duration, get func() (jobView, error), want []string) jobView {
	t.Helper()
	v, err := pollUntilDone(deadline, interval, get, want)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pollUntilDone is pollDone for other goroutines: it returns the error.
func pollUntilDone(deadline time.Time, interval time.Duration, get func() (jobView, error), want []string) (jobView, error) {
	last := -1
	for {
		v, err := get()
		if err != nil {
			return v, fmt.Errorf("poll: %w", err)
		}
		if v.Done < last || v.Done != len(v.Result) || v.Total != len(want) {
			return v, fmt.Errorf("inconsistent progress: %+v after done=%d", v, last)
		}
		for i, r := range v.Result {
			if r != want[i] {
				return v, fmt.Errorf("result[%d] = %q, want %q", i, r, want[i])
			}
		}
		last = v.Done
		switch {
		case v.Status == statusDone && v.Done == v.Total:
			return v, nil
		case v.Status != statusRunning:
			return v, fmt.Errorf("job status %q with %d of %d segments", v.Status, v.Done, v.Total)
		case time.Now().After(deadline):
			return v, fmt.Errorf("job not done by the deadline: %+v", v)
		}
		time.Sleep(interval)
	}
}

// checkNoTokensLogged fails if any of tokens appears in logs.
func checkNoTokensLogged(t *testing.T, logs string, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		if tok != "" && strings.Contains(logs, tok) {
			t.Errorf("a token appears in the API's logs")
			return
		}
	}
	if strings.Contains(logs, "Bearer ") || strings.Contains(logs, "eyJ") {
		t.Errorf("the API's logs contain something that looks like a token")
	}
}

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
