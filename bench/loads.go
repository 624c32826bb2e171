package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/qaznat/qazauth/resource"
)

// Pauses after answers that ask the client to slow down (429, 503) and
// after transport failures, so that a refusing or dead server is not spun
// on at full speed by the workers that share its CPU.
const (
	busyBackoff      = 50 * time.Millisecond
	maxRetryAfter    = time.Second
	transportBackoff = 50 * time.Millisecond
	maxBody          = 1 << 20 // bytes read from any response
)

// load is one kind of traffic. Its worker ops must each be used by one
// goroutine only.
type load interface {
	// worker prepares the operation of worker i, e.g. logs in for its
	// refresh chain.
	worker(ctx context.Context, i int) (op, error)
	// ceiling returns the in-process operation the load is compared with,
	// or nil if it has none.
	ceiling(ctx context.Context) (*ceilingTask, error)
}

// endpoints are the issuer's paths the loads use (DESIGN.md, README).
type endpoints struct {
	issuer string
	token  string
	jwks   string
	ready  string
}

func newEndpoints(issuer *url.URL) endpoints {
	base := issuer.String()
	return endpoints{issuer: base, token: base + "/oauth2/token", jwks: base + "/.well-known/jwks.json", ready: base + "/readyz"}
}

// credentials are the client's and the user's, from the flags.
type credentials struct {
	client, secret  string // secret empty: a public client, client_id in the body
	user, password  string
	scope, audience string
}

// tokenResponse holds the fields of a token response the loads use.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// tokenClient posts token requests for one set of credentials.
type tokenClient struct {
	hc    *http.Client
	ep    endpoints
	creds credentials
}

// encode returns the body of a token request: form, plus client_id for a
// public client (RFC 6749 §2.3; a confidential one uses HTTP Basic).
func (tc *tokenClient) encode(form url.Values) string {
	if tc.creds.secret == "" {
		form.Set("client_id", tc.creds.client)
	}
	return form.Encode()
}

// post sends one token request with a body from encode. It returns the
// status and, for 200 when keep is set, the body; other bodies are
// drained so the connection is reused. wait is the pause the answer asks
// for.
func (tc *tokenClient) post(ctx context.Context, body string, keep bool) (status int, resp []byte, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tc.ep.token, strings.NewReader(body))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if tc.creds.secret != "" {
		// RFC 6749 §2.3.1: both form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(tc.creds.client), url.QueryEscape(tc.creds.secret))
	}
	return do(tc.hc, req, keep)
}

// do sends req and reads its response; see tokenClient.post.
func do(hc *http.Client, req *http.Request, keep bool) (status int, body []byte, wait time.Duration, err error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, transportBackoff, err
	}
	defer resp.Body.Close()
	if keep || resp.StatusCode != http.StatusOK {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	} else {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	}
	if err != nil {
		return resp.StatusCode, nil, transportBackoff, fmt.Errorf("read response body: %w", err)
	}
	return resp.StatusCode, body, backoff(resp), nil
}

// backoff is the pause a 429 or 503 asks for (Retry-After in seconds,
// RFC 9110 §10.2.3, capped at maxRetryAfter), else none.
func backoff(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs >= 0 {
		return min(time.Duration(secs)*time.Second, maxRetryAfter)
	}
	return busyBackoff
}

// retryable reports whether a failed setup request may succeed if repeated.
func retryable(status int) bool {
	return status == 0 || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// checkReady fails unless GET /readyz answers 200: the server is up and
// its store reachable.
func checkReady(ctx context.Context, hc *http.Client, ep endpoints) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.ready, nil)
	if err != nil {
		return fmt.Errorf("build readiness request: %w", err)
	}
	status, body, _, err := do(hc, req, true)
	if err != nil {
		return fmt.Errorf("server not reachable: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("server not ready: GET %s: HTTP %d: %s", ep.ready, status, excerpt(body))
	}
	return nil
}

// passwordForm is the body of a password grant (RFC 6749 §4.3.2).
func (tc *tokenClient) passwordForm() url.Values {
	return url.Values{"grant_type": {"password"}, "username": {tc.creds.user},
		"password": {tc.creds.password}, "scope": {tc.creds.scope}}
}

