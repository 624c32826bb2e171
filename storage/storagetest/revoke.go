package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// chain is a refresh-token chain a→b→c of one request, with the access
// tokens issued along it.
type chain struct {
	rid     string
	refresh []*storage.Token
	access  []*storage.Token
}

func makeChain(t *testing.T, s storage.Store, rotations int) *chain {
	t.Helper()
	ctx := ctxOf(t)
	c := &chain{rid: uniq("req")}
	cur := createRefresh(t, ctx, s, c.rid)
	c.refresh = append(c.refresh, cur)
	a := token(uniq("at"), c.rid, 15*time.Minute)
	must(t, s.CreateAccessToken(ctx, a), "CreateAccessToken")
	c.access = append(c.access, a)
	for range rotations {
		rot := rotation(cur, uniq("rt"), uniq("at"), now(), grace)
		must(t, s.RotateRefreshToken(ctx, rot), "RotateRefreshToken")
		cur = &rot.New
		c.refresh = append(c.refresh, cur)
		c.access = append(c.access, rot.Access)
	}
	return c
}

var revokeCases = []testCase{
	{name: "RevokesRefreshAndAccessTokensOfTheRequest", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		c := makeChain(t, s, 2)
		must(t, s.RevokeChain(ctx, c.rid), "RevokeChain")
		for i, r := range c.refresh {
			got := getRefresh(t, ctx, s, r.Signature)
			if !got.Revoked {
				t.Errorf("refresh token %d: Revoked = false", i)
			}
			if got.Active(time.Now()) {
				t.Errorf("refresh token %d still active", i)
			}
		}
		for i, a := range c.access {
			if _, err := s.GetAccessToken(ctx, a.Signature); !errorsIsNotFound(err) {
				t.Errorf("access token %d: GetAccessToken = %v, want ErrNotFound", i, err)
			}
		}
	}},
	{name: "LeavesOtherRequestsAlone", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		victim := makeChain(t, s, 1)
		other := makeChain(t, s, 1)
		must(t, s.RevokeChain(ctx, victim.rid), "RevokeChain")
		for i, r := range other.refresh {
			got := getRefresh(t, ctx, s, r.Signature)
			if got.Revoked {
				t.Errorf("other chain's refresh token %d revoked", i)
			}
		}
		if !getRefresh(t, ctx, s, other.refresh[1].Signature).Active(time.Now()) {
			t.Error("other chain's newest refresh token not active")
		}
		for i, a := range other.access {
			_, err := s.GetAccessToken(ctx, a.Signature)
			must(t, err, fmt.Sprintf("other chain's access token %d", i))
		}
		rot := rotation(other.refresh[1], uniq("rt"), uniq("at"), now(), grace)
		must(t, s.RotateRefreshToken(ctx, rot), "rotating the other chain")
	}},
	{name: "IsIdempotent", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		c := makeChain(t, s, 1)
		must(t, s.RevokeChain(ctx, c.rid), "RevokeChain")
		must(t, s.RevokeChain(ctx, c.rid), "RevokeChain again")
		must(t, s.RevokeChain(ctx, uniq("unknown-req")), "RevokeChain of an unknown request")
		for i, r := range c.refresh {
			if !getRefresh(t, ctx, s, r.Signature).Revoked {
				t.Errorf("refresh token %d: Revoked = false", i)
			}
		}
	}},
}

var codeCases = []testCase{
	{name: "CreateGetRoundTrip", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		c := token(uniq("ac"), uniq("req"), 10*time.Minute)
		c.ChainStartedAt, c.UserAgent, c.IP = time.Time{}, "", ""
		must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")
		got, err := s.GetAuthCode(ctx, c.Signature)
		must(t, err, "GetAuthCode")
		checkToken(t, got, c, false)
	}},
	{name: "UseExactlyOnce", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		c := token(uniq("ac"), uniq("req"), 10*time.Minute)
		must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")
		must(t, s.UseAuthCode(ctx, c.Signature), "first UseAuthCode")
		wantErr(t, s.UseAuthCode(ctx, c.Signature), storage.ErrCodeUsed, "second UseAuthCode")
		got, err := s.GetAuthCode(ctx, c.Signature)
		wantErr(t, err, storage.ErrCodeUsed, "GetAuthCode of a used code")
		if got == nil {
			t.Fatal("GetAuthCode of a used code returned no record")
		}
		checkToken(t, got, c, false)
	}},
	{name: "DuplicateSignatureConflicts", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		c := token(uniq("ac"), uniq("req"), 10*time.Minute)
		must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")
		wantErr(t, s.CreateAuthCode(ctx, c), storage.ErrConflict, "CreateAuthCode with a duplicate signature")
	}},
	{name: "UnknownNotFound", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		_, err := s.GetAuthCode(ctx, "unknown")
		wantErr(t, err, storage.ErrNotFound, "GetAuthCode")
		wantErr(t, s.UseAuthCode(ctx, "unknown"), storage.ErrNotFound, "UseAuthCode")
	}},
	{name: "ExpiredNotFound", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		c := token(uniq("ac"), uniq("req"), -time.Second)
		must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")
		_, err := s.GetAuthCode(ctx, c.Signature)
		wantErr(t, err, storage.ErrNotFound, "GetAuthCode of an expired code")
		wantErr(t, s.UseAuthCode(ctx, c.Signature), storage.ErrNotFound, "UseAuthCode of an expired code")
	}},
}
