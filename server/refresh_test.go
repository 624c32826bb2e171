package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

func TestRefresh_ReuseAfterGraceRevokesChain(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, func(c *server.Config) { c.RefreshReuseGrace = 300 * time.Millisecond })
	first := passwordGrant(t, s, servertest.User, servertest.UserPassword)
	other := passwordGrant(t, s, servertest.User, servertest.UserPassword) // another device
	code, second := refresh(t, s, first.RefreshToken)
	if code != 200 {
		t.Fatalf("refresh: %d %+v", code, second)
	}
	time.Sleep(400 * time.Millisecond)
	// The old token after grace: theft assumed, the chain dies.
	if code, tr := refresh(t, s, first.RefreshToken); code != 400 || tr.Error != "invalid_grant" {
		t.Fatalf("reuse after grace: %d %+v", code, tr)
	}
	if code, tr := refresh(t, s, second.RefreshToken); code != 400 || tr.Error != "invalid_grant" {
		t.Fatalf("newest token after reuse: %d %+v; want the chain revoked", code, tr)
	}
	if a := introspect(t, s, second.AccessToken); a["active"] != false {
		t.Fatalf("access token of the revoked chain introspects as %v", a)
	}
	// The other device's login is untouched.
	if code, tr := refresh(t, s, other.RefreshToken); code != 200 {
		t.Fatalf("other device: %d %+v", code, tr)
	}
}

func TestRefresh_GraceConvergesOnOneSuccessor(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t) // grace 10s
	rt := passwordGrant(t, s, servertest.User, servertest.UserPassword).RefreshToken
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		got   = map[string]int{}
		fails []string
		start = make(chan struct{})
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, tr := refresh(t, s, rt)
			mu.Lock()
			defer mu.Unlock()
			if code != 200 {
				fails = append(fails, tr.Error)
				return
			}
			got[tr.RefreshToken]++
			verifyAccessToken(t, s, tr.AccessToken)
		}()
	}
	close(start)
	wg.Wait()
	if len(fails) > 0 || len(got) != 1 {
		t.Fatalf("8 parallel refreshes: failures %v, distinct successors %d; want 0 and 1", fails, len(got))
	}
	var successor string
	for k := range got {
		successor = k
	}
	// The chain continues from the one successor.
	if code, tr := refresh(t, s, successor); code != 200 {
		t.Fatalf("refresh the converged successor: %d %+v", code, tr)
	}
}

func TestRefresh_LostResponseIsRecovered(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, func(c *server.Config) { c.RefreshReuseGrace = time.Second })
	t1 := passwordGrant(t, s, servertest.User, servertest.UserPassword).RefreshToken
	_, lost := refresh(t, s, t1) // the response never reaches the phone
	code, again := refresh(t, s, t1)
	if code != 200 || again.RefreshToken != lost.RefreshToken {
		t.Fatalf("retry with the old token: %d, successor %q vs %q", code, again.RefreshToken, lost.RefreshToken)
	}
	code, next := refresh(t, s, again.RefreshToken)
	if code != 200 {
		t.Fatalf("chain does not continue: %d %+v", code, next)
	}
	// t1 is now two rotations old: reuse, even within grace.
	if code, tr := refresh(t, s, t1); code != 400 || tr.Error != "invalid_grant" {
		t.Fatalf("token two rotations old: %d %+v", code, tr)
	}
	if code, _ := refresh(t, s, next.RefreshToken); code != 400 {
		t.Fatalf("chain survived reuse of a token two rotations old: %d", code)
	}
}

func TestRefresh_IdleExpiryAndAbsoluteCap(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		s := servertest.Start(t, func(c *server.Config) { c.RefreshTokenTTL = time.Second })
		rt := passwordGrant(t, s, servertest.User, servertest.UserPassword).RefreshToken
		time.Sleep(1500 * time.Millisecond)
		if code, tr := refresh(t, s, rt); code != 400 || tr.Error != "invalid_grant" {
			t.Fatalf("idle-expired token: %d %+v", code, tr)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		t.Parallel()
		s := servertest.Start(t, func(c *server.Config) {
			c.SessionMaxAge = 3 * time.Second
			c.AccessTokenTTL = 2 * time.Second
			c.RefreshTokenTTL = time.Hour
		})
		tr := passwordGrant(t, s, servertest.User, servertest.UserPassword)
		login := time.Now()
		// The session ends max age after auth_time, which is whole seconds
		// (truncated): up to a second before login + max age.
		authTime := int64(verifyAccessToken(t, s, tr.AccessToken)["auth_time"].(float64))
		deadline := time.Unix(authTime, 0).Add(3 * time.Second)
		rt := tr.RefreshToken
		for {
			time.Sleep(700 * time.Millisecond)
			code, nt := refresh(t, s, rt)
			if code != 200 {
				if time.Now().Before(deadline.Add(-500 * time.Millisecond)) {
					t.Fatalf("refresh failed before the session's end: %d %+v", code, nt)
				}
				if nt.Error != "invalid_grant" {
					t.Fatalf("after the session's end: %d %+v", code, nt)
				}
				return
			}
			if exp := time.Now().Add(time.Duration(nt.ExpiresIn) * time.Second); exp.After(deadline.Add(1500 * time.Millisecond)) {
				t.Fatalf("expires_in %d reaches past the session's end", nt.ExpiresIn)
			}
			c := verifyAccessToken(t, s, nt.AccessToken)
			if int64(c["exp"].(float64)) > deadline.Unix()+1 {
				t.Fatalf("access token exp %v past session end %v", c["exp"], deadline.Unix())
			}
			rt = nt.RefreshToken
			if time.Since(login) > 6*time.Second {
				t.Fatal("chain outlived its maximum age")
			}
		}
	})
}

