package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

// tokenResponse is the RFC 6749 §5.1 response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// postForm posts a form to the token endpoint and decodes the answer.
func postForm(t *testing.T, s *servertest.Server, path string, form url.Values, basic ...string) (int, tokenResponse, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("%s: status %d, body is not JSON: %q", path, resp.StatusCode, body)
	}
	return resp.StatusCode, tr, resp.Header
}

func passwordGrant(t *testing.T, s *servertest.Server, user, password string) tokenResponse {
	t.Helper()
	code, tr, _ := postForm(t, s, "/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {servertest.MobileClient},
		"username": {user}, "password": {password}, "scope": {"openid offline_access translate"},
	})
	if code != http.StatusOK {
		t.Fatalf("password grant: %d %+v", code, tr)
	}
	return tr
}

func refresh(t *testing.T, s *servertest.Server, rt string) (int, tokenResponse) {
	t.Helper()
	code, tr, _ := postForm(t, s, "/oauth2/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {servertest.MobileClient}, "refresh_token": {rt},
	})
	return code, tr
}

// TestPasswordGrant_StandardLibraries drives the server with
// golang.org/x/oauth2 and go-oidc and checks every RFC 9068 claim.
func TestPasswordGrant_StandardLibraries(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, func(c *server.Config) { c.AccessTokenTTL = 2 * time.Second })
	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)

	provider, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	cfg := &oauth2.Config{
		ClientID: servertest.MobileClient,
		Endpoint: oauth2.Endpoint{TokenURL: provider.Endpoint().TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{"openid", "offline_access", "translate"},
	}
	tok, err := cfg.PasswordCredentialsToken(ctx, servertest.User, servertest.UserPassword)
	if err != nil {
		t.Fatalf("x/oauth2 password grant: %v", err)
	}
	if tok.RefreshToken == "" || tok.TokenType != "bearer" || tok.Expiry.IsZero() {
		t.Fatalf("token = %+v", tok)
	}

	// Signature through go-oidc's remote key set (JWKS).
	keySet := oidc.NewRemoteKeySet(ctx, s.URL+"/.well-known/jwks.json")
	if _, err := keySet.VerifySignature(ctx, tok.AccessToken); err != nil {
		t.Fatalf("go-oidc JWKS verification: %v", err)
	}

	// And with go-jose v4 directly, asserting header and claims.
	claims := verifyAccessToken(t, s, tok.AccessToken)
	user, err := s.Server.Store().GetUserByUsername(ctx, servertest.User)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": s.URL, "sub": user.ID, "aud": servertest.Audience, "client_id": servertest.MobileClient,
		"scope": "openid offline_access translate", "preferred_username": servertest.User, "email": "aigerim@example.kz",
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if claims["sub"] == servertest.User {
		t.Error("sub is the username; it must be the stable user id")
	}
	if roles, _ := claims["roles"].([]any); len(roles) != 1 || roles[0] != "translator" {
		t.Errorf("roles = %v", claims["roles"])
	}
	exp, iat := claims["exp"].(float64), claims["iat"].(float64)
	// fosite rounds the expiry to the second; iat is truncated.
	if d := exp - iat; d < 2 || d > 3 {
		t.Errorf("exp - iat = %v, want the 2s TTL", d)
	}
	if jti, _ := claims["jti"].(string); len(jti) < 16 {
		t.Errorf("jti = %q", jti)
	}

	// The TokenSource refreshes automatically (x/oauth2 treats a token as
	// expired 10s early, so every call refreshes): each refresh rotates.
	ts := cfg.TokenSource(ctx, tok)
	seen := map[string]bool{tok.RefreshToken: true}
	last := tok
	for range 3 {
		time.Sleep(1100 * time.Millisecond)
		nt, err := ts.Token()
		if err != nil {
			t.Fatalf("TokenSource refresh: %v", err)
		}
		if nt.AccessToken == last.AccessToken {
			t.Fatal("TokenSource did not refresh an expiring token")
		}
		if seen[nt.RefreshToken] {
			t.Fatal("refresh token was not rotated")
		}
		seen[nt.RefreshToken] = true
		c := verifyAccessToken(t, s, nt.AccessToken)
		if c["sub"] != user.ID || c["preferred_username"] != servertest.User || c["scope"] != "openid offline_access translate" {
			t.Fatalf("refreshed claims lost the user: %v", c)
		}
		last = nt
	}
}

// verifyAccessToken checks the JWS against the JWKS with go-jose v4 and
// returns the claims.
func verifyAccessToken(t *testing.T, s *servertest.Server, token string) map[string]any {
	t.Helper()
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	h := jws.Signatures[0].Header
	if h.Algorithm != "RS256" || h.ExtraHeaders["typ"] != "at+jwt" || h.KeyID == "" {
		t.Fatalf("header = alg %q typ %v kid %q", h.Algorithm, h.ExtraHeaders["typ"], h.KeyID)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("RFC 9068 claim %q missing", k)
		}
	}
	return claims
}

// TestRestart_SameKeyAndRefreshTokensSurvive restarts the server on the same
// data directory.
func TestRestart_SameKeyAndRefreshTokensSurvive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := servertest.StartIn(t, dir)
	tr := passwordGrant(t, a, servertest.User, servertest.UserPassword)
	kid := a.Server.Keys.CurrentKey().ID
	issuer := a.URL
	a.Stop(t)
	// Keep-alive connections to the stopped server are dead.
	http.DefaultClient.CloseIdleConnections()

	b := servertest.StartIn(t, dir, func(c *server.Config) {
		c.Issuer = issuer
		c.Addr = strings.TrimPrefix(issuer, "http://")
	})
	if got := b.Server.Keys.CurrentKey().ID; got != kid {
		t.Fatalf("kid after restart = %s, want %s", got, kid)
	}
	code, nt := refresh(t, b, tr.RefreshToken)
	if code != http.StatusOK || nt.RefreshToken == "" {
		t.Fatalf("refresh after restart: %d %+v", code, nt)
	}
	verifyAccessToken(t, b, nt.AccessToken)
}