// login performs one password grant and decodes the response. The status
// is returned so callers can tell retryable failures apart.
func (tc *tokenClient) login(ctx context.Context) (tokenResponse, int, error) {
	var tok tokenResponse
	status, body, _, err := tc.post(ctx, tc.encode(tc.passwordForm()), true)
	if err != nil {
		return tok, status, fmt.Errorf("password grant: %w", err)
	}
	if status != http.StatusOK {
		return tok, status, fmt.Errorf("password grant: HTTP %d: %s", status, excerpt(body))
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return tok, status, fmt.Errorf("password grant: decode response: %w", err)
	}
	if tok.AccessToken == "" {
		return tok, status, errors.New("password grant: response has no access_token")
	}
	return tok, status, nil
}

// loginRetrying repeats login while the server is busy, until ctx ends.
func (tc *tokenClient) loginRetrying(ctx context.Context) (tokenResponse, error) {
	for {
		tok, status, err := tc.login(ctx)
		if err == nil || !retryable(status) || !pause(ctx, 200*time.Millisecond) {
			return tok, err
		}
	}
}

// excerpt shortens a response body for an error message.
func excerpt(b []byte) string {
	const limit = 300
	s := strings.TrimSpace(string(b))
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

// refreshLoad: each worker logs in once and then refreshes its own chain,
// always presenting the newest refresh token (RFC 6749 §6).
type refreshLoad struct{ tc *tokenClient }

func (l *refreshLoad) worker(ctx context.Context, _ int) (op, error) {
	c := &chain{tc: l.tc}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c.refresh, nil
}

func (l *refreshLoad) ceiling(context.Context) (*ceilingTask, error) { return signTask() }

// chain is one worker's login and its newest refresh token.
type chain struct {
	tc *tokenClient
	rt string // empty: the chain is spent and must log in again
}

// start logs in, retrying while the server is busy.
func (c *chain) start(ctx context.Context) error {
	tok, err := c.tc.loginRetrying(ctx)
	if err != nil {
		return err
	}
	if tok.RefreshToken == "" {
		return errors.New("password grant returned no refresh_token: does -scope include offline_access, and does the client have the refresh_token grant?")
	}
	c.rt = tok.RefreshToken
	return nil
}

// refresh is the load's op: one refresh grant with the newest token. A 4xx
// other than 429 means the chain is spent or revoked, and the next call logs
// in again (not counted). After a 429, 503 or a lost response the same token
// is presented again: the server's grace window returns the same successor.
func (c *chain) refresh(ctx context.Context) outcome {
	if c.rt == "" {
		if err := c.start(ctx); err != nil {
			return outcome{err: fmt.Errorf("re-login: %w", err), wait: transportBackoff}
		}
		return outcome{skip: true}
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.rt}}
	status, body, wait, err := c.tc.post(ctx, c.tc.encode(form), true)
	if err != nil {
		return outcome{status: status, err: fmt.Errorf("refresh grant: %w", err), wait: wait}
	}
	if status != http.StatusOK {
		if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
			c.rt = ""
		}
		return outcome{status: status, wait: wait}
	}
	var tok tokenResponse
	if err := json.Unmarshal(body, &tok); err != nil || tok.RefreshToken == "" || tok.AccessToken == "" {
		return outcome{status: status, err: errors.New("refresh grant: 200 without access_token and refresh_token")}
	}
	c.rt = tok.RefreshToken
	return outcome{status: status}
}

// formLoad repeats one fixed token request: client_credentials or password.
type formLoad struct {
	tc    *tokenClient
	grant string
	body  string // encoded once
	ceil  func(context.Context) (*ceilingTask, error)
}

// newFormLoad checks once that the request succeeds and returns an access
// token, so a misconfiguration stops the tool instead of filling the report
// with errors.
func newFormLoad(ctx context.Context, tc *tokenClient, form url.Values, ceil func(context.Context) (*ceilingTask, error)) (*formLoad, error) {
	l := &formLoad{tc: tc, grant: form.Get("grant_type"), body: tc.encode(form), ceil: ceil}
	status, body, _, err := tc.post(ctx, l.body, true)
	if err != nil {
		return nil, fmt.Errorf("probe %s grant: %w", l.grant, err)
	}
	var tok tokenResponse
	if status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("probe %s grant: HTTP %d: %s", l.grant, status, excerpt(body))
	}
	return l, nil
}

