package storagetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

const (
	racers = 50
	trials = 20
)

// race runs fn(i) in n goroutines released at the same moment and returns
// their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

var concurrencyCases = []testCase{
	{name: "RotateRaceWithoutGraceHasOneWinner", run: rotateRaceWithoutGrace, trials: trials},
	{name: "RotateRaceWithinGraceConverges", run: rotateRaceWithinGrace, trials: trials},
	{name: "UseAuthCodeRaceHasOneWinner", run: useAuthCodeRace, trials: trials},
	{name: "RevokeChainRacingRotationsLeavesNothingActive", run: revokeRace, trials: trials},
	{name: "FirstUpsertsOfOneUsernameConverge", run: upsertUserRace, trials: 5},
	{name: "TakeAttemptRaceNeverExceedsTheBudget", run: takeAttemptRace, trials: trials},
}

// upsertUserRace: concurrent first upserts of one username (two instances
// seeding the same file) all succeed and agree on one user ID.
func upsertUserRace(t *testing.T, s storage.Store) {
	ctx := ctxOf(t)
	const n = 10
	ids := make([]string, n)
	errs := race(n, func(i int) error {
		u, err := s.UpsertUser(ctx, &storage.User{Username: "Aigerim", PasswordHash: "h", Roles: []string{"translator"}})
		if err == nil {
			ids[i] = u.ID
		}
		return err
	})
	for i, err := range errs {
		must(t, err, fmt.Sprintf("upsert %d", i))
	}
	got, err := s.GetUserByUsername(ctx, "aigerim")
	must(t, err, "GetUserByUsername")
	for i, id := range ids {
		if id != got.ID {
			t.Fatalf("upsert %d returned ID %q, the stored user has %q", i, id, got.ID)
		}
	}
}

// rotateRaceWithoutGrace: racers rotate one token, each to its own
// successor, without grace: exactly one wins, no loser leaves anything.
func rotateRaceWithoutGrace(t *testing.T, s storage.Store) {
	ctx := ctxOf(t)
	old := createRefresh(t, ctx, s, uniq("req"))
	at := now()
	rots := make([]storage.Rotation, racers)
	for i := range rots {
		rots[i] = rotation(old, uniq("rt"), uniq("at"), at, 0)
	}
	errs := race(racers, func(i int) error { return s.RotateRefreshToken(ctx, rots[i]) })
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("racers %d and %d both rotated the token", winner, i)
			}
			winner = i
		case errors.Is(err, storage.ErrTokenRotated):
		default:
			t.Fatalf("racer %d: %v, want nil or ErrTokenRotated", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no racer rotated the token")
	}
	got := getRefresh(t, ctx, s, old.Signature)
	if got.Successor != rots[winner].New.Signature {
		t.Fatalf("Successor = %q, want the winner's %q", got.Successor, rots[winner].New.Signature)
	}
	for i, r := range rots {
		_, rerr := s.GetRefreshToken(ctx, r.New.Signature)
		_, aerr := s.GetAccessToken(ctx, r.Access.Signature)
		if i == winner {
			must(t, rerr, "winner's successor")
			must(t, aerr, "winner's access token")
		} else if !errorsIsNotFound(rerr) || !errorsIsNotFound(aerr) {
			t.Fatalf("loser %d left a successor (%v) or access token (%v) behind", i, rerr, aerr)
		}
	}
}

// rotateRaceWithinGrace: racers present one token with the same successor
// within grace: all succeed, the successor is stored once, and each
// racer's access token is stored.
func rotateRaceWithinGrace(t *testing.T, s storage.Store) {
	ctx := ctxOf(t)
	old := createRefresh(t, ctx, s, uniq("req"))
	at := now()
	newSig := uniq("rt")
	rots := make([]storage.Rotation, racers)
	for i := range rots {
		rots[i] = rotation(old, newSig, uniq("at"), at.Add(time.Duration(i)*time.Millisecond), grace)
	}
	errs := race(racers, func(i int) error { return s.RotateRefreshToken(ctx, rots[i]) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("racer %d: %v, want every racer to succeed within grace", i, err)
		}
	}
	got := getRefresh(t, ctx, s, old.Signature)
	if got.Successor != newSig || got.SuccessorRotated {
		t.Fatalf("Successor=%q SuccessorRotated=%v, want %q and false", got.Successor, got.SuccessorRotated, newSig)
	}
	succ := getRefresh(t, ctx, s, newSig)
	if !succ.Active(time.Now()) {
		t.Fatalf("the one successor is not active: %+v", succ)
	}
	for i, r := range rots {
		if _, err := s.GetAccessToken(ctx, r.Access.Signature); err != nil {
			t.Fatalf("racer %d's access token: %v", i, err)
		}
	}
	// The chain did not fork: the successor rotates, once.
	next := rotation(succ, uniq("rt"), "", now(), 0)
	must(t, s.RotateRefreshToken(ctx, next), "rotating the successor")
	other := rotation(succ, uniq("rt"), "", now(), 0)
	wantErr(t, s.RotateRefreshToken(ctx, other), storage.ErrTokenRotated, "rotating the successor again")
}

