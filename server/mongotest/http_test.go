package mongotest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/qaznat/qazauth/server/servertest"
)

// client bounds every request: a hung request fails the test instead of
// blocking it.
var client = &http.Client{Timeout: 60 * time.Second}

// tokenResponse is the RFC 6749 §5.1 response (or §5.2 error).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// reply is one HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

func (r reply) token(t *testing.T) tokenResponse {
	t.Helper()
	var tr tokenResponse
	if err := json.Unmarshal(r.body, &tr); err != nil {
		t.Fatalf("status %d, body is not JSON: %q", r.status, r.body)
	}
	return tr
}

// tryDo sends req; safe in any goroutine.
func tryDo(req *http.Request) (reply, error) {
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body, took: time.Since(start)}, nil
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	r, err := tryDo(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryPost posts a form to base+path; basic is an optional client id and
// secret. Safe in any goroutine.
func tryPost(base, path string, form url.Values, basic ...string) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return tryDo(req)
}

// post posts a form to base+path; basic is an optional client id and secret.
func post(t *testing.T, base, path string, form url.Values, basic ...string) reply {
	t.Helper()
	r, err := tryPost(base, path, form, basic...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func get(t *testing.T, u string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

var (
	passwordForm = url.Values{
		"grant_type": {"password"}, "client_id": {servertest.MobileClient},
		"username": {servertest.User}, "password": {servertest.UserPassword},
		"scope": {"openid offline_access translate"},
	}
	clientCredentialsForm = url.Values{"grant_type": {"client_credentials"}, "scope": {"translate"}}
)

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {servertest.MobileClient}, "refresh_token": {rt}}
}

// login runs the password grant at s.
func login(t *testing.T, s *servertest.Server) tokenResponse {
	t.Helper()
	r := post(t, s.URL, "/oauth2/token", passwordForm)
	tr := r.token(t)
	if r.status != http.StatusOK || tr.RefreshToken == "" {
		t.Fatalf("password grant at %s: %d %s", s.URL, r.status, r.body)
	}
	return tr
}

// refresh runs the refresh grant at s.
func refresh(t *testing.T, s *servertest.Server, rt string) (int, tokenResponse) {
	t.Helper()
	r := post(t, s.URL, "/oauth2/token", refreshForm(rt))
	return r.status, r.token(t)
}

// mustRefresh runs the refresh grant at s and fails the test unless it
// succeeds.
func mustRefresh(t *testing.T, s *servertest.Server, rt string) tokenResponse {
	t.Helper()
	code, tr := refresh(t, s, rt)
	if code != http.StatusOK || tr.RefreshToken == "" {
		t.Fatalf("refresh at %s: %d %+v", s.URL, code, tr)
	}
	return tr
}

// refuseRefresh checks that s answers the refresh with rt with 400
// invalid_grant.
func refuseRefresh(t *testing.T, s *servertest.Server, rt, what string) {
	t.Helper()
	if code, tr := refresh(t, s, rt); code != http.StatusBadRequest || tr.Error != "invalid_grant" {
		t.Fatalf("%s at %s: %d %+v, want 400 invalid_grant", what, s.URL, code, tr)
	}
}

// introspect asks s as the resource server (a confidential client).
func introspect(t *testing.T, s *servertest.Server, token string) map[string]any {
	t.Helper()
	r := post(t, s.URL, "/oauth2/introspect", url.Values{"token": {token}}, servertest.IntrospectClient, servertest.IntrospectSecret)
	if r.status != http.StatusOK {
		t.Fatalf("introspect at %s: %d %s", s.URL, r.status, r.body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// revoke revokes token at s as the mobile app (RFC 7009).
func revoke(t *testing.T, s *servertest.Server, token string) {
	t.Helper()
	r := post(t, s.URL, "/oauth2/revoke", url.Values{"token": {token}, "client_id": {servertest.MobileClient}})
	if r.status != http.StatusOK {
		t.Fatalf("revoke at %s: %d %s", s.URL, r.status, r.body)
	}
}

// verifyAccessToken checks the access token's signature against the JWKS
// document and returns its claims.
func verifyAccessToken(t *testing.T, jwks []byte, token string) map[string]any {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS", kid)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("verify access token: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}
