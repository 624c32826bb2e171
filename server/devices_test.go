package server_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

type sessionList struct {
	Sessions []struct {
		ID        string `json:"id"`
		ClientID  string `json:"client_id"`
		UserAgent string `json:"user_agent"`
		IP        string `json:"ip"`
		Current   bool   `json:"current"`
		CreatedAt string `json:"created_at"`
		LastUsed  string `json:"last_used_at"`
	} `json:"sessions"`
}

func account(t *testing.T, s *servertest.Server, method, path, at string) (int, sessionList) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	if at != "" {
		req.Header.Set("Authorization", "Bearer "+at)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l sessionList
	_ = json.NewDecoder(resp.Body).Decode(&l)
	return resp.StatusCode, l
}

// loginAs logs in with a device's user agent.
func loginAs(t *testing.T, s *servertest.Server, user, password, agent string) tokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "client_id": {servertest.MobileClient},
		"username": {user}, "password": {password}, "scope": {"openid offline_access translate"}}
	req, _ := http.NewRequest("POST", s.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	json.NewDecoder(resp.Body).Decode(&tr)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %+v", resp.StatusCode, tr)
	}
	return tr
}

func TestDevices_ListEndOneAndLogoutEverywhere(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	phone := loginAs(t, s, servertest.User, servertest.UserPassword, "qaznat-android/2.1")
	laptop := loginAs(t, s, servertest.User, servertest.UserPassword, "qaznat-desktop/1.4")
	other := loginAs(t, s, servertest.OtherUser, servertest.OtherUserPassword, "qaznat-ios/3.0")
	_, phone2 := refresh(t, s, phone.RefreshToken) // the phone refreshes once

	code, l := account(t, s, "GET", "/account/sessions", laptop.AccessToken)
	if code != 200 || len(l.Sessions) != 2 {
		t.Fatalf("list: %d %+v", code, l)
	}
	var phoneID string
	for _, ss := range l.Sessions {
		if ss.ClientID != servertest.MobileClient || ss.IP != "127.0.0.1" || ss.CreatedAt == "" || ss.LastUsed == "" {
			t.Fatalf("session = %+v", ss)
		}
		switch ss.UserAgent {
		case "qaznat-desktop/1.4":
			if !ss.Current {
				t.Fatal("the caller's own session is not marked current")
			}
		default:
			phoneID = ss.ID
		}
	}
	if phoneID == "" {
		t.Fatalf("phone session missing: %+v", l)
	}

	// End the phone's session from the laptop.
	if code, _ := account(t, s, "DELETE", "/account/sessions/"+phoneID, laptop.AccessToken); code != 204 {
		t.Fatalf("end one: %d", code)
	}
	if code, _ := refresh(t, s, phone2.RefreshToken); code != 400 {
		t.Fatalf("phone still refreshes after its session ended: %d", code)
	}
	// Another user's session is not ours to end.
	_, ol := account(t, s, "GET", "/account/sessions", other.AccessToken)
	if len(ol.Sessions) != 1 {
		t.Fatalf("other user's sessions: %+v", ol)
	}
	if code, _ := account(t, s, "DELETE", "/account/sessions/"+ol.Sessions[0].ID, laptop.AccessToken); code != 404 {
		t.Fatalf("ending another user's session: %d, want 404", code)
	}

	// Log out everywhere: takes effect at each device's next refresh.
	tablet := loginAs(t, s, servertest.User, servertest.UserPassword, "qaznat-tablet/1.0")
	if code, _ := account(t, s, "DELETE", "/account/sessions", tablet.AccessToken); code != 204 {
		t.Fatalf("end all: %d", code)
	}
	for name, rt := range map[string]string{"laptop": laptop.RefreshToken, "tablet": tablet.RefreshToken} {
		if code, _ := refresh(t, s, rt); code != 400 {
			t.Fatalf("%s still refreshes after logout everywhere: %d", name, code)
		}
	}
	if code, _ := refresh(t, s, other.RefreshToken); code != 200 {
		t.Fatalf("the other user was logged out: %d", code)
	}
	// Unauthenticated, client tokens.
	if code, _ := account(t, s, "GET", "/account/sessions", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	_, cc, _ := postForm(t, s, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"translate"}}, servertest.WorkerClient, servertest.WorkerSecret)
	if code, _ := account(t, s, "GET", "/account/sessions", cc.AccessToken); code != 403 {
		t.Fatalf("client token: %d", code)
	}
}

// TestRefresh_PropertyTwoInstances interleaves refresh, replay, revoke and
// wait at random across two instances sharing one store, and checks after
// every step that no token has two live successors and that nothing of a
// revoked chain still works.
func TestRefresh_PropertyTwoInstances(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opt := func(c *server.Config) { c.RefreshReuseGrace = 400 * time.Millisecond }
	inst := []*servertest.Server{servertest.StartIn(t, dir, opt), servertest.StartIn(t, dir, opt)}
	rng := rand.New(rand.NewPCG(7, 11))
	refreshAt := func(s *servertest.Server, rt string) (int, tokenResponse) {
		code, tr, _ := postForm(t, s, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {servertest.MobileClient}, "refresh_token": {rt}})
		return code, tr
	}
	for chain := range 6 {
		first := passwordGrant(t, inst[0], servertest.User, servertest.UserPassword)
		seen := []string{first.RefreshToken} // every token ever handed out, in order
		successor := map[string]string{}     // token -> the successor it was answered with
		revoked := false
		for step := range 25 {
			s := inst[rng.IntN(2)]
			var rt string
			switch op := rng.IntN(10); {
			case op < 5: // refresh the newest
				rt = seen[len(seen)-1]
			case op < 8: // replay an older one
				rt = seen[rng.IntN(len(seen))]
			case op < 9: // revoke
				postRevokeForm(t, s, seen[len(seen)-1])
				revoked = true
				continue
			default: // wait past the grace window
				time.Sleep(450 * time.Millisecond)
				continue
			}
			code, tr := refreshAt(s, rt)
			if code != 200 {
				continue
			}
			if revoked {
				t.Fatalf("chain %d step %d: a token of a revoked chain refreshed", chain, step)
			}
			if prev, ok := successor[rt]; ok && prev != tr.RefreshToken {
				t.Fatalf("chain %d step %d: token has two successors %q and %q", chain, step, prev, tr.RefreshToken)
			}
			successor[rt] = tr.RefreshToken
			if tr.RefreshToken != seen[len(seen)-1] {
				seen = append(seen, tr.RefreshToken)
			}
		}
		// Invariant: at most one token of the chain is live (refreshes).
		live := 0
		for i := len(seen) - 1; i >= 0; i-- {
			if code, _ := refreshAt(inst[i%2], seen[i]); code == 200 {
				live++
				break // refreshing rotated it; older ones are reuse now
			}
		}
		if revoked && live > 0 {
			t.Fatalf("chain %d: a token works after the chain was revoked", chain)
		}
	}
}

func postRevokeForm(t *testing.T, s *servertest.Server, token string) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/oauth2/revoke", url.Values{"token": {token}, "client_id": {servertest.MobileClient}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
}
