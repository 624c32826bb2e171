package server_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

// TestLogs_NoSecrets runs every flow with debug logging and scans the logs
// for the seeded passwords and secrets and for every token and code issued.
func TestLogs_NoSecrets(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, func(c *server.Config) { c.LoginMaxFailures = 3 })
	var secrets []string
	keep := func(v ...string) {
		for _, x := range v {
			if x != "" {
				secrets = append(secrets, x)
			}
		}
	}
	keep(servertest.UserPassword, servertest.OtherUserPassword, servertest.WorkerSecret, servertest.IntrospectSecret, "web-secret")

	a := passwordGrant(t, s, servertest.User, servertest.UserPassword)
	keep(a.AccessToken, a.RefreshToken)
	_, b := refresh(t, s, a.RefreshToken)
	keep(b.AccessToken, b.RefreshToken)
	_, _ = refresh(t, s, a.RefreshToken) // grace replay
	_, cc, _ := postForm(t, s, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"translate"}}, servertest.WorkerClient, servertest.WorkerSecret)
	keep(cc.AccessToken)
	introspect(t, s, b.AccessToken)
	introspect(t, s, b.RefreshToken)
	for range 5 { // wrong passwords, then a lockout
		postForm(t, s, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {servertest.MobileClient},
			"username": {servertest.OtherUser}, "password": {"guess-" + servertest.OtherUserPassword}})
	}
	keep("guess-" + servertest.OtherUserPassword)

	// The code flow through the login page.
	verifier := pkce()
	cfg := oauthConfig(s, servertest.MobileClient, "http://127.0.0.1:4100/callback", "openid", "offline_access")
	br := newBrowser(t)
	p := br.get(cfg.AuthCodeURL("log-scan-state", oauth2.S256ChallengeOption(verifier)))
	keep(p.fields.Get("csrf_token"))
	done := br.submit(s.URL, p, credentials(servertest.User, servertest.UserPassword))
	code := done.location.Query().Get("code")
	keep(code, verifier)
	tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, _ := tok.Extra("id_token").(string)
	keep(tok.AccessToken, tok.RefreshToken, idt)
	for _, c := range br.c.Jar.Cookies(mustURL(s.URL + "/oauth2/auth")) {
		keep(c.Value)
	}
	postRevokeForm(t, s, tok.RefreshToken)
	_, _ = refresh(t, s, b.RefreshToken)
	time.Sleep(50 * time.Millisecond)

	logs := s.Logs.String()
	if !strings.Contains(logs, "budget spent") {
		t.Fatal("expected the lockout in the logs; were debug logs captured?")
	}
	for _, sec := range secrets {
		probe := sec
		if len(probe) > 40 {
			// A JWT's signature part, a token's tail: any fragment that
			// identifies it is a leak.
			probe = sec[len(sec)-40:]
		}
		if strings.Contains(logs, probe) {
			t.Errorf("a secret or token appears in the logs: %.12s…", sec)
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestRandomMalformedRequests sends 1,000 random hostile requests to a
// running server: none gets a 5xx and the store is unchanged.
func TestRandomMalformedRequests(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	passwordGrant(t, s, servertest.User, servertest.UserPassword)
	before := s.Dump(t)
	rng := rand.New(rand.NewPCG(2026, 12))
	paths := []string{"/oauth2/token", "/oauth2/auth", "/oauth2/revoke", "/oauth2/introspect", "/userinfo",
		"/oauth2/logout", "/account/sessions", "/account/sessions/x", "/.well-known/jwks.json",
		"/.well-known/openid-configuration", "/healthz", "/readyz", "/nope", "/oauth2/token/../auth"}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}
	pieces := []string{"grant_type", "client_id", "refresh_token", "password", "username", "code", "redirect_uri",
		"scope", "state", "code_verifier", "token", "prompt", "response_type", "%", "%zz", "\x00", "&", "=", "é",
		"qaznat-mobile", "translation-worker", "aigerim", "qzr_", "Bearer", strings.Repeat("A", 5000), "<script>", "'\"", "\r\n"}
	word := func() string {
		var b strings.Builder
		for range 1 + rng.IntN(4) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	// Header values cannot carry control characters at all (the client
	// refuses them before sending).
	hword := func() string {
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, word())
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range 1000 {
		var body strings.Builder
		for range rng.IntN(8) {
			fmt.Fprintf(&body, "%s=%s&", word(), word())
		}
		q := url.Values{}
		for range rng.IntN(4) {
			q.Add(word(), word())
		}
		req, err := http.NewRequest(methods[rng.IntN(len(methods))], s.URL+paths[rng.IntN(len(paths))]+"?"+q.Encode(), strings.NewReader(body.String()))
		if err != nil {
			continue
		}
		switch rng.IntN(4) {
		case 0:
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case 1:
			req.Header.Set("Content-Type", hword())
		case 2:
			req.Header.Set("Content-Type", "multipart/form-data; boundary="+hword())
		}
		switch rng.IntN(4) {
		case 0:
			req.SetBasicAuth(word(), word())
		case 1:
			req.Header.Set("Authorization", "Bearer "+hword())
		case 2:
			req.Header.Set("Authorization", hword())
		}
		if rng.IntN(3) == 0 {
			req.Header.Set("Cookie", "qazauth_session="+hword()+"; qazauth_csrf="+hword())
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("request %d %s %s: %d %s", i, req.Method, req.URL, resp.StatusCode, b)
		}
	}
	if after := s.Dump(t); after != before {
		t.Fatal("random malformed requests changed the store")
	}
}