// useAuthCodeRace: racers redeem one code: exactly one wins.
func useAuthCodeRace(t *testing.T, s storage.Store) {
	ctx := ctxOf(t)
	c := token(uniq("ac"), uniq("req"), 10*time.Minute)
	must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")
	errs := race(racers, func(int) error { return s.UseAuthCode(ctx, c.Signature) })
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, storage.ErrCodeUsed):
		default:
			t.Fatalf("racer %d: %v, want nil or ErrCodeUsed", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d racers redeemed the code, want exactly 1", wins)
	}
	_, err := s.GetAuthCode(ctx, c.Signature)
	wantErr(t, err, storage.ErrCodeUsed, "GetAuthCode after the race")
}

// revokeRace races RevokeChain against a device walking down the chain
// (rotation after rotation) and a second device re-presenting each token
// just rotated (the grace path, which stores another access token).
func revokeRace(t *testing.T, s storage.Store) {
	ctx := ctxOf(t)
	rid := uniq("req")
	first := createRefresh(t, ctx, s, rid)
	var (
		mu      sync.Mutex
		sigs    = []string{first.Signature}
		access  []string
		last    *storage.Rotation
		revoked = make(chan struct{})
		stop    = make(chan struct{})
	)
	isRevoked := func() bool {
		select {
		case <-revoked:
			return true
		default:
			return false
		}
	}
	record := func(r storage.Rotation) {
		mu.Lock()
		defer mu.Unlock()
		sigs = append(sigs, r.New.Signature)
		if r.Access != nil {
			access = append(access, r.Access.Signature)
		}
	}
	fail := make(chan string, 3)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // the device refreshing again and again
		defer wg.Done()
		defer close(stop)
		cur := first
		for range 40 {
			r := rotation(cur, uniq("rt"), uniq("at"), now(), grace)
			record(r)
			after := isRevoked()
			err := s.RotateRefreshToken(ctx, r)
			switch {
			case err == nil && after:
				fail <- "a rotation that started after RevokeChain returned succeeded"
				return
			case errors.Is(err, storage.ErrTokenRevoked):
				return
			case err != nil:
				fail <- fmt.Sprintf("rotation: %v, want nil or ErrTokenRevoked", err)
				return
			}
			mu.Lock()
			last = &r
			mu.Unlock()
			cur = &r.New
		}
	}()
	go func() { // the second device: same token, same successor, within grace
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			l := last
			mu.Unlock()
			if l == nil {
				time.Sleep(50 * time.Microsecond)
				continue
			}
			r := *l
			a := *r.Access
			a.Signature = uniq("at")
			r.Access, r.Now = &a, now()
			record(r)
			after := isRevoked()
			err := s.RotateRefreshToken(ctx, r)
			switch {
			case err == nil && after:
				fail <- "a grace rotation that started after RevokeChain returned succeeded"
				return
			case err == nil, errors.Is(err, storage.ErrTokenRotated):
			case errors.Is(err, storage.ErrTokenRevoked):
				return
			default:
				fail <- fmt.Sprintf("grace rotation: %v, want nil, ErrTokenRotated or ErrTokenRevoked", err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
		if err := s.RevokeChain(ctx, rid); err != nil {
			fail <- fmt.Sprintf("RevokeChain: %v", err)
		}
		close(revoked)
	}()
	wg.Wait()
	close(fail)
	for msg := range fail {
		t.Fatal(msg)
	}

	for _, sig := range sigs {
		got, err := s.GetRefreshToken(ctx, sig)
		if errorsIsNotFound(err) {
			continue
		}
		must(t, err, "GetRefreshToken")
		if got.Active(time.Now()) {
			t.Fatalf("refresh token %s is still active after RevokeChain: %+v", sig, got)
		}
	}
	for _, sig := range access {
		if _, err := s.GetAccessToken(ctx, sig); !errorsIsNotFound(err) {
			t.Fatalf("access token %s of the revoked chain: GetAccessToken = %v, want ErrNotFound", sig, err)
		}
	}
	// After the revocation, nothing of the chain rotates.
	for _, sig := range sigs {
		r := rotation(&storage.Token{Signature: sig, RequestID: rid}, uniq("rt"), uniq("at"), now(), grace)
		err := s.RotateRefreshToken(ctx, r)
		if err == nil {
			t.Fatalf("rotation of %s succeeded after RevokeChain", sig)
		}
		if !errors.Is(err, storage.ErrTokenRevoked) && !errorsIsNotFound(err) {
			t.Fatalf("rotation of %s after RevokeChain: %v, want ErrTokenRevoked or ErrNotFound", sig, err)
		}
	}
}
