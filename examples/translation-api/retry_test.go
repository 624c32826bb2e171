package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qaznat/qazauth/server/servertest"
)

// TestAppRetryClient runs the app's refresh-on-401 pattern (appClient)
// against 1-second access tokens: several calls hitting expiry together,
// and the long job.
func TestAppRetryClient(t *testing.T) {
	t.Parallel()
	auth := startAuth(t, withTokenTTLs(longTTL, longGrace))
	env := startAPI(t, auth, jobStoreConfig{SegmentTime: longSegmentTime})

	// Five calls of one device go out with the same access token after it
	// expired. Each gets 401 Token-Expired and, without coordinating with
	// the others, refreshes with the same refresh token R0. Only one of
	// those refreshes can rotate R0; the others arrive within the grace
	// window and must get the SAME successor R1 instead of tripping
	// refresh-token reuse detection, which would revoke the chain and log
	// the user out.
	t.Run("ConcurrentExpiryConverges", func(t *testing.T) {
		t.Parallel()
		const parallel = 5
		login := passwordGrant(t, env.tokenURL(), servertest.User, servertest.UserPassword, scopesWithTranslate)
		r := do(t, nil, http.MethodPost, env.jobsURL(), login.AccessToken, segmentsBody("burst", 3))
		if r.Status != http.StatusAccepted {
			t.Fatalf("POST jobs = %d %s", r.Status, r.Body)
		}
		id := decode[createResponse](t, r).ID

		// Wait, boundedly, until the access token is expired at the API.
		deadline := time.Now().Add(10 * longTTL)
		for {
			r := do(t, nil, http.MethodGet, env.jobURL(id), login.AccessToken, nil)
			if r.Status == http.StatusUnauthorized && r.Header.Get("Token-Expired") == "true" {
				break
			}
			if r.Status != http.StatusOK || time.Now().After(deadline) {
				t.Fatalf("waiting for expiry: %d %s", r.Status, r.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}

		c := newAppClient(env.tokenURL(), login)
		lineUp := newBarrier(parallel, 10*time.Second)
		c.beforeRefresh = func() {
			if !lineUp.wait() {
				t.Errorf("not all %d calls got 401 Token-Expired", parallel)
			}
		}
		var wg sync.WaitGroup
		results := make([]apiResponse, parallel)
		errs := make([]error, parallel)
		for i := range parallel {
			wg.Go(func() { results[i], errs[i] = c.call(http.MethodGet, env.jobURL(id), nil) })
		}
		wg.Wait()

		for i := range parallel {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			if results[i].Status != http.StatusOK {
				t.Fatalf("call %d: %d %s (Token-Expired %q)", i, results[i].Status, results[i].Body, results[i].Header.Get("Token-Expired"))
			}
		}
		st := c.snapshot()
		if st.Expired401s != parallel || st.Refreshes != parallel || len(st.RefreshTokens) != parallel {
			t.Fatalf("stats %+v, want %d expired 401s each followed by one refresh", st, parallel)
		}
		r1 := st.RefreshTokens[0]
		for i, rt := range st.RefreshTokens {
			if rt != r1 {
				t.Fatalf("refresh %d returned another refresh token than refresh 0: the chain forked", i)
			}
		}
		if r1 == login.RefreshToken {
			t.Fatal("the refresh token was not rotated")
		}
		t.Logf("%d concurrent refreshes with one refresh token: all succeeded, all returned the same successor, %d distinct access tokens",
			parallel, len(uniq(st.AccessTokens)))

		// A late duplicate of the old token (say, a retried request whose
		// response was lost) within the grace window recovers the same R1.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		late, err := refreshGrant(ctx, env.tokenURL(), login.RefreshToken)
		if err != nil {
			t.Fatalf("late refresh with R0 within the grace window: %v", err)
		}
		if late.RefreshToken != r1 {
			t.Fatalf("late refresh with R0 returned a different successor: the chain forked")
		}

		// Nobody was logged out: the device goes on working, refreshing
		// from R1 onwards, for several more token lifetimes.
		end := time.Now().Add(3 * longTTL)
		for time.Now().Before(end) {
			r, err := c.call(http.MethodGet, env.jobURL(id), nil)
			if err != nil || r.Status != http.StatusOK {
				t.Fatalf("after the burst: %v %d %s", err, r.Status, r.Body)
			}
			time.Sleep(longPollInterval)
		}
		if after := c.snapshot(); after.Refreshes <= st.Refreshes {
			t.Fatalf("no refresh after the burst (%d); the test did not outlive a token", after.Refreshes)
		}
	})

	// The long job (≈ 12 s, more than ten access-token lifetimes) under the
	// app's client: 401s happen on the wire, none reaches the caller.
	t.Run("LongJob", func(t *testing.T) {
		t.Parallel()
		login := passwordGrant(t, env.tokenURL(), servertest.User, servertest.UserPassword, scopesWithTranslate)
		c := newAppClient(env.tokenURL(), login)
		body := segmentsBody("long video", longSegments)
		start := time.Now()
		r, err := c.call(http.MethodPost, env.jobsURL(), body)
		if err != nil || r.Status != http.StatusAccepted {
			t.Fatalf("POST jobs: %v %d %s", err, r.Status, r.Body)
		}
		id := decode[createResponse](t, r).ID
		pollDone(t, start.Add(longDeadline), longPollInterval, func() (jobView, error) {
			r, err := c.call(http.MethodGet, env.jobURL(id), nil)
			if err != nil {
				return jobView{}, err
			}
			if r.Status != http.StatusOK {
				t.Fatalf("a %d reached the caller: %s (Token-Expired %q)", r.Status, r.Body, r.Header.Get("Token-Expired"))
			}
			var v jobView
			return v, json.Unmarshal(r.Body, &v)
		}, translated(body.Segments))
		elapsed := time.Since(start)
		st := c.snapshot()
		if st.Refreshes < 5 || len(uniq(st.RefreshTokens)) != len(st.RefreshTokens) {
			t.Fatalf("stats %+v: want several refreshes, each with a new refresh token", st)
		}
		t.Logf("job of %d segments done in %v: %d calls, %d expired 401s absorbed by %d refreshes, 0 reached the caller",
			longSegments, elapsed.Round(time.Millisecond), st.Calls, st.Expired401s, st.Refreshes)
	})

	t.Cleanup(func() { checkNoTokensLogged(t, env.logs.String()) })
}

func uniq(ss []string) []string {
	s := slices.Clone(ss)
	slices.Sort(s)
	return slices.Compact(s)
}
