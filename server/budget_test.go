package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

// TestLoginBudget_ParallelGuessesAcrossTwoInstances: 50 parallel wrong
// passwords against one account, split across two instances sharing one
// store, get at most the budget's number of real password checks; every
// answer is the same; the right password fails during the lockout and
// works after it.
func TestLoginBudget_ParallelGuessesAcrossTwoInstances(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const budget = 5
	window := 3 * time.Second
	opt := func(c *server.Config) {
		c.LoginMaxFailures, c.LoginWindow, c.LoginLockout = budget, window, 2*time.Second
	}
	a := servertest.StartIn(t, dir, opt)
	b := servertest.StartIn(t, dir, opt)
	var checks atomic.Int32
	count := func() { checks.Add(1) }
	a.Server.Hasher.OnVerify, b.Server.Hasher.OnVerify = count, count

	// Start right after a window boundary, so the whole race falls in one.
	time.Sleep(time.Until(time.Now().Truncate(window).Add(window)) + 50*time.Millisecond)
	guess := func(s *servertest.Server, password string) string {
		req, _ := http.NewRequest("POST", s.URL+"/oauth2/token", strings.NewReader(url.Values{
			"grant_type": {"password"}, "client_id": {servertest.MobileClient},
			"username": {servertest.User}, "password": {password}, "scope": {"translate"},
		}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.Status + " " + string(body)
	}
	var wg sync.WaitGroup
	answers := make([]string, 50)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			answers[i] = guess(s, "wrong-"+string(rune('a'+i%26)))
		}()
	}
	wg.Wait()
	if n := checks.Load(); n > budget {
		t.Fatalf("%d password checks for 50 parallel guesses, budget %d", n, budget)
	}
	for i, ans := range answers {
		if ans != answers[0] || !strings.HasPrefix(ans, "400 ") || !strings.Contains(ans, `"invalid_grant"`) {
			t.Fatalf("answer %d differs or is not invalid_grant:\n%s\n%s", i, ans, answers[0])
		}
	}
	// Locked: the right password gets the same answer.
	if got := guess(a, servertest.UserPassword); got != answers[0] {
		t.Fatalf("correct password during lockout: %s", got)
	}
	if !strings.Contains(a.Logs.String()+b.Logs.String(), "budget spent") {
		t.Fatal("lockout not logged")
	}
	if strings.Contains(a.Logs.String()+b.Logs.String(), "wrong-a") {
		t.Fatal("a password reached the logs")
	}
	// After the window, the right password works.
	time.Sleep(time.Until(time.Now().Truncate(window).Add(window)) + 50*time.Millisecond)
	if got := guess(b, servertest.UserPassword); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("correct password after the lockout: %s", got)
	}
	resp, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `qazauth_login_lockouts_total{budget="username"}`) {
		t.Fatal("lockout metric missing")
	}
}