func (l *formLoad) worker(context.Context, int) (op, error) {
	return func(ctx context.Context) outcome {
		status, _, wait, err := l.tc.post(ctx, l.body, false)
		if err != nil {
			err = fmt.Errorf("%s grant: %w", l.grant, err)
		}
		return outcome{status: status, err: err, wait: wait}
	}, nil
}

func (l *formLoad) ceiling(ctx context.Context) (*ceilingTask, error) { return l.ceil(ctx) }

// jwksLoad: GET the key set, as a resource server's cache refresh does.
type jwksLoad struct {
	hc *http.Client
	ep endpoints
}

// newJWKSLoad checks once that the key set is served and parses.
func newJWKSLoad(ctx context.Context, hc *http.Client, ep endpoints) (*jwksLoad, error) {
	if _, err := fetchJWKS(ctx, hc, ep); err != nil {
		return nil, err
	}
	return &jwksLoad{hc: hc, ep: ep}, nil
}

func (l *jwksLoad) worker(context.Context, int) (op, error) {
	return func(ctx context.Context) outcome {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.ep.jwks, nil)
		if err != nil {
			return outcome{err: fmt.Errorf("build JWKS request: %w", err)}
		}
		status, _, wait, err := do(l.hc, req, false)
		if err != nil {
			err = fmt.Errorf("JWKS: %w", err)
		}
		return outcome{status: status, err: err, wait: wait}
	}, nil
}

func (l *jwksLoad) ceiling(context.Context) (*ceilingTask, error) { return nil, nil }

// fetchJWKS GETs and parses the issuer's key set.
func fetchJWKS(ctx context.Context, hc *http.Client, ep endpoints) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.jwks, nil)
	if err != nil {
		return nil, fmt.Errorf("build JWKS request: %w", err)
	}
	status, body, _, err := do(hc, req, true)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: HTTP %d: %s", status, excerpt(body))
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("parse JWKS: no keys")
	}
	return &set, nil
}

// validateLoad validates one access token in process with the resource
// package, as a resource server does for every request: no HTTP per op.
type validateLoad struct {
	v     *resource.Validator
	token string
	key   jose.JSONWebKey // the token's verification key, for the ceiling
}

// newValidateLoad fetches one access token with the password grant, builds
// a Validator for the issuer and audience, and checks the token once.
func newValidateLoad(ctx context.Context, tc *tokenClient) (*validateLoad, error) {
	tok, err := tc.loginRetrying(ctx)
	if err != nil {
		return nil, err
	}
	v, err := resource.New(ctx, tc.ep.issuer, resource.Audience(tc.creds.audience), resource.HTTPClient(tc.hc))
	if err != nil {
		return nil, fmt.Errorf("resource validator for %s (-url must equal the server's issuer exactly): %w", tc.ep.issuer, err)
	}
	if _, err := v.Validate(ctx, tok.AccessToken); err != nil {
		return nil, fmt.Errorf("validate the fetched token (check -audience): %w", err)
	}
	jws, err := jose.ParseSignedCompact(tok.AccessToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("parse access token: %w", err)
	}
	set, err := fetchJWKS(ctx, tc.hc, tc.ep)
	if err != nil {
		return nil, err
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		return nil, fmt.Errorf("JWKS has no key %q", jws.Signatures[0].Header.KeyID)
	}
	return &validateLoad{v: v, token: tok.AccessToken, key: keys[0]}, nil
}

func (l *validateLoad) worker(context.Context, int) (op, error) {
	return func(ctx context.Context) outcome {
		if _, err := l.v.Validate(ctx, l.token); err != nil {
			return outcome{err: fmt.Errorf("validate: %w", err)}
		}
		return outcome{status: http.StatusOK}
	}, nil
}

func (l *validateLoad) ceiling(context.Context) (*ceilingTask, error) {
	return verifyTask(l.token, l.key)
}

// prepare builds the ops of n workers, at most a few setups at once (each
// may be an argon2id login the server queues anyway). The first failure
// cancels the other setups and is returned.
func prepare(ctx context.Context, l load, n int) ([]op, error) {
	const setupParallelism = 4
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ops := make([]op, n)
	var (
		once     sync.Once
		firstErr error
	)
	sem := make(chan struct{}, setupParallelism)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			o, err := l.worker(ctx, i)
			if err != nil {
				once.Do(func() { firstErr = fmt.Errorf("prepare worker %d: %w", i, err); cancel() })
				return
			}
			ops[i] = o
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("prepare workers: %w", err)
	}
	return ops, nil
}
