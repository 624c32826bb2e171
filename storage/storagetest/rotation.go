package storagetest

import (
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

const grace = 10 * time.Second

var rotationCases = []testCase{
	{name: "FirstRotationWins", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := createRefresh(t, ctx, s, uniq("req"))
		rot := rotation(old, uniq("rt"), uniq("at"), now(), 0)
		must(t, s.RotateRefreshToken(ctx, rot), "RotateRefreshToken")
		if !getRefresh(t, ctx, s, rot.New.Signature).Active(time.Now()) {
			t.Error("successor not active")
		}
	}},
	{name: "SecondRotationWithoutGraceFails", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := createRefresh(t, ctx, s, uniq("req"))
		at := now()
		first := rotation(old, uniq("rt"), uniq("at"), at, 0)
		must(t, s.RotateRefreshToken(ctx, first), "first rotation")
		// Same successor, and a different one: both lose without grace.
		same := rotation(old, first.New.Signature, uniq("at"), at.Add(time.Millisecond), 0)
		wantErr(t, s.RotateRefreshToken(ctx, same), storage.ErrTokenRotated, "second rotation, same successor, grace 0")
		other := rotation(old, uniq("rt"), uniq("at"), at.Add(time.Millisecond), 0)
		wantErr(t, s.RotateRefreshToken(ctx, other), storage.ErrTokenRotated, "second rotation, other successor, grace 0")
		assertAbsent(t, s, other)
		_, err := s.GetAccessToken(ctx, same.Access.Signature)
		wantErr(t, err, storage.ErrNotFound, "access token of the losing rotation")
	}},
	{name: "SameSuccessorWithinGraceSucceeds", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := createRefresh(t, ctx, s, uniq("req"))
		at := now()
		first := rotation(old, uniq("rt"), uniq("at"), at, grace)
		must(t, s.RotateRefreshToken(ctx, first), "first rotation")
		again := rotation(old, first.New.Signature, uniq("at"), at.Add(grace/2), grace)
		must(t, s.RotateRefreshToken(ctx, again), "second rotation within grace")
		acc, err := s.GetAccessToken(ctx, again.Access.Signature)
		must(t, err, "GetAccessToken of the second call's access token")
		checkToken(t, acc, again.Access, false)
		_, err = s.GetAccessToken(ctx, first.Access.Signature)
		must(t, err, "GetAccessToken of the first call's access token")
		got := getRefresh(t, ctx, s, old.Signature)
		if got.Successor != first.New.Signature {
			t.Errorf("Successor = %q, want %q", got.Successor, first.New.Signature)
		}
		sameTime(t, "RotatedAt", got.RotatedAt, at)
		succ := getRefresh(t, ctx, s, first.New.Signature)
		checkToken(t, succ, &first.New, true)
		if !succ.Active(time.Now()) {
			t.Error("successor not active after the grace rotation")
		}
	}},
	{name: "DifferentSuccessorWithinGraceFails", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := createRefresh(t, ctx, s, uniq("req"))
		at := now()
		first := rotation(old, uniq("rt"), uniq("at"), at, grace)
		must(t, s.RotateRefreshToken(ctx, first), "first rotation")
		other := rotation(old, uniq("rt"), uniq("at"), at.Add(time.Second), grace)
		wantErr(t, s.RotateRefreshToken(ctx, other), storage.ErrTokenRotated, "rotation to another successor within grace")
		assertAbsent(t, s, other)
		if got := getRefresh(t, ctx, s, old.Signature); got.Successor != first.New.Signature {
			t.Errorf("Successor = %q, want the first %q", got.Successor, first.New.Signature)
		}
	}},
	{name: "SameSuccessorAfterGraceFails", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := createRefresh(t, ctx, s, uniq("req"))
		at := now()
		first := rotation(old, uniq("rt"), uniq("at"), at, grace)
		must(t, s.RotateRefreshToken(ctx, first), "first rotation")
		for _, d := range []time.Duration{grace, grace + time.Millisecond, 30 * time.Minute} {
			late := rotation(old, first.New.Signature, uniq("at"), at.Add(d), grace)
			wantErr(t, s.RotateRefreshToken(ctx, late), storage.ErrTokenRotated, "rotation "+d.String()+" after the first")
			_, err := s.GetAccessToken(ctx, late.Access.Signature)
			wantErr(t, err, storage.ErrNotFound, "access token of the late rotation")
		}
	}},
	{name: "TwoRotationsOldWithinGraceFails", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		a := createRefresh(t, ctx, s, uniq("req"))
		at := now()
		ab := rotation(a, uniq("rt"), uniq("at"), at, grace)
		must(t, s.RotateRefreshToken(ctx, ab), "rotate a→b")
		bc := rotation(&ab.New, uniq("rt"), uniq("at"), at.Add(time.Second), grace)
		must(t, s.RotateRefreshToken(ctx, bc), "rotate b→c")
		again := rotation(a, ab.New.Signature, uniq("at"), at.Add(2*time.Second), grace)
		wantErr(t, s.RotateRefreshToken(ctx, again), storage.ErrTokenRotated, "rotate a→b again after b was rotated")
		_, err := s.GetAccessToken(ctx, again.Access.Signature)
		wantErr(t, err, storage.ErrNotFound, "access token of the refused rotation")
		// b itself is still within its grace.
		bAgain := rotation(&ab.New, bc.New.Signature, uniq("at"), at.Add(2*time.Second), grace)
		must(t, s.RotateRefreshToken(ctx, bAgain), "rotate b→c again within grace")
	}},
	{name: "RevokedTokenFails", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := createRefresh(t, ctx, s, uniq("req"))
		must(t, s.RevokeChain(ctx, old.RequestID), "RevokeChain")
		rot := rotation(old, uniq("rt"), uniq("at"), now(), grace)
		wantErr(t, s.RotateRefreshToken(ctx, rot), storage.ErrTokenRevoked, "rotation of a revoked token")
		assertAbsent(t, s, rot)
		got := getRefresh(t, ctx, s, old.Signature)
		if !got.Revoked {
			t.Error("token not reported revoked")
		}
	}},
	{name: "RevokedAfterRotationFailsWithinGrace", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := createRefresh(t, ctx, s, uniq("req"))
		at := now()
		first := rotation(old, uniq("rt"), uniq("at"), at, grace)
		must(t, s.RotateRefreshToken(ctx, first), "first rotation")
		must(t, s.RevokeChain(ctx, old.RequestID), "RevokeChain")
		again := rotation(old, first.New.Signature, uniq("at"), at.Add(time.Second), grace)
		wantErr(t, s.RotateRefreshToken(ctx, again), storage.ErrTokenRevoked, "grace rotation in a revoked chain")
		_, err := s.GetAccessToken(ctx, again.Access.Signature)
		wantErr(t, err, storage.ErrNotFound, "access token of the refused rotation")
		next := rotation(&first.New, uniq("rt"), uniq("at"), at.Add(time.Second), grace)
		wantErr(t, s.RotateRefreshToken(ctx, next), storage.ErrTokenRevoked, "rotation of the revoked successor")
	}},
	{name: "UnknownTokenNotFound", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		ghost := token(uniq("rt"), uniq("req"), time.Hour)
		rot := rotation(ghost, uniq("rt"), uniq("at"), now(), grace)
		wantErr(t, s.RotateRefreshToken(ctx, rot), storage.ErrNotFound, "rotation of an unknown token")
		assertAbsent(t, s, rot)
		// Nothing was left behind that would make the signature look used.
		wantErr(t, s.RotateRefreshToken(ctx, rot), storage.ErrNotFound, "rotation of an unknown token again")
	}},
	{name: "ExpiredTokenNotFound", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := token(uniq("rt"), uniq("req"), -time.Second)
		must(t, s.CreateRefreshToken(ctx, old), "CreateRefreshToken")
		rot := rotation(old, uniq("rt"), uniq("at"), now(), grace)
		wantErr(t, s.RotateRefreshToken(ctx, rot), storage.ErrNotFound, "rotation of an expired token")
		assertAbsent(t, s, rot)
	}},
	{name: "WithoutAccessToken", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := createRefresh(t, ctx, s, uniq("req"))
		rot := rotation(old, uniq("rt"), "", now(), grace)
		must(t, s.RotateRefreshToken(ctx, rot), "RotateRefreshToken without an access token")
		getRefresh(t, ctx, s, rot.New.Signature)
	}},
}

// assertAbsent checks that a refused rotation stored neither its successor
// nor its access token.
func assertAbsent(t *testing.T, s storage.Store, r storage.Rotation) {
	t.Helper()
	ctx := ctxOf(t)
	if _, err := s.GetRefreshToken(ctx, r.New.Signature); !errorsIsNotFound(err) {
		t.Errorf("successor of a refused rotation: GetRefreshToken = %v, want ErrNotFound", err)
	}
	if r.Access != nil {
		if _, err := s.GetAccessToken(ctx, r.Access.Signature); !errorsIsNotFound(err) {
			t.Errorf("access token of a refused rotation: GetAccessToken = %v, want ErrNotFound", err)
		}
	}
}
