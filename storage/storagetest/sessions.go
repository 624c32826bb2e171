package storagetest

import (
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

var sessionCases = []testCase{
	{name: "ListsTheNewestTokenOfEachLiveChain", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		phone := makeChain(t, s, 2)  // three tokens, the last one live
		laptop := makeChain(t, s, 0) // one live token
		revoked := makeChain(t, s, 1)
		must(t, s.RevokeChain(ctx, revoked.rid), "RevokeChain")
		other := token(uniq("rt"), uniq("req"), time.Hour)
		other.Subject = "subject-2"
		must(t, s.CreateRefreshToken(ctx, other), "CreateRefreshToken other subject")
		expired := token(uniq("rt"), uniq("req"), -time.Second)
		must(t, s.CreateRefreshToken(ctx, expired), "CreateRefreshToken expired")

		got, err := s.ListSessions(ctx, "subject-1")
		must(t, err, "ListSessions")
		if len(got) != 2 {
			t.Fatalf("ListSessions returned %d sessions, want 2 (phone, laptop): %+v", len(got), got)
		}
		want := map[string]*storage.Token{
			phone.rid:  phone.refresh[len(phone.refresh)-1],
			laptop.rid: laptop.refresh[0],
		}
		for _, g := range got {
			w, ok := want[g.RequestID]
			if !ok {
				t.Fatalf("unexpected session %q", g.RequestID)
			}
			// Data (the serialized grant) is not needed to list devices.
			ww := *w
			ww.Data = g.Data
			checkToken(t, &g, &ww, true)
			delete(want, g.RequestID)
		}
		if !got[0].CreatedAt.After(got[1].CreatedAt) && !got[0].CreatedAt.Equal(got[1].CreatedAt) {
			t.Errorf("sessions not newest first: %v then %v", got[0].CreatedAt, got[1].CreatedAt)
		}
		none, err := s.ListSessions(ctx, "nobody")
		must(t, err, "ListSessions of an unknown subject")
		if len(none) != 0 {
			t.Fatalf("unknown subject has sessions: %+v", none)
		}
	}},
}

var attemptCases = []testCase{
	{name: "BudgetPerKeyAndWindow", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		at := now()
		for i := range 3 {
			ok, err := s.TakeAttempt(ctx, "user:aigerim", 3, time.Hour, at)
			must(t, err, "TakeAttempt")
			if !ok {
				t.Fatalf("attempt %d refused within a budget of 3", i+1)
			}
		}
		ok, err := s.TakeAttempt(ctx, "user:aigerim", 3, time.Hour, at)
		must(t, err, "TakeAttempt")
		if ok {
			t.Fatal("fourth attempt allowed with a budget of 3")
		}
		// Another key has its own budget.
		if ok, err := s.TakeAttempt(ctx, "ip:203.0.113.7", 3, time.Hour, at); err != nil || !ok {
			t.Fatalf("other key: %v %v", ok, err)
		}
		// The next window starts afresh.
		if ok, err := s.TakeAttempt(ctx, "user:aigerim", 3, time.Hour, at.Truncate(time.Hour).Add(time.Hour)); err != nil || !ok {
			t.Fatalf("next window: %v %v", ok, err)
		}
		// A reset restores the budget.
		must(t, s.ResetAttempts(ctx, "user:aigerim"), "ResetAttempts")
		if ok, err := s.TakeAttempt(ctx, "user:aigerim", 3, time.Hour, at); err != nil || !ok {
			t.Fatalf("after reset: %v %v", ok, err)
		}
		must(t, s.ResetAttempts(ctx, "never-used"), "ResetAttempts of an unknown key")
	}},
	{name: "LocksGrowAndResetForgets", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		at := now()
		until, n, err := s.LockedUntil(ctx, "user:dana", at)
		must(t, err, "LockedUntil")
		if !until.IsZero() || n != 0 {
			t.Fatalf("unlocked key reports %v, %d", until, n)
		}
		must(t, s.Lock(ctx, "user:dana", at.Add(time.Minute), 1, at.Add(time.Hour)), "Lock")
		until, n, err = s.LockedUntil(ctx, "user:dana", at)
		must(t, err, "LockedUntil")
		sameTime(t, "until", until, at.Add(time.Minute))
		if n != 1 {
			t.Fatalf("count = %d, want 1", n)
		}
		must(t, s.Lock(ctx, "user:dana", at.Add(2*time.Minute), 2, at.Add(time.Hour)), "Lock again")
		if until, n, _ = s.LockedUntil(ctx, "user:dana", at); n != 2 || !until.Equal(at.Add(2*time.Minute)) {
			t.Fatalf("after a second lock: %v %d", until, n)
		}
		// Past forget, the lock is gone.
		if until, n, _ = s.LockedUntil(ctx, "user:dana", at.Add(2*time.Hour)); !until.IsZero() || n != 0 {
			t.Fatalf("forgotten lock still reported: %v %d", until, n)
		}
		must(t, s.ResetAttempts(ctx, "user:dana"), "ResetAttempts")
		if until, n, _ = s.LockedUntil(ctx, "user:dana", at); !until.IsZero() || n != 0 {
			t.Fatalf("reset did not forget the lock: %v %d", until, n)
		}
	}},
	{name: "ExpiredWindowsAreDeleted", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		past := now().Add(-3 * time.Hour)
		if ok, err := s.TakeAttempt(ctx, "user:old", 1, time.Hour, past); err != nil || !ok {
			t.Fatalf("TakeAttempt: %v %v", ok, err)
		}
		n, err := s.DeleteExpired(ctx, now())
		must(t, err, "DeleteExpired")
		if n < 1 {
			t.Fatalf("DeleteExpired removed %d records, want the expired attempt", n)
		}
	}},
}

// takeAttemptRace: 50 racers against a budget of 5 — exactly 5 succeed.
func takeAttemptRace(t *testing.T, s storage.Store) {
	ctx := ctxOf(t)
	at := now()
	k := uniq("user")
	const limit = 5
	allowed := make([]bool, racers)
	errs := race(racers, func(i int) error {
		ok, err := s.TakeAttempt(ctx, k, limit, time.Hour, at)
		allowed[i] = ok
		return err
	})
	n := 0
	for i, err := range errs {
		must(t, err, "TakeAttempt")
		if allowed[i] {
			n++
		}
	}
	if n != limit {
		t.Fatalf("%d of %d racers took an attempt from a budget of %d", n, racers, limit)
	}
}
