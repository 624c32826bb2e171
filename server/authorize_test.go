package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/qaznat/qazauth/server/servertest"
)

// browser is a cookie-keeping HTTP client that stops at redirects, like a
// user agent whose app catches the redirect URI.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is a fetched HTML page with its login/consent form.
type page struct {
	status   int
	location *url.URL
	body     string
	action   string
	fields   url.Values
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, body: string(body), fields: url.Values{}}
	if loc := resp.Header.Get("Location"); loc != "" {
		p.location, _ = url.Parse(loc)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && resp.StatusCode < 300 || resp.StatusCode >= 400 && p.location == nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			b.t.Fatalf("HTML page without a strict CSP: %q", csp)
		}
		parseForm(string(body), &p)
	}
	return p
}

func parseForm(body string, p *page) {
	z := html.NewTokenizer(strings.NewReader(body))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		attr := map[string]string{}
		for _, a := range tok.Attr {
			attr[a.Key] = a.Val
		}
		switch tok.Data {
		case "form":
			p.action = attr["action"]
		case "input":
			if attr["type"] == "hidden" {
				p.fields.Set(attr["name"], attr["value"])
			}
		}
	}
}

func (b *browser) get(u string) page {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) submit(base string, p page, extra url.Values) page {
	b.t.Helper()
	if p.action == "" {
		b.t.Fatalf("no form on page (status %d): %.300s", p.status, p.body)
	}
	form := url.Values{}
	for k, v := range p.fields {
		form[k] = v
	}
	for k, v := range extra {
		form[k] = v
	}
	target, _ := url.Parse(base)
	ref, _ := url.Parse(p.action)
	req, _ := http.NewRequest(http.MethodPost, target.ResolveReference(ref).String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func credentials(user, password string) url.Values {
	return url.Values{"username": {user}, "password": {password}}
}

func pkce() (verifier string) { return oauth2.GenerateVerifier() }

func oauthConfig(s *servertest.Server, client, redirect string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:    client,
		RedirectURL: redirect,
		Scopes:      scopes,
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/oauth2/auth", TokenURL: s.URL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams},
	}
}

// TestAuthorizationCode_PKCE_OIDC runs the code flow as a native app would:
// loopback redirect on an arbitrary port, PKCE S256, then x/oauth2's
// exchange and go-oidc's ID token verification.
func TestAuthorizationCode_PKCE_OIDC(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	ctx := context.Background()
	cfg := oauthConfig(s, servertest.MobileClient, "http://127.0.0.1:53127/callback", "openid", "profile", "email", "offline_access", "translate")
	verifier := pkce()
	nonce := "n-0S6_WzA2Mj-qazauth"
	b := newBrowser(t)

	loginPage := b.get(cfg.AuthCodeURL("st4te-value", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
	if loginPage.status != 200 || loginPage.fields.Get("csrf_token") == "" || !strings.Contains(loginPage.body, `autocomplete="current-password"`) {
		t.Fatalf("login page: %d %.400s", loginPage.status, loginPage.body)
	}
	wrong := b.submit(s.URL, loginPage, credentials(servertest.User, "wrong"))
	if wrong.status != 200 || wrong.location != nil || !strings.Contains(wrong.body, "role=\"alert\"") && !strings.Contains(strings.ToLower(wrong.body), "wrong") {
		t.Fatalf("wrong password: %d %v %.300s", wrong.status, wrong.location, wrong.body)
	}
	done := b.submit(s.URL, wrong, credentials(servertest.User, servertest.UserPassword))
	if done.status != http.StatusSeeOther || done.location == nil || done.location.Host != "127.0.0.1:53127" {
		t.Fatalf("after login: %d %v %.300s", done.status, done.location, done.body)
	}
	q := done.location.Query()
	if q.Get("state") != "st4te-value" || q.Get("code") == "" {
		t.Fatalf("redirect = %v", done.location)
	}

	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	provider, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: servertest.MobileClient}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc verify id_token: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce = %q", idt.Nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var extra struct {
		AuthTime int64  `json:"auth_time"`
		SID      string `json:"sid"`
	}
	_ = idt.Claims(&extra)
	if extra.AuthTime == 0 || extra.SID == "" {
		t.Fatalf("id_token lacks auth_time or sid: %+v", extra)
	}
	verifyAccessToken(t, s, tok.AccessToken)

	// Userinfo by scope.
	ui := userinfoGet(t, s, tok.AccessToken)
	if ui["preferred_username"] != servertest.User || ui["email"] != "aigerim@example.kz" || ui["email_verified"] != true || ui["sub"] != idt.Subject {
		t.Fatalf("userinfo = %v", ui)
	}

	// The code is single-use; a replay revokes what it issued.
	if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("code redeemed twice")
	}
	if code, _ := refresh(t, s, tok.RefreshToken); code != 400 {
		t.Fatalf("refresh token survived the code replay: %d", code)
	}
	if m := introspect(t, s, tok.AccessToken); m["active"] != false {
		t.Fatalf("access token survived the code replay: %v", m)
	}

	// SSO: a second authorization in the same browser needs no password.
	again := b.get(cfg.AuthCodeURL("second-state", oauth2.S256ChallengeOption(verifier)))
	if again.status != http.StatusSeeOther || again.location.Query().Get("code") == "" {
		t.Fatalf("SSO: %d %v %.200s", again.status, again.location, again.body)
	}
	// max_age=0: the login is too old, the form comes back (OIDC Core
	// §3.1.2.1); with prompt=none that is login_required.
	aged := b.get(cfg.AuthCodeURL("aged-state", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("max_age", "0")))
	if aged.status != 200 || aged.fields.Get("csrf_token") == "" {
		t.Fatalf("max_age=0: %d %v", aged.status, aged.location)
	}
	agedNone := b.get(cfg.AuthCodeURL("aged-none", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("max_age", "0"), oauth2.SetAuthURLParam("prompt", "none")))
	if agedNone.location == nil || agedNone.location.Query().Get("error") != "login_required" {
		t.Fatalf("max_age=0 prompt=none: %d %v", agedNone.status, agedNone.location)
	}
	fresh := b.get(cfg.AuthCodeURL("fresh-state", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("max_age", "3600")))
	if fresh.status != http.StatusSeeOther || fresh.location.Query().Get("code") == "" {
		t.Fatalf("max_age=3600 within a fresh login: %d %v", fresh.status, fresh.location)
	}
	// prompt=login forces the form.
	forced := b.get(cfg.AuthCodeURL("third-state", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "login")))
	if forced.status != 200 || forced.fields.Get("csrf_token") == "" {
		t.Fatalf("prompt=login: %d %v", forced.status, forced.location)
	}

	// Logout ends the browser session; the registered URI is followed.
	out := b.get(s.URL + "/oauth2/logout?client_id=qaznat-mobile&post_logout_redirect_uri=" + url.QueryEscape("http://127.0.0.1/signed-out") + "&state=bye")
	if out.status != http.StatusSeeOther || out.location.String() != "http://127.0.0.1/signed-out?state=bye" {
		t.Fatalf("logout: %d %v", out.status, out.location)
	}
	none := b.get(cfg.AuthCodeURL("after-logout", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")))
	if none.status != http.StatusSeeOther || none.location.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none after logout: %d %v", none.status, none.location)
	}
	bad := b.get(s.URL + "/oauth2/logout?client_id=qaznat-mobile&post_logout_redirect_uri=" + url.QueryEscape("https://evil.example/"))
	if bad.status != 400 || bad.location != nil {
		t.Fatalf("unregistered post_logout_redirect_uri: %d %v", bad.status, bad.location)
	}
}

