package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// appClient is the existing Flutter app's pattern, written out by hand: it
// keeps the latest (access, refresh) pair and sends the access token; when
// a call comes back 401 with "Token-Expired: true" it refreshes ONCE, with
// the refresh token that was current when the call was sent, and retries
// the call ONCE with the new access token. A failed refresh logs the user
// out (the app would show the login screen). Concurrent calls do not
// coordinate: each expired call refreshes on its own, which is what the
// server's refresh grace window is for.
type appClient struct {
	tokenURL string
	// beforeRefresh, if set, runs between the 401 and the refresh (a test
	// hook to line concurrent calls up).
	beforeRefresh func()

	mu        sync.Mutex
	access    string
	refresh   string
	loggedOut error
	stats     appStats
}

// appStats counts what the client absorbed so that its caller did not see it.
type appStats struct {
	Calls         int
	Expired401s   int      // 401 Token-Expired answers absorbed by a refresh
	Refreshes     int      // refresh requests sent
	RefreshTokens []string // refresh tokens received, in order
	AccessTokens  []string // access tokens received from refreshes
}

// errLoggedOut is returned by every call after a refresh failed.
var errLoggedOut = errors.New("logged out")

func newAppClient(tokenURL string, tok *tokenResponse) *appClient {
	return &appClient{tokenURL: tokenURL, access: tok.AccessToken, refresh: tok.RefreshToken}
}

// call sends one API request as the app would. The response returned is
// the one the app's caller sees.
func (c *appClient) call(method, url string, body any) (apiResponse, error) {
	c.mu.Lock()
	if c.loggedOut != nil {
		defer c.mu.Unlock()
		return apiResponse{}, fmt.Errorf("%w: %v", errLoggedOut, c.loggedOut)
	}
	access, refresh := c.access, c.refresh
	c.stats.Calls++
	c.mu.Unlock()

	r, err := doErr(nil, method, url, access, body)
	if err != nil || r.Status != http.StatusUnauthorized || r.Header.Get("Token-Expired") != "true" {
		return r, err
	}

	c.mu.Lock()
	c.stats.Expired401s++
	c.stats.Refreshes++
	c.mu.Unlock()
	if c.beforeRefresh != nil {
		c.beforeRefresh()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tr, err := refreshGrant(ctx, c.tokenURL, refresh)
	c.mu.Lock()
	if err != nil {
		c.loggedOut = err
		c.mu.Unlock()
		return r, fmt.Errorf("%w: refresh failed: %v", errLoggedOut, err)
	}
	c.access, c.refresh = tr.AccessToken, tr.RefreshToken
	c.stats.RefreshTokens = append(c.stats.RefreshTokens, tr.RefreshToken)
	c.stats.AccessTokens = append(c.stats.AccessTokens, tr.AccessToken)
	c.mu.Unlock()

	return doErr(nil, method, url, tr.AccessToken, body)
}

// tokens returns the pair the client currently holds.
func (c *appClient) tokens() (access, refresh string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.access, c.refresh
}

// snapshot returns a copy of the counters.
func (c *appClient) snapshot() appStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.RefreshTokens = append([]string(nil), s.RefreshTokens...)
	s.AccessTokens = append([]string(nil), s.AccessTokens...)
	return s
}

// barrier releases all n parties at once, or everyone after timeout.
type barrier struct {
	n       int
	mu      sync.Mutex
	arrived int
	release chan struct{}
	timeout time.Duration
}

func newBarrier(n int, timeout time.Duration) *barrier {
	return &barrier{n: n, release: make(chan struct{}), timeout: timeout}
}

// wait blocks until n parties have called it; it reports false if it gave
// up after the timeout.
func (b *barrier) wait() bool {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.release)
	}
	b.mu.Unlock()
	select {
	case <-b.release:
		return true
	case <-time.After(b.timeout):
		return false
	}
}
