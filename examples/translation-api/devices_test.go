package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/qaznat/qazauth/server/servertest"
)

// TestTwoDevices: one user signed in on two devices (two password-grant
// logins, so two independent refresh-token chains) runs a job on each at
// the same time, with 1-second access tokens. Each device refreshes its
// own chain many times; neither disturbs the other, both see the user's
// jobs, and another user sees neither.
func TestTwoDevices(t *testing.T) {
	t.Parallel()
	const (
		segments    = 6
		segmentTime = 800 * time.Millisecond // ≈ 5 s per job
	)
	auth := startAuth(t, withTokenTTLs(longTTL, longGrace))
	env := startAPI(t, auth, jobStoreConfig{SegmentTime: segmentTime})

	phone := newAppClient(env.tokenURL(), passwordGrant(t, env.tokenURL(), servertest.User, servertest.UserPassword, scopesWithTranslate))
	laptop := newAppClient(env.tokenURL(), passwordGrant(t, env.tokenURL(), servertest.User, servertest.UserPassword, scopesWithTranslate))
	_, phoneR0 := phone.tokens()
	_, laptopR0 := laptop.tokens()
	if phoneR0 == laptopR0 {
		t.Fatal("two logins share a refresh token")
	}

	devices := []struct {
		name   string
		c      *appClient
		body   segmentsRequest
		id     string
		result jobView
	}{
		{name: "phone", c: phone, body: segmentsBody("phone video", segments)},
		{name: "laptop", c: laptop, body: segmentsBody("laptop video", segments)},
	}
	// Both devices start a job and poll it at the same time, each also
	// checking on the other device's job (same user: visible). Goroutines,
	// not parallel subtests, so that they really overlap whatever -parallel is.
	start := time.Now()
	created := make(chan struct{})
	var startWG sync.WaitGroup
	startWG.Add(len(devices))
	errs := make([]error, len(devices))
	var wg sync.WaitGroup
	for i := range devices {
		d, other := &devices[i], &devices[1-i]
		wg.Go(func() {
			r, err := d.c.call(http.MethodPost, env.jobsURL(), d.body)
			if err == nil && r.Status != http.StatusAccepted {
				err = fmt.Errorf("POST jobs: %d %s", r.Status, r.Body)
			}
			if err == nil {
				var cr createResponse
				err = json.Unmarshal(r.Body, &cr)
				d.id = cr.ID
			}
			startWG.Done()
			<-created // both ids are known
			if err != nil {
				errs[i] = err
				return
			}
			d.result, errs[i] = pollUntilDone(start.Add(longDeadline), longPollInterval, func() (jobView, error) {
				r, err := d.c.call(http.MethodGet, env.jobURL(d.id), nil)
				if err != nil {
					return jobView{}, err
				}
				if r.Status != http.StatusOK {
					return jobView{}, fmt.Errorf("own job: %d %s", r.Status, r.Body)
				}
				if other.id != "" {
					if o, err := d.c.call(http.MethodGet, env.jobURL(other.id), nil); err != nil || o.Status != http.StatusOK {
						return jobView{}, fmt.Errorf("the same user's job from the other device: %v %d %s", err, o.Status, o.Body)
					}
				}
				var v jobView
				return v, json.Unmarshal(r.Body, &v)
			}, translated(d.body.Segments))
		})
	}
	startWG.Wait()
	close(created)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", devices[i].name, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("both jobs done in %v", time.Since(start).Round(time.Millisecond))

	// The chains stayed apart: no refresh token in common, each rotated
	// many times, and each is still alive at the end.
	seen := map[string]string{}
	for _, d := range devices {
		st := d.c.snapshot()
		// A job of ≈ 4.8 s against tokens living at most 1.5 s (a 1 s TTL
		// rounded to whole seconds) forces at least two refreshes.
		if st.Refreshes < 2 {
			t.Errorf("%s refreshed only %d times; the jobs did not outlive its tokens", d.name, st.Refreshes)
		}
		for _, rt := range st.RefreshTokens {
			if owner, dup := seen[rt]; dup {
				t.Fatalf("%s and %s received the same refresh token", owner, d.name)
			}
			seen[rt] = d.name
		}
		_, rt := d.c.tokens()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := refreshGrant(ctx, env.tokenURL(), rt); err != nil {
			t.Errorf("%s's chain is no longer usable: %v", d.name, err)
		}
		cancel()
		t.Logf("%s: %d calls, %d expired 401s absorbed by %d refreshes, job done", d.name, st.Calls, st.Expired401s, st.Refreshes)
	}

	// Another user sees neither job, and cannot tell them from unknown ids.
	nurlan := passwordGrant(t, env.tokenURL(), servertest.OtherUser, servertest.OtherUserPassword, scopesWithTranslate)
	for _, d := range devices {
		if r := do(t, nil, http.MethodGet, env.jobURL(d.id), nurlan.AccessToken, nil); r.Status != http.StatusNotFound {
			t.Errorf("nurlan reading aigerim's %s job: %d %s, want 404", d.name, r.Status, r.Body)
		}
	}
}