func userinfoGet(t *testing.T, s *servertest.Server, at string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 200 {
		t.Fatalf("userinfo: %d %v", resp.StatusCode, m)
	}
	return m
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestAuthorize_ProtocolErrors covers PKCE, redirect URI and CSRF rules
// without a browser.
func TestAuthorize_ProtocolErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	base := func(extra url.Values) string {
		q := url.Values{"response_type": {"code"}, "client_id": {servertest.MobileClient},
			"redirect_uri": {"http://127.0.0.1:4000/callback"}, "scope": {"openid"}, "state": {"abcdefgh12"}}
		for k, v := range extra {
			q[k] = v
		}
		return s.URL + "/oauth2/auth?" + q.Encode()
	}
	verifier := pkce()
	t.Run("PKCE missing for a public client", func(t *testing.T) {
		p := newBrowser(t).get(base(nil))
		if p.status != http.StatusSeeOther || p.location.Query().Get("error") != "invalid_request" || p.location.Query().Get("state") != "abcdefgh12" {
			t.Fatalf("%d %v", p.status, p.location)
		}
	})
	t.Run("plain PKCE refused", func(t *testing.T) {
		p := newBrowser(t).get(base(url.Values{"code_challenge": {verifier}, "code_challenge_method": {"plain"}}))
		if p.status != http.StatusSeeOther || p.location.Query().Get("error") == "" {
			t.Fatalf("%d %v", p.status, p.location)
		}
	})
	t.Run("unregistered redirect is never followed", func(t *testing.T) {
		for _, r := range []string{"https://evil.example/cb", "http://127.0.0.1:4000/other", "http://localhost:4000/callback"} {
			p := newBrowser(t).get(base(url.Values{"redirect_uri": {r}, "code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}))
			if p.status != 400 || p.location != nil || !strings.Contains(p.body, "<html") {
				t.Fatalf("%s: %d %v %.200s", r, p.status, p.location, p.body)
			}
		}
	})
	t.Run("IPv6 loopback matches any port", func(t *testing.T) {
		// Registered as http://127.0.0.1/callback only: [::1] is another host.
		p := newBrowser(t).get(base(url.Values{"redirect_uri": {"http://127.0.0.1:61000/callback"}, "code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}))
		if p.status != 200 {
			t.Fatalf("%d %v", p.status, p.location)
		}
	})
	t.Run("CSRF token missing", func(t *testing.T) {
		b := newBrowser(t)
		p := b.get(base(url.Values{"code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}))
		p.fields.Del("csrf_token")
		res := b.submit(s.URL, p, credentials(servertest.User, servertest.UserPassword))
		if res.status != http.StatusForbidden || res.location != nil {
			t.Fatalf("%d %v", res.status, res.location)
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		b := newBrowser(t)
		p := b.get(base(url.Values{"code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}))
		res := b.submit(s.URL, p, credentials(servertest.User, servertest.UserPassword))
		code := res.location.Query().Get("code")
		cfg := oauthConfig(s, servertest.MobileClient, "http://127.0.0.1:4000/callback")
		_, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(pkce()))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("wrong verifier: %v", err)
		}
	})
	t.Run("duplicate parameter", func(t *testing.T) {
		p := newBrowser(t).get(base(nil) + "&client_id=qaznat-mobile")
		if p.status != 400 || p.location != nil {
			t.Fatalf("%d %v", p.status, p.location)
		}
	})
}

// TestConsent_ThirdPartyClient: a client not marked first_party gets a
// consent page; denying returns access_denied.
func TestConsent_ThirdPartyClient(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	verifier := pkce()
	cfg := oauthConfig(s, "partner-app", "http://127.0.0.1:5000/partner", "openid", "profile")
	b := newBrowser(t)
	p := b.get(cfg.AuthCodeURL("consent-state", oauth2.S256ChallengeOption(verifier)))
	consent := b.submit(s.URL, p, credentials(servertest.User, servertest.UserPassword))
	if consent.status != 200 || !strings.Contains(consent.body, `name="consent"`) {
		t.Fatalf("no consent page: %d %v %.300s", consent.status, consent.location, consent.body)
	}
	denied := b.submit(s.URL, consent, url.Values{"consent": {"deny"}})
	if denied.location == nil || denied.location.Query().Get("error") != "access_denied" {
		t.Fatalf("deny: %d %v", denied.status, denied.location)
	}
	p = b.get(cfg.AuthCodeURL("consent-2-state", oauth2.S256ChallengeOption(verifier)))
	allowed := b.submit(s.URL, p, url.Values{"consent": {"allow"}})
	if allowed.location == nil || allowed.location.Query().Get("code") == "" {
		t.Fatalf("allow: %d %v %.300s", allowed.status, allowed.location, allowed.body)
	}
	// The consent page names the signed-in user, not a login_hint.
	hinted := b.get(cfg.AuthCodeURL("consent-3-state", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", servertest.OtherUser)))
	// (The hint itself stays in the form's action: it is part of the request.)
	shown := strings.ReplaceAll(hinted.body, "login_hint="+servertest.OtherUser, "")
	if !strings.Contains(shown, servertest.User) || strings.Contains(shown, servertest.OtherUser) {
		t.Fatalf("consent page with login_hint names the wrong user: %.600s", hinted.body)
	}
}

// TestPasswordGrant_IDTokenAndUserinfo: openid on the password grant yields
// an ID token; userinfo answers by scope.
func TestPasswordGrant_IDTokenAndUserinfo(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	ctx := context.Background()
	code, tr, _ := postForm(t, s, "/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {servertest.MobileClient},
		"username": {servertest.User}, "password": {servertest.UserPassword}, "scope": {"openid offline_access"},
	})
	if code != 200 {
		t.Fatalf("%d %+v", code, tr)
	}
	var raw map[string]any
	resp, _ := http.PostForm(s.URL+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {servertest.MobileClient}, "refresh_token": {tr.RefreshToken}})
	json.NewDecoder(resp.Body).Decode(&raw)
	resp.Body.Close()
	idToken, _ := raw["id_token"].(string)
	provider, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: servertest.MobileClient}).Verify(ctx, idToken); err != nil {
		t.Fatalf("id_token on refresh: %v (%v)", err, raw)
	}
	// openid only: sub, nothing else.
	ui := userinfoGet(t, s, raw["access_token"].(string))
	if len(ui) != 1 || ui["sub"] == nil {
		t.Fatalf("userinfo with scope openid = %v", ui)
	}
	// No token, garbage token.
	for _, auth := range []string{"", "Bearer garbage"} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("userinfo %q: %d %v", auth, resp.StatusCode, resp.Header)
		}
	}
}