// TestRefresh_ConcurrentWithoutGraceHasOneWinner presents one refresh token
// from 20 goroutines at once, 20 times: exactly one success.
func TestRefresh_ConcurrentWithoutGraceHasOneWinner(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, func(c *server.Config) { c.RefreshReuseGrace = 0 })
	for trial := range 20 {
		rt := passwordGrant(t, s, servertest.User, servertest.UserPassword).RefreshToken
		var (
			wg            sync.WaitGroup
			mu            sync.Mutex
			ok, bad       int
			others        []string
			start         = make(chan struct{})
			successorSeen string
		)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				code, tr := refresh(t, s, rt)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case code == http.StatusOK:
					ok++
					successorSeen = tr.RefreshToken
				case code == http.StatusBadRequest && tr.Error == "invalid_grant":
					bad++
				default:
					others = append(others, tr.Error)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok != 1 || bad != 19 || len(others) > 0 {
			t.Fatalf("trial %d: %d successes, %d invalid_grant, others %v; want 1 and 19", trial, ok, bad, others)
		}
		if successorSeen == "" {
			t.Fatalf("trial %d: winner got no refresh token", trial)
		}
	}
}

// TestRefresh_OfflineAccessRule: no offline_access, or a client without the
// refresh_token grant, gets no refresh token.
func TestRefresh_OfflineAccessRule(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	cases := []struct {
		name, client, scope string
		wantRefresh         bool
		wantScope           string
	}{
		{"offline_access granted", servertest.MobileClient, "translate offline_access", true, "translate offline_access"},
		{"no offline_access", servertest.MobileClient, "translate", false, "translate"},
		{"client without refresh grant", "no-refresh-app", "translate offline_access", false, "translate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, tr, _ := postForm(t, s, "/oauth2/token", url.Values{
				"grant_type": {"password"}, "client_id": {tc.client},
				"username": {servertest.User}, "password": {servertest.UserPassword}, "scope": {tc.scope},
			})
			if code != http.StatusOK {
				t.Fatalf("%d %+v", code, tr)
			}
			if (tr.RefreshToken != "") != tc.wantRefresh || tr.Scope != tc.wantScope {
				t.Fatalf("refresh token issued = %v, scope %q; want %v, %q", tr.RefreshToken != "", tr.Scope, tc.wantRefresh, tc.wantScope)
			}
		})
	}
}

// TestClientCredentials_BasicAndPost authenticates a confidential client
// both ways; the access token's subject is the client.
func TestClientCredentials_BasicAndPost(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"translate"}}
	code, tr, _ := postForm(t, s, "/oauth2/token", form, servertest.WorkerClient, servertest.WorkerSecret)
	if code != http.StatusOK || tr.RefreshToken != "" {
		t.Fatalf("basic: %d %+v", code, tr)
	}
	c := verifyAccessToken(t, s, tr.AccessToken)
	if c["sub"] != servertest.WorkerClient || c["aud"] != servertest.Audience {
		t.Fatalf("claims = %v", c)
	}
	post := url.Values{"grant_type": {"client_credentials"}, "scope": {"translate"},
		"client_id": {servertest.WorkerClient}, "client_secret": {servertest.WorkerSecret}}
	if code, tr, _ := postForm(t, s, "/oauth2/token", post); code != http.StatusOK {
		t.Fatalf("post: %d %+v", code, tr)
	}
	code, tr, hdr := postForm(t, s, "/oauth2/token", form, servertest.WorkerClient, "wrong")
	if code != http.StatusUnauthorized || tr.Error != "invalid_client" {
		t.Fatalf("wrong secret: %d %+v %v", code, tr, hdr)
	}
}

// TestDiscoveryAndJWKS checks both metadata documents and JWKS caching.
func TestDiscoveryAndJWKS(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	for _, p := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		resp, err := http.Get(s.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if m["issuer"] != s.URL || m["token_endpoint"] != s.URL+"/oauth2/token" || m["jwks_uri"] != s.URL+"/.well-known/jwks.json" {
			t.Fatalf("%s = %v", p, m)
		}
		grants, _ := m["grant_types_supported"].([]any)
		if !slices.Contains(grants, any("password")) || !slices.Contains(grants, any("refresh_token")) {
			t.Fatalf("grant_types_supported = %v", grants)
		}
	}

	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.Header.Get("Cache-Control") != "public, max-age=900" || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("headers = %v", resp.Header)
	}
	for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`} {
		if strings.Contains(string(body), private) {
			t.Fatalf("JWKS contains private member %s", private)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/.well-known/jwks.json", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", resp.StatusCode)
	}

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}

// TestJanitor_DeletesExpiredRecords runs the janitor on a short interval:
// an expired refresh token disappears from the store.
func TestJanitor_DeletesExpiredRecords(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, func(c *server.Config) {
		c.JanitorInterval = 200 * time.Millisecond
		c.RefreshTokenTTL = time.Second
	})
	passwordGrant(t, s, servertest.User, servertest.UserPassword)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if !strings.Contains(s.Dump(t), "# refresh_tokens") {
			t.Fatal("dump lacks the refresh_tokens table")
		}
		dump := s.Dump(t)
		i := strings.Index(dump, "# refresh_tokens")
		rest := dump[i:]
		if j := strings.Index(rest[1:], "# "); j >= 0 {
			rest = rest[:j+1]
		}
		if strings.Count(rest, "\n") == 1 { // only the header line
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired refresh token still stored:\n%s", rest)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