// introspect asks as the resource server (a confidential client).
func introspect(t *testing.T, s *servertest.Server, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(servertest.IntrospectClient, servertest.IntrospectSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("introspect: %d %s", resp.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	tr := passwordGrant(t, s, servertest.User, servertest.UserPassword)
	at := introspect(t, s, tr.AccessToken)
	for k, v := range map[string]any{"active": true, "client_id": servertest.MobileClient, "username": servertest.User,
		"token_type": "Bearer", "iss": s.URL, "scope": "openid offline_access translate"} {
		if at[k] != v {
			t.Errorf("access token %s = %v, want %v", k, at[k], v)
		}
	}
	for _, k := range []string{"sub", "aud", "exp", "iat"} {
		if _, ok := at[k]; !ok {
			t.Errorf("access token introspection lacks %s: %v", k, at)
		}
	}
	rt := introspect(t, s, tr.RefreshToken)
	if rt["active"] != true || rt["token_use"] != "refresh_token" || rt["client_id"] != servertest.MobileClient {
		t.Fatalf("refresh token introspection = %v", rt)
	}
	for _, tok := range []string{"garbage", "qzr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", tr.AccessToken + "x"} {
		if m := introspect(t, s, tok); m["active"] != false || len(m) != 1 {
			t.Fatalf("introspect %q = %v", tok, m)
		}
	}
	// A rotated refresh token is no longer active.
	_, _ = refresh(t, s, tr.RefreshToken)
	if m := introspect(t, s, tr.RefreshToken); m["active"] != false {
		t.Fatalf("rotated refresh token = %v", m)
	}

	// Wrong credentials, a public client, and bearer auth are refused.
	for name, set := range map[string]func(*http.Request){
		"wrong secret":  func(r *http.Request) { r.SetBasicAuth(servertest.IntrospectClient, "wrong") },
		"public client": func(r *http.Request) { r.SetBasicAuth(servertest.MobileClient, "") },
		"no auth":       func(r *http.Request) {},
		"bearer":        func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tr.AccessToken) },
	} {
		req, _ := http.NewRequest("POST", s.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {tr.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		set(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e tokenResponse
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 401 || e.Error != "invalid_client" {
			t.Errorf("%s: %d %+v, want 401 invalid_client", name, resp.StatusCode, e)
		}
	}
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	postRevoke := func(form url.Values, basic ...string) int {
		req, _ := http.NewRequest("POST", s.URL+"/oauth2/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if len(basic) == 2 {
			req.SetBasicAuth(basic[0], basic[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// A refresh token revokes its chain (and its access tokens).
	a := passwordGrant(t, s, servertest.User, servertest.UserPassword)
	if code := postRevoke(url.Values{"token": {a.RefreshToken}, "client_id": {servertest.MobileClient}}); code != 200 {
		t.Fatalf("revoke refresh token: %d", code)
	}
	if code, _ := refresh(t, s, a.RefreshToken); code != 400 {
		t.Fatalf("revoked refresh token still works: %d", code)
	}
	if m := introspect(t, s, a.AccessToken); m["active"] != false {
		t.Fatalf("access token of a revoked chain: %v", m)
	}

	// An access token revokes its chain too.
	b := passwordGrant(t, s, servertest.User, servertest.UserPassword)
	if code := postRevoke(url.Values{"token": {b.AccessToken}, "token_type_hint": {"access_token"}, "client_id": {servertest.MobileClient}}); code != 200 {
		t.Fatalf("revoke access token: %d", code)
	}
	if code, _ := refresh(t, s, b.RefreshToken); code != 400 {
		t.Fatal("refresh token survived revocation of its access token")
	}

	// Unknown tokens answer 200.
	if code := postRevoke(url.Values{"token": {"no-such-token"}, "client_id": {servertest.MobileClient}}); code != 200 {
		t.Fatalf("unknown token: %d", code)
	}

	// Another client's token is not revoked; the answer is the same 200 as
	// for an unknown token, so it reveals nothing about the token.
	c := passwordGrant(t, s, servertest.User, servertest.UserPassword)
	if code := postRevoke(url.Values{"token": {c.RefreshToken}}, servertest.WorkerClient, servertest.WorkerSecret); code != 200 {
		t.Fatalf("revocation by another client: %d", code)
	}
	if code, _ := refresh(t, s, c.RefreshToken); code != 200 {
		t.Fatal("another client revoked the token")
	}
	// Wrong credentials: 401.
	if code := postRevoke(url.Values{"token": {c.AccessToken}}, servertest.WorkerClient, "wrong"); code != 401 {
		t.Fatalf("wrong client secret: %d", code)
	}
}
