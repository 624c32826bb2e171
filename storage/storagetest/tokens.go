package storagetest

import (
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

var accessCases = []testCase{
	{name: "CreateGetRoundTrip", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		a := token(uniq("at"), uniq("req"), 15*time.Minute)
		a.ChainStartedAt, a.UserAgent, a.IP = time.Time{}, "", ""
		must(t, s.CreateAccessToken(ctx, a), "CreateAccessToken")
		got, err := s.GetAccessToken(ctx, a.Signature)
		must(t, err, "GetAccessToken")
		checkToken(t, got, a, false)
		if got.Revoked {
			t.Error("fresh access token reported revoked")
		}
	}},
	{name: "DeleteRemovesAndIsIdempotent", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		a := token(uniq("at"), uniq("req"), 15*time.Minute)
		must(t, s.CreateAccessToken(ctx, a), "CreateAccessToken")
		must(t, s.DeleteAccessToken(ctx, a.Signature), "DeleteAccessToken")
		_, err := s.GetAccessToken(ctx, a.Signature)
		wantErr(t, err, storage.ErrNotFound, "GetAccessToken after delete")
		must(t, s.DeleteAccessToken(ctx, a.Signature), "DeleteAccessToken again")
		must(t, s.DeleteAccessToken(ctx, "never-existed"), "DeleteAccessToken of an unknown signature")
	}},
	{name: "DuplicateSignatureConflicts", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		a := token(uniq("at"), uniq("req"), 15*time.Minute)
		must(t, s.CreateAccessToken(ctx, a), "CreateAccessToken")
		b := token(a.Signature, uniq("req"), time.Hour)
		wantErr(t, s.CreateAccessToken(ctx, b), storage.ErrConflict, "CreateAccessToken with a duplicate signature")
		got, err := s.GetAccessToken(ctx, a.Signature)
		must(t, err, "GetAccessToken")
		checkToken(t, got, a, false)
	}},
	{name: "ExpiredIsNotFound", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		a := token(uniq("at"), uniq("req"), -time.Second)
		must(t, s.CreateAccessToken(ctx, a), "CreateAccessToken")
		_, err := s.GetAccessToken(ctx, a.Signature)
		wantErr(t, err, storage.ErrNotFound, "GetAccessToken of an expired token")
	}},
	{name: "UnknownIsNotFound", run: func(t *testing.T, s storage.Store) {
		_, err := s.GetAccessToken(ctxOf(t), "unknown")
		wantErr(t, err, storage.ErrNotFound, "GetAccessToken")
	}},
}

var refreshCases = []testCase{
	{name: "CreateGetRoundTrip", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		r := token(uniq("rt"), uniq("req"), 168*time.Hour)
		must(t, s.CreateRefreshToken(ctx, r), "CreateRefreshToken")
		got := getRefresh(t, ctx, s, r.Signature)
		checkToken(t, got, r, true)
		if got.Revoked || !got.RotatedAt.IsZero() || got.Successor != "" || got.SuccessorRotated {
			t.Errorf("fresh refresh token: Revoked=%v RotatedAt=%v Successor=%q SuccessorRotated=%v, want none",
				got.Revoked, got.RotatedAt, got.Successor, got.SuccessorRotated)
		}
		if !got.Active(time.Now()) {
			t.Error("fresh refresh token not Active")
		}
	}},
	{name: "DuplicateSignatureConflicts", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		r := createRefresh(t, ctx, s, uniq("req"))
		dup := token(r.Signature, uniq("req"), time.Hour)
		wantErr(t, s.CreateRefreshToken(ctx, dup), storage.ErrConflict, "CreateRefreshToken with a duplicate signature")
		checkToken(t, getRefresh(t, ctx, s, r.Signature), r, true)
	}},
	{name: "ExpiredIsNotFound", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		r := token(uniq("rt"), uniq("req"), -time.Second)
		must(t, s.CreateRefreshToken(ctx, r), "CreateRefreshToken")
		_, err := s.GetRefreshToken(ctx, r.Signature)
		wantErr(t, err, storage.ErrNotFound, "GetRefreshToken of an expired token")
	}},
	{name: "UnknownIsNotFound", run: func(t *testing.T, s storage.Store) {
		_, err := s.GetRefreshToken(ctxOf(t), "unknown")
		wantErr(t, err, storage.ErrNotFound, "GetRefreshToken")
	}},
	{name: "DeleteRemovesAndIsIdempotent", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		r := createRefresh(t, ctx, s, uniq("req"))
		must(t, s.DeleteRefreshToken(ctx, r.Signature), "DeleteRefreshToken")
		_, err := s.GetRefreshToken(ctx, r.Signature)
		wantErr(t, err, storage.ErrNotFound, "GetRefreshToken after delete")
		must(t, s.DeleteRefreshToken(ctx, r.Signature), "DeleteRefreshToken again")
	}},
	{name: "RotatedTokenIsReturnedWithRotationInfo", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		old := createRefresh(t, ctx, s, uniq("req"))
		at := now()
		rot := rotation(old, uniq("rt"), uniq("at"), at, 0)
		must(t, s.RotateRefreshToken(ctx, rot), "RotateRefreshToken")

		got := getRefresh(t, ctx, s, old.Signature)
		checkToken(t, got, old, true)
		sameTime(t, "RotatedAt", got.RotatedAt, at)
		if got.Successor != rot.New.Signature {
			t.Errorf("Successor = %q, want %q", got.Successor, rot.New.Signature)
		}
		if got.SuccessorRotated || got.Revoked {
			t.Errorf("SuccessorRotated=%v Revoked=%v, want false while the successor is active", got.SuccessorRotated, got.Revoked)
		}
		if got.Active(time.Now()) {
			t.Error("rotated token is Active")
		}

		succ := getRefresh(t, ctx, s, rot.New.Signature)
		checkToken(t, succ, &rot.New, true)
		if !succ.Active(time.Now()) || succ.Successor != "" {
			t.Errorf("successor: Active=%v Successor=%q, want an active token", succ.Active(time.Now()), succ.Successor)
		}
		acc, err := s.GetAccessToken(ctx, rot.Access.Signature)
		must(t, err, "GetAccessToken of the rotation's access token")
		checkToken(t, acc, rot.Access, false)
	}},
	{name: "SuccessorRotatedOnceSuccessorRotated", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		a := createRefresh(t, ctx, s, uniq("req"))
		rot1 := rotation(a, uniq("rt"), "", now(), 10*time.Second)
		must(t, s.RotateRefreshToken(ctx, rot1), "rotate a→b")
		if getRefresh(t, ctx, s, a.Signature).SuccessorRotated {
			t.Fatal("SuccessorRotated before the successor was rotated")
		}
		b := &rot1.New
		rot2 := rotation(b, uniq("rt"), "", now(), 10*time.Second)
		must(t, s.RotateRefreshToken(ctx, rot2), "rotate b→c")
		got := getRefresh(t, ctx, s, a.Signature)
		if !got.SuccessorRotated {
			t.Error("a: SuccessorRotated = false after its successor b was rotated")
		}
		if got.Successor != b.Signature {
			t.Errorf("a: Successor = %q, want %q", got.Successor, b.Signature)
		}
		if getRefresh(t, ctx, s, b.Signature).SuccessorRotated {
			t.Error("b: SuccessorRotated = true while c is active")
		}
	}},
	{name: "SuccessorRotatedOnceChainRevoked", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		a := createRefresh(t, ctx, s, uniq("req"))
		rot := rotation(a, uniq("rt"), "", now(), 10*time.Second)
		must(t, s.RotateRefreshToken(ctx, rot), "rotate")
		must(t, s.RevokeChain(ctx, a.RequestID), "RevokeChain")
		got := getRefresh(t, ctx, s, a.Signature)
		if !got.Revoked || !got.SuccessorRotated {
			t.Errorf("after revocation: Revoked=%v SuccessorRotated=%v, want both", got.Revoked, got.SuccessorRotated)
		}
	}},
}
